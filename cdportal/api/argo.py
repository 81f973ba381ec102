"""Operators' actions on Argo CD Applications over the API: the verbs the application page calls.

202 with the Action: a sync stays `running` until Argo CD's operation ends, then reads
`succeeded` or `failed` in Argo CD's words (GET /api/actions/{id}); a refresh or terminate ends
with the API server's answer. Refused — 400 invalid input, 403 without the role, 404 the app is
gone, 409 an operation in progress or the app changed — answers {"detail": the reason}, the same
on every action endpoint; the refused attempt is in the action log (status `refused`)."""

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
