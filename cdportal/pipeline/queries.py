"""Read-side queries shared by the pages, the API and the live broadcaster.

The page and the websocket render the same partials from the same context, so both come
from here: a fragment pushed live is byte-for-byte what a reload would show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cdportal.core import durations
from cdportal.core.durations import STAT_ORDER, Stat, percentile_rank, stat_label
from cdportal.core.image_outlook import Outlook, outlook, repository_name
from cdportal.core.stages import ROLLOUT_STAGES, Stage, Step, furthest_stage, release_steps
from cdportal.core.tag_policy import ImagePolicy, TagInfo
from cdportal.pipeline.models import (
    Action,
    Application,
    Commit,
    ImageTag,
    PipelineEvent,
    PollState,
    Release,
    Rollout,
    StageSample,
    WebhookDelivery,
)
from cdportal.pipeline.policies import policies_for

IN_FLIGHT_LIMIT = 12
RECENT_EVENTS = 25
NEWEST_TAGS = 12
# A release page lists this many commits (newest first); the API has them all.
RELEASE_COMMITS = 100
# The action log page (and its live update) shows this many actions, newest first.
ACTION_LOG_LIMIT = 200


def releases_queryset() -> QuerySet[Release]:
    return (
        Release.objects.select_related("component__repository")
        .prefetch_related(
            Prefetch(
                "rollouts",
                # A deleted application is no longer one of a release's targets.
                queryset=Rollout.objects.select_related("application")
                .defer(*(f"application__{name}" for name in APPLICATION_DOCUMENTS))
                .filter(application__deleted_at__isnull=True)
                .order_by("application__name"),
            )
        )
        # A count per row shown, not a GROUP BY over every release the filter matches before
        # the LIMIT (530 ms over 66,578 deployed releases to show 5).
        .annotate(commit_count=Coalesce(Subquery(_commit_count), 0))
    )


_commit_count = (
    Commit.objects.filter(release=OuterRef("pk"))
    .order_by()
    .values("release")
    .annotate(n=Count("pk"))
    .values("n")
)


# release_stop()'s first rule said in SQL, so the database leaves out what it would skip: a
# release out, not failed, that no (existing) application picked up, with a newer tagged
# release of its component. A history imported from GitHub is mostly that: without this the
# overview would read it all, a release at a time, to find the few in flight.
_FOLLOWED_UNPICKED = (
    Q(released_at__isnull=False, failed_stage__isnull=True)
    & Exists(
        Release.objects.filter(
            component_id=OuterRef("component_id"), released_at__gt=OuterRef("released_at")
        ).exclude(tag="")
    )
    & ~Exists(
        Rollout.objects.filter(release_id=OuterRef("pk"), application__deleted_at__isnull=True)
    )
)


def releases_in_flight(limit: int = IN_FLIGHT_LIMIT) -> list[Release]:
    """Releases on their way, newest first: not those that stop at stage 4 (no application
    tracks their image, or a newer release took over before any picked them up)."""
    candidates = (
        releases_queryset()
        .filter(state__in=Release.IN_FLIGHT)
        .exclude(_FOLLOWED_UNPICKED)
        .order_by("-updated_at", "-pk")
    )
    found: list[Release] = []
    for release in candidates.iterator(chunk_size=limit * 2):
        if not release_stop(release, release_lanes(release)):
            found.append(release)
            if len(found) == limit:
                break
    return found


def recently_deployed(limit: int = 5) -> list[Release]:
    return list(
        releases_queryset()
        .filter(state=Release.State.DEPLOYED)
        .order_by("-updated_at", "-pk")[:limit]
    )


def release(pk: int) -> Release:
    return releases_queryset().get(pk=pk)


# The overview lists at most this many applications, those that need a look first; the
# applications page pages through all of them.
OVERVIEW_APPLICATIONS = 50
APPLICATIONS_PAGE = 100
# The history page shows this many releases (changelogs rendered) a page.
HISTORY_PAGE = 50
# What the overview's application table shows of each row (not its JSON columns).
ROW_FIELDS = (
    "namespace",
    "name",
    "project",
    "current_tag",
    "sync_status",
    "health_status",
    "health_message",
    "operation_phase",
    "observed_at",
)
# An application's JSON columns: what lists of releases and lanes never show.
APPLICATION_DOCUMENTS = (
    "image_policy",
    "parameters",
    "live_images",
    "labels",
    "conditions",
    "operation",
    "sync_history",
)
# Synced, Healthy and no failed operation: nothing to read about it on the overview.
SETTLED = Q(sync_status="Synced", health_status="Healthy") & ~Q(
    operation_phase__in=("Failed", "Error")
)


def applications(**filters) -> QuerySet[Application]:
    """The applications that exist now (`filters` as for QuerySet.filter), by namespace and name."""
    return (
        Application.objects.filter(deleted_at__isnull=True, **filters)
        .only(*ROW_FIELDS)
        .order_by("namespace", "name")
    )


def fleet() -> dict:
    """The overview's applications panel, summarised by the database: counts by sync and health
    status, and the first OVERVIEW_APPLICATIONS applications, those not settled first."""
    live = Application.objects.filter(deleted_at__isnull=True)
    counts = live.aggregate(
        total=Count("pk"),
        settled=Count("pk", filter=SETTLED),
        out_of_sync=Count("pk", filter=Q(sync_status="OutOfSync")),
        degraded=Count("pk", filter=Q(health_status__in=("Degraded", "Missing"))),
        progressing=Count("pk", filter=Q(health_status="Progressing")),
    )
    shown = list(
        applications()
        .annotate(settled=Case(When(SETTLED, then=1), default=0, output_field=IntegerField()))
        .order_by("settled", "namespace", "name")[:OVERVIEW_APPLICATIONS]
    )
    return {"applications": shown, "fleet": counts}


def newest_tags(limit: int = NEWEST_TAGS) -> list[ImageTag]:
    return list(
        ImageTag.objects.filter(deleted_at__isnull=True)
        .select_related("image")
        .order_by("-pushed_at", "-pk")[:limit]
    )


def recent_events(limit: int = RECENT_EVENTS, **filters) -> list[PipelineEvent]:
    return list(PipelineEvent.objects.filter(**filters).order_by("-received_at", "-pk")[:limit])


def release_failure(release: Release) -> tuple[Stage | None, str]:
    """Where a release is stuck and why: its own failure, else its first failed rollout's."""
    if release.failed_stage:
        return Stage(release.failed_stage), release.failure_reason
    for rollout in release.rollouts.all():
        if rollout.failed_stage:
            return Stage(
                rollout.failed_stage
            ), f"{rollout.application.name}: {rollout.failure_reason}"
    return None, ""


@dataclass(frozen=True)
class Lane:
    """One application a release is headed for, and how far the release got there."""

    application: Application
    rollout: Rollout | None

    def times(self) -> dict[Stage, object]:
        """Its stages 5-7 (none yet when the updater has not picked the release up)."""
        return {s: getattr(self.rollout, s.field) if self.rollout else None for s in ROLLOUT_STAGES}

    @property
    def stage(self) -> Stage | None:
        """The furthest stage the release reached in this application."""
        return furthest_stage(self.times())

    @property
    def done(self) -> bool:
        return self.rollout is not None and self.rollout.synced_at is not None

    @property
    def failed(self) -> bool:
        return self.rollout is not None and bool(self.rollout.failed_stage)


def release_lanes(release: Release) -> list[Lane]:
    """Every application the release is headed for: each one that tracks an image of its
    component (as `ingest` counts them for "deployed"), and each one it reached, deleted
    ones left out. Furthest along first, so a release reads dev → staging → prod.
    Kept on the release object: the overview, Needs attention and the stepper all ask."""
    lanes = getattr(release, "_lanes", None)
    if lanes is None:
        lanes = release._lanes = _lanes(release)
    return lanes


def _lanes(release: Release) -> list[Lane]:
    rollouts = {
        r.application_id: r for r in release.rollouts.all() if r.application.deleted_at is None
    }
    tracking = (
        Application.objects.filter(images__component=release.component_id, deleted_at__isnull=True)
        .exclude(pk__in=list(rollouts))
        .only(*ROW_FIELDS, "deleted_at")
    )
    lanes = [Lane(r.application, r) for r in rollouts.values()]
    lanes += [Lane(app, None) for app in tracking.distinct()]
    return sorted(lanes, key=_progress_key)


def _progress_key(lane: Lane) -> tuple:
    reached = sorted(t for t in lane.times().values() if t)
    # Most stages first; of two as far along, the one that got there first.
    return (-len(reached), reached[-1] if reached else None, lane.application.name)


def release_stop(release: Release, lanes: list[Lane]) -> str:
    """Why a release that is out goes no further ("" while it may): a newer release of its
    component followed before any application picked it up (older releases imported from
    history), or, built and pushed, no application tracks an image of its component. A failed
    release is not stopped: its failure is what needs reading."""
    if release.released_at is None or release.failed_stage or any(lane.rollout for lane in lanes):
        return ""
    newer = (
        Release.objects.filter(
            component_id=release.component_id, released_at__gt=release.released_at
        )
        .exclude(tag="")
        .order_by("released_at", "pk")
        .first()
    )
    if newer is not None:
        return f"{newer.tag} followed before any application picked this release up."
    if not lanes and release.built_at is not None:
        return (
            f"No application tracks an image of {release.component.display_name}: "
            "the pipeline ends at stage 4."
        )
    return ""


def release_stepper(release: Release, lanes: list[Lane] | None = None) -> list[Step]:
    """The release's seven stages: 5-7 done only once every application it is headed for
    reached them (see core.stages.release_steps)."""
    lanes = release_lanes(release) if lanes is None else lanes
    failed_stage, reason = release_failure(release)
    return release_steps(
        release.own_stage_times(),
        [lane.times() for lane in lanes],
        now=timezone.now(),
        failed_stage=failed_stage,
        failure_reason=reason,
        stopped=release_stop(release, lanes),
    )


def stage_stats(
    *,
    component: int | None = None,
    since=None,
    until=None,
    type: str | None = None,
    last: int | None = None,
) -> list[dict]:
    """How long each stage took over the released versions `shipped()` selects with the same
    filters (or over the `last` N of them): median, p90 and the slowest, with the release it
    was. Aggregate queries over StageSample, a constant number whatever the history's size:
    one count per stage, then each percentile's row read by its rank."""
    samples = StageSample.objects.all()  # released versions only (StageSample.measure)
    if component:
        samples = samples.filter(component_id=component)
    if since:
        samples = samples.filter(released_at__date__gte=since)
    if until:
        samples = samples.filter(released_at__date__lte=until)
    if type:
        samples = samples.filter(release__in=Commit.objects.filter(type=type).values("release"))
    if last is not None:
        newest = shipped().values_list("pk", flat=True)[:last]
        samples = samples.filter(release__in=list(newest))
    counts = dict(samples.values_list("stage").annotate(n=Count("pk")).order_by())
    if sum(counts.values()) <= SAMPLES_READ_WHOLE:
        found = _stage_figures_read(samples)
    else:
        found = {
            stage: _stage_figures_ranked(samples.filter(stage=stage), counts.get(stage, 0))
            for stage in STAT_ORDER
        }
    slowest = {
        release.pk: release
        for release in Release.objects.select_related("component__repository").filter(
            pk__in=[row["release"] for row in found.values() if row]
        )
    }
    table = []
    for stage in STAT_ORDER:
        row = found.get(stage)
        if row is None:
            stat = Stat(stat_label(stage), 0, None, None, None, None)
            table.append({"stat": stat, "release": None, "application": None})
            continue
        key = row["release"] if stage in _OWN_STAGES else (row["release"], row["application"])
        stat = Stat(stat_label(stage), row["count"], row["median"], row["p90"], row["slowest"], key)
        table.append(
            {
                "stat": stat,
                "release": slowest.get(row["release"]),
                "application": row["application"],
            }
        )
    return table


# How many shipped releases "usual" stage durations are measured on.
RECENT_RELEASES = 50


def usual_durations() -> dict:
    """Each stage's 90th percentile over the last RECENT_RELEASES shipped releases: how long a
    stage usually takes (Needs attention, the explainer)."""
    return durations.usual_durations(row["stat"] for row in stage_stats(last=RECENT_RELEASES))


# Up to this many samples are read in one query and ranked here (the usual durations of the
# last 50 releases: 2 queries); beyond it each percentile is read at its rank by the database.
SAMPLES_READ_WHOLE = 5000
# Among equal durations the slowest is the oldest release's, as a stable sort of the
# newest-first history leaves it last; ranks break ties the same way.
_SLOWEST_LAST = ("micros", "-released_at", "-release_id", "-pk")


_OWN_STAGES = frozenset(int(stage) for stage in Stage if stage not in ROLLOUT_STAGES)


def _stage_figures_ranked(samples, count: int) -> dict | None:
    """One stage's figures read by rank, each query served by the (stage, micros) index: the
    durations at the median's and the p90's nearest rank, then the slowest duration and, among
    the samples that took that long, the one a stable sort leaves last."""
    if not count:
        return None
    ranked = samples.order_by("micros").values_list("micros", flat=True)
    slowest = samples.order_by("-micros").values_list("micros", flat=True)[0]
    top = (
        samples.filter(micros=slowest)
        .order_by(*_reverse(_SLOWEST_LAST))
        .values("micros", "release_id", "rollout__application__name")[0]
    )
    return _figures(
        count,
        ranked[percentile_rank(count, 50) - 1],
        ranked[percentile_rank(count, 90) - 1],
        top,
    )


def _stage_figures_read(samples) -> dict[int, dict]:
    """Every stage's figures from one read of all the samples (a small history)."""
    by_stage: dict[int, list[dict]] = {}
    rows = samples.order_by("stage", *_SLOWEST_LAST).values(
        "stage", "micros", "release_id", "rollout__application__name"
    )
    for row in rows:
        by_stage.setdefault(row["stage"], []).append(row)
    return {
        stage: _figures(
            len(ordered),
            ordered[percentile_rank(len(ordered), 50) - 1]["micros"],
            ordered[percentile_rank(len(ordered), 90) - 1]["micros"],
            ordered[-1],
        )
        for stage, ordered in by_stage.items()
    }


def _figures(count: int, median: int, p90: int, top: dict) -> dict:
    return {
        "count": count,
        "median": timedelta(microseconds=median),
        "p90": timedelta(microseconds=p90),
        "slowest": timedelta(microseconds=top["micros"]),
        "release": top["release_id"],
        "application": top["rollout__application__name"],
    }


def _reverse(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in ordering)


def actions(*, kind: str = "", status: str = "", by: str = "", target: str = "", since=None):
    """The action log, newest first: who did what to which target, and how it ended."""
    given = {
        "kind": kind,
        "status": status,
        "by_name": by,
        "target": target,
        "started_at__date__gte": since,
    }
    return Action.objects.filter(
        **{lookup: value for lookup, value in given.items() if value}
    ).order_by("-started_at", "-pk")


def latest_restart(namespace: str, name: str) -> Action | None:
    """The newest restart of the Image Updater's Deployment on-call asked for."""
    restarts = Action.objects.filter(kind=Action.Kind.RESTART_UPDATER, target=f"{namespace}/{name}")
    return restarts.first()


def overview_context() -> dict:
    """The overview's panels but "Needs attention" (pipeline.attention, which reads these)."""
    return {
        "releases": releases_in_flight(),
        "deployed": recently_deployed(),
        **fleet(),
        "tags": newest_tags(),
        "events": recent_events(),
        "events_keep": RECENT_EVENTS,  # the live page keeps its event log this long
    }


def previous_release(release: Release) -> Release | None:
    if release.released_at is None:
        return None
    return (
        Release.objects.filter(
            component_id=release.component_id, released_at__lt=release.released_at
        )
        .exclude(tag="")
        .order_by("-released_at", "-pk")
        .first()
    )


def compare_url(release: Release, previous: Release | None) -> str:
    """GitHub's compare page between the previous release's tag and this one's."""
    if not (previous and previous.tag and release.tag):
        return ""
    return f"{release.component.repository.url or 'https://github.com/' + release.component.repository.full_name}/compare/{previous.tag}...{release.tag}"


def release_context(release: Release) -> dict:
    previous = previous_release(release)
    return {
        "release": release,
        "previous": previous,
        "compare_url": compare_url(release, previous),
        "commits": list(release.commits.order_by("-committed_at", "-pk")[:RELEASE_COMMITS]),
        "commit_count": release.commits.count(),
        "builds": list(release.build_runs.order_by("-started_at")),
        "events": recent_events(release=release),
    }


def application_context(app: Application) -> dict:
    found = policies_for(app)
    outlook, outlook_error = image_outlook(app, found)
    return {
        "app": app,
        "recent_actions": list(actions(target=app.key)[:5]),
        "policy_source": found,
        "outlook": outlook,
        "outlook_error": outlook_error,
        "rollouts": list(
            app.rollouts.select_related("release__component__repository").order_by(
                "-created_at", "-pk"
            )[:20]
        ),
        "history": list(app.tag_history.all()[:20]),
        "events": recent_events(application=app),
    }


# --- release history (managers) --------------------------------------------------------------


def _ran_on() -> Prefetch:
    """Each release's rollouts that reached stage 7 somewhere: where it ran (or runs)."""
    return Prefetch(
        "rollouts",
        queryset=Rollout.objects.filter(synced_at__isnull=False)
        .select_related("application")
        .order_by("synced_at", "pk"),
        to_attr="ran_on",
    )


def shipped(*, component: int | None = None, since=None, until=None, type: str | None = None):
    """Released versions, newest first; `type` keeps releases carrying a commit of that type.
    Each says whether and where it shipped (`shipped_to`, `not_shipped_why`): those that failed
    or were superseded are listed too, so history shows them as not shipped rather than not at all."""
    releases = (
        Release.objects.filter(released_at__isnull=False)
        .select_related("component__repository")
        .prefetch_related(_ran_on())
        .order_by("-released_at", "-pk")
    )
    if component:
        releases = releases.filter(component_id=component)
    if since:
        releases = releases.filter(released_at__date__gte=since)
    if until:
        releases = releases.filter(released_at__date__lte=until)
    if type:
        releases = releases.filter(commits__type=type).distinct()
    return releases


def shipped_to(release: Release) -> list[str]:
    """The applications (namespace/name) that ran `release`, first one first."""
    rollouts = getattr(release, "ran_on", None)
    if rollouts is None:
        rollouts = release.rollouts.filter(synced_at__isnull=False).select_related("application")
        rollouts = rollouts.order_by("synced_at", "pk")
    return [r.application.key for r in rollouts]


def not_shipped_why(release: Release) -> str:
    """Why `release` did not ship, in a sentence; "" when it did (or may still: in flight).
    Running on any application counts as shipped, even if a newer release replaced it since."""
    if shipped_to(release):
        return ""
    if release.failed_stage or release.state == Release.State.FAILED:
        stage = release.get_failed_stage_display() if release.failed_stage else "a stage"
        reason = f": {release.failure_reason}" if release.failure_reason else ""
        return f"failed at {stage}{reason}"
    if release.state == Release.State.SUPERSEDED:
        return "superseded by a newer release before any application ran it"
    return ""


def is_shipped(release: Release) -> bool:
    return not not_shipped_why(release)


def between(older: Release, newer: Release) -> list[Release]:
    """What shipped after `older` up to and including `newer` (same component), newest first:
    releases that failed or were superseded before running anywhere are left out (see
    `not_shipped_between`)."""
    return [r for r in _between(older, newer) if is_shipped(r)]


def not_shipped_between(older: Release, newer: Release) -> list[Release]:
    """The releases in the same range that did not ship, newest first (`not_shipped_why`)."""
    return [r for r in _between(older, newer) if not is_shipped(r)]


def _between(older: Release, newer: Release) -> list[Release]:
    if older.component_id != newer.component_id:
        raise ValueError("the two releases belong to different components")
    low, high = sorted((older, newer), key=lambda r: (r.released_at, r.pk))
    return list(
        Release.objects.filter(component_id=low.component_id, released_at__isnull=False)
        .filter(released_at__gt=low.released_at, released_at__lte=high.released_at)
        .select_related("component__repository")
        .prefetch_related(_ran_on())
        .order_by("-released_at", "-pk")
    )


def as_markdown(releases) -> str:
    """The releases' changelog entries, newest first, as one Markdown document with one section
    per component (named, with its repository); each entry says where it shipped, and releases
    that did not ship are listed apart, with why, never as if they had."""
    by_component: dict[int, list[Release]] = {}
    for release in releases:
        by_component.setdefault(release.component_id, []).append(release)
    sections = [_component_markdown(group) for group in by_component.values()]
    return "\n\n".join(sections) + "\n" if sections else "(no releases)\n"


def _component_markdown(releases: list[Release]) -> str:
    component = releases[0].component
    parts = [f"# {component.display_name} ({component.repository.full_name})"]
    for release in (r for r in releases if is_shipped(r)):
        where = shipped_to(release)
        entry = (
            release.changelog.strip() or f"## {release.tag or release.version}\n\n(no changelog)"
        )
        shipped = (
            f"Shipped to: {', '.join(where)}" if where else "Not seen running on any application."
        )
        parts.append(f"{entry}\n\n_{shipped}_")
    skipped = [r for r in releases if not is_shipped(r)]
    if skipped:
        lines = [f"- {r.tag or r.version}: {not_shipped_why(r)}" for r in skipped]
        parts.append("## Not shipped\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


# --- sources (where observations come from, and how they are doing) --------------------------


def sources_context() -> dict:
    day_ago = timezone.now() - timedelta(days=1)
    deliveries = (
        WebhookDelivery.objects.filter(received_at__gte=day_ago)
        .values("source", "status")
        .annotate(n=Count("pk"), last=Max("received_at"))
        .order_by("source", "status")
    )
    return {
        # One row per polled GitHub repository (its per-list rows carry a ":" in their key) and
        # one per scanned image.
        "pollers": list(
            PollState.objects.filter(source="github").exclude(key__contains=":")
            | PollState.objects.filter(source="registry")
        ),
        "deliveries": list(deliveries),
        "last_delivery": WebhookDelivery.objects.order_by("-received_at").first(),
    }


# --- "would update to": the Image Updater's choice, now, and why not the other tags ----------


def image_outlook(app: Application, found=None) -> tuple[list[dict], str]:
    """Per tracked image: the tag the updater would pick from the tags cdportal knows, the tag
    running now, and why every other tag is not chosen. Second value: a configuration error."""
    found = found or policies_for(app)
    if found.error:
        return [], found.error
    return [outlook_json(policy_outlook(app, policy)) for policy in found.policies], ""


def policy_outlook(app: Application, policy: ImagePolicy) -> Outlook:
    """core.image_outlook's decision for one of `app`'s images, from the rows cdportal holds:
    what the page, the API and `manage.py image-policy --app` all show."""
    return outlook(
        policy,
        known_tags(repository_name(policy)),
        live_images=app.live_images or [],
        where=app.key,
    )


def known_tags(image: str) -> list[TagInfo]:
    """The tags of `image` (registry/repository) the registry shows now (deleted ones left out),
    oldest first."""
    rows = ImageTag.objects.filter(image__name=image, deleted_at__isnull=True).order_by(
        "pushed_at", "pk"
    )
    return [TagInfo(t.tag, created=t.created_at or t.pushed_at, digest=t.digest) for t in rows]


def outlook_json(found: Outlook) -> dict:
    policy, selection = found.policy, found.selection
    return {
        "alias": policy.alias,
        "image": policy.image_name,
        "strategy": policy.update_strategy.value,
        "constraint": policy.constraint or "",
        "current": found.current_tag or "",
        "tag": selection.tag,
        "reason": selection.reason.value,
        "message": selection.log or "",
        "rejected": [{"tag": tag, "why": why} for tag, why in selection.rejected],
        "known_tags": found.known_tags,
        "warnings": list(found.warnings),
    }
