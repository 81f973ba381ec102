"""GET /api/releases and /api/rollouts: releases with their seven stages, and per-application rollouts."""

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.inputs import Filter, Id, Moment, Page
from cdportal.api.schemas import ErrorOut, ReleaseDetailOut, ReleaseOut, RolloutOut
from cdportal.pipeline import queries
from cdportal.pipeline.models import Release, Rollout

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
