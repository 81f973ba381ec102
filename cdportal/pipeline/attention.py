"""What needs on-call's attention now, and where to act on it: the first panel of the overview.

Each rule reads the models as the sources last reported them and says, in one line, what is
wrong and why (the message Argo CD, the build or the Image Updater gave), with the page that
holds the buttons. Nothing here calls out: the list is as fresh as the last event ingested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cdportal.core import durations
from cdportal.core.stages import Stage, format_duration
from cdportal.pipeline.models import Application, ImageUpdaterConfig, UpdaterDeployment
from cdportal.pipeline.queries import SETTLED, release_failure, releases_in_flight, usual_durations

BAD, WARN = "bad", "warn"
FAILED_OPERATIONS = ("Failed", "Error")
BAD_HEALTH = ("Degraded", "Missing")


@dataclass(frozen=True)
class Problem:
    severity: str  # "bad" (broken) or "warn" (not converging)
    subject: str  # what: "cto-controller-dev", "cto v0.2.61", "Image Updater"
    what: str  # "Degraded", "sync failed", "build failed"
    why: str  # the source's own message
    url: str  # the page to act from
    since: datetime | None = None

    def to_json(self) -> dict:
        return {
            "severity": self.severity,
            "subject": self.subject,
            "what": self.what,
            "why": self.why,
            "url": self.url,
            "since": self.since.isoformat() if self.since else None,
        }


def problems(in_flight: list | None = None) -> list[Problem]:
    """Broken first, then not converging; each group newest first. `in_flight`: the releases in
    flight when the caller has read them already (the overview has)."""
    if in_flight is None:
        in_flight = releases_in_flight()
    usual = _Usual()
    found = [*_applications(usual), *_releases(in_flight, usual), *_updaters()]
    newest_first = sorted(found, key=lambda p: p.since.timestamp() if p.since else 0, reverse=True)
    return sorted(newest_first, key=lambda p: p.severity != BAD)


class _Usual:
    """The usual stage durations, read once per problems() and only if a rule asks."""

    def __init__(self):
        self._durations: dict | None = None

    def __call__(self) -> dict:
        if self._durations is None:
            self._durations = usual_durations()
        return self._durations


def _applications(usual: _Usual) -> list[Problem]:
    found, settling = [], _Settling(timezone.now(), usual)
    # Only rows the rules below can flag: a settled application with no condition has no
    # problem, and at ten thousand applications nearly all are settled.
    quiet = SETTLED & Q(conditions=[])
    candidates = Application.objects.filter(deleted_at__isnull=True).exclude(quiet)
    for app in candidates.order_by("namespace", "name"):
        url = reverse("web:application", args=[app.namespace, app.name])
        at = app.observed_at
        if app.operation_phase in FAILED_OPERATIONS:
            found.append(
                Problem(
                    BAD,
                    app.name,
                    f"sync {app.operation_phase.lower()}",
                    app.operation_message or "the last operation did not succeed",
                    url,
                    at,
                )
            )
        errors = [c for c in app.conditions or [] if str(c.get("type", "")).endswith("Error")]
        # A failed sync's SyncError condition repeats the operation's message: one line is enough.
        shown = [
            c
            for c in errors
            if not (c.get("type") == "SyncError" and app.operation_phase in FAILED_OPERATIONS)
        ]
        for condition in shown[:1]:
            found.append(
                Problem(BAD, app.name, condition["type"], condition.get("message", ""), url, at)
            )
        if app.health_status in BAD_HEALTH:
            found.append(Problem(BAD, app.name, app.health_status, app.health_message, url, at))
        elif (
            app.sync_status == "OutOfSync"
            and app.operation_phase not in ("Running", "Terminating")
            and not errors
        ):
            found += settling.out_of_sync(app, url)
        elif app.health_status == "Progressing" and not errors:
            found += settling.progressing(app, url)
    return found


class _Settling:
    """OutOfSync and Progressing are how every rollout passes: the updater writes the new tag,
    auto-sync starts a sync, the new pods become ready. Such a state is a problem only once it
    outlasts the usual time from "parameter updated" to "synced and healthy" (the 90th
    percentile over recent releases; ATTENTION_GRACE_SECONDS while there is no history) — or,
    for OutOfSync, at once when auto-sync is off, since then nothing will sync it."""

    def __init__(self, now: datetime, durations: _Usual):
        self.now = now
        self.durations = durations

    @property
    def usual(self) -> timedelta | None:
        return self.durations().get(Stage.SYNCED)

    def out_of_sync(self, app: Application, url: str) -> list[Problem]:
        since = app.sync_since or app.observed_at
        if app.auto_sync is False:
            why = "auto-sync is off: nothing syncs it until someone does (force sync)"
            return [Problem(WARN, app.name, "OutOfSync", why, url, since)]
        waited = self._overdue(since)
        if waited is None:
            return []
        why = f"for {format_duration(waited)} and no sync is running ({self._usually('synced')})"
        return [Problem(WARN, app.name, "OutOfSync", why, url, since)]

    def progressing(self, app: Application, url: str) -> list[Problem]:
        since = app.health_since or app.observed_at
        waited = self._overdue(since)
        if waited is None:
            return []
        why = f"for {format_duration(waited)} ({self._usually('healthy')})"
        if app.health_message:
            why += f": {app.health_message}"
        return [Problem(WARN, app.name, "Progressing", why, url, since)]

    def _overdue(self, since: datetime) -> timedelta | None:
        """How long the state has lasted, when that is longer than it usually takes."""
        waited = self.now - since
        limit = self.usual if self.usual is not None else _grace()
        return waited if waited > limit else None

    def _usually(self, state: str) -> str:
        if self.usual is None:
            return f"no history yet; {format_duration(_grace())} allowed"
        return f"usually {state} within {format_duration(self.usual)}"


def _grace() -> timedelta:
    return timedelta(seconds=settings.ATTENTION_GRACE_SECONDS)


def _releases(in_flight: list, usual: _Usual) -> list[Problem]:
    found, now = [], timezone.now()
    for release in in_flight:
        url = reverse("web:release", args=[release.pk])
        stage, reason = release_failure(release)
        if stage is not None:
            found.append(
                Problem(
                    BAD, release.title, f"failed at {stage.label}", reason, url, release.updated_at
                )
            )
            continue
        found += _stalls(release, usual(), now, url)
    return found


def _stalls(release, usual, now, url: str) -> list[Problem]:
    """A release (or one of its rollouts) waiting at an automated stage far longer than usual."""
    waits = [(release.title, durations.stalled(release.own_stage_times(), usual, now))]
    for rollout in release.rollouts.all():
        waits.append(
            (
                f"{release.title} on {rollout.application.name}",
                durations.stalled(rollout.stage_times(), usual, now),
            )
        )
    found = []
    for subject, stall in waits:
        if stall is None:
            continue
        usually = (
            f"usually within {format_duration(stall.usual)}"
            if stall.usual is not None
            else "no history yet"
        )
        found.append(
            Problem(
                WARN,
                subject,
                f"waiting for {stall.stage.label}",
                f"for {format_duration(stall.waited)} ({usually})",
                url,
                now - stall.waited,
            )
        )
    return found


def _updaters() -> list[Problem]:
    found = []
    url = reverse("web:updater")
    for config in ImageUpdaterConfig.objects.exclude(error=""):
        # The v1.x controller's own Error condition on the resource (e.g. a registry it cannot read).
        found.append(
            Problem(
                BAD,
                f"ImageUpdater {config.namespace}/{config.name}",
                "updater error",
                config.error,
                url,
                config.last_checked_at or config.observed_at,
            )
        )
    for row in UpdaterDeployment.objects.all():
        subject = f"Image Updater {row.namespace}/{row.name}"
        if row.replicas_desired and row.replicas_ready == 0:
            found.append(
                Problem(
                    BAD,
                    subject,
                    "no ready pod",
                    row.rollout_message or "no image is checked until a pod is ready",
                    url,
                    row.observed_at,
                )
            )
        elif row.paused:
            found.append(
                Problem(
                    WARN,
                    subject,
                    "paused",
                    "its rollout is paused: a restart is refused",
                    url,
                    row.observed_at,
                )
            )
        elif not row.rollout_complete:
            found.append(
                Problem(WARN, subject, "rolling out", row.rollout_message, url, row.observed_at)
            )
    return found


__all__ = ["BAD", "WARN", "Problem", "problems"]
