"""Template helpers: the stage stepper, durations, status colours, safe Markdown."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from cdportal.core.stages import format_duration, steps
from cdportal.pipeline import queries
from cdportal.pipeline.models import Release, Rollout
from cdportal.pipeline.queries import release_lanes, release_stepper

register = template.Library()

TONES = {
    "Synced": "ok",
    "Healthy": "ok",
    "Succeeded": "ok",
    "success": "ok",
    "deployed": "ok",
    "OutOfSync": "warn",
    "Progressing": "busy",
    "Running": "busy",
    "in_progress": "busy",
    "queued": "busy",
    "pr_open": "busy",
    "released": "busy",
    "pending": "idle",
    "Degraded": "bad",
    "Failed": "bad",
    "Error": "bad",
    "failure": "bad",
    "failed": "bad",
    "Missing": "bad",
    "Suspended": "warn",
    "superseded": "idle",
    "Unknown": "idle",
    "SyncFailed": "bad",
    "Terminating": "busy",
    # the explainer's verdicts and check statuses
    "live": "ok",
    "on_its_way": "busy",
    "blocked": "bad",
    "pass": "ok",
    "fail": "bad",
    "waiting": "busy",
    "unknown": "idle",
}


@register.inclusion_tag("web/_stepper.html")
def stepper(obj: Release | Rollout, compact: bool = False, lanes: bool = False):
    """A release's seven stages (with `lanes`: below them, each application it is headed for
    and how far it got there), or one rollout's."""
    if isinstance(obj, Release):
        found = release_lanes(obj)
        return {
            "steps": release_stepper(obj, found),
            "compact": compact,
            "lanes": found if lanes else [],
            "release": obj,
        }
    return {
        "steps": steps(
            obj.stage_times(),
            now=timezone.now(),
            failed_stage=obj.failed_stage,
            failure_reason=obj.failure_reason,
        ),
        "compact": compact,
    }


VERDICTS = {"live": "live", "on_its_way": "on its way", "blocked": "blocked"}


DRIFT = {
    "policy_behind_release": "policy behind the latest release",
    "override_behind_policy": "override not written yet",
    "running_behind_override": "not running the override",
}


@register.filter
def drift_label(flag: str) -> str:
    return DRIFT.get(flag, flag)


@register.filter
def verdict_label(verdict: str) -> str:
    return VERDICTS.get(verdict, verdict)


@register.filter
def duration(delta) -> str:
    return format_duration(delta)


@register.filter
def tone(status: str) -> str:
    return TONES.get(status or "", "idle")


@register.filter
def instant(value):
    """An ISO 8601 string kept in a JSON field (as events carry them) as a datetime, for |date."""
    if not value or not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@register.filter
def condition_tone(kind: str) -> str:
    """Argo CD condition types end in Error or Warning (common.go ApplicationCondition*)."""
    return "bad" if (kind or "").endswith("Error") else "warn"


@register.filter
def shortsha(sha: str) -> str:
    return (sha or "")[:7]


@cache
def _markdown():
    from markdown_it import MarkdownIt

    # Changelogs come from outside: raw HTML is escaped, and markdown-it's link validation
    # drops javascript:/vbscript:/data: URLs.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


@register.filter
def markdown(text: str) -> str:
    return mark_safe(_markdown().render(text or ""))


@register.filter
def shipped_to(release: Release) -> list[str]:
    """The applications that ran `release` (history: where it shipped)."""
    return queries.shipped_to(release)


@register.filter
def not_shipped_why(release: Release) -> str:
    """Why `release` did not ship; "" when it did."""
    return queries.not_shipped_why(release)
