"""A repository's release actions over the API: tag a release, re-run Release Please (the manual release page's verbs)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from cdportal.api.inputs import Key, Prose, Segment
from cdportal.api.schemas import ActionOut, ErrorOut
from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Repository

router = Router(tags=["repositories"])


class TagIn(Schema):
    version: Key = Field(..., max_length=100, description="X.Y.Z, without the leading v")
    sha: Key | None = Field(
        None, max_length=40, description="Default: the head of the default branch"
    )
    message: Prose | None = None
    dispatch_build: bool = False
    allow_not_greater: bool = False
    idempotency_key: Key = Field("", max_length=90, description="The same key twice is one action")


class DispatchIn(Schema):
    idempotency_key: Key = Field("", max_length=90)


ANSWERS = {202: list[ActionOut], 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.post(
    "/{owner}/{name}/tags",
    response=ANSWERS,
    summary="Create the annotated tag vX.Y.Z (and run the build)",
)
def create_tag(request, owner: Segment, name: Segment, body: TagIn):
    repository = get_object_or_404(Repository, full_name=f"{owner}/{name}")
    try:
        action = release_actions.create_tag(
            repository=repository.full_name,
            version=body.version,
            sha=body.sha,
            by=request.user,
            message=body.message,
            dispatch_build=body.dispatch_build,
            allow_not_greater=body.allow_not_greater,
            idempotency_key=body.idempotency_key,
        )
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    dispatch = release_actions.dispatch_of(action)
    return Status(202, [action] + ([dispatch] if dispatch else []))


@router.post(
    "/{owner}/{name}/release-please/dispatch",
    response=ANSWERS,
    summary="Run the Release Please workflow on the default branch",
)
def rerun_release_please(request, owner: Segment, name: Segment, body: DispatchIn):
    repository = get_object_or_404(Repository, full_name=f"{owner}/{name}")
    try:
        action = release_actions.rerun_release_please(
            repository=repository.full_name, by=request.user, idempotency_key=body.idempotency_key
        )
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    return Status(202, [action])
