"""The demo repository: a real git repository (made with the git CLI in the demo's temporary
directory) that the simulated GitHub (cdportal.demo.github) serves as 5dlabs/cto.

It starts as the reference project starts a release cycle: Release Please's configuration and
manifest, the Cargo workspace the manifest's version is written into, a changelog, the two
workflows, and the release commit of the first version, tagged. The simulator's commits touch
files by their scope; a merged Release PR is the commit Release Please makes (manifest, Cargo.toml
and changelog at the new version); a release or a manual tag is an annotated tag object.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cdportal.demo import workflows

BRANCH = "main"
BOT = ("release-please[bot]", "55107282+release-please[bot]@users.noreply.github.com")
CONFIG = {
    "packages": {
        ".": {
            "release-type": "simple",
            "bump-minor-pre-major": True,
            "bump-patch-for-minor-pre-major": True,
            "include-component-in-tag": False,
            "include-v-in-tag": True,
            "changelog-path": "CHANGELOG.md",
            "pull-request-title-pattern": "chore: release ${version}",
            "pull-request-header": "🚀 Release ${version}",
            "extra-files": [
                {"type": "toml", "path": "Cargo.toml", "jsonpath": "$.workspace.package.version"}
            ],
        }
    },
    # As the reference project's release-please-config.json (see cdportal.demo.simulator).
    "changelog-sections": [
        {"type": "feat", "section": "✨ Features"},
        {"type": "fix", "section": "🐛 Bug Fixes"},
        {"type": "perf", "section": "⚡ Performance"},
        {"type": "refactor", "section": "♻️ Refactoring"},
        {"type": "docs", "section": "📚 Documentation"},
        {"type": "chore", "section": "🔧 Maintenance", "hidden": False},
        {"type": "ci", "section": "👷 CI/CD", "hidden": False},
        {"type": "test", "section": "✅ Tests", "hidden": True},
        {"type": "build", "section": "📦 Build", "hidden": True},
    ],
}
# Where a commit of each scope (or type) writes, so the history touches the files it names.
FILES = {
    "controller": "controller/src/reconciler.rs",
    "heal": "heal/src/alerts.rs",
    "pm": "pm/src/linear.rs",
    "deps": "Cargo.lock",
    "docs": "docs/releases.md",
    "ci": ".github/workflows/binaries-release.yaml",
}


@dataclass(frozen=True)
class CommitData:
    sha: str
    message: str
    author: str
    email: str
    date: datetime
    tree: str
    parents: tuple[str, ...]


class GitError(RuntimeError):
    pass


class DemoRepository:
    """A work tree on `main`; every change is a commit (or a tag) at a given time. Thread-safe:
    the simulator and the stand-in's request threads both write to it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.RLock()

    # --- making it ----------------------------------------------------------------------------

    def create(self, version: str, *, at: datetime) -> str:
        """The repository at `version`: its files and release commit, tagged v`version`."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", BRANCH)
        files = {
            "release-please-config.json": json.dumps(CONFIG, indent=2, ensure_ascii=False) + "\n",
            ".release-please-manifest.json": _manifest(version),
            "Cargo.toml": _cargo(version),
            "CHANGELOG.md": "# Changelog\n",
            "README.md": "# cto\n\nThe 5dlabs platform controller (the cdportal demo's copy).\n",
            **{f".github/workflows/{w.file}": w.text for w in workflows.ALL},
        }
        sha = self.commit(f"chore: release {version}", files=files, at=at, author=BOT)
        self.tag(f"v{version}", f"Release v{version}", sha, at=at)
        return sha

    def commit(
        self,
        message: str,
        *,
        at: datetime,
        author: tuple[str, str],
        files: dict[str, str] | None = None,
    ) -> str:
        """Commit `files` (whole contents), or one more line in the file the message's scope
        names; returns the new head."""
        with self.lock:
            for name, text in (files or self._touch(message)).items():
                target = self.path / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                self._git("add", name)
            self._git(
                "commit", "-q", "--cleanup=verbatim", "-F", "-", input=message, env=_who(author, at)
            )
            return self.head()

    def release(self, version: str, entry: str, *, title: str, at: datetime) -> str:
        """Release Please's release commit: the manifest, Cargo.toml and the changelog at
        `version` (`entry`: the new changelog section), committed as the merged PR's title."""
        with self.lock:
            changelog = self.read("CHANGELOG.md").removeprefix("# Changelog\n").lstrip("\n")
            files = {
                ".release-please-manifest.json": _manifest(version),
                "Cargo.toml": _cargo(version),
                "CHANGELOG.md": f"# Changelog\n\n{entry.strip()}\n\n{changelog}".rstrip() + "\n",
            }
            return self.commit(title, files=files, at=at, author=BOT)

    def tag(self, name: str, message: str, commit: str, *, at: datetime) -> str:
        """An annotated tag `name` on `commit` (the object and its ref); returns the tag object."""
        with self.lock:
            obj = self.tag_object(name, message, commit, at=at)
            self.create_ref(f"refs/tags/{name}", obj)
            return obj

    def tag_object(
        self, name: str, message: str, commit: str, *, at: datetime, tagger: tuple[str, str] = BOT
    ) -> str:
        """A tag object alone, as GitHub's `POST /git/tags` makes it (no ref yet)."""
        stamp = f"{int(at.timestamp())} +0000"
        text = (
            f"object {commit}\ntype commit\ntag {name}\n"
            f"tagger {tagger[0]} <{tagger[1]}> {stamp}\n\n{message.rstrip()}\n"
        )
        with self.lock:
            return self._git("mktag", input=text)

    def create_ref(self, ref: str, sha: str) -> None:
        """Create `ref` at `sha`; GitError when it exists."""
        with self.lock:
            # The empty old value makes update-ref refuse an existing ref, atomically.
            self._git("update-ref", ref, sha, "")

    # --- reading it ---------------------------------------------------------------------------

    def head(self) -> str:
        return self._git("rev-parse", "HEAD")

    def resolve(self, rev: str) -> str | None:
        """The full sha of the commit `rev` names, or None."""
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        except GitError:
            return None

    def exists(self, sha: str) -> bool:
        try:
            self._git("cat-file", "-e", sha)
        except GitError:
            return False
        return True

    def ref(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", ref)
        except GitError:
            return None

    def commit_data(self, rev: str) -> CommitData:
        fields = self._git("show", "-s", "--format=%H%x00%an%x00%ae%x00%cI%x00%T%x00%P%x00%B", rev)
        sha, author, email, date, tree, parents, message = fields.split("\x00", 6)
        return CommitData(
            sha,
            message.rstrip("\n"),
            author,
            email,
            datetime.fromisoformat(date).astimezone(UTC),
            tree,
            tuple(parents.split()),
        )

    def log(self, rev: str = "HEAD", *, since: str | None = None) -> list[str]:
        """Shas newest first, from `rev` back to (not including) `since`."""
        span = f"{since}..{rev}" if since else rev
        out = self._git("rev-list", span)
        return out.split() if out else []

    def tags(self) -> list[tuple[str, str]]:
        """(name, commit sha) of every tag, by name."""
        out = self._git(
            "for-each-ref", "--format=%(refname:short) %(*objectname)%(objectname)", "refs/tags"
        )
        tags = []
        for line in out.splitlines():
            name, shas = line.split(" ", 1)
            tags.append((name, shas[:40]))  # an annotated tag's commit, else the ref's own
        return tags

    def read(self, path: str, rev: str = "HEAD") -> str:
        try:
            return self._git("show", f"{rev}:{path}", strip=False)
        except GitError:
            return ""

    # --- plumbing -----------------------------------------------------------------------------

    def _touch(self, message: str) -> dict[str, str]:
        header = message.split("\n", 1)[0]
        scope = header.split("(", 1)[1].split(")", 1)[0] if "(" in header.split(":")[0] else ""
        kind = header.split("(", 1)[0].split(":", 1)[0]
        name = FILES.get(scope) or FILES.get(kind) or "README.md"
        return {name: self.read(name) + f"// {header}\n"}

    def _git(
        self, *args: str, input: str | None = None, env: dict | None = None, strip: bool = True
    ) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **_QUIET, **(env or {})},
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git {args[0]}: {proc.stderr.strip() or proc.returncode}")
        return proc.stdout.strip() if strip else proc.stdout


_QUIET = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}


def _who(author: tuple[str, str], at: datetime) -> dict[str, str]:
    stamp = f"{int(at.timestamp())} +0000"
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
    }


def _manifest(version: str) -> str:
    return json.dumps({".": version}, indent=2) + "\n"


def _cargo(version: str) -> str:
    return (
        '[workspace]\nmembers = ["controller", "heal", "pm"]\nresolver = "2"\n\n'
        f'[workspace.package]\nversion = "{version}"\nedition = "2021"\n'
    )
