"""Why isn't a release live in an application: the snapshot core.explain walks, from the models.

Everything comes from what the sources recorded (GitHub, the Image Updater's log and
Deployment, the Argo CD Application as the watcher last saw it), with one live check: while the
release has not reached the updater, the registry is asked for the tag's manifest (one HEAD, as
`docker manifest inspect` does), so "built but not pushed" is told from "pushed, not picked up".
Only registries cdportal is configured for are asked (REGISTRY_IMAGES, REGISTRY_CREDENTIALS),
with a short timeout, and answers are kept briefly: the release page's live refresh does not
ask again on every update.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import semver
from django.conf import settings
from django.utils import timezone

from cdportal.adapters.registry.client import RegistryClient, parse_credentials
from cdportal.adapters.registry.errors import NotFound, RegistryError
from cdportal.core import explain as core
from cdportal.core.events import split_image_reference
from cdportal.core.image_list import DEFAULT_TAG_PARAMETER
from cdportal.core.image_outlook import outlook, repository_name
from cdportal.core.stages import ROLLOUT_STAGES, Stage
from cdportal.core.tag_policy import TagInfo
from cdportal.pipeline.models import (
    Application,
    ImageUpdaterConfig,
    Release,
    Rollout,
    UpdaterDeployment,
)
from cdportal.pipeline.policies import policies_for
from cdportal.pipeline.queries import known_tags, release_lanes, usual_durations

REGISTRY_TIMEOUT = 3.0
FOUND_FOR = 300.0  # seconds a registry answer is kept: a tag found stays found
MISSING_FOR = 15.0  # … and one not found (or an unreachable registry) is asked again soon


@dataclass(frozen=True)
class Panel:
    """One application's "Why isn't vX live?" on the release page."""

    application: Application
    explanation: core.Explanation


def explain(
    release: Release, app: Application, *, ask_registry: bool = True, usual=None
) -> core.Explanation:
    return core.explain(snapshot(release, app, ask_registry=ask_registry, usual=usual))


def panels(release: Release, *, ask_registry: bool = True) -> list[Panel]:
    """The release page's panels: one per application the release is headed for."""
    lanes = release_lanes(release)
    usual = usual_durations() if lanes else {}
    return [
        Panel(
            lane.application,
            explain(release, lane.application, ask_registry=ask_registry, usual=usual),
        )
        for lane in lanes
    ]


def panel_context(release: Release, *, ask_registry: bool = True) -> dict:
    """The release page's "Why isn't vX live?" partial: a panel per application, and the merged
    Release PRs still pending its relabel buttons may name."""
    return {
        "panels": panels(release, ask_registry=ask_registry),
        "blocking": blocking_release_prs(release.component_id),
    }


def releases_tracked_by(app_pks) -> list[Release]:
    """The releases in flight whose panels name one of these applications (a lane of theirs)."""
    return list(
        Release.objects.filter(state__in=Release.IN_FLIGHT)
        .filter(component__images__applications__in=list(app_pks))
        .select_related("component__repository")
        .distinct()
    )


def snapshot(
    release: Release, app: Application, *, ask_registry: bool = True, usual=None
) -> core.Snapshot:
    now = timezone.now()
    rollout = Rollout.objects.filter(release=release, application=app).first()
    times = dict(release.own_stage_times())
    times.update({s: getattr(rollout, s.field) if rollout else None for s in ROLLOUT_STAGES})
    found = policies_for(app)
    policy = _policy_of(release, app, found)
    image = repository_name(policy) if policy else _component_image(release, app)
    updater = _updater(image, app, found)
    commits = list(release.commits.values_list("type", "sha", "message", "url"))
    state = _app_state(app, policy)
    reached = bool(times.get(Stage.DETECTED)) or (
        bool(release.tag) and release.tag in (state.running_tag, state.parameter)
    )
    registry = None
    if ask_registry and image and release.tag and not reached:
        registry = registry_answer(image, release.tag)
    return core.Snapshot(
        now=now,
        version=release.version,
        tag=release.tag,
        times=times,
        commit_count=sum(1 for kind, *_ in commits if kind),
        skipped=_skipped(release, commits),
        releasable=_releasable(release),
        pr=_pr(release),
        blocking_prs=_blocking_prs(release),
        builds=_builds(release),
        image=image,
        registry=registry,
        policy=_policy_answer(release, app, found, policy, registry, updater),
        updater=updater,
        app=state,
        usual=usual_durations() if usual is None else usual,
    )


# --- stages 1-3: commits and the Release PR ---------------------------------------------------


def _skipped(release: Release, commits: list[tuple]) -> tuple[core.SkippedCommit, ...]:
    """The commits Release Please skips: the engine's own list (with its reasons) for the
    release it predicts, else the release's commits that are not conventional."""
    plan = release.component.plan or {}
    if release.released_at is None and plan.get("ignored"):
        return tuple(
            core.SkippedCommit(c["sha"], c["subject"], c["reason"]) for c in plan["ignored"]
        )
    return tuple(
        core.SkippedCommit(
            sha, (message or "").splitlines()[0] if message else "", "not a conventional commit"
        )
        for kind, sha, message, _ in commits
        if not kind
    )


def _releasable(release: Release) -> bool | None:
    """Whether Release Please would open a Release PR now (None: cdportal has no prediction)."""
    plan = release.component.plan or {}
    if release.released_at is not None or "head_sha" not in plan:
        return None
    return bool(plan.get("next_version"))


def _pr(release: Release) -> core.PullRequest | None:
    if not release.pr_number:
        return None
    return core.PullRequest(
        release.pr_number,
        release.pr_state or "open",
        tuple(release.pr_labels or ()),
        release.pr_url,
        release.version,
        release.tag,
    )


def blocking_release_prs(component_id: int, *, exclude: int | None = None) -> list[Release]:
    """Merged Release PRs of a component still labelled `autorelease: pending`: Release Please
    opens no new one while they wait (docs/explain.md)."""
    merged = Release.objects.filter(component_id=component_id, pr_state="merged").exclude(
        pr_number=None
    )
    if exclude is not None:
        merged = merged.exclude(pk=exclude)
    return [r for r in merged.order_by("-pk") if _pending(r.pr_labels)]


def _pending(labels) -> bool:
    labels = labels or []
    return core.PENDING_LABEL in labels and core.TAGGED_LABEL not in labels


def _blocking_prs(release: Release) -> tuple[core.PullRequest, ...]:
    if release.released_at is not None:
        return ()
    return tuple(
        _pr(other) for other in blocking_release_prs(release.component_id, exclude=release.pk)
    )


# --- stage 4: the build and the registry ------------------------------------------------------


def _builds(release: Release) -> tuple[core.Build, ...]:
    found = []
    for run in release.build_runs.order_by("-started_at", "-pk"):
        job, step = _failing(run.jobs or [])
        found.append(
            core.Build(
                run.run_id,
                run.workflow,
                run.status,
                run.conclusion,
                run.url,
                run.started_at,
                failing_job=(job or {}).get("name", ""),
                failing_step=(step or {}).get("name", ""),
                failing_url=(job or {}).get("url", ""),
            )
        )
    return tuple(found)


def _failing(jobs: list[dict]) -> tuple[dict | None, dict | None]:
    for job in jobs:
        if job.get("conclusion") in core.FAILED_CONCLUSIONS:
            step = next(
                (
                    s
                    for s in job.get("steps") or []
                    if s.get("conclusion") in core.FAILED_CONCLUSIONS
                ),
                None,
            )
            return job, step
    return None, None


def _component_image(release: Release, app: Application) -> str:
    image = app.images.filter(component=release.component_id).first()
    return image.name if image else ""


_ANSWERS: dict[tuple[str, str], tuple[float, core.RegistryAnswer]] = {}
_CLIENTS: dict[str, RegistryClient] = {}
_LOCK = threading.Lock()


def registry_answer(image: str, tag: str) -> core.RegistryAnswer:
    """HEAD the tag's manifest (kept FOUND_FOR / MISSING_FOR seconds)."""
    key = (image, tag)
    with _LOCK:
        kept = _ANSWERS.get(key)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    answer = _ask(image, tag)
    keep = FOUND_FOR if answer.found else MISSING_FOR
    with _LOCK:
        _ANSWERS[key] = (time.monotonic() + keep, answer)
    return answer


def forget_registry_answers() -> None:
    with _LOCK:
        _ANSWERS.clear()
        _CLIENTS.clear()


def _ask(image: str, tag: str) -> core.RegistryAnswer:
    host, _, repository = image.partition("/")
    if host not in _configured_hosts():
        return core.RegistryAnswer(
            None, error=f"{host} is not a registry cdportal is configured for"
        )
    try:
        digest = _client(host).resolve(repository, tag)
    except NotFound as e:
        return core.RegistryAnswer(False, error=str(e))
    except (RegistryError, ValueError) as e:
        return core.RegistryAnswer(None, error=str(e))
    return core.RegistryAnswer(True, digest=digest)


def _configured_hosts() -> set[str]:
    hosts = {image.split("/", 1)[0] for image in settings.REGISTRY_IMAGES}
    return hosts | set(settings.REGISTRY_CREDENTIALS)


def _client(host: str) -> RegistryClient:
    with _LOCK:
        client = _CLIENTS.get(host)
        if client is None:
            reference = settings.REGISTRY_CREDENTIALS.get(host)
            client = _CLIENTS[host] = RegistryClient(
                host,
                credentials=parse_credentials(reference) if reference else None,
                timeout=REGISTRY_TIMEOUT,
                retries=0,
                max_rps=settings.REGISTRY_MAX_RPS or None,
            )
        return client


# --- stage 5: the policy and the Image Updater ------------------------------------------------


def _policy_of(release: Release, app: Application, found):
    """The application's policy for an image the release's component builds (the only policy,
    when the component's images are not known yet)."""
    ours = set(app.images.filter(component=release.component_id).values_list("name", flat=True))
    for policy in found.policies:
        if repository_name(policy) in ours:
            return policy
    return found.policies[0] if len(found.policies) == 1 else None


def _updater_row() -> UpdaterDeployment | None:
    rows = UpdaterDeployment.objects.order_by("-observed_at")
    namespace = settings.UPDATER_NAMESPACE
    return (rows.filter(namespace=namespace).first() if namespace else None) or rows.first()


def _v1(row: UpdaterDeployment | None) -> bool:
    version = (row.version if row else "").lstrip("v")
    try:
        return semver.Version.parse(version).major >= 1
    except ValueError:
        return bool(ImageUpdaterConfig.objects.exists())


def _policy_answer(release, app, found, policy, registry, updater) -> core.PolicyAnswer:
    if found.error:
        return core.PolicyAnswer(configured=False, why_not_configured=found.error)
    if found.source == "annotations" and _v1(_updater_row()):
        return core.PolicyAnswer(
            configured=False,
            source=found.source,
            why_not_configured=(
                "argocd-image-updater v1.x reads ImageUpdater resources, and none selects this "
                "application with `useAnnotations: true`, so its image-list annotations are ignored"
            ),
        )
    if policy is None:
        return core.PolicyAnswer(configured=False)
    tags = known_tags(repository_name(policy))
    if (
        release.tag
        and registry is not None
        and registry.found
        and release.tag not in {t.name for t in tags}
    ):
        tags.append(TagInfo(release.tag, created=timezone.now(), digest=registry.digest or None))
    found_outlook = outlook(policy, tags, live_images=app.live_images or [], where=app.key)
    selection = found_outlook.selection
    rejected = dict(selection.rejected)
    reason = rejected.get(release.tag, "")
    if not reason and selection.tag != release.tag and release.tag not in {t.name for t in tags}:
        reason = f"{release.tag} is not among the tags cdportal knows for {policy.image}"
    if not reason and selection.tag != release.tag and selection.log:
        reason = selection.log
    return core.PolicyAnswer(
        configured=True,
        source=found.source,
        image=policy.image,
        picks=selection.tag,
        rejected_reason=reason,
        constraint=policy.constraint or "",
        allow_tags=policy.allow_tags or "",
        ignore_tags=tuple(policy.ignore_tags),
        parameter=policy.helm.image_tag or DEFAULT_TAG_PARAMETER,
    )


def _updater(image: str, app: Application, found) -> core.UpdaterState:
    row = _updater_row()
    config = found.config
    last_check = row.last_cycle_at if row else None
    if (
        config is not None
        and config.last_checked_at
        and (last_check is None or config.last_checked_at > last_check)
    ):
        last_check = config.last_checked_at
    errors = tuple(
        e.get("message", "") for e in (row.cycle_errors if row else []) if _concerns(e, image, app)
    )
    interval = row.interval_seconds if row and row.interval_seconds else None
    return core.UpdaterState(
        # A row made by an `updater_log` event alone says nothing about the pods.
        seen=row is not None and bool(row.image),
        name=row.key if row else "",
        replicas_desired=row.replicas_desired if row else 1,
        replicas_ready=row.replicas_ready if row else 0,
        paused=row.paused if row else False,
        interval=timedelta(seconds=interval) if interval else None,
        last_check_at=last_check,
        errors=errors,
        resource_error=config.error if config is not None else "",
    )


def _concerns(error: dict, image: str, app: Application) -> bool:
    """A logged error is about this image or application (or names neither: a registry-wide one)."""
    logged_image, logged_app = error.get("image", ""), error.get("application", "")
    if logged_image:
        return bool(image) and (
            logged_image == image or logged_image.endswith(image.partition("/")[2])
        )
    if logged_app:
        return logged_app in (app.key, app.name)
    return True


# --- stages 6-7: the Application ------------------------------------------------------------


def _app_state(app: Application, policy) -> core.AppState:
    parameter = (policy.helm.image_tag if policy else None) or DEFAULT_TAG_PARAMETER
    image = repository_name(policy) if policy else ""
    running = ""
    for reference in app.live_images or []:
        name, tag = split_image_reference(reference)
        if (not image or name == image) and tag:
            running = tag
            break
    resources = tuple(
        f"{r.get('kind')}/{r.get('name')}: {r.get('message')}"
        for r in ((app.operation or {}).get("resources") or [])
        if r.get("message")
    )
    return core.AppState(
        key=app.key,
        auto_sync=app.auto_sync,
        sync_status=app.sync_status,
        health_status=app.health_status,
        health_message=app.health_message,
        operation_phase=app.operation_phase,
        operation_message=app.operation_message,
        conditions=tuple(
            (str(c.get("type", "")), str(c.get("message", ""))) for c in app.conditions or []
        ),
        resource_problems=resources,
        parameter=(app.parameters or {}).get(parameter, ""),
        running_tag=running,
        live_images=tuple(app.live_images or ()),
        reconciled_at=app.reconciled_at,
        observed_at=app.observed_at,
    )


__all__ = [
    "Panel",
    "blocking_release_prs",
    "explain",
    "panel_context",
    "panels",
    "registry_answer",
    "releases_tracked_by",
    "snapshot",
]
