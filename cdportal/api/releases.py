"""GET /api/releases and /api/rollouts: releases with their seven stages, and per-application
rollouts; GET /api/releases/{id}/explain says why a release is not live in an application;
POST /api/releases/{id}/dispatch-build runs the build for a release already tagged and
/relabel-release-pr marks its merged Release PR `autorelease: tagged`."""

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from cdportal.api.inputs import AppKey, Filter, Id, Key, Moment, Page
from cdportal.api.schemas import (
    ActionOut,
    ErrorOut,
    ExplainOut,
    ReleaseDetailOut,
    ReleaseOut,
    RolloutOut,
)
from cdportal.pipeline import explain as explainer
from cdportal.pipeline import queries, release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Application, Release, Rollout

router = Router(tags=["releases"])
rollouts = Router(tags=["rollouts"])


class ReleaseFilter(Schema):
    repository: Filter | None = None
    component: Filter | None = None
    state: Release.State | None = None
    in_flight: bool | None = None
    released_after: Moment | None = None
    released_before: Moment | None = None


@router.get("", response=list[ReleaseOut])
@paginate(Page)
def list_releases(request, filters: Query[ReleaseFilter]):
    releases = queries.releases_queryset().order_by("-updated_at", "-pk")
    if filters.repository:
        releases = releases.filter(component__repository__full_name=filters.repository)
    if filters.component is not None:
        releases = releases.filter(component__name=filters.component)
    if filters.state:
        releases = releases.filter(state=filters.state)
    if filters.in_flight is not None:
        in_flight = {"state__in": Release.IN_FLIGHT}
        releases = (
            releases.filter(**in_flight) if filters.in_flight else releases.exclude(**in_flight)
        )
    if filters.released_after:
        releases = releases.filter(released_at__gte=filters.released_after)
    if filters.released_before:
        releases = releases.filter(released_at__lt=filters.released_before)
    return releases


@router.get("/{release_id}", response={200: ReleaseDetailOut, 404: ErrorOut})
def get_release(request, release_id: Id):
    return get_object_or_404(queries.releases_queryset(), pk=release_id)


@router.get(
    "/{release_id}/explain",
    response={200: ExplainOut, 404: ErrorOut},
    summary="Why isn't this release live in an application?",
    description=(
        "The seven stages walked in order for one application (`application=NAMESPACE/NAME`), "
        "stopping at the first check that does not pass: `verdict` live, on_its_way or blocked; "
        "`stage`/`code` are the first non-passing check's (docs/explain.md lists the codes); "
        "`eta`: when a timer moves it on (the Image Updater's next check, Argo CD's next "
        "refresh), else null. 404 for an unknown release or application."
    ),
)
def explain(request, release_id: Id, application: AppKey):
    release = Release.objects.select_related("component__repository").filter(pk=release_id).first()
    if release is None:
        return Status(404, {"detail": f"no release {release_id}"})
    namespace, _, name = application.partition("/")
    app = Application.objects.filter(
        namespace=namespace, name=name, deleted_at__isnull=True
    ).first()
    if app is None:
        return Status(404, {"detail": f"no application {application}"})
    return explainer.explain(release, app).to_json()


class DispatchBuildIn(Schema):
    idempotency_key: Key = Field("", max_length=100, description="The same key twice is one action")


@router.post(
    "/{release_id}/dispatch-build",
    response={202: ActionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Run the build workflow for the release's existing tag",
    description=(
        "The build workflow with version=X.Y.Z, as after a manual tag: for when that dispatch "
        "failed. Releasers only (403 otherwise); 409 with the reason when the release has no "
        "tag yet. Every attempt, refused ones included, is in the action log."
    ),
)
def dispatch_build(request, release_id: Id, body: DispatchBuildIn):
    release = get_object_or_404(Release, pk=release_id)
    try:
        action = release_actions.dispatch_build(
            release=release, by=request.user, idempotency_key=body.idempotency_key
        )
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    return Status(202, action)


@router.post(
    "/{release_id}/relabel-release-pr",
    response={202: ActionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Mark the release's merged Release PR `autorelease: tagged`",
    description=(
        "While a merged Release PR stays labelled `autorelease: pending`, Release Please opens "
        "no new one. Releasers only (403 otherwise); 409 with the reason unless the PR is merged, "
        "still pending and its release tagged. Every attempt is in the action log."
    ),
)
def relabel_release_pr(request, release_id: Id, body: DispatchBuildIn):
    release = get_object_or_404(
        Release.objects.select_related("component__repository"), pk=release_id
    )
    try:
        action = release_actions.relabel_release_pr(
            release=release, by=request.user, idempotency_key=body.idempotency_key
        )
    except ActionRefused as e:
        return Status(e.status, {"detail": str(e)})
    return Status(202, action)


class RolloutFilter(Schema):
    release: Id | None = None
    application: Filter | None = None  # namespace/name
    complete: bool | None = None


@rollouts.get("", response=list[RolloutOut])
@paginate(Page)
def list_rollouts(request, filters: Query[RolloutFilter]):
    rows = Rollout.objects.select_related("application").order_by("-updated_at", "-pk")
    if filters.release:
        rows = rows.filter(release_id=filters.release)
    if filters.application:
        namespace, _, name = filters.application.partition("/")
        rows = rows.filter(application__namespace=namespace, application__name=name)
    if filters.complete is not None:
        rows = rows.filter(synced_at__isnull=not filters.complete)
    return rows
