"""Why isn't vX live in this application? The seven stages walked in order, stopping at the first blocker.

Plain Python: a `Snapshot` of one (release, application) pair goes in — what the sources
recorded, plus the live checks the pipeline made (the registry's answer to a manifest request)
— and an `Explanation` comes out: a verdict (`live`, `on_its_way`, `blocked`), the stage and
code of the first check that did not pass, a message naming the cause, the fix, and when a timer
will move things on (the Image Updater's next check, Argo CD's next refresh). Each check is
named by the problem it rules out (`no_build`, `sync_failed`, …); a later stage reached is
evidence that the earlier ones passed. The codes and their evidence are listed in
docs/explain.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import semver

from cdportal.core.events import version_of_tag
from cdportal.core.stages import Stage, format_duration

LIVE, ON_ITS_WAY, BLOCKED = "live", "on_its_way", "blocked"
PASS, FAIL, WAITING, UNKNOWN = "pass", "fail", "waiting", "unknown"

CODES = (
    "commits_skipped",
    "no_release_pr",
    "release_pr_label_pending",
    "no_build",
    "build_failed",
    "build_running",
    "tag_not_in_registry",
    "tag_rejected_by_policy",
    "updater_not_running",
    "updater_not_configured",
    "updater_registry_auth",
    "updater_waiting",
    "parameter_not_written",
    "auto_sync_off",
    "sync_window",
    "sync_failed",
    "syncing",
    "degraded",
    "live",
)

PENDING_LABEL = "autorelease: pending"
TAGGED_LABEL = "autorelease: tagged"
# Without history: how long after the tag a build usually starts, after a merge Release Please
# usually opens its PR, and after the updater's choice its write-back lands.
BUILD_START_GRACE = timedelta(minutes=5)
RELEASE_PR_GRACE = timedelta(minutes=10)
WRITE_BACK_GRACE = timedelta(minutes=5)
# The Image Updater's default interval (`--interval`, docs/image-updater.md §1) and Argo CD's
# default reconciliation period (`timeout.reconciliation`, 180 s).
UPDATER_DEFAULT_INTERVAL = timedelta(minutes=2)
ARGOCD_RECONCILIATION = timedelta(seconds=180)
FAILED_CONCLUSIONS = frozenset(
    {"failure", "cancelled", "timed_out", "startup_failure", "action_required"}
)
_AUTH_WORDS = ("401", "403", "unauthorized", "unauthorised", "denied", "forbidden")


# --- what goes in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedCommit:
    sha: str
    subject: str
    reason: str


@dataclass(frozen=True)
class PullRequest:
    number: int
    state: str  # open, merged, closed
    labels: tuple[str, ...] = ()
    url: str = ""
    version: str = ""
    tag: str = ""  # the release's tag, when it has one
    merged_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return PENDING_LABEL in self.labels and TAGGED_LABEL not in self.labels


@dataclass(frozen=True)
class Build:
    run_id: int
    workflow: str
    status: str  # queued, in_progress, completed
    conclusion: str = ""
    url: str = ""
    started_at: datetime | None = None
    failing_job: str = ""
    failing_step: str = ""
    failing_url: str = ""


@dataclass(frozen=True)
class RegistryAnswer:
    """The registry's answer to HEAD /v2/<repo>/manifests/<tag>: found (with its digest), not
    found, or None when it could not be asked (`error` says why)."""

    found: bool | None
    digest: str = ""
    error: str = ""


@dataclass(frozen=True)
class PolicyAnswer:
    """What the application's image policy does with the release's tag."""

    configured: bool
    why_not_configured: str = ""  # e.g. annotations without a useAnnotations ImageUpdater
    source: str = ""  # imageupdater, imageupdater+annotations, annotations
    image: str = ""
    picks: str | None = None  # the tag it would take now
    rejected_reason: str = ""  # the policy's own reason for not taking the release's tag
    constraint: str = ""
    allow_tags: str = ""
    ignore_tags: tuple[str, ...] = ()
    parameter: str = "image.tag"


@dataclass(frozen=True)
class UpdaterState:
    seen: bool = False  # cdportal observed its Deployment
    name: str = ""
    replicas_desired: int = 1
    replicas_ready: int = 0
    paused: bool = False
    interval: timedelta | None = None
    last_check_at: datetime | None = None
    errors: tuple[str, ...] = ()  # this image's errors in its last cycle (log lines)
    resource_error: str = ""  # an ImageUpdater resource's Error condition


@dataclass(frozen=True)
class AppState:
    key: str  # namespace/name
    auto_sync: bool | None = None
    sync_status: str = "Unknown"
    health_status: str = "Unknown"
    health_message: str = ""
    operation_phase: str = ""
    operation_message: str = ""
    conditions: tuple[tuple[str, str], ...] = ()  # (type, message)
    resource_problems: tuple[str, ...] = ()  # "Deployment/x: message" of the last operation
    parameter: str = ""  # the Helm tag parameter's value now
    running_tag: str = ""  # from status.summary.images
    live_images: tuple[str, ...] = ()
    reconciled_at: datetime | None = None
    observed_at: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    version: str
    tag: str
    times: Mapping[Stage, datetime | None]  # the release's 1-4, this application's 5-7
    commit_count: int = 0
    skipped: tuple[SkippedCommit, ...] = ()
    releasable: bool | None = None  # Release Please would open a PR (None: no prediction)
    pr: PullRequest | None = None
    blocking_prs: tuple[PullRequest, ...] = ()  # other merged Release PRs still `pending`
    builds: tuple[Build, ...] = ()  # newest first
    image: str = ""  # registry/repository the application follows
    registry: RegistryAnswer | None = None
    policy: PolicyAnswer | None = None
    updater: UpdaterState = field(default_factory=UpdaterState)
    app: AppState | None = None
    usual: Mapping[Stage, timedelta] = field(default_factory=dict)


# --- what comes out -------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    stage: Stage
    code: str
    status: str
    message: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    action: str = (
        ""  # a cdportal action that is the fix: relabel, dispatch_build, force_sync, hard_refresh
    )
    action_target: int | None = None  # e.g. the PR number to relabel
    eta: datetime | None = None

    def to_json(self) -> dict:
        return {
            "stage": int(self.stage),
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class Explanation:
    verdict: str
    checks: tuple[Check, ...]
    usual: timedelta | None = None

    @property
    def blocker(self) -> Check:
        """The first check that did not pass (the last one when all passed: `live`)."""
        return next((c for c in self.checks if c.status != PASS), self.checks[-1])

    @property
    def stage(self) -> Stage:
        return self.blocker.stage

    @property
    def code(self) -> str:
        return self.blocker.code

    @property
    def message(self) -> str:
        return self.blocker.message

    @property
    def fix(self) -> str:
        return self.blocker.fix

    @property
    def eta(self) -> datetime | None:
        return self.blocker.eta

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "stage": int(self.stage),
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
            "eta": self.eta.isoformat() if self.eta else None,
            "checks": [c.to_json() for c in self.checks],
        }


def explain(s: Snapshot) -> Explanation:
    """Walk the stages in order; stop at the first check that does not pass."""
    checks: list[Check] = []
    for step in _STEPS:
        for check in step(s):
            checks.append(check)
            if check.status != PASS:
                return _done(s, checks)
    return _done(s, checks)


def _done(s: Snapshot, checks: list[Check]) -> Explanation:
    blocker = next((c for c in checks if c.status != PASS), checks[-1])
    if blocker.status == PASS:
        verdict = LIVE
    elif blocker.status == FAIL:
        verdict = BLOCKED
    else:
        verdict = ON_ITS_WAY
    return Explanation(verdict, tuple(checks), s.usual.get(blocker.stage))


# --- the stages, in order -------------------------------------------------------------------


def _reached(s: Snapshot, stage: Stage) -> bool:
    """The release reached `stage` (or a later one) here."""
    if _runs(s):
        return True
    return any(s.times.get(later) for later in Stage if later >= stage)


def _runs(s: Snapshot) -> bool:
    return bool(s.app and s.tag and s.app.running_tag == s.tag)


def _newer_runs(s: Snapshot) -> str:
    """The tag the application runs when it is a newer version than the release's ("" if not)."""
    running = s.app.running_tag if s.app else ""
    mine, theirs = version_of_tag(s.tag or ""), version_of_tag(running)
    if not (mine and theirs):
        return ""
    return running if semver.Version.parse(theirs) > semver.Version.parse(mine) else ""


def _ago(s: Snapshot, since: datetime | None) -> str:
    if since is None:
        return ""
    return format_duration(max(s.now - since, timedelta(0)))


def _usually(s: Snapshot, stage: Stage) -> str:
    usual = s.usual.get(stage)
    return f" (usually within {format_duration(usual)})" if usual else ""


def _name(s: Snapshot) -> str:
    return s.tag or (f"v{s.version}" if s.version else "the next release")


def _commits(s: Snapshot) -> list[Check]:
    stage = Stage.MERGED
    listed = tuple(f"{c.sha[:7]} {c.subject} — {c.reason}" for c in s.skipped)
    if s.times.get(Stage.RELEASED) or s.pr is not None or _reached(s, Stage.RELEASE_PR):
        message = f"{s.commit_count} commit(s) in {_name(s)}"
        if s.skipped:
            message += f"; Release Please skipped {len(s.skipped)} more (listed)"
        return [Check(stage, "commits_skipped", PASS, message, listed)]
    if s.releasable is False or (s.releasable is None and s.skipped and not s.commit_count):
        n = len(s.skipped)
        return [
            Check(
                stage,
                "commits_skipped",
                FAIL,
                f"Release Please skips {'all ' if n > 1 else ''}{n} commit(s) merged since the last "
                "release: none is a conventional commit that bumps the version (feat, fix or a "
                "breaking change) for this package",
                listed,
                fix="Merge a conventional commit (e.g. `fix(scope): …`) under the package's path, "
                "or add a `Release-As: x.y.z` footer to force a release",
            )
        ]
    if not s.commit_count and not s.skipped:
        return [
            Check(
                stage,
                "commits_skipped",
                WAITING,
                "No commit has been merged since the last release",
                fix="Merge the change to the release branch",
            )
        ]
    message = f"{s.commit_count} releasable commit(s) merged"
    if s.skipped:
        message += f"; Release Please skips {len(s.skipped)} (listed)"
    return [Check(stage, "commits_skipped", PASS, message, listed)]


def _release_pr(s: Snapshot) -> list[Check]:
    stage = Stage.RELEASE_PR
    if s.times.get(Stage.RELEASED) or _reached(s, Stage.BUILT):
        pr = f"Release PR #{s.pr.number} merged" if s.pr else "Released without a Release PR"
        return [Check(stage, "no_release_pr", PASS, pr, _pr_evidence(s.pr))]
    if s.pr is None and s.blocking_prs:
        old = s.blocking_prs[0]
        tagged = bool(old.tag)
        return [
            Check(
                stage,
                "release_pr_label_pending",
                FAIL,
                f"Release PR #{old.number} ({old.tag or 'v' + old.version}) was merged but is still "
                f"labelled `{PENDING_LABEL}`: Release Please opens no new Release PR while a merged "
                "one waits to be tagged",
                _pr_evidence(old),
                fix=(
                    f"Relabel #{old.number} `{TAGGED_LABEL}`: its release {old.tag} exists"
                    if tagged
                    else f"Create the release for #{old.number} (re-run Release Please, or tag "
                    f"v{old.version} by hand), then relabel it `{TAGGED_LABEL}`"
                ),
                action="relabel" if tagged else "",
                action_target=old.number if tagged else None,
            )
        ]
    if s.pr is None:
        merged = s.times.get(Stage.MERGED)
        waited = s.now - merged if merged else timedelta(0)
        limit = s.usual.get(stage) or RELEASE_PR_GRACE
        late = merged is not None and waited > limit
        return [
            Check(
                stage,
                "no_release_pr",
                FAIL if late else WAITING,
                (
                    f"No Release PR {_ago(s, merged)} after the first commit was merged"
                    + _usually(s, stage)
                    + (": the Release Please workflow did not run or failed" if late else "")
                ),
                fix="Check the Release Please workflow's runs; re-run it on the default branch",
            )
        ]
    if s.pr.state == "closed":
        return [
            Check(
                stage,
                "no_release_pr",
                FAIL,
                f"Release PR #{s.pr.number} was closed without being merged",
                _pr_evidence(s.pr),
                fix="Re-run Release Please: it opens the Release PR again on its next run",
            )
        ]
    return [
        Check(
            stage,
            "no_release_pr",
            PASS,
            f"Release PR #{s.pr.number} {s.pr.state}",
            _pr_evidence(s.pr),
        )
    ]


def _pr_evidence(pr: PullRequest | None) -> tuple[str, ...]:
    if pr is None:
        return ()
    found = [pr.url] if pr.url else []
    if pr.labels:
        found.append("labels: " + ", ".join(pr.labels))
    return tuple(found)


def _released(s: Snapshot) -> list[Check]:
    stage = Stage.RELEASED
    if s.times.get(Stage.RELEASED) or _reached(s, Stage.BUILT):
        return [Check(stage, "release_pr_label_pending", PASS, f"Tagged {s.tag}", ())]
    pr = s.pr
    assert pr is not None  # _release_pr stopped otherwise
    if pr.state == "open":
        return [
            Check(
                stage,
                "release_pr_label_pending",
                WAITING,
                f"Release PR #{pr.number} is open (`{PENDING_LABEL}`): v{s.version} is released "
                "when someone merges it",
                _pr_evidence(pr),
                fix=f"Review and merge Release PR #{pr.number}",
            )
        ]
    return [
        Check(
            stage,
            "release_pr_label_pending",
            FAIL,
            f"Release PR #{pr.number} was merged"
            + (f" {_ago(s, pr.merged_at)} ago" if pr.merged_at else "")
            + f" but no tag v{s.version} "
            f"exists: Release Please has not created the release, and the PR stays `{PENDING_LABEL}`",
            _pr_evidence(pr),
            fix="Re-run Release Please on the default branch (it tags merged Release PRs), or tag "
            f"v{s.version} by hand (Manual release)",
        )
    ]


def _built(s: Snapshot) -> list[Check]:
    stage = Stage.BUILT
    if _reached(s, Stage.DETECTED):
        return [Check(stage, "tag_not_in_registry", PASS, f"{s.image}:{s.tag} was pushed", ())]
    run = s.builds[0] if s.builds else None
    if run is None and not s.times.get(Stage.BUILT):
        released = s.times.get(Stage.RELEASED)
        waited = s.now - released if released else timedelta(0)
        if waited <= BUILD_START_GRACE:
            return [
                Check(
                    stage,
                    "no_build",
                    WAITING,
                    f"{s.tag} was created {_ago(s, released)} ago; its build has not started yet",
                    fix="Wait: the build usually starts within a minute of the tag",
                    action="dispatch_build",
                )
            ]
        return [
            Check(
                stage,
                "no_build",
                FAIL,
                f"No build run for {s.tag} {_ago(s, released)} after the tag: a release or tag "
                "created with GITHUB_TOKEN starts no workflow, so the build never ran",
                (f"tag {s.tag}",),
                fix=f"Dispatch the build for {s.tag} (or create releases with a PAT or App token)",
                action="dispatch_build",
            )
        ]
    checks = []
    if run is not None:
        evidence = tuple(e for e in (run.url, run.failing_url) if e)
        if run.status != "completed":
            return [
                Check(
                    stage,
                    "build_running",
                    WAITING,
                    f"Build run #{run.run_id} ({run.workflow}) {run.status.replace('_', ' ')} for "
                    f"{_ago(s, run.started_at)}" + _usually(s, stage),
                    evidence,
                    fix="Wait for the build to finish",
                )
            ]
        if run.conclusion in FAILED_CONCLUSIONS and not s.times.get(Stage.BUILT):
            where = ""
            if run.failing_job:
                where = f": job '{run.failing_job}'"
                if run.failing_step:
                    where += f", step '{run.failing_step}'"
            return [
                Check(
                    stage,
                    "build_failed",
                    FAIL,
                    f"Build run #{run.run_id} ({run.workflow}) {run.conclusion}{where}",
                    evidence,
                    fix="Read the failing step's log and fix it, then run the build again",
                    action="dispatch_build",
                )
            ]
        checks.append(
            Check(
                stage, "build_failed", PASS, f"Build run #{run.run_id} {run.conclusion}", evidence
            )
        )
    checks.append(_registry(s))
    return checks


def _registry(s: Snapshot) -> Check:
    stage = Stage.BUILT
    ref = f"{s.image}:{s.tag}" if s.image else s.tag
    answer = s.registry
    if answer is not None and answer.found:
        return Check(
            stage,
            "tag_not_in_registry",
            PASS,
            f"{ref} is in the registry",
            tuple(e for e in (f"manifest {answer.digest}" if answer.digest else "",) if e),
        )
    if answer is not None and answer.found is False:
        return Check(
            stage,
            "tag_not_in_registry",
            FAIL,
            f"{ref} is not in the registry (manifest request: {answer.error or 'not found'})"
            + (": the build finished without pushing this tag" if s.builds else ""),
            (f"HEAD /v2/…/manifests/{s.tag}: {answer.error or '404'}",),
            fix="Check the build's push step: the image name and the tags it pushes "
            "(docker/metadata-action), and that it logged in to the registry",
            action="dispatch_build",
        )
    if s.times.get(Stage.BUILT):
        why = f"; the registry was not asked: {answer.error}" if answer and answer.error else ""
        return Check(stage, "tag_not_in_registry", PASS, f"{ref} was pushed{why}", ())
    if not s.image:
        return Check(
            stage,
            "tag_not_in_registry",
            UNKNOWN,
            "No image of this release's component is known: cdportal cannot check the registry",
        )
    return Check(
        stage,
        "tag_not_in_registry",
        UNKNOWN,
        f"Could not ask the registry for {ref}: {answer.error if answer else 'not checked'}",
    )


def _detected(s: Snapshot) -> list[Check]:
    stage = Stage.DETECTED
    newer = _newer_runs(s)
    if newer and not s.times.get(Stage.SYNCED):
        return [
            Check(
                stage,
                "tag_rejected_by_policy",
                FAIL,
                f"{_app(s)} already runs the newer {newer}: the Image Updater takes the newest "
                f"tag its policy allows, so it will not go back to {s.tag}",
                (f"runs {newer}",),
                fix=f"Nothing to do unless {s.tag} is wanted: roll back by pinning the tag",
            )
        ]
    if _reached(s, Stage.DETECTED) or (s.app and s.app.parameter == s.tag and s.tag):
        return [Check(stage, "updater_waiting", PASS, f"The Image Updater chose {s.tag}", ())]
    p, u = s.policy, s.updater
    if p is None or not p.configured:
        why = (p.why_not_configured if p else "") or (
            f"no Image Updater configuration follows {s.image or 'this image'} in {_app(s)}"
        )
        return [
            Check(
                stage,
                "updater_not_configured",
                FAIL,
                f"The Image Updater is not configured for {_app(s)}: {why}",
                fix="Select the application in an ImageUpdater resource (v1.x; `useAnnotations: "
                "true` to keep its annotations), or add the image-list annotations (v0.x)",
            )
        ]
    checks = [
        Check(
            stage, "updater_not_configured", PASS, f"Configured by {p.source or 'its annotations'}"
        )
    ]
    if p.picks != s.tag:
        reason = p.rejected_reason or (
            f"it would take {p.picks} instead" if p.picks else "no tag qualifies"
        )
        rules = tuple(
            r
            for r in (
                f"constraint {p.constraint}" if p.constraint else "",
                f"allow-tags {p.allow_tags}" if p.allow_tags else "",
                f"ignore-tags {', '.join(p.ignore_tags)}" if p.ignore_tags else "",
                f"would take: {p.picks}" if p.picks else "",
            )
            if r
        )
        checks.append(
            Check(
                stage,
                "tag_rejected_by_policy",
                FAIL,
                f"The image policy of {_app(s)} does not take {s.tag}: {reason}",
                rules,
                fix="Change the policy (semver constraint, allow-tags, ignore-tags) or release a tag it accepts",
            )
        )
        return checks
    checks.append(Check(stage, "tag_rejected_by_policy", PASS, f"The policy takes {s.tag}"))
    if u.seen and (u.replicas_ready == 0 or u.replicas_desired == 0):
        checks.append(
            Check(
                stage,
                "updater_not_running",
                FAIL,
                f"The Image Updater {u.name} is not running: {u.replicas_ready}/{u.replicas_desired} "
                "pods ready" + (" (its rollout is paused)" if u.paused else ""),
                fix="Scale it up or restart it from the Image Updater page; read its pod's events",
            )
        )
        return checks
    if u.seen:  # not seen: no evidence either way (cdportal may not watch it)
        checks.append(Check(stage, "updater_not_running", PASS, f"The Image Updater {u.name} runs"))
    auth = [e for e in u.errors if any(w in e.lower() for w in _AUTH_WORDS)]
    if auth or (u.resource_error and any(w in u.resource_error.lower() for w in _AUTH_WORDS)):
        checks.append(
            Check(
                stage,
                "updater_registry_auth",
                FAIL,
                f"The Image Updater cannot read {s.image} from its registry (denied): "
                "its credentials are missing, wrong or lack the read:packages scope",
                tuple(auth) or (u.resource_error,),
                fix="Check the pull secret the updater uses for this registry (a token with "
                "read:packages); the Image Updater page checks it against the registry",
            )
        )
        return checks
    checks.append(
        Check(stage, "updater_registry_auth", PASS, "No registry error in its last cycle")
    )
    interval = u.interval or UPDATER_DEFAULT_INTERVAL
    eta = None
    if u.last_check_at is not None:
        eta = u.last_check_at + interval
        while eta < s.now:
            eta += interval
    said = f"last check {_ago(s, u.last_check_at)} ago, " if u.last_check_at else ""
    checks.append(
        Check(
            stage,
            "updater_waiting",
            WAITING,
            f"Waiting for the Image Updater's next check ({said}every {format_duration(interval)})",
            fix="Wait for the next check, or restart the Image Updater to check now",
            eta=eta,
        )
    )
    return checks


def _app(s: Snapshot) -> str:
    return s.app.key if s.app else "the application"


def _parameter(s: Snapshot) -> list[Check]:
    stage = Stage.PARAMETER_UPDATED
    app = s.app
    parameter = s.policy.parameter if s.policy else "image.tag"
    if _runs(s) or (app and app.parameter == s.tag) or s.times.get(Stage.SYNCED):
        return [Check(stage, "parameter_not_written", PASS, f"{parameter} = {s.tag}")]
    detected = s.times.get(Stage.DETECTED)
    limit = s.usual.get(stage) or WRITE_BACK_GRACE
    late = detected is not None and s.now - detected > limit
    now_says = app.parameter if app and app.parameter else "nothing"
    return [
        Check(
            stage,
            "parameter_not_written",
            FAIL if late else WAITING,
            f"The Image Updater chose {s.tag} {_ago(s, detected)} ago but {parameter} in "
            f"{_app(s)} still says {now_says}" + (": its write-back did not land" if late else ""),
            (f"{parameter}={now_says}",),
            fix="Read the Image Updater's log for the write-back error (write-back method, its "
            "permission to patch Applications, git credentials)",
        )
    ]


def _synced(s: Snapshot) -> list[Check]:
    stage = Stage.SYNCED
    app = s.app
    if app is None:
        return [Check(stage, "syncing", UNKNOWN, "cdportal has not observed the application")]
    conditions = tuple(f"{t}: {m}" for t, m in app.conditions if m)
    newer = _newer_runs(s)
    if newer and s.times.get(Stage.SYNCED):
        return [
            Check(
                stage,
                "live",
                PASS,
                f"{s.tag} ran in {app.key}; the newer {newer} has replaced it since",
                (f"runs {newer}",),
            )
        ]
    window = _window(app)
    if window:
        return [
            Check(
                stage,
                "sync_window",
                FAIL,
                f"A sync window of {app.key}'s project denies syncing now: {window}",
                conditions,
                fix="Wait for the window to open, or sync manually if the window allows manual syncs",
                action="force_sync",
            )
        ]
    if app.operation_phase in ("Failed", "Error"):
        return [
            Check(
                stage,
                "sync_failed",
                FAIL,
                f"The last sync of {app.key} failed: {app.operation_message or 'no message'}. "
                "Argo CD does not retry a failed sync of the same revision",
                (*app.resource_problems, *conditions),
                fix="Fix the cause, then force a sync",
                action="force_sync",
            )
        ]
    sync_error = next((m for t, m in app.conditions if t == "SyncError"), "")
    if sync_error:
        return [
            Check(
                stage,
                "sync_failed",
                FAIL,
                f"Argo CD could not sync {app.key}: {sync_error}",
                conditions,
                fix="Fix the cause, then force a sync",
                action="force_sync",
            )
        ]
    if app.health_status == "Degraded":
        return [
            Check(
                stage,
                "degraded",
                FAIL,
                f"{app.key} is Degraded: {app.health_message or 'a resource is unhealthy'}",
                (*app.resource_problems, *conditions),
                fix="Read the failing resource's events and pods (image pull, crash loop, probes)",
            )
        ]
    if app.operation_phase in ("Running", "Terminating"):
        return [
            Check(
                stage,
                "syncing",
                WAITING,
                f"{app.key} is syncing: {app.operation_message or app.operation_phase}"
                + _usually(s, stage),
                conditions,
                fix="Wait for the sync to finish",
            )
        ]
    if app.sync_status == "OutOfSync" and app.auto_sync is False:
        return [
            Check(
                stage,
                "auto_sync_off",
                FAIL,
                f"{app.key} is OutOfSync and its auto-sync is off: nothing syncs the new "
                f"{s.tag} until someone does",
                conditions,
                fix="Force a sync (or turn on spec.syncPolicy.automated)",
                action="force_sync",
            )
        ]
    if _runs(s) and app.sync_status == "Synced" and app.health_status == "Healthy":
        return [
            Check(
                stage,
                "live",
                PASS,
                f"{s.tag} runs in {app.key}: Synced and Healthy",
                tuple(i for i in app.live_images if i.endswith(f":{s.tag}")),
            )
        ]
    if app.sync_status == "OutOfSync":
        eta = None
        if app.reconciled_at is not None:
            eta = app.reconciled_at + ARGOCD_RECONCILIATION
            if eta < s.now:
                eta = None
        return [
            Check(
                stage,
                "syncing",
                WAITING,
                f"{app.key} is OutOfSync with {s.tag}; auto-sync starts the sync at Argo CD's next refresh"
                + _usually(s, stage),
                conditions,
                fix="Wait, or hard-refresh the application to compare now",
                action="hard_refresh",
                eta=eta,
            )
        ]
    running = app.running_tag or "no matching image"
    return [
        Check(
            stage,
            "syncing",
            WAITING,
            f"{app.key} is {app.sync_status}/{app.health_status}; it runs {running}, not yet {s.tag}"
            + (f": {app.health_message}" if app.health_message else ""),
            conditions,
            fix="Wait for the new pods to become ready",
        )
    ]


def _window(app: AppState) -> str:
    """Argo CD says a sync window blocks: the operation's message, or a condition's."""
    texts = [app.operation_message, *(m for _, m in app.conditions)]
    return next((t for t in texts if t and "sync window" in t.lower()), "")


_STEPS = (_commits, _release_pr, _released, _built, _detected, _parameter, _synced)


__all__ = [
    "BLOCKED",
    "CODES",
    "LIVE",
    "ON_ITS_WAY",
    "AppState",
    "Build",
    "Check",
    "Explanation",
    "PolicyAnswer",
    "PullRequest",
    "RegistryAnswer",
    "SkippedCommit",
    "Snapshot",
    "UpdaterState",
    "explain",
]
