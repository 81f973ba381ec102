"""A simulated pipeline shaped like 5dlabs/cto: the Rust controller, its Helm chart, the
``ghcr.io/5dlabs/controller`` image and three Argo CD applications that track it with the
Image Updater's semver strategy.

Plain Python, no Django: ``Simulator.run()`` is a generator that yields either a number (seconds
to wait) or a normalized event (a dict for ``cdportal.core.events``). Whoever drives it decides
how to wait and where the events go (``cdportal.demo.runner``), so tests drive it with a fake
clock and no sleeping at all.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cdportal.core import changelog, versioning
from cdportal.core.conventional import ChangelogSection, Commit, Repo
from cdportal.core.parsing import parse_commits

REPOSITORY = "5dlabs/cto"
IMAGE = "ghcr.io/5dlabs/controller"
WORKFLOW = "binaries-release"
GITHUB = f"https://github.com/{REPOSITORY}"

# Annotations as in the reference project's infra/gitops/applications/cto/controller.yaml.
POLICY = {
    "argocd-image-updater.argoproj.io/image-list": f"controller={IMAGE}",
    "argocd-image-updater.argoproj.io/controller.update-strategy": "semver",
    "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
    "argocd-image-updater.argoproj.io/write-back-method": "argocd",
    "argocd-image-updater.argoproj.io/controller.helm.image-tag": "image.tag",
}
APPLICATIONS = ("cto-controller-dev", "cto-controller-staging", "cto-controller")

COMMITS = [
    "feat(controller): add task retry logic",
    "feat(controller): support task cancellation",
    "feat(heal): group alerts by workflow",
    "feat(pm): sync priorities from Linear",
    "fix(controller): resolve nil pointer in reconciler",
    "fix(heal): resolve alert deduplication bug",
    "fix(controller): requeue on conflict instead of failing",
    "fix: preserve local task customizations on sync",
    "perf(controller): cache CRD lookups",
    "docs: document the release pipeline",
    "chore(deps): bump tokio from 1.40 to 1.41",
    "refactor(controller): split reconciler into phases",
    "ci: cache cargo registry in binaries-release",
    "update readme",  # not conventional: Release Please skips it
]
# What lands when the demo breaks stage 1 (cdportal.demo.breaks): nothing Release Please takes.
SKIPPED = ("update readme", "wip", "Tweak the reconciler loop", "address review comments")
AUTHORS = ("kaseonedge", "jonathonfritz", "ana-dev", "pm-bot")
# The reference project's changelog-sections (release-please-config.json): chore, docs and ci
# are visible, so they release a patch on their own.
SECTIONS = (
    ChangelogSection("feat", "✨ Features"),
    ChangelogSection("fix", "🐛 Bug Fixes"),
    ChangelogSection("perf", "⚡ Performance"),
    ChangelogSection("refactor", "♻️ Refactoring"),
    ChangelogSection("docs", "📚 Documentation"),
    ChangelogSection("chore", "🔧 Maintenance"),
    ChangelogSection("ci", "👷 CI/CD"),
    ChangelogSection("test", "✅ Tests", hidden=True),
    ChangelogSection("build", "📦 Build", hidden=True),
)
VERSIONING = versioning.VersionOptions(
    bump_minor_pre_major=True, bump_patch_for_minor_pre_major=True, sections=SECTIONS
)

Item = float | dict


@dataclass
class Simulator:
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    version: str = "0.2.50"
    speed: float = 1.0
    build_failure_rate: float = 0.15
    degraded_rate: float = 0.1
    run_id: str = ""

    def __post_init__(self):
        self.run_id = self.run_id or f"{self.rng.getrandbits(32):08x}"
        self._serial = 0
        self._pr_number = 4400
        self._open_pr: int | None = None
        self._untagged: tuple[str, list[Commit]] | None = None  # a merged Release PR left pending
        self._build_number = 19_000_000_000
        self._running: dict[str, str] = {app: f"v{self.version}" for app in APPLICATIONS}

    def reset_running(self, tag: str) -> None:
        self._running = {app: tag for app in APPLICATIONS}

    @property
    def running(self) -> dict[str, str]:
        """The tag each application runs, as far as the simulator's script knows."""
        return dict(self._running)

    # --- the script ----------------------------------------------------------------------

    def run(self, *, cycles: int | None = None) -> Iterator[Item]:
        """Applications first (so the dashboard is never empty), then release after release."""
        for app in APPLICATIONS:
            yield self._application(app, self._running[app], "Synced", "Healthy")
        done = 0
        while cycles is None or done < cycles:
            yield from self.release_cycle()
            done += 1

    def release_cycle(self, broken: str = "") -> Iterator[Item]:
        """One release, from the first commit to every application; `broken`: the stage to
        break on the way (cdportal.demo.breaks; the GitHub half's breaks are played here)."""
        if self._untagged is not None and broken != "release_pr_label_pending":
            # Release Please's next run tags the merged Release PR it left pending.
            version, commits = self._untagged
            self._untagged = None
            yield from self._ship(version, commits, broken)
            return
        commits: list[Commit] = []  # newest first, as git lists them
        if broken == "commits_skipped":
            for message in SKIPPED[: self.rng.randint(2, len(SKIPPED))]:
                yield self._pause(1.5, 3.5)
                yield self._commit(message)
            return  # Release Please proposes nothing: no Release PR, no release
        if broken == "no_release_pr":
            for message in COMMITS[:2]:  # a feature and a fix, but Release Please does not run
                yield self._pause(1.5, 3.5)
                yield self._commit(message)
            return
        if self._untagged is not None:  # still broken: Release Please opens no new Release PR
            for _ in range(2):
                yield self._pause(1.5, 3.5)
                yield self._commit(self.rng.choice(COMMITS))
            return
        proposed = None
        for _ in range(self.rng.randint(2, 4)):
            yield self._pause(1.5, 3.5)
            event = self._commit(self.rng.choice(COMMITS))
            commits.insert(0, Commit(sha=event["sha"], message=event["message"]))
            yield event
            proposed = self._proposal(commits)
            if proposed is not None:
                yield self._pause(0.8, 1.5)
                yield self._release_pr(proposed, "open", commits)
        if proposed is None:
            # Nothing releasable yet (only hidden or non-conventional commits): a fix lands.
            yield self._pause(1.5, 3)
            event = self._commit("fix(controller): handle empty task queue")
            commits.insert(0, Commit(sha=event["sha"], message=event["message"]))
            yield event
        version = self._proposal(commits)
        yield self._pause(1.5, 2.5)
        yield self._release_pr(version, "merged", commits)
        if broken == "release_pr_label_pending":
            self._untagged = (version, commits)
            return  # Release Please does not tag it: the PR stays `autorelease: pending`
        yield from self._ship(version, commits, broken)

    def _ship(self, version: str, commits: list[Commit], broken: str) -> Iterator[Item]:
        """The release published, built, pushed and rolled out (unless `broken` says otherwise)."""
        tag, sha = f"v{version}", self._sha(version)
        yield self._event(
            "release",
            repository=REPOSITORY,
            version=version,
            tag=tag,
            sha=sha,
            url=f"{GITHUB}/releases/tag/{tag}",
            changelog=self._changelog(version, commits),
        )
        self.version = version
        if broken == "no_build":
            return  # created with GITHUB_TOKEN: its events start no workflow

        run_id = self._next_build()
        yield self._pause(0.5, 1)
        yield self._build(run_id, version, sha, "queued")
        yield self._pause(1, 2)
        yield self._build(run_id, version, sha, "in_progress")
        yield self._pause(3, 5)
        if broken == "build_failed" or (not broken and self.rng.random() < self.build_failure_rate):
            yield self._build(run_id, version, sha, "completed", "failure")
            return  # the next cycle's fix supersedes this release
        yield self._build(run_id, version, sha, "completed", "success")
        if broken == "tag_not_in_registry":
            return  # the build pushed nothing
        yield self._pause(0.5, 1)
        digest = "sha256:" + hashlib.sha256(f"{self.run_id}{tag}".encode()).hexdigest()
        yield self._event("image_push", image=IMAGE, tag=tag, digest=digest)
        yield self._event("image_push", image=IMAGE, tag=f"sha-{sha[:7]}", digest=digest)

        for app in APPLICATIONS:
            yield from self._roll_out(app, tag)

    def _roll_out(self, app: str, tag: str) -> Iterator[Item]:
        yield self._pause(1.5, 3)
        yield self._event(
            "updater",
            namespace="argocd",
            application=app,
            image=IMAGE,
            alias="controller",
            from_tag=self._running[app],
            to_tag=tag,
        )
        yield self._pause(0.5, 1)
        yield self._application(app, self._running[app], "OutOfSync", "Healthy", desired=tag)
        yield self._pause(0.8, 1.5)
        yield self._application(
            app,
            self._running[app],
            "OutOfSync",
            "Progressing",
            desired=tag,
            operation="Running",
            message="waiting for healthy state of apps/Deployment/controller",
        )
        yield self._pause(2, 4)
        if app.endswith("-dev") and self.rng.random() < self.degraded_rate:
            yield self._application(
                app,
                tag,
                "Synced",
                "Degraded",
                desired=tag,
                operation="Succeeded",
                health_message='Deployment "controller" exceeded its progress deadline',
            )
            self._running[app] = tag
            return
        self._running[app] = tag
        yield self._application(
            app,
            tag,
            "Synced",
            "Healthy",
            desired=tag,
            operation="Succeeded",
            message="successfully synced (all tasks run)",
        )

    # --- event builders ------------------------------------------------------------------

    def _event(self, kind: str, **fields) -> dict:
        self._serial += 1
        return {
            "kind": kind,
            "source": "demo",
            "source_id": f"{self.run_id}-{self._serial}",
            "occurred_at": self.clock().isoformat(),
            **fields,
        }

    def _pause(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high) / self.speed

    def _sha(self, seed: str) -> str:
        return hashlib.sha1(f"{self.run_id}:{seed}:{self._serial}".encode()).hexdigest()

    def _commit(self, message: str) -> dict:
        sha = self._sha(message)
        return self._event(
            "commit",
            repository=REPOSITORY,
            sha=sha,
            message=message,
            author=self.rng.choice(AUTHORS),
            url=f"{GITHUB}/commit/{sha}",
        )

    def _proposal(self, commits: list[Commit]) -> str | None:
        """The version Release Please would propose for these commits (None: no release)."""
        return versioning.next_version(self.version, parse_commits(commits).commits, VERSIONING)

    def _release_pr(self, version: str, state: str, commits: list[Commit]) -> dict:
        # One Release PR per cycle: opened once, then updated in place as commits land.
        if self._open_pr is None:
            self._pr_number += 1
            self._open_pr = self._pr_number
        number = self._open_pr
        if state != "open":
            self._open_pr = None
        return self._event(
            "release_pr",
            repository=REPOSITORY,
            number=number,
            title=f"chore: release {version}",
            version=version,
            state=state,
            url=f"{GITHUB}/pull/{number}",
            changelog=self._changelog(version, commits),
        )

    def _build(
        self, run_id: int, version: str, sha: str, status: str, conclusion: str | None = None
    ) -> dict:
        return self._event(
            "build",
            repository=REPOSITORY,
            run_id=run_id,
            workflow=WORKFLOW,
            status=status,
            conclusion=conclusion,
            head_sha=sha,
            version=version,
            url=f"{GITHUB}/actions/runs/{run_id}",
        )

    def _next_build(self) -> int:
        self._build_number += self.rng.randint(10, 500)
        return self._build_number

    def _application(
        self,
        app: str,
        running: str,
        sync: str,
        health: str,
        *,
        desired: str | None = None,
        operation: str = "",
        message: str = "",
        health_message: str = "",
    ) -> dict:
        fields = {
            "namespace": "argocd",
            "name": app,
            "project": "platform",
            "repo_url": GITHUB,
            "sync_status": sync,
            "health_status": health,
            "health_message": health_message,
            "operation_phase": operation,
            "operation_message": message,
            "revision": self._sha(app)[:40],
            "parameters": {"image.repository": IMAGE, "image.tag": desired or running},
            "images": [f"{IMAGE}:{running}"],
            "annotations": POLICY,
        }
        if sync == "Synced" and operation in ("", "Succeeded"):
            fields["last_synced_at"] = self.clock().isoformat()
        return self._event("application", **fields)

    def _changelog(self, version: str, commits: list[Commit]) -> str:
        return changelog.render_entry(
            version=version,
            tag=f"v{version}",
            previous_tag=f"v{self.version}",
            commits=parse_commits(commits).commits,
            repo=Repo("5dlabs", "cto"),
            date=self.clock().date(),
            sections=SECTIONS,
        )


def fake_clock(start: datetime) -> tuple[Callable[[], datetime], Callable[[float], None]]:
    """A clock for tests and history: returns (now, advance)."""
    state = {"now": start}

    def now() -> datetime:
        return state["now"]

    def advance(seconds: float) -> None:
        state["now"] += timedelta(seconds=seconds)

    return now, advance
