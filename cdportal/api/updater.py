"""The Image Updater from the API: its status, a restart, a registry credentials check."""

from typing import Any

from ninja import Router, Schema, Status

from cdportal.adapters import updater
from cdportal.adapters.errors import AdapterError
from cdportal.api.schemas import ErrorOut
from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused

router = Router(tags=["image updater"])


class ActionOut(Schema):
    id: int
    kind: str
    target: str
    by_name: str
    status: str
    message: str
    parameters: dict[str, Any]


class RestartIn(Schema):
    idempotency_key: str = ""


class CredentialsIn(Schema):
    secret: str  # pullsecret:NS/NAME or secret:NS/NAME#FIELD
    registry: str


class CredentialsOut(Schema):
    ok: bool
    reason: str


@router.get("", response={200: dict[str, Any], 404: ErrorOut, 503: ErrorOut})
def status(request):
    """The updater's Deployment: name, namespace, image and version, replicas, paused, rollout."""
    try:
        deployment = updater_actions.current()
    except AdapterError as e:
        return Status(503, {"detail": str(e)})
    if deployment is None:
        return Status(404, {"detail": "no Image Updater Deployment found"})
    observed = updater.status(deployment)
    updater_actions.settle_restarts(observed)  # a restart nobody follows any more ends here
    return observed


@router.post("/restart", response={202: ActionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 503: ErrorOut})
def restart(request, body: RestartIn):
    """Restart it (pod-template annotation) and wait until the new pod is ready; the Action
    says how it ended."""
    try:
        action = updater_actions.restart_updater(by=request.user, idempotency_key=body.idempotency_key, wait=False)
        return Status(202, action)
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    except AdapterError as e:  # no cluster to talk to: nothing was attempted
        return Status(503, {"detail": str(e)})


@router.post("/credentials-check", response={200: CredentialsOut, 503: ErrorOut})
def credentials_check(request, body: CredentialsIn):
    """Does the pull secret exist, hold an entry for the registry, and work for a token request?
    The secret's value is never returned."""
    try:
        ok, reason = updater.check_credentials(updater_actions.client(), body.secret, body.registry)
    except AdapterError as e:
        return Status(503, {"detail": str(e)})
    return {"ok": ok, "reason": reason}
