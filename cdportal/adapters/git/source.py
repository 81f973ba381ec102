"""The git source: a repository's releases, commits and next-release plan as pipeline events.

It reads the repository through an incremental commit cache, asks the release engine what was
released (every release tag, with the changelog entry Release Please wrote for it) and what
would be released now, and turns that into normalized events for the one ingestion path. Event
ids are derived from what they describe (a sha, a tag, the head a plan was made at), so a rescan
re-emits nothing new: the ingestion service records each observation once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice

from cdportal.adapters.git.release_source import Snapshot, snapshot
from cdportal.adapters.git.repository import CommitCache, GitRepository
from cdportal.core.changelog import split_entries
from cdportal.core.conventional import Commit, Repo
from cdportal.core.plan import HistoricalRelease, PackagePlan, plan, release_history
from cdportal.core.release_config import PackageConfig, package_file

SOURCE = "git"
# Releases whose commits are imported one by one; older releases arrive with their changelog
# only (a first sync of a long history stays quick).
DEFAULT_HISTORY = 20
# Commits listed in one release_plan event (the count says how many there are in all).
PLAN_COMMITS = 500


@dataclass
class GitSource:
    git: GitRepository
    repository: str  # owner/name, as the pipeline knows the repository
    github: Repo | None = None
    history_releases: int = DEFAULT_HISTORY
    cache: CommitCache | None = None

    def __post_init__(self):
        self.cache = self.cache or CommitCache(self.git)

    def events(self, *, today: date | None = None) -> Iterator[dict]:
        """Every event the repository supports now, oldest first."""
        today = today or datetime.now(UTC).date()
        snap = snapshot(self.git, github=self.github, cache=self.cache)
        links = snap.repo or self.github
        by_sha = {c.sha: c for c in snap.history.commits}
        released = release_history(snap.config, snap.history, repo=links, dates=snap.tag_dates)
        planned = plan(snap.config, snap.history, repo=links, date=today)
        for pkg, next_release in zip(snap.config.packages, planned.packages):
            mine = [r for r in released if r.path == pkg.path]  # newest first
            written = _written_entries(snap, pkg)
            for index, release in enumerate(reversed(mine)):
                if len(mine) - index <= self.history_releases:
                    yield from self._commits(
                        pkg, release.commits, release.ignored, by_sha, version=release.version
                    )
                yield self._release(pkg, release, written.get(release.version), links)
            yield from self._commits(
                pkg,
                (),
                (),
                by_sha,
                shas=[c.sha for c in next_release.commits] + [s.sha for s in next_release.ignored],
            )
            yield self._plan(pkg, next_release, snap, today)

    def _commits(self, pkg, parsed, ignored, by_sha, *, shas=None, version=None) -> Iterator[dict]:
        """A release's commits (or the unreleased ones), oldest first, each once."""
        shas = shas if shas is not None else [c.sha for c in parsed] + [s.sha for s in ignored]
        for sha in sorted(
            {s for s in shas if s in by_sha}, key=lambda s: self.cache.info[s].committed
        ):
            yield self._commit(pkg, by_sha[sha], version)

    def _commit(self, pkg: PackageConfig, commit: Commit, version: str | None) -> dict:
        info = self.cache.info[commit.sha]
        url = f"{self.github.url}/commit/{commit.sha}" if self.github else ""
        return {
            "kind": "commit",
            "source": SOURCE,
            "source_id": f"{self.repository}@{commit.sha}",
            "occurred_at": info.committed_at.isoformat(),
            "repository": self.repository,
            "component": pkg.component,
            "sha": commit.sha,
            "message": commit.message[:20_000],
            "author": info.author_name[:200],
            "url": url,
            "release_version": version,
        }

    def _release(
        self, pkg: PackageConfig, release: HistoricalRelease, written: str | None, links
    ) -> dict:
        info = self.cache.info.get(release.sha)
        occurred = info.committed_at if info else datetime.now(UTC)
        url = f"{links.url}/releases/tag/{release.tag}" if links else ""
        return {
            "kind": "release",
            "source": SOURCE,
            "source_id": f"{self.repository}:{release.tag}@{release.sha}",
            "occurred_at": occurred.isoformat(),
            "repository": self.repository,
            "component": pkg.component,
            "version": release.version,
            "tag": release.tag,
            "sha": release.sha,
            "url": url,
            # What Release Please actually wrote, when CHANGELOG.md has it; else what it would have.
            "changelog": written or release.changelog,
        }

    def _plan(self, pkg: PackageConfig, p: PackagePlan, snap: Snapshot, today: date) -> dict:
        commits = [{**c.to_json(), "why": c.why} for c in p.commits[:PLAN_COMMITS]]
        return {
            "kind": "release_plan",
            "source": SOURCE,
            "source_id": f"{self.repository}:{pkg.path}:{snap.head}:{today.isoformat()}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "repository": self.repository,
            "component": pkg.component,
            "path": pkg.path,
            "release_type": pkg.release_type,
            "head_sha": snap.head,
            "current_version": p.current_version,
            "next_version": p.next_version,
            "tag": p.tag,
            "pr_title": p.pr_title,
            "branch": p.branch,
            "changelog": p.changelog,
            "commits": commits,
            "ignored": [
                {"sha": s.sha, "subject": s.subject[:2000], "reason": s.reason} for s in p.ignored
            ],
            "commit_count": len(p.commits),
            "warnings": list(p.warnings),
        }


def _written_entries(snap: Snapshot, pkg: PackageConfig) -> dict[str, str]:
    """version -> the entry in the package's CHANGELOG.md at the head."""
    text = snap.history.read_file(package_file(pkg, pkg.changelog_path))
    return dict(split_entries(text)) if text else {}


@dataclass
class SyncReport:
    commits_read: int = 0
    recorded: Counter = field(default_factory=Counter)
    seen: int = 0

    def __str__(self) -> str:
        new = ", ".join(f"{n} {kind}" for kind, n in sorted(self.recorded.items())) or "nothing new"
        return f"read {self.commits_read} commits from git; recorded {new} ({self.seen} events considered)"


# Events handed to the sink at once: one transaction each with LocalSink. A history import of
# 5,650 events took 175 s one transaction at a time (benchmarks/history_import.py).
BATCH = 500


def sync(source: GitSource, sink, *, today: date | None = None) -> SyncReport:
    """Deliver the source's events to a sink (LocalSink or HttpSink), in batches of BATCH."""
    before = source.cache.commits_read
    report = SyncReport()
    events = source.events(today=today)
    while batch := list(islice(events, BATCH)):
        report.seen += len(batch)
        for event, new in zip(batch, sink.emit_many(batch), strict=True):
            if new:
                report.recorded[event["kind"]] += 1
    report.commits_read = source.cache.commits_read - before
    return report
