"""The Image Updater from the API: its status, a restart, a registry credentials check (both
operators' actions, in the action log)."""

from typing import Any

from ninja import Field, Router, Schema, Status

from cdportal.adapters.errors import AdapterError
from cdportal.api.inputs import Key
from cdportal.api.schemas import ActionOut, ErrorOut
from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused

router = Router(tags=["image updater"])


class RestartOut(Schema):
    id: int
    kind: str
    target: str
    by_name: str
    status: str
    message: str
    parameters: dict[str, Any]


class RestartIn(Schema):
    idempotency_key: Key = ""


class CredentialsIn(Schema):
    secret: Key = Field(..., description="pullsecret:NS/NAME or secret:NS/NAME#FIELD")
    registry: Key = Field(
        "",
        description=(
            "host[:port] among the registries the secret names (a secret: reference: those "
            "REGISTRY_CREDENTIALS names for it); blank: the only one. Never a URL to call"
        ),
    )


class CredentialsOut(Schema):
    ok: bool
    reason: str
    action: ActionOut


@router.get("", response={200: dict[str, Any], 404: ErrorOut})
def status(request):
    """The updater's Deployment as last observed: name, namespace, image and version, replicas,
    paused, rollout."""
    row = updater_actions.observed()
    if row is None:
        return Status(404, {"detail": "no Image Updater Deployment found"})
    return updater_actions.status_of(row)


@router.post(
    "/restart",
    response={
        202: RestartOut,
        400: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        503: ErrorOut,
    },
)
def restart(request, body: RestartIn):
    """Restart it (pod-template annotation); the Action (202) stays running until the new pod is
    ready. Refused: 403 without the role, 404 no updater found, 409 another restart still rolls
    out or the Deployment is paused — with the reason; the refused attempt is in the action log."""
    try:
        action = updater_actions.restart_updater(
            by=request.user, idempotency_key=body.idempotency_key, wait=False
        )
        return Status(202, action)
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    except AdapterError as e:  # no cluster to talk to: nothing was attempted
        return Status(503, {"detail": str(e)})


@router.post("/credentials-check", response={200: CredentialsOut, 400: ErrorOut, 403: ErrorOut})
def credentials_check(request, body: CredentialsIn):
    """Does the pull secret exist, hold credentials for the registry, and does the registry accept
    them at /v2/? Operators only; recorded in the action log. A registry the credentials are not
    for is refused (400) with nothing sent. The secret's value is never returned."""
    try:
        action = updater_actions.check_credentials(
            by=request.user, secret=body.secret, registry=body.registry
        )
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    return {
        "ok": action.status == action.Status.SUCCEEDED,
        "reason": action.message,
        "action": action,
    }
