"""Operators' actions on Argo CD Applications over the API: the verbs the application page calls.

202 with the Action (succeeded, or failed with the API server's answer in words); 400/403/404/409
with {"detail"} when cdportal refused, or the request was refused for a reason the caller can act
on — a 409's Action is still in the action log (GET /api/actions, the Actions page)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from cdportal.api.inputs import Key, Segment
from cdportal.api.schemas import ActionOut, ErrorOut
from cdportal.pipeline import argo_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Application

router = Router(tags=["actions"])

ANSWERS = {202: ActionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class SyncIn(Schema):
    prune: bool = False
    revision: Key | None = Field(None, description="Default: the target revision")
    idempotency_key: Key = Field("", max_length=90, description="The same key twice is one action")


class ActIn(Schema):
    idempotency_key: Key = Field("", max_length=90, description="The same key twice is one action")


@router.post(
    "/{namespace}/{name}/sync",
    response=ANSWERS,
    summary="Force a sync (.operation.sync, initiated by you; refused while an operation runs)",
)
def sync(request, namespace: Segment, name: Segment, body: SyncIn):
    return _do(
        request,
        namespace,
        name,
        lambda app: argo_actions.force_sync(
            app=app,
            by=request.user,
            prune=body.prune,
            revision=body.revision,
            idempotency_key=body.idempotency_key,
        ),
    )


@router.post(
    "/{namespace}/{name}/refresh",
    response=ANSWERS,
    summary="Hard refresh (argocd.argoproj.io/refresh: hard)",
)
def refresh(request, namespace: Segment, name: Segment, body: ActIn):
    return _do(
        request,
        namespace,
        name,
        lambda app: argo_actions.hard_refresh(
            app=app, by=request.user, idempotency_key=body.idempotency_key
        ),
    )


@router.post(
    "/{namespace}/{name}/terminate", response=ANSWERS, summary="Terminate the running operation"
)
def terminate(request, namespace: Segment, name: Segment, body: ActIn):
    return _do(
        request,
        namespace,
        name,
        lambda app: argo_actions.terminate(
            app=app, by=request.user, idempotency_key=body.idempotency_key
        ),
    )


def _do(request, namespace: str, name: str, verb):
    app = get_object_or_404(Application, namespace=namespace, name=name)
    try:
        return Status(202, verb(app))
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
