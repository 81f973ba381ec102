"""What shipped: components and their next-release plan, release history, stage durations, the Markdown changelog and the diff between two releases."""

from collections import Counter
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from cdportal.api.inputs import Day, Filter, Id, Page
from cdportal.api.schemas import CommitOut, ErrorOut
from cdportal.pipeline import queries
from cdportal.pipeline.models import Component, Release

router = Router(tags=["release engine"])


class ComponentPlanOut(Schema):
    id: int
    repository: str
    name: str
    path: str
    release_type: str
    current_version: str
    planned_at: datetime | None
    plan: dict[str, Any]

    @staticmethod
    def resolve_repository(obj) -> str:
        return obj.repository.full_name


class ShippedOut(Schema):
    """A released version and whether and where it shipped: `shipped_to` names the applications
    (namespace/name) that ran it; a release that failed or was superseded before any application
    ran it has `shipped` false and `not_shipped_why` says which."""

    id: int
    repository: str
    component: str
    version: str
    tag: str
    released_at: datetime
    url: str
    changelog: str
    shipped: bool
    shipped_to: list[str]
    not_shipped_why: str

    @staticmethod
    def resolve_repository(obj) -> str:
        return obj.component.repository.full_name

    @staticmethod
    def resolve_component(obj) -> str:
        return obj.component.display_name

    @staticmethod
    def resolve_shipped(obj) -> bool:
        return queries.is_shipped(obj)

    @staticmethod
    def resolve_shipped_to(obj) -> list[str]:
        return queries.shipped_to(obj)

    @staticmethod
    def resolve_not_shipped_why(obj) -> str:
        return queries.not_shipped_why(obj)


class HistoryFilter(Schema):
    component: Id | None = None
    type: Filter | None = None
    since: Day | None = None
    until: Day | None = None


class DiffOut(Schema):
    component: str  # both releases belong to it
    repository: str
    older: ShippedOut
    newer: ShippedOut
    releases: list[ShippedOut]  # what shipped, newest first
    not_shipped: list[ShippedOut]  # released in the range but never ran anywhere, with why
    commits: list[CommitOut]
    commits_by_type: dict[str, int]
    markdown: str


@router.get("/components", response=list[ComponentPlanOut])
def list_components(request):
    return Component.objects.select_related("repository").order_by("repository__full_name", "name")


@router.get("/components/{component_id}", response={200: ComponentPlanOut, 404: ErrorOut})
def get_component(request, component_id: Id):
    """The component with the release engine's latest prediction (`plan`): next version, tag,
    Release PR title and branch, changelog, commits with their bump, commits skipped and why."""
    return get_object_or_404(Component.objects.select_related("repository"), pk=component_id)


def _scope(filters: HistoryFilter) -> dict:
    return {
        "component": filters.component,
        "since": filters.since,
        "until": filters.until,
        "type": filters.type,
    }


def _shipped(filters: HistoryFilter):
    return queries.shipped(**_scope(filters))


@router.get("/history", response=list[ShippedOut])
@paginate(Page)
def history(request, filters: Query[HistoryFilter]):
    """Released versions, newest first, with the changelog entry of each and whether and where
    each shipped (`shipped`, `shipped_to`, `not_shipped_why`)."""
    return _shipped(filters)


class StageDurationOut(Schema):
    name: str  # the stage, or the lead time (last row)
    count: int  # releases (stages 2-4) or rollouts (5-7, lead time) measured
    median_seconds: float | None
    p90_seconds: float | None
    slowest_seconds: float | None
    slowest_release: int | None  # its id
    slowest_application: str | None


@router.get("/history/stage-durations", response=list[StageDurationOut])
def stage_durations(request, filters: Query[HistoryFilter]):
    """How long each stage took over the released versions the filters select: median, 90th
    percentile and the slowest (stages 2-4 once per release, 5-7 and the lead time per application)."""
    rows = []
    for row in queries.stage_stats(**_scope(filters)):
        data = row["stat"].to_json()
        rows.append(
            {
                **{
                    k: data[k]
                    for k in ("name", "count", "median_seconds", "p90_seconds", "slowest_seconds")
                },
                "slowest_release": row["release"].pk if row["release"] else None,
                "slowest_application": row["application"],
            }
        )
    return rows


@router.get(
    "/history/markdown",
    response={200: str},
    openapi_extra={
        "responses": {200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}}
    },
)
def history_markdown(request, filters: Query[HistoryFilter]):
    """The same releases as one Markdown document: a `# component (owner/repo)` section per
    component, newest first, each entry saying where it shipped; releases that did not ship are
    listed apart under `## Not shipped`, with why."""
    return HttpResponse(
        queries.as_markdown(_shipped(filters)[:500]), content_type="text/markdown; charset=utf-8"
    )


@router.get("/history/diff", response={200: DiffOut, 404: ErrorOut, 422: ErrorOut})
def diff(request, older: Id, newer: Id):
    """What shipped after release `older` up to and including release `newer`, two releases of
    one component (named in `component`); releases in that range that failed or were superseded
    before running anywhere are in `not_shipped`, not in `releases` or the Markdown."""
    first = get_object_or_404(Release, pk=older, released_at__isnull=False)
    second = get_object_or_404(Release, pk=newer, released_at__isnull=False)
    try:
        releases = queries.between(first, second)
    except ValueError as e:
        return Status(422, {"detail": str(e)})
    skipped = queries.not_shipped_between(first, second)
    commits = [c for r in releases for c in r.commits.all()]
    return {
        "component": first.component.display_name,
        "repository": first.component.repository.full_name,
        "not_shipped": skipped,
        "older": first,
        "newer": second,
        "releases": releases,
        "commits": commits,
        "commits_by_type": dict(Counter(c.type or "(not conventional)" for c in commits)),
        "markdown": queries.as_markdown([*releases, *skipped]),
    }
