"""Normalized pipeline events: the one language every source speaks to the ingestion service.

A source (GitHub, the registry, Kubernetes, the demo simulator) turns what it observes into one
of these and hands it to ``cdportal.pipeline.ingest``. Each event carries the source's own id for
the observation (``source_id``: a webhook delivery id, a resourceVersion, a registry event id), so
the same observation reported twice — by a webhook and by the poller, or by a retry — is stored
once. Validation happens here, before anything is written: a malformed event never reaches the
database.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, get_args

import semver
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from cdportal.core.text import first_unstorable


class InvalidEvent(ValueError):
    """The event does not match its schema; the message says which field and why."""


def _semver(value: str) -> str:
    if not semver.Version.is_valid(value):
        raise ValueError(f"{value!r} is not a semantic version (X.Y.Z, without a leading v)")
    return value


def _image(value: str) -> str:
    value = value.lower()
    if not IMAGE_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an image repository (registry/namespace/name, without tag or digest)"
        )
    return value


IMAGE_RE = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)+")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
# A changelog entry can be long (a release folding thousands of commits).
LongText = Annotated[str, StringConstraints(max_length=2_000_000)]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^(https?://\S+)?$")]
RepoName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=200)
]
Component = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]*$", max_length=100)]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")]
Version = Annotated[str, AfterValidator(_semver)]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
Digest = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+:[0-9a-f]{32,128}$")]
Image = Annotated[str, AfterValidator(_image)]
K8sName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    source: SourceName
    source_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    occurred_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # A NUL or a lone surrogate anywhere would fail in the database, after validation.
        where = first_unstorable(data)
        if where:
            raise ValueError(f"{where} cannot be stored (a NUL or a lone surrogate)")
        return data

    def describe(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


class CommitMerged(_Event):
    """A commit reached the release branch (stage 1: commits merged)."""

    kind: Literal["commit"] = "commit"
    repository: RepoName
    component: Component = ""
    sha: Sha
    message: Text
    author: Annotated[str, StringConstraints(max_length=200)] = ""
    url: Url = ""
    # The release it shipped in, when the source knows (history read from git); else the
    # commit joins the component's next release.
    release_version: Version | None = None

    def describe(self) -> str:
        return f"{self.sha[:7]} {self.message.splitlines()[0] if self.message else ''}"


class ReleasePullRequest(_Event):
    """Release Please opened, updated, merged or closed its Release PR (stage 2)."""

    kind: Literal["release_pr"] = "release_pr"
    repository: RepoName
    component: Component = ""
    number: int = Field(gt=0)
    title: Name
    version: Version
    state: Literal["open", "merged", "closed"]
    url: Url = ""
    changelog: Text = ""
    # Its labels as GitHub shows them: Release Please marks a Release PR `autorelease: pending`
    # until it has tagged the release, then `autorelease: tagged` (docs/explain.md).
    labels: Annotated[
        list[Annotated[str, StringConstraints(max_length=100)]], Field(max_length=50)
    ] = []

    def describe(self) -> str:
        return f"Release PR #{self.number} {self.state}: {self.title}"


class ReleasePublished(_Event):
    """A GitHub release and its tag exist (stage 3)."""

    kind: Literal["release"] = "release"
    repository: RepoName
    component: Component = ""
    version: Version
    tag: Tag
    url: Url = ""
    sha: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{7,64})?$")] = ""
    changelog: LongText = ""

    def describe(self) -> str:
        return f"Released {self.tag}"


class BuildStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=0)
    name: Annotated[str, StringConstraints(max_length=300)]
    status: Annotated[str, StringConstraints(max_length=20)]
    conclusion: Annotated[str, StringConstraints(max_length=20)] | None = None
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None


class BuildJob(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = Field(gt=0)
    name: Annotated[str, StringConstraints(max_length=300)]
    status: Annotated[
        str, StringConstraints(max_length=20)
    ]  # queued, in_progress, completed, waiting
    conclusion: Annotated[str, StringConstraints(max_length=20)] | None = None
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    url: Url = ""
    steps: list[BuildStep] = []


# A finished workflow run's conclusion, as GitHub names it (its REST API and webhooks alike).
BuildConclusion = Literal[
    "success",
    "failure",
    "cancelled",
    "timed_out",
    "skipped",
    "neutral",
    "action_required",
    "startup_failure",
    "stale",
]
BUILD_CONCLUSIONS = frozenset(get_args(BuildConclusion))


class BuildRun(_Event):
    """A run of the build workflow that pushes images (stage 4 starts, or fails)."""

    kind: Literal["build"] = "build"
    repository: RepoName
    component: Component = ""
    run_id: int = Field(gt=0)
    workflow: Name
    status: Literal["queued", "in_progress", "completed"]
    conclusion: BuildConclusion | None = None
    head_sha: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{7,64})?$")] = ""
    version: Version | None = None
    url: Url = ""
    # Jobs seen so far (all of them from the jobs API, or the one a workflow_job event names):
    # merged into the run's jobs by id.
    jobs: list[BuildJob] = []

    def describe(self) -> str:
        if self.jobs and len(self.jobs) == 1:
            job = self.jobs[0]
            return (
                f"{self.workflow} job {job.name}: {job.conclusion or job.status.replace('_', ' ')}"
            )
        outcome = self.conclusion or self.status.replace("_", " ")
        version = f" v{self.version}" if self.version else ""
        return f"{self.workflow}{version}: {outcome}"


class ImagePushed(_Event):
    """A tag was pushed to an image repository (stage 4 done)."""

    kind: Literal["image_push"] = "image_push"
    image: Image
    tag: Tag
    digest: Digest
    created_at: AwareDatetime | None = None

    def describe(self) -> str:
        return f"Pushed {self.image}:{self.tag}"


class ImageDeleted(_Event):
    """A tag, or a manifest and every tag on it, was deleted from an image repository: the
    registry notified `delete`, or a full tag list no longer has it. The tag leaves the live
    views and the policy's candidates; history keeps it, marked deleted."""

    kind: Literal["image_delete"] = "image_delete"
    image: Image
    tag: Tag | None = None  # None: every tag on `digest`
    digest: Digest | None = None  # None: the tag, whatever it points at

    @model_validator(mode="after")
    def _names_something(self) -> ImageDeleted:
        if not self.tag and not self.digest:
            raise ValueError("an image_delete names a tag, a digest or both")
        return self

    def describe(self) -> str:
        what = f":{self.tag}" if self.tag else f"@{self.digest}"
        return f"Deleted {self.image}{what}"


class UpdaterDetected(_Event):
    """Argo CD Image Updater chose a new tag for an application's image (stage 5)."""

    kind: Literal["updater"] = "updater"
    namespace: K8sName
    application: K8sName
    image: Image
    alias: Annotated[str, StringConstraints(max_length=100)] = ""
    from_tag: Annotated[str, StringConstraints(max_length=128)] = ""
    to_tag: Tag

    def describe(self) -> str:
        return f"Image Updater: {self.application} {self.from_tag or '?'} → {self.to_tag}"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Short = Annotated[str, StringConstraints(max_length=300)]


class AppCondition(_Part):
    """status.conditions[]: ComparisonError, SyncError, OrphanedResourceWarning, …"""

    type: Short
    message: Text = ""
    last_transition_time: AwareDatetime | None = None


class OperationResource(_Part):
    """A resource of the running or last operation that is not simply synced (hooks, failures)."""

    kind: Short
    namespace: Short = ""
    name: Short
    status: Short = ""  # Synced/SyncFailed/Pruned…, or the hook's phase
    hook: Short = ""  # PreSync, Sync, PostSync, SyncFail
    message: Text = ""


class Operation(_Part):
    """status.operationState: who started it, when, how far it got."""

    phase: Literal["Running", "Terminating", "Succeeded", "Failed", "Error"]
    message: Text = ""
    initiated_by: Short = ""  # a username, or "automated"
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    retry_count: Annotated[int, Field(ge=0)] = 0
    revision: Short = ""
    resources: Annotated[list[OperationResource], Field(max_length=50)] = []


class SyncHistoryEntry(_Part):
    """status.history[]: one successful sync (Argo CD keeps the last ten)."""

    id: int
    revision: Short = ""
    deployed_at: AwareDatetime | None = None
    started_at: AwareDatetime | None = None
    initiated_by: Short = ""


class ApplicationObserved(_Event):
    """A snapshot of an Argo CD Application (stages 6 and 7, or their failure)."""

    kind: Literal["application"] = "application"
    namespace: K8sName
    name: K8sName
    project: Annotated[str, StringConstraints(max_length=200)] = "default"
    repo_url: Url = ""
    sync_status: Literal["Synced", "OutOfSync", "Unknown"] = "Unknown"
    health_status: Literal[
        "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"
    ] = "Unknown"
    health_message: Text = ""
    operation_phase: Literal["", "Running", "Terminating", "Succeeded", "Failed", "Error"] = ""
    operation_message: Text = ""
    # spec.syncPolicy.automated on: Argo CD syncs an OutOfSync application by itself. None: the
    # source does not say.
    auto_sync: bool | None = None
    revision: Annotated[str, StringConstraints(max_length=100)] = ""
    # Helm parameter overrides, e.g. {"image.tag": "v0.3.0"} written by the Image Updater.
    parameters: dict[str, Annotated[str, StringConstraints(max_length=1000)]] = {}
    # status.summary.images: the images the live resources run, e.g. ghcr.io/5dlabs/controller:v0.3.0
    images: list[Annotated[str, StringConstraints(max_length=500)]] = []
    # Image Updater annotations (argocd-image-updater.argoproj.io/*), kept verbatim.
    annotations: dict[str, Annotated[str, StringConstraints(max_length=2000)]] = {}
    # metadata.labels: an ImageUpdater CR's labelSelectors choose Applications by them.
    labels: dict[str, Annotated[str, StringConstraints(max_length=1000)]] = {}
    last_synced_at: AwareDatetime | None = None
    # status.reconciledAt: the controller's last comparison with git (a refresh is done when it moves)
    reconciled_at: AwareDatetime | None = None
    conditions: Annotated[list[AppCondition], Field(max_length=50)] = []
    operation: Operation | None = None  # the details behind operation_phase/_message
    history: Annotated[list[SyncHistoryEntry], Field(max_length=20)] = []
    # The Application no longer exists (a watch DELETED, or absent from a full list): the
    # snapshot's other fields are not applied.
    deleted: bool = False

    def describe(self) -> str:
        if self.deleted:
            return f"{self.name}: deleted"
        phase = f", operation {self.operation_phase}" if self.operation_phase else ""
        return f"{self.name}: {self.sync_status}/{self.health_status}{phase}"


class UpdaterDeploymentObserved(_Event):
    """A snapshot of the Image Updater's own Deployment: its version, replicas and rollout
    (the restart on-call asks for is done when `rollout_complete` turns true)."""

    kind: Literal["updater_deployment"] = "updater_deployment"
    namespace: K8sName
    name: K8sName
    image: Annotated[str, StringConstraints(max_length=500)] = ""
    version: Annotated[str, StringConstraints(max_length=128)] = ""
    replicas_desired: Annotated[int, Field(ge=0)] = 1
    replicas_updated: Annotated[int, Field(ge=0)] = 0
    replicas_ready: Annotated[int, Field(ge=0)] = 0
    replicas_available: Annotated[int, Field(ge=0)] = 0
    paused: bool = False
    # kubectl.kubernetes.io/restartedAt of the pod template (RFC 3339), '' before any restart.
    restarted_at: Annotated[str, StringConstraints(max_length=64)] = ""
    rollout_complete: bool = False
    rollout_message: Text = ""

    # What a snapshot says about the Deployment (all but its name): what ingest copies onto the row.
    STATE: ClassVar[tuple[str, ...]] = (
        "image",
        "version",
        "replicas_desired",
        "replicas_updated",
        "replicas_ready",
        "replicas_available",
        "paused",
        "restarted_at",
        "rollout_complete",
        "rollout_message",
    )

    def describe(self) -> str:
        state = "rolled out" if self.rollout_complete else "rolling out"
        return f"Image Updater {self.name} {self.version or '?'}: {self.replicas_ready}/{self.replicas_desired} ready, {state}"


def _small_json(value: dict) -> dict:
    import json

    if len(json.dumps(value, default=str)) > 200_000:
        raise ValueError("is larger than 200,000 characters as JSON")
    return value


class UpdaterLogError(_Part):
    """One error the Image Updater logged in its last cycle (credentials masked)."""

    time: Annotated[str, StringConstraints(max_length=64)] = ""
    application: Short = ""
    image: Short = ""
    message: Text = ""


class UpdaterLogRead(_Event):
    """What the Image Updater's log says about its checks: its interval (the `starting` line),
    when its last cycle ended (`Processing results: …`) and the errors that cycle logged."""

    kind: Literal["updater_log"] = "updater_log"
    namespace: K8sName
    name: K8sName  # its Deployment
    pod: Annotated[str, StringConstraints(max_length=253)] = ""
    interval_seconds: Annotated[int, Field(ge=0)] | None = None
    last_cycle_at: AwareDatetime | None = None
    errors: Annotated[list[UpdaterLogError], Field(max_length=50)] = []

    def describe(self) -> str:
        when = self.last_cycle_at.isoformat() if self.last_cycle_at else "no cycle yet"
        return f"Image Updater log: last check {when}, {len(self.errors)} error(s)"


class ImageUpdaterObserved(_Event):
    """An `ImageUpdater` custom resource (argocd-image-updater v1.x): which Applications it
    selects and how their images are updated. Its `spec` is kept verbatim and read by the policy
    engine (core.image_list.policies_from_image_updater)."""

    kind: Literal["updater_config"] = "updater_config"
    namespace: K8sName
    name: K8sName
    spec: Annotated[dict[str, Any], AfterValidator(_small_json)] = {}
    deleted: bool = False
    # From its status: what the controller last said about it.
    ready: Text = ""
    error: Text = ""
    last_checked_at: AwareDatetime | None = None
    last_updated_at: AwareDatetime | None = None

    def describe(self) -> str:
        if self.deleted:
            return f"ImageUpdater {self.namespace}/{self.name} deleted"
        refs = ", ".join(
            str(r.get("namePattern", "?")) for r in self.spec.get("applicationRefs") or []
        )
        return f"ImageUpdater {self.namespace}/{self.name}: applications {refs or 'none'}"


class PlannedCommit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha: Sha
    subject: Annotated[str, StringConstraints(max_length=2000)]
    type: Annotated[str, StringConstraints(max_length=100)]
    scope: Annotated[str, StringConstraints(max_length=200)] | None = None
    breaking: bool = False
    bump: Literal["none", "patch", "minor", "major"]
    why: Annotated[str, StringConstraints(max_length=300)] = ""


class IgnoredCommit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha: Sha
    subject: Annotated[str, StringConstraints(max_length=2000)]
    reason: Annotated[str, StringConstraints(max_length=500)]


class ReleasePlanned(_Event):
    """What Release Please would do now for one package (the release engine's prediction)."""

    kind: Literal["release_plan"] = "release_plan"
    repository: RepoName
    component: Component = ""
    path: Annotated[str, StringConstraints(max_length=300)] = "."
    release_type: Annotated[str, StringConstraints(max_length=50)] = "simple"
    head_sha: Sha
    current_version: Version | None = None
    next_version: Version | None = None
    tag: Tag | None = None
    pr_title: Annotated[str, StringConstraints(max_length=300)] | None = None
    branch: Annotated[str, StringConstraints(max_length=300)] = ""
    changelog: LongText | None = None
    commits: list[PlannedCommit] = []
    ignored: list[IgnoredCommit] = []
    commit_count: int = Field(default=0, ge=0)  # may exceed len(commits) when the list is capped
    warnings: list[Annotated[str, StringConstraints(max_length=500)]] = []

    def describe(self) -> str:
        name = self.component or self.repository
        if self.next_version:
            return f"Next release of {name}: {self.next_version} ({self.commit_count or len(self.commits)} commits)"
        return f"No release due for {name}"


Event = Annotated[
    CommitMerged
    | ReleasePullRequest
    | ReleasePublished
    | BuildRun
    | ImagePushed
    | ImageDeleted
    | UpdaterDetected
    | ApplicationObserved
    | UpdaterDeploymentObserved
    | ImageUpdaterObserved
    | UpdaterLogRead
    | ReleasePlanned,
    Field(discriminator="kind"),
]
EVENT_KINDS = (
    "commit",
    "release_pr",
    "release",
    "build",
    "image_push",
    "image_delete",
    "updater",
    "application",
    "updater_deployment",
    "updater_config",
    "updater_log",
    "release_plan",
)

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: Any) -> Event:
    """Validate a mapping (a JSON body, a simulator's dict) into an event, or raise InvalidEvent."""
    if isinstance(data, _Event):
        return data
    try:
        return _adapter.validate_python(data)
    except ValidationError as e:
        raise InvalidEvent(_explain(e)) from None


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "event"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def event_from_json(body: bytes | str) -> Event:
    try:
        return _adapter.validate_json(body)
    except ValidationError as e:
        raise InvalidEvent(_explain(e)) from None


def split_image_reference(reference: str) -> tuple[str, str]:
    """'ghcr.io/5dlabs/controller:v0.3.0' -> ('ghcr.io/5dlabs/controller', 'v0.3.0')."""
    reference = reference.split("@", 1)[0]
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference.lower(), ""
    return name.lower(), tag


def version_of_tag(tag: str) -> str | None:
    """The semantic version a release tag names ('v0.3.0', 'controller-v0.3.0'), if any."""
    candidate = tag.rsplit("-v", 1)[-1] if "-v" in tag else tag
    candidate = candidate[1:] if candidate[:1] in ("v", "V") else candidate
    return candidate if semver.Version.is_valid(candidate) else None


__all__ = [
    "ApplicationObserved",
    "BUILD_CONCLUSIONS",
    "BuildConclusion",
    "BuildRun",
    "CommitMerged",
    "Event",
    "EVENT_KINDS",
    "ImageDeleted",
    "ImagePushed",
    "ImageUpdaterObserved",
    "InvalidEvent",
    "ReleasePublished",
    "ReleasePlanned",
    "ReleasePullRequest",
    "UpdaterDetected",
    "UpdaterDeploymentObserved",
    "UpdaterLogRead",
    "event_from_json",
    "parse_event",
    "split_image_reference",
    "version_of_tag",
]
