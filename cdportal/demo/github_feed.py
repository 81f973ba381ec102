"""The simulator's GitHub half, played on the simulated GitHub (cdportal.demo.github) instead of
being posted to the server: what reaches cdportal is then GitHub's webhooks, and the repository's
history and next-release plan read from its git repository (cdportal.adapters.git.source).

`GitHubFeed` is a sink in front of the server's: a `commit` becomes a push to main, a `release_pr`
the Release PR opened, updated or merged, a `release` the tag and the published release, a
`build` the build workflow's run. The simulator's made-up shas are mapped to the real commits,
also in the `sha-…` image tag. Every other event (images, Argo CD) goes on to the server's sink,
in order after the webhooks queued before it.

`GitSync` re-reads the repository after each push, as `sync-git` would, and records its
releases, commits and plan through the server's sink; each event is sent once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cdportal.adapters.git.repository import CommitCache, GitRepository
from cdportal.adapters.git.source import GitSource, sync
from cdportal.adapters.sinks import EventSink
from cdportal.core.conventional import Repo
from cdportal.demo import workflows
from cdportal.demo.github import GitHub
from cdportal.demo.github_shapes import FULL_NAME, NAME, OWNER
from cdportal.demo.hooks import Hooks

log = logging.getLogger(__name__)

GITHUB_KINDS = frozenset({"commit", "release_pr", "release", "build"})


class GitHubFeed:
    def __init__(self, sink: EventSink, github: GitHub):
        self.sink, self.github = sink, github
        self.shas: dict[str, str] = {}  # the simulator's sha -> the real commit
        self.release_commits: dict[str, str] = {}  # version -> its release commit

    def emit(self, event: Mapping[str, Any]) -> bool:
        kind, at = event["kind"], _time(event["occurred_at"])
        if kind == "commit":
            self.shas[event["sha"]] = self.github.push(
                event["message"], author=event["author"], at=at
            )
        elif kind == "release_pr":
            self._release_pr(event, at)
        elif kind == "release":
            version = event["version"]
            self.release_commits[version] = self.github.publish(
                version,
                self._notes(version, event["changelog"]),
                at=at,
                commit=self.release_commits.get(version),
            )
            self.shas[event["sha"]] = self.release_commits[version]
        elif kind == "build":
            self._build(event, at)
        else:
            event = self._real_image_tag(event)
            self.github.hooks.call(lambda: self.sink.emit(event))
        return True

    def _release_pr(self, event: Mapping[str, Any], at: datetime) -> None:
        version = event["version"]
        if event["state"] == "merged":
            self.release_commits[version] = self.github.merge(version, at=at)
            return
        planned = self.github.plan(at=at)
        if planned.next_version == version and planned.pr_title:
            # What Release Please would write for the repository as it is.
            self.github.propose(planned.pr_title, planned.changelog or "", at=at)
        else:  # a manual tag moved the simulator's idea of the next version on
            self.github.propose(event["title"], event["changelog"], at=at)

    def _notes(self, version: str, changelog: str) -> str:
        merged = next(
            (
                p
                for p in self.github.pulls.values()
                if p.merge_commit_sha == self.release_commits.get(version)
            ),
            None,
        )
        return merged.body if merged is not None and merged.body else changelog

    def _build(self, event: Mapping[str, Any], at: datetime) -> None:
        run_id, status = event["run_id"], event["status"]
        if status == "queued":
            tag = f"v{event['version']}"
            self.github.start_run(
                workflows.BUILD,
                event="push",  # the release's tag push starts the build
                ref=tag,
                head_sha=self.shas.get(event["head_sha"], event["head_sha"]),
                title=f"{workflows.BUILD.name} {tag}",
                run_id=run_id,
                at=at,
            )
        else:
            self.github.advance(run_id, status, event.get("conclusion"), at=at)

    def _real_image_tag(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        tag = event.get("tag") or ""
        if event["kind"] != "image_push" or not tag.startswith("sha-"):
            return event
        real = next((r for s, r in self.shas.items() if s.startswith(tag[4:])), None)
        return {**event, "tag": f"sha-{real[:7]}"} if real else event


class GitSync:
    """The demo repository's releases, commits and plan, recorded through `sink` (what
    `sync-git --repo PATH --github 5dlabs/cto` records), sending each event once.

    Called after each push; the reading runs in the webhook thread, after the push's webhooks.
    Pushes that come while a reading waits there are covered by it (one reading, not one each)."""

    def __init__(self, path, sink: EventSink, hooks: Hooks):
        git = GitRepository(path)
        self.source = GitSource(
            git, repository=FULL_NAME, github=Repo(OWNER, NAME), cache=CommitCache(git)
        )
        self.sink, self.hooks = sink, hooks
        self.sent: set[str] = set()
        self.waiting = threading.Event()

    def __call__(self) -> None:
        if not self.waiting.is_set():
            self.waiting.set()
            self.hooks.call(self.read)

    def read(self) -> None:
        self.waiting.clear()  # a push from now on needs another reading
        report = sync(self.source, _Once(self.sink, self.sent))
        log.debug("demo repository: %s", report)


class _Once:
    """A sink that passes on each event once per demo run (a rescan lists them all again)."""

    def __init__(self, sink: EventSink, sent: set[str]):
        self.sink, self.sent = sink, sent

    def emit(self, event: Mapping[str, Any]) -> bool:
        return self.emit_many([event])[0]

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[bool]:
        fresh = [e for e in events if e["source_id"] not in self.sent]
        recorded = dict(
            zip((e["source_id"] for e in fresh), self.sink.emit_many(fresh), strict=True)
        )
        self.sent.update(recorded)
        return [recorded.get(e["source_id"], False) for e in events]


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
