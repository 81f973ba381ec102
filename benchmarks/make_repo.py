#!/usr/bin/env python
"""Build a large, realistic git repository quickly, then time cdportal's git adapter on it.

The history looks like a Release Please monorepo: mostly conventional commits (types and scopes
mixed, bodies, `BREAKING CHANGE:` footers, a rare `Release-As:`, `Closes #n` references,
unicode, some CRLF messages, squash commits carrying several entries), some non-conventional
ones, a pull request merged with a merge commit about every 20 commits (its branch commits are
dated between main's, as in real life), files in several package directories, and every
``tag_every`` commits a `chore(main): release X.Y.Z` commit tagged `vX.Y.Z` (lightweight or
annotated at random) with versions bumped from the commits since the previous tag. The first
commit adds `release-please-config.json` (one `simple` package at the root) and each release
writes the version to `.release-please-manifest.json`, as Release Please's Release PRs do, so
cdportal reads the repository as a configured one (benchmarks/release_plan.py).

Everything goes through one `git fast-import` stream: 100 000 commits take seconds, not the
minutes that `git commit` in a loop would.

What is measured, after the build: `GitRepository.log()` of the whole history with files (and
with `first_parent`, and `since` the previous tag), `tags()`, then `CommitCache`: the first
scan (which writes its file), a rescan with no new commit, a new process starting from the
file, a rescan after 10 new commits (made with `git commit`), and `log(since=tag)` from memory.

Running it
----------
    python benchmarks/make_repo.py                       # 100 000 commits in a temp dir
    python benchmarks/make_repo.py --commits 20000 /tmp/big  # build there, and keep it
    python benchmarks/make_repo.py --no-bench /tmp/big   # build only

No figure is asserted; the script prints them. Timings vary with the load on the machine: git
and the Python parser run side by side, so a busy second core shows.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}

# Package directories and the scopes that usually go with them.
PACKAGES = {
    "crates/controller": (
        "controller",
        ["src/lib.rs", "src/reconcile.rs", "src/crd.rs", "Cargo.toml"],
    ),
    "crates/agent": ("agent", ["src/main.rs", "src/session.rs", "src/tools.rs", "Cargo.toml"]),
    "crates/cli": ("cli", ["src/main.rs", "src/args.rs", "Cargo.toml"]),
    "infra/charts/controller": (
        "charts",
        ["Chart.yaml", "values.yaml", "templates/deployment.yaml"],
    ),
    "infra/charts/agent": ("charts", ["Chart.yaml", "values.yaml", "templates/statefulset.yaml"]),
    "docs": ("docs", ["index.md", "install.md", "architecture.md"]),
    ".github/workflows": ("ci", ["release-please.yml", "build.yml"]),
}
ROOT_FILES = ["Cargo.toml", "Cargo.lock", "README.md"]
CONFIG_FILE = "release-please-config.json"
MANIFEST_FILE = ".release-please-manifest.json"
RELEASE_CONFIG = (
    '{\n  "packages": {\n    ".": {\n      "release-type": "simple",\n'
    '      "bump-minor-pre-major": true\n    }\n  }\n}\n'
)


def _manifest(version: str) -> str:
    return f'{{\n  ".": "{version}"\n}}\n'


TYPES = [  # (type, weight)
    ("feat", 25),
    ("fix", 30),
    ("chore", 14),
    ("docs", 7),
    ("refactor", 7),
    ("test", 4),
    ("ci", 3),
    ("perf", 2),
    ("build", 2),
    ("style", 1),
    ("revert", 1),
    ("deps", 1),
    ("FEAT", 0.3),
    ("feature", 0.5),
]
WORDS = (
    "add remove support handle retry timeout reconcile controller agent session token cache "
    "image tag rollout sync chart values template workflow release changelog manifest crd "
    "status condition event queue backoff label annotation namespace secret config parser "
    "lint clippy tracing metrics span error context config upgrade bump dependency kube tokio "
    "naïve café 日本語 ünïcödé emoji 🚀 `code` <html> @user @org/pkg #12"
).split()
NON_CONVENTIONAL = [
    "Update README.md",
    "WIP",
    "Fix typo",
    'Revert "feat: add {w}"',
    "Initial import of {w}",
    "hotfix {w}",
    "Merge branch 'main' into feature/{w}",
    "feat : space before colon",
    "feat(): empty scope",
    "  feat: leading space {w}",
]


def _sentence(rnd: random.Random, lo: int = 3, hi: int = 9) -> str:
    return " ".join(rnd.choices(WORDS, k=lo + int(rnd.random() * (hi - lo + 1))))


class History:
    """Generates messages and versions; knows nothing about git."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.types = [t for t, _ in TYPES]
        self.weights = [w for _, w in TYPES]
        self.issue = 100
        self.version = (0, 1, 0)
        self.bump = 0  # 0 none, 1 patch, 2 minor, 3 major since the last release
        self.release_as: tuple[int, int, int] | None = None

    def message(self, scope_hint: str) -> str:
        rnd = self.rnd
        if rnd.random() < 0.05:
            return rnd.choice(NON_CONVENTIONAL).format(w=rnd.choice(WORDS)) + "\n"
        kind = rnd.choices(self.types, self.weights)[0]
        scope = rnd.choice([scope_hint, scope_hint, None, "deps", "*", "api,core"])
        bang = "!" if rnd.random() < 0.00005 else ""
        header = f"{kind}{f'({scope})' if scope else ''}{bang}: {_sentence(rnd)}"
        parts = [header]
        if rnd.random() < 0.5:
            parts.append("\n".join(_sentence(rnd, 6, 14) for _ in range(rnd.randint(1, 4))))
        if rnd.random() < 0.03:  # a squash commit carrying more entries
            for _ in range(rnd.randint(1, 3)):
                extra = rnd.choice(["feat", "fix", "docs", "chore"])
                parts.append(
                    f"{extra}({rnd.choice(['controller', 'agent', 'cli'])}): {_sentence(rnd)}"
                )
        footers = []
        breaking = bool(bang)
        if rnd.random() < 0.0001:  # with the `!` above: ~1 release in 25 breaks
            footers.append(
                f"{rnd.choice(['BREAKING CHANGE', 'BREAKING-CHANGE'])}: {_sentence(rnd, 5, 12)}"
            )
            breaking = True
        if rnd.random() < 0.2:
            self.issue += rnd.randint(1, 5)
            footers.append(f"{rnd.choice(['Closes', 'Fixes', 'Refs:'])} #{self.issue}")
        if rnd.random() < 0.001:
            major, minor, _ = self.version
            target = (major, minor + rnd.randint(1, 3), 0)
            footers.append(f"Release-As: {'.'.join(map(str, target))}")
            self.release_as = target
        if rnd.random() < 0.05:
            footers.append("Co-authored-by: Someone Else <someone@example.com>")
        if footers:
            parts.append("\n".join(footers))
        if breaking:
            self.bump = 3
        elif kind == "feat":
            self.bump = max(self.bump, 2)
        elif kind in ("fix", "perf", "chore", "revert", "FEAT", "feature"):
            self.bump = max(self.bump, 1)
        text = "\n\n".join(parts) + "\n"
        if rnd.random() < 0.01:
            text = text.replace("\n", "\r\n")
        return text

    def next_version(self) -> str:
        major, minor, patch = self.version
        if self.release_as and self.release_as > self.version:
            new = self.release_as
        elif self.bump == 3:
            new = (0, minor + 1, 0) if major == 0 else (major + 1, 0, 0)  # bump-minor-pre-major
        elif self.bump == 2:
            new = (major, minor + 1, 0)
        else:
            new = (major, minor, patch + 1)
        if major == 0 and minor >= 9 and self.bump == 3:
            new = (1, 0, 0)  # the project eventually calls itself stable
        self.version, self.bump, self.release_as = new, 0, None
        return ".".join(map(str, new))


class Stream:
    """Writes a fast-import stream to a file object (the importer's stdin)."""

    def __init__(self, out, t0: int):
        self.out = out
        self.mark = 0
        self.time = t0
        self.revision = 0

    def _data(self, text: str) -> None:
        raw = text.encode()
        self.out.write(b"data %d\n%s\n" % (len(raw), raw))

    def commit(
        self,
        ref: str,
        message: str,
        files: list[str],
        *,
        parent: int | None,
        merge: int | None = None,
        when: int | None = None,
        contents: dict[str, str] | None = None,
    ) -> int:
        self.mark += 1
        when = when if when is not None else self.time
        out = self.out
        out.write(b"commit %s\nmark :%d\n" % (ref.encode(), self.mark))
        out.write(b"author bench <bench@example.com> %d +0000\n" % when)
        out.write(b"committer bench <bench@example.com> %d +0000\n" % when)
        self._data(message)
        if parent is not None:
            out.write(b"from :%d\n" % parent)
        if merge is not None:
            out.write(b"merge :%d\n" % merge)
        for path in files:
            self.revision += 1
            if contents and path in contents:
                content = contents[path].encode()
            else:
                content = b"%s revision %d\n" % (path.encode(), self.revision)
            out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content))
        return self.mark

    def tag(self, name: str, mark: int, message: str | None) -> None:
        if message is None:  # lightweight
            self.out.write(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))
            return
        self.out.write(b"tag %s\nfrom :%d\n" % (name.encode(), mark))
        self.out.write(b"tagger bench <bench@example.com> %d +0000\n" % self.time)
        self._data(message)


def _pick_files(rnd: random.Random, extra: dict[str, int]) -> tuple[str, list[str]]:
    """A package and 1–4 paths, mostly inside that package (sometimes a new file)."""
    package = rnd.choice(list(PACKAGES))
    scope, names = PACKAGES[package]
    files = set()
    for _ in range(rnd.choice([1, 1, 1, 2, 2, 3, 4])):
        if rnd.random() < 0.03:  # a new file: the tree grows over time
            extra[package] = extra.get(package, 0) + 1
            files.add(f"{package}/src/gen/m{extra[package]}.rs")
        else:
            files.add(f"{package}/{rnd.choice(names)}")
    if rnd.random() < 0.1:
        other = rnd.choice(list(PACKAGES))
        files.add(f"{other}/{rnd.choice(PACKAGES[other][1])}")
    if rnd.random() < 0.05:
        files.add(rnd.choice(ROOT_FILES))
    return scope, sorted(files)


def build_repo(
    path: Path | str, commits: int = 100_000, tag_every: int = 250, seed: int = 0
) -> Path:
    """Create a git repository at `path` with about `commits` commits on `main` (branch commits of
    merged pull requests included) and a `vX.Y.Z` tag every `tag_every` commits."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=ENV)
    rnd = random.Random(seed)
    history = History(seed)
    extra: dict[str, int] = {}
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=path, stdin=subprocess.PIPE, env=ENV
    )
    out = importer.stdin
    stream = Stream(out, t0=1_600_000_000)  # 2020-09; ~15 min a commit ends in the past
    main = stream.commit(
        "refs/heads/main",
        "chore: initial commit\n",
        [f"{p}/{n}" for p, (_, names) in PACKAGES.items() for n in names]
        + ROOT_FILES
        + [CONFIG_FILE, MANIFEST_FILE],
        parent=None,
        contents={CONFIG_FILE: RELEASE_CONFIG, MANIFEST_FILE: _manifest("0.1.0")},
    )
    made, since_tag, pr, next_pr = 1, 1, 0, 20
    recent: list[tuple[int, int]] = [(main, stream.time)]  # main's (mark, date): branch points
    while made < commits:
        stream.time += rnd.randint(60, 1740)
        before = made
        if made >= next_pr and made + 5 < commits:  # a pull request merged with a merge commit
            pr, next_pr = pr + 1, made + rnd.randint(15, 25)
            base, base_time = recent[-rnd.randint(1, min(5, len(recent)))]
            # Branch commits are dated between main's (after their base: no clock skew).
            when = max(base_time, stream.time - rnd.randint(600, 3000))
            tip, touched = base, set()
            for _ in range(rnd.randint(1, 4)):
                scope, files = _pick_files(rnd, extra)
                when += rnd.randint(60, 600)
                tip = stream.commit(
                    f"refs/heads/pr-{pr % 8}", history.message(scope), files, parent=tip, when=when
                )
                touched.update(files)
                made += 1
            stream.time = max(stream.time, when) + 60
            # The merge restates the branch's files so its tree has the branch's changes.
            title = f"Merge pull request #{pr} from acme/feature-{pr}"
            message = f"{title}\n\n{history.message('controller')}"
            main = stream.commit(
                "refs/heads/main", message, sorted(touched), parent=main, merge=tip
            )
        else:
            scope, files = _pick_files(rnd, extra)
            main = stream.commit("refs/heads/main", history.message(scope), files, parent=main)
        made += 1
        since_tag += made - before
        recent = (recent + [(main, stream.time)])[-5:]
        if since_tag >= tag_every and made < commits:
            version = history.next_version()
            stream.time += 60
            main = stream.commit(
                "refs/heads/main",
                f"chore(main): release {version}\n",
                ["CHANGELOG.md", MANIFEST_FILE],
                parent=main,
                contents={MANIFEST_FILE: _manifest(version)},
            )
            made += 1
            stream.tag(f"v{version}", main, None if rnd.random() < 0.5 else f"Release v{version}\n")
            since_tag = 0
    out.write(b"reset refs/heads/main\nfrom :%d\n\ndone\n" % main)
    out.close()
    if importer.wait() != 0:
        raise RuntimeError(f"git fast-import failed in {path}")
    for pr_branch in range(8):
        ref = f"refs/heads/pr-{pr_branch}"  # may not exist: the stream reuses 8 names
        subprocess.run(["git", "update-ref", "-d", ref], cwd=path, check=False, env=ENV)
    subprocess.run(
        ["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=path, check=True, env=ENV
    )
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=path, check=True, env=ENV)
    return path


def add_commits(path: Path, n: int) -> None:
    """n more ordinary commits on the checked-out branch (for the incremental rescan)."""
    for i in range(n):
        target = path / "docs" / "bench.md"
        target.write_text(f"bench {time.time_ns()} {i}\n")
        subprocess.run(["git", "add", "docs/bench.md"], cwd=path, check=True, env=ENV)
        subprocess.run(
            ["git", "commit", "-q", "-m", f"docs: bench commit {i}"], cwd=path, check=True, env=ENV
        )


def _timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - start:8.3f} s")
    return result


def bench(path: Path, cache_file: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cdportal.adapters.git.repository import CommitCache, GitRepository

    repo = GitRepository(path)
    commits = _timed("GitRepository.log() of everything, with files", repo.log)
    print(
        f"  {len(commits)} commits, {sum(len(c.files) for c in commits)} file entries, "
        f"{sum(1 for c in commits if not c.files)} without files"
    )
    _timed("GitRepository.log(first_parent=True)", lambda: repo.log(first_parent=True))
    tags = _timed("GitRepository.tags()", repo.tags)
    print(f"  {len(tags)} tags, newest {max(tags, key=lambda t: t.date).name if tags else '-'}")
    if len(tags) >= 2:
        since = sorted(tags, key=lambda t: t.date)[-2].name
        _timed(f"GitRepository.log(since={since!r})", lambda: repo.log(since=since))

    cache = CommitCache(repo, path=cache_file)
    _timed("CommitCache.scan(): first scan, writes the cache file", cache.scan)
    print(
        f"  read {cache.commits_read} commits; cache file {cache_file.stat().st_size / 1e6:.1f} MB"
    )
    cache.commits_read = 0
    _timed("CommitCache.scan(): rescan, 0 new commits", cache.scan)
    print(f"  read {cache.commits_read} commits")

    def reload() -> CommitCache:
        fresh = CommitCache(GitRepository(path), path=cache_file)
        fresh.scan()
        return fresh

    reloaded = _timed("CommitCache(...).scan() in a new process: file, 0 new", reload)
    print(f"  read {reloaded.commits_read} commits")
    add_commits(path, 10)
    cache.commits_read = 0
    _timed("CommitCache.scan(): rescan, 10 new commits", cache.scan)
    print(f"  read {cache.commits_read} commits; file {cache_file.stat().st_size / 1e6:.1f} MB")
    if tags:
        newest = max(tags, key=lambda t: t.date).name
        _timed(f"CommitCache.log(since={newest!r}) from memory", lambda: cache.log(since=newest))
        _timed("  the same again (ancestors remembered)", lambda: cache.log(since=newest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "path", nargs="?", help="where to build (default: a temp dir, removed after)"
    )
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--tag-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-bench", action="store_true", help="build only")
    args = parser.parse_args()
    tmp = None if args.path else Path(tempfile.mkdtemp(prefix="cdportal-bench-"))
    path = Path(args.path) if args.path else tmp / "repo"
    try:
        if path.exists() and any(path.iterdir()):
            sys.exit(f"{path} exists and is not empty")
        _timed(
            f"build_repo({args.commits} commits) with git fast-import",
            lambda: build_repo(path, args.commits, args.tag_every, args.seed),
        )
        print(f"  {path}")
        if not args.no_bench:
            bench(path, (tmp or path.parent) / f"{path.name}.commits.json")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
