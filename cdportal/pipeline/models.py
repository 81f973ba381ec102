"""The pipeline's read models. Only ``cdportal.pipeline.ingest`` writes them (Action rows aside:
``pipeline.actions`` records what people do)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from cdportal.core import durations
from cdportal.core.stages import RELEASE_STAGES, ROLLOUT_STAGES, Stage
from cdportal.pipeline import publish
from cdportal.pipeline.changes import Changes

STAGE_CHOICES = [(s.value, s.label) for s in Stage]


class Repository(models.Model):
    full_name = models.CharField(max_length=200, unique=True, help_text="owner/name on GitHub")
    url = models.URLField(blank=True)
    default_branch = models.CharField(max_length=200, default="main")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name


class Component(models.Model):
    """A Release Please package: its own version, changelog and tags."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="components")
    # "" is the root package ('.') of a single-package repository.
    name = models.CharField(max_length=100, blank=True)
    path = models.CharField(max_length=300, default=".")
    release_type = models.CharField(max_length=50, default="simple")
    current_version = models.CharField(max_length=100, blank=True, help_text="From the manifest")
    # The release engine's latest prediction (a release_plan event's payload).
    plan = models.JSONField(default=dict, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["repository__full_name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="component_unique_name"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.repository.full_name}:{self.name}" if self.name else self.repository.full_name
        )

    @property
    def display_name(self) -> str:
        return self.name or self.repository.full_name.split("/")[-1]


class Release(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Unreleased commits"
        PR_OPEN = "pr_open", "Release PR open"
        RELEASED = "released", "Released"
        DEPLOYED = "deployed", "Deployed"
        FAILED = "failed", "Failed"
        # Older than a release that did reach its applications; it never will.
        SUPERSEDED = "superseded", "Superseded"

    IN_FLIGHT = (State.PENDING, State.PR_OPEN, State.RELEASED, State.FAILED)

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="releases")
    # Empty until Release Please proposes one; it may change while the Release PR is open.
    version = models.CharField(max_length=100, blank=True)
    tag = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    pr_number = models.PositiveIntegerField(null=True, blank=True)
    pr_title = models.CharField(max_length=300, blank=True)
    pr_url = models.URLField(blank=True)
    pr_state = models.CharField(max_length=10, blank=True)
    # The Release PR's labels as last seen (`autorelease: pending` until Release Please tags it).
    pr_labels = models.JSONField(default=list, blank=True)
    url = models.URLField(blank=True, help_text="The GitHub release")
    sha = models.CharField(max_length=64, blank=True, help_text="The commit the tag points at")
    changelog = models.TextField(blank=True, help_text="Markdown, as Release Please wrote it")

    merged_at = models.DateTimeField(null=True, blank=True)
    pr_opened_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True, help_text="Published time")
    built_at = models.DateTimeField(null=True, blank=True)
    failed_stage = models.PositiveSmallIntegerField(choices=STAGE_CHOICES, null=True, blank=True)
    failure_reason = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "version"],
                condition=~Q(version=""),
                name="release_unique_version",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-updated_at"]),
            # The history, newest released first (shipped()).
            models.Index(fields=["-released_at", "-id"], name="release_newest_released"),
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.tag or self.version or '(next)'}"

    @property
    def title(self) -> str:
        name = self.component.display_name
        if self.tag:
            return f"{name} {self.tag}"
        if self.version:
            return f"{name} {self.version} (proposed)"
        predicted = (self.component.plan or {}).get("next_version")
        if predicted:
            return f"{name} {predicted} (predicted)"
        return f"{name} next release"

    @property
    def in_flight(self) -> bool:
        return self.state in self.IN_FLIGHT

    def own_stage_times(self) -> dict[Stage, object]:
        """Stages 1-4, the release's own (5-7 count every application it is headed for:
        ``pipeline.queries.release_stepper``)."""
        return {stage: getattr(self, stage.field) for stage in RELEASE_STAGES}

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if _touches(kwargs.get("update_fields"), SAMPLED_RELEASE_FIELDS):
            StageSample.refresh(self)


class Commit(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    component = models.ForeignKey(
        Component, on_delete=models.SET_NULL, null=True, blank=True, related_name="commits"
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="commits"
    )
    sha = models.CharField(max_length=64)
    message = models.TextField()
    # From the message's conventional header ("" when it has none): filters and lint.
    type = models.CharField(max_length=100, blank=True, db_index=True)
    scope = models.CharField(max_length=200, blank=True)
    breaking = models.BooleanField(default=False)
    author = models.CharField(max_length=200, blank=True)
    url = models.URLField(blank=True)
    committed_at = models.DateTimeField()

    class Meta:
        ordering = ["-committed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "sha"], name="commit_unique_sha"),
        ]

    def __str__(self) -> str:
        return f"{self.sha[:7]} {self.subject}"

    @property
    def subject(self) -> str:
        return self.message.splitlines()[0] if self.message else ""


class BuildRun(models.Model):
    """A run of the workflow that builds and pushes images (binaries-release)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="build_runs")
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="build_runs"
    )
    run_id = models.BigIntegerField()
    workflow = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    conclusion = models.CharField(max_length=20, blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=100, blank=True)
    url = models.URLField(blank=True)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Jobs and their steps as the run advances (workflow_job events / the jobs API), by job id.
    jobs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "run_id"], name="buildrun_unique_run"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} #{self.run_id}"


class ImageRepository(models.Model):
    name = models.CharField(max_length=300, unique=True, help_text="ghcr.io/owner/name")
    component = models.ForeignKey(
        Component, on_delete=models.SET_NULL, null=True, blank=True, related_name="images"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "image repositories"

    def __str__(self) -> str:
        return self.name


class ImageTag(models.Model):
    image = models.ForeignKey(ImageRepository, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=200)
    created_at = models.DateTimeField(
        null=True, blank=True, help_text="The image config's created time"
    )
    pushed_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(default=timezone.now)
    # When the registry deleted it (None: it exists). A deleted tag leaves the live views and
    # the policy's candidates; pushed again, it is back with this cleared.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pushed_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["image", "tag"], name="imagetag_unique_tag")]

    def __str__(self) -> str:
        return f"{self.image.name}:{self.tag}"


class Application(models.Model):
    """An Argo CD Application, as last observed."""

    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    project = models.CharField(max_length=200, default="default")
    repo_url = models.URLField(blank=True)
    # The argocd-image-updater.argoproj.io/* annotations, verbatim; parsed by the policy engine.
    image_policy = models.JSONField(default=dict, blank=True)
    images = models.ManyToManyField(ImageRepository, blank=True, related_name="applications")
    parameters = models.JSONField(default=dict, blank=True)
    live_images = models.JSONField(default=list, blank=True)
    current_tag = models.CharField(max_length=128, blank=True)
    sync_status = models.CharField(max_length=20, default="Unknown")
    health_status = models.CharField(max_length=20, default="Unknown")
    # When the application entered its current sync and health status (the first observation
    # of the current run of it): Needs attention reads these instead of the event log.
    sync_since = models.DateTimeField(null=True, blank=True)
    health_since = models.DateTimeField(null=True, blank=True)
    health_message = models.TextField(blank=True)
    operation_phase = models.CharField(max_length=20, blank=True)
    operation_message = models.TextField(blank=True)
    revision = models.CharField(max_length=100, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # spec.syncPolicy.automated (None: the source did not say) and status.reconciledAt (the
    # controller's last comparison with git: its next one is about a reconciliation period later).
    auto_sync = models.BooleanField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # As the watcher last saw them (core.events.ApplicationObserved): status.conditions, the
    # operationState's details, status.history newest first.
    labels = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    operation = models.JSONField(null=True, blank=True)
    sync_history = models.JSONField(default=list, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    # When Argo CD deleted it (None: it exists). A deleted application leaves the lists,
    # Needs attention and its releases' targets; re-created, it is back with this cleared.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="application_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class UpdaterDeployment(models.Model):
    """The Argo CD Image Updater's own Deployment, as last observed (by the watcher)."""

    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    image = models.CharField(max_length=500, blank=True)
    version = models.CharField(max_length=128, blank=True)
    replicas_desired = models.PositiveIntegerField(default=1)
    replicas_updated = models.PositiveIntegerField(default=0)
    replicas_ready = models.PositiveIntegerField(default=0)
    replicas_available = models.PositiveIntegerField(default=0)
    paused = models.BooleanField(default=False)
    restarted_at = models.CharField(max_length=64, blank=True)
    rollout_complete = models.BooleanField(default=False)
    rollout_message = models.TextField(blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    # From its log (core.events.UpdaterLogRead): the check interval, when the last cycle ended,
    # and the errors that cycle logged.
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    cycle_errors = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "name"], name="updater_deployment_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class ImageUpdaterConfig(models.Model):
    """An ImageUpdater custom resource (argocd-image-updater v1.x), as last observed: which
    Applications of its namespace it selects and how it updates their images."""

    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    spec = models.JSONField(default=dict)
    ready = models.TextField(blank=True)
    error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_updated_at = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "name"], name="imageupdaterconfig_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def as_object(self) -> dict:
        """The resource as the policy engine reads it."""
        return {"metadata": {"namespace": self.namespace, "name": self.name}, "spec": self.spec}


class DeployedTag(models.Model):
    """The history of tags an application ran (one row each time its running tag changed)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="tag_history"
    )
    image = models.CharField(max_length=300)
    tag = models.CharField(max_length=128)
    since = models.DateTimeField()

    class Meta:
        ordering = ["-since", "-pk"]


class Rollout(models.Model):
    """One release reaching one application (stages 5–7; 1–4 are the release's)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="rollouts")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="rollouts")
    detected_at = models.DateTimeField(null=True, blank=True)
    parameter_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    failed_stage = models.PositiveSmallIntegerField(choices=STAGE_CHOICES, null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["release", "application"], name="rollout_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.release} → {self.application}"

    def stage_times(self) -> dict[Stage, object]:
        """The release's stages 1-4, then this application's 5-7."""
        times = self.release.own_stage_times()
        times.update({stage: getattr(self, stage.field) for stage in ROLLOUT_STAGES})
        return times

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if _touches(kwargs.get("update_fields"), SAMPLED_ROLLOUT_FIELDS):
            StageSample.refresh(self.release, rollouts=[self])

    @property
    def complete(self) -> bool:
        return self.synced_at is not None


# The times a release's (or a rollout's) stage durations are measured from.
SAMPLED_RELEASE_FIELDS = frozenset({"released_at", *(stage.field for stage in RELEASE_STAGES)})
SAMPLED_ROLLOUT_FIELDS = frozenset(stage.field for stage in ROLLOUT_STAGES)


def _touches(update_fields, fields: frozenset[str]) -> bool:
    return update_fields is None or not fields.isdisjoint(update_fields)


class StageSample(models.Model):
    """One measured duration: a release's own stage (2-4), or one application's rollout stage
    (5-7) or lead time (stage 0, ``core.durations.LEAD``). The history's stage statistics are
    aggregate queries over these rows (``pipeline.queries.stage_stats``), so they cost the same
    at ten releases as at a hundred thousand. Kept in step by ``Release.save()`` and
    ``Rollout.save()``: whenever the times change, the rows of that release (or rollout) are
    measured again with ``core.durations``, the one definition of a stage's duration.

    Only released versions have samples (what the history measures), and `released_at` and
    `component` are copies of the release's, so the history's filters select samples without a
    join and the unfiltered statistics read the (stage, micros) index alone."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="stage_samples")
    rollout = models.ForeignKey(
        Rollout, on_delete=models.CASCADE, null=True, blank=True, related_name="stage_samples"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField()
    micros = models.BigIntegerField(help_text="The duration, in microseconds")

    class Meta:
        indexes = [
            # Ranks, and the slowest with its tie-break (stage_stats), read in index order.
            models.Index(
                fields=["stage", "micros", "released_at", "release"], name="stagesample_rank"
            ),
            models.Index(fields=["component", "stage", "micros"], name="stagesample_component"),
        ]

    @classmethod
    def refresh(cls, release: Release, *, rollouts: list[Rollout] | None = None) -> None:
        """Measure `release` again: its own stages and every rollout's, or only `rollouts`'
        when given (a rollout's times changed, the release's did not)."""
        if rollouts is None:
            cls.objects.filter(release=release).delete()
            rows = cls.measure(release, list(release.rollouts.all()), own=True)
        else:
            cls.objects.filter(rollout__in=rollouts).delete()
            rows = cls.measure(release, rollouts, own=False)
        cls.objects.bulk_create(rows)

    @classmethod
    def measure(cls, release: Release, rollouts: list[Rollout], *, own: bool) -> list[StageSample]:
        """The rows for `release` (its own stages when `own`) and for `rollouts` of it: none
        until it is released, since the statistics are over released versions only."""
        if release.released_at is None:
            return []
        times = release.own_stage_times()
        found = (
            [(None, stage, d) for stage, d in durations.release_samples(times).items()]
            if own
            else []
        )
        for rollout in rollouts:
            merged = {**times, **{stage: getattr(rollout, stage.field) for stage in ROLLOUT_STAGES}}
            found += [(rollout, stage, d) for stage, d in durations.rollout_samples(merged).items()]
        return [
            cls(
                release=release,
                rollout=rollout,
                component_id=release.component_id,
                released_at=release.released_at,
                stage=int(stage),
                micros=_micros(duration),
            )
            for rollout, stage, duration in found
        ]

    @classmethod
    def rebuild(cls) -> int:
        """Measure every release again (after a bulk import that bypassed save())."""
        cls.objects.all().delete()
        rows: list[StageSample] = []
        released = Release.objects.filter(released_at__isnull=False)
        for release in released.prefetch_related("rollouts").iterator(chunk_size=2000):
            rows += cls.measure(release, list(release.rollouts.all()), own=True)
            if len(rows) >= 5000:
                cls.objects.bulk_create(rows)
                rows = []
        cls.objects.bulk_create(rows)
        return cls.objects.count()


def _micros(duration) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


class PipelineEvent(models.Model):
    """Append-only log of every observation, keyed by the source's own id."""

    source = models.CharField(max_length=32)
    source_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    payload = models.JSONField()
    repository = models.ForeignKey(Repository, on_delete=models.SET_NULL, null=True, blank=True)
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    image = models.ForeignKey(ImageRepository, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="event_unique_source_id"),
        ]
        indexes = [models.Index(fields=["kind", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_id} {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("pipeline events are append-only")
        super().save(*args, **kwargs)


class Action(models.Model):
    """Who did what to which target: written before the call out, finished with its outcome."""

    class Kind(models.TextChoices):
        FORCE_SYNC = "force_sync", "Force sync"
        HARD_REFRESH = "hard_refresh", "Hard refresh"
        TERMINATE = "terminate", "Terminate operation"
        RESTART_UPDATER = "restart_updater", "Restart Image Updater"
        CHECK_CREDENTIALS = "check_credentials", "Check registry credentials"
        CREATE_TAG = "create_tag", "Create tag"
        DISPATCH_WORKFLOW = "dispatch_workflow", "Dispatch workflow"
        RELABEL_RELEASE_PR = "relabel_release_pr", "Relabel Release PR"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"  # not attempted: no role, invalid input, a precondition

    kind = models.CharField(max_length=32, choices=Kind.choices)
    target = models.CharField(max_length=300, help_text="e.g. argocd/cto-controller")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    by_name = models.CharField(max_length=150, help_text="Kept when the user is deleted")
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    message = models.TextField(blank=True)
    # A client-chosen key: the same request submitted twice (double click) is one action.
    idempotency_key = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["by_name", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="action_unique_idempotency_key",
            ),
        ]
        permissions = [
            ("force_sync", "Can force-sync an application"),
            ("refresh_application", "Can hard-refresh an application"),
            ("restart_updater", "Can restart the Image Updater"),
            ("check_registry_credentials", "Can check a registry pull secret against its registry"),
            ("create_tag", "Can create a release tag and dispatch workflows"),
            ("ingest_event", "Can post pipeline events to the API"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target} by {self.by_name}"

    @property
    def took(self):
        """How long from the request to its outcome (None while running)."""
        return self.finished_at - self.started_at if self.finished_at else None

    def finish(self, *, error: str = "", message: str = "", refused: str = "") -> Action:
        """Record the outcome — once. Whoever finishes first wins (the request, a background
        follower, the watcher settling a restart); a later call leaves the row as it is and
        returns it as stored. `refused`: not attempted, and why."""
        status = (
            self.Status.REFUSED
            if refused
            else self.Status.FAILED
            if error
            else self.Status.SUCCEEDED
        )
        said = refused or error or message
        finished_at = timezone.now()
        done = Action.objects.filter(pk=self.pk, finished_at__isnull=True).update(
            status=status, message=said, finished_at=finished_at
        )
        if done:
            self.status, self.message, self.finished_at = status, said, finished_at
            self.announce()
        else:
            self.refresh_from_db(fields=["status", "message", "finished_at"])
        return self

    def announce(self) -> None:
        """Show this action's new state on the open pages that list it (after commit)."""
        publish.after_commit(Changes(actions={self.pk}))


class WebhookDelivery(models.Model):
    """A webhook delivery as received: stored before the 2xx answer, so none is ever lost, and
    processed after it by a delivery worker (cdportal/api/deliveries.py), in order per `queue`."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        INGESTED = "ingested", "Ingested"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=32)  # github, registry
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=64)
    action = models.CharField(max_length=64, blank=True)
    # Deliveries with the same queue (a source's repository) are processed one after another,
    # oldest first; different queues may be processed side by side.
    queue = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    detail = models.TextField(blank=True)
    events_recorded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="delivery_unique_id"),
        ]
        indexes = [
            # The workers' queue: only what is still to be processed.
            models.Index(
                fields=["queue", "id"],
                name="delivery_pending",
                condition=models.Q(status="received"),
            ),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.source} {self.event} {self.delivery_id}"

    @classmethod
    def receive(
        cls,
        source: str,
        delivery_id: str,
        *,
        event: str,
        action: str,
        payload,
        queue: str = "",
        status: str = Status.RECEIVED,
        detail: str = "",
    ) -> WebhookDelivery | None:
        """Store a delivery with one INSERT, committed at once (no transaction encloses a webhook
        request). None when it was received before and did not fail: a replay. A failed delivery
        is claimed again by its redelivery; of two concurrent ones, one wins."""
        fields = {
            "event": event[:64],
            "action": action[:64],
            "payload": payload,
            "queue": queue[:300],
            "status": status,
            "detail": detail[:5000],
        }
        try:
            if connection.in_atomic_block:  # tests: keep the enclosing transaction usable
                with transaction.atomic():
                    return cls.objects.create(source=source, delivery_id=delivery_id, **fields)
            return cls.objects.create(source=source, delivery_id=delivery_id, **fields)
        except IntegrityError:  # stored before (a replay or a redelivery), or concurrently
            pass
        stored = cls.objects.filter(source=source, delivery_id=delivery_id)
        fields["detail"] = fields["detail"] or "redelivered"
        if stored.filter(status=cls.Status.FAILED).update(**fields):
            return stored.get()
        return None


class PollState(models.Model):
    """Where a poller stands for one resource: validators for conditional requests, the rate
    budget GitHub reported, and when to ask next. Survives restarts."""

    source = models.CharField(max_length=32)  # github
    key = models.CharField(max_length=300)  # e.g. 5dlabs/cto:releases
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)  # ok, not_modified, rate_limited, error
    detail = models.TextField(blank=True)
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_remaining = models.PositiveIntegerField(null=True, blank=True)
    rate_reset = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    not_modified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["source", "key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="pollstate_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"
