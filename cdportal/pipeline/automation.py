"""Release automation health, per component: the overview's guard on Release Please and the build.

Four things that quietly stop releases, read from the models: the open Release PR and how long
it has been open; merged Release PRs still labelled `autorelease: pending` (Release Please opens
no new one while one waits: docs/explain.md); releases tagged without a build (a release created
with GITHUB_TOKEN starts no workflow); and a manifest (.release-please-manifest.json, as the
release engine last read it) behind the latest tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import semver
from django.utils import timezone

from cdportal.pipeline.explain import blocking_release_prs
from cdportal.pipeline.models import Component, Release

# A tag younger than this may still get its build (the build usually starts within seconds).
BUILD_GRACE = timedelta(minutes=5)
# How many tagged releases per component are checked for a build.
RECENT = 10


@dataclass(frozen=True)
class ComponentHealth:
    component: Component
    open_pr: Release | None = None
    open_pr_since: datetime | None = None
    pending_prs: list[Release] = field(default_factory=list)
    without_build: list[Release] = field(default_factory=list)
    manifest_version: str = ""
    latest_tag: str = ""

    @property
    def manifest_behind(self) -> bool:
        latest = _version(self.latest_tag)
        manifest = _version(self.manifest_version)
        return latest is not None and manifest is not None and manifest < latest

    @property
    def problems(self) -> int:
        return len(self.pending_prs) + len(self.without_build) + int(self.manifest_behind)

    def to_json(self) -> dict:
        return {
            "component": str(self.component),
            "open_release_pr": self.open_pr.pr_number if self.open_pr else None,
            "open_release_pr_since": self.open_pr_since.isoformat() if self.open_pr_since else None,
            "merged_pending_prs": [r.pr_number for r in self.pending_prs],
            "releases_without_build": [r.tag for r in self.without_build],
            "manifest_version": self.manifest_version or None,
            "latest_tag": self.latest_tag or None,
            "manifest_behind": self.manifest_behind,
        }


def _version(text: str) -> semver.Version | None:
    text = (text or "").rsplit("-v", 1)[-1].lstrip("vV")
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


def health(now: datetime | None = None) -> list[ComponentHealth]:
    """One entry per component that has releases or a Release PR, problems first."""
    now = now or timezone.now()
    found = []
    for component in Component.objects.select_related("repository"):
        releases = component.releases
        open_pr = releases.filter(pr_state="open").order_by("-pk").first()
        tagged = list(
            releases.filter(released_at__isnull=False)
            .exclude(tag="")
            .order_by("-released_at", "-pk")[:RECENT]
        )
        if open_pr is None and not tagged:
            continue
        latest = max(tagged, key=lambda r: _version(r.tag) or semver.Version(0), default=None)
        found.append(
            ComponentHealth(
                component,
                open_pr=open_pr,
                open_pr_since=open_pr.pr_opened_at if open_pr else None,
                pending_prs=blocking_release_prs(component.pk),
                without_build=[
                    r
                    for r in tagged
                    if r.built_at is None
                    and not r.build_runs.exists()
                    and r.released_at < now - BUILD_GRACE
                    and r.state != Release.State.SUPERSEDED
                ],
                manifest_version=component.current_version,
                latest_tag=latest.tag if latest else "",
            )
        )
    return sorted(found, key=lambda h: (-h.problems, str(h.component)))


__all__ = ["ComponentHealth", "health"]
