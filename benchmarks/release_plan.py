#!/usr/bin/env python
"""Release planning on a 100 000-commit history: cdportal's release engine, and git-cliff beside it.

cdportal predicts Release Please from git history, and recomputes the release history page and
the next-release prediction whenever a commit lands. This measures that core on a realistic
repository (benchmarks/make_repo.py: mixed types and scopes, bodies, footers, merge commits,
squash commits, a `release-please-config.json`, a `chore(main): release X.Y.Z` commit tagged
`vX.Y.Z` every 250 commits):

1. release history, cold: a new `CommitCache` reads the whole history from git (parsing each
   commit while git is still writing), `snapshot()` reads the config and tags, and
   `release_history()` cuts, parses and renders the changelog of every tagged release. This is
   the git source's path (cdportal/adapters/git/source.py) on its first scan.
2. next release, cold: the `release-plan` command's path, `snapshot(unreleased_only=True)` (`git
   log` read only as far as Release Please reads: down to the latest release's commit, at most
   commit-search-depth commits) then `plan()`: the commits since the last tag, the version, the
   changelog entry.
3. all commits folded into one release: `plan()` with the manifest version cleared (as before a
   first release: no tag, so every commit since the root is unreleased) and commit-search-depth
   raised past the history (Release Please reads 500 by default): parse, version and render
   100 000 commits into one entry.
4. rescan with no new commit: `CommitCache.scan()` on the unchanged repository (one `git
   rev-parse`), then the same snapshot + release history + next release again (the git
   source's every poll).
5. rescan after N new commits (default 10, appended with `git fast-import`): the scan reads only
   the new commits; release history and next release are computed again.

Phases 1-3 each run in a fresh Python process (cold: a restarted server, nothing in memory; the
imports are not timed); 4 and 5 in one process that first does a cold scan and plan, untimed. Each process runs twice: once timed, once with
tracemalloc on (it slows allocation-heavy Python ~3x, so that run only gives the memory figure).
Memory columns:
- `py peak`: tracemalloc's peak of the Python allocations made during the phase (objects kept
  from before it are not counted);
- `RSS +`: how much the process's peak resident set (getrusage ru_maxrss) grew during the phase,
  C allocations and interpreter overhead included; 0 when the phase stayed under a peak reached
  earlier in the process (phases 4 and 5 run after a cold scan);
- `proc`: the whole process's peak RSS (interpreter, imports, the history in memory).

git-cliff (PyPI `git-cliff`, the Rust binary) then renders the same repository with a
`cliff.toml` close to Release Please's format (conventional commits, Features / Bug Fixes /
Performance Improvements / Reverts in that order, other types hidden, a BREAKING CHANGES
section, entries sorted, commit links): the full changelog (compared with phase 1) and
`--unreleased` (compared with phase 2). The outputs are not identical: see the notes the script
prints. git-cliff has no incremental mode, so a full run is also what it costs whenever a commit
lands (compared with phase 5). Without git-cliff installed, the comparison is skipped.

Running it
----------
    python benchmarks/release_plan.py                  # builds 100 000 commits in a temp dir
    python benchmarks/release_plan.py --commits 20000 --keep
    python benchmarks/make_repo.py --no-bench /tmp/big && \\
        python benchmarks/release_plan.py --repo /tmp/big   # reuse a generated repository

With --repo the repository is cloned (hardlinked, cheap) into the temp dir first: phase 5 adds
commits, and the original stays untouched. A repository without a usable Release Please config
is planned as cdportal plans any unconfigured one (a `simple` package at ".", the highest v-tag).
The default run takes about 4 minutes on 2 cores, most of it git-cliff's full changelog
(--no-cliff skips it). No figure is asserted; timings vary with the load on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
LINKS = ("acme", "widgets")  # where changelog links point when the repository has no GitHub origin
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


# --- measuring ---------------------------------------------------------------------------------


def _maxrss() -> int:
    """The process's peak resident set so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Meter:
    """Wall time of a block; with `trace`, tracemalloc's peak of the allocations made inside it."""

    def __init__(self, trace: bool):
        self.trace = trace
        self.wall = self.py_peak = self.rss_growth = None

    def __enter__(self) -> Meter:  # noqa: PYI034 - a plain class, never subclassed
        self.rss = _maxrss()
        if self.trace:
            tracemalloc.start()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.start
        if self.trace:
            self.py_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        self.rss_growth = _maxrss() - self.rss

    def result(self, **extra) -> dict:
        return {"wall": self.wall, "py_peak": self.py_peak, "rss_growth": self.rss_growth, **extra}


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# --- the cdportal side (runs in child processes) ----------------------------------------------


def _engine():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from cdportal.adapters.git import release_source
    from cdportal.adapters.git.repository import CommitCache, GitRepository
    from cdportal.core import plan as planner
    from cdportal.core.conventional import Repo
    from cdportal.core.release_config import ConfigError, default_config

    return release_source, CommitCache, GitRepository, planner, Repo, ConfigError, default_config


def _snapshot(git, cache=None, unreleased_only=False):
    """`release_source.snapshot()`, the production path. A repository whose Release Please files
    do not load (an old generated repository had a placeholder manifest) is planned as an
    unconfigured one, which is what cdportal does without those files."""
    release_source, _, _, planner, Repo, ConfigError, default_config = _engine()
    try:
        snap = release_source.snapshot(git, cache=cache, unreleased_only=unreleased_only)
    except ConfigError as e:
        tags = git.tags()
        snap = release_source.Snapshot(
            head=git.head(),
            config=default_config(_highest_v_tag(tags), target_branch=git.branch() or "main"),
            history=planner.History(
                commits=cache.scan() if cache is not None else git.log(),
                tags={t.name: t.sha for t in tags},
            ),
            tag_dates={t.name: t.date.date() for t in tags},
            repo=None,
            configured=False,
        )
        snap.config_error = str(e)
    snap.repo = snap.repo or Repo(*LINKS)
    return snap


def _highest_v_tag(tags) -> str | None:
    import semver

    versions = [
        semver.Version.parse(t.name[1:])
        for t in tags
        if t.name.startswith("v") and semver.Version.is_valid(t.name[1:])
    ]
    return str(max(versions)) if versions else None


def _plan_all(snap):
    _, _, _, planner, *_ = _engine()
    releases = planner.release_history(
        snap.config, snap.history, repo=snap.repo, dates=snap.tag_dates
    )
    nxt = planner.plan(snap.config, snap.history, repo=snap.repo, date=_today())
    return releases, nxt


def _today() -> date:
    return datetime.now(UTC).date()


def _describe_next(result) -> dict:
    pkgs = result.packages
    return {
        "next_versions": [p.next_version for p in pkgs],
        "previous_tags": [p.previous_tag for p in pkgs],
        "unreleased": len({c.sha for p in pkgs for c in (*p.commits, *p.ignored)}),
        "entries": sum(len(p.commits) for p in pkgs),
        "changelog_bytes": sum(len((p.changelog or "").encode()) for p in pkgs),
        "warnings": [w for p in pkgs for w in p.warnings][:3],
    }


def _describe_history(releases) -> dict:
    return {
        "releases": len(releases),
        "release_entries": sum(len(r.commits) for r in releases),
        "release_bytes": sum(len(r.changelog.encode()) for r in releases),
    }


def child_history(repo: str, trace: bool) -> dict:
    _, CommitCache, GitRepository, planner, *_ = _engine()
    with Meter(trace) as meter:
        git = GitRepository(repo)
        cache = CommitCache(git)
        _, read = _timed(cache.scan)
        snap, snapped = _timed(lambda: _snapshot(git, cache))
        releases, rendered = _timed(
            lambda: planner.release_history(
                snap.config, snap.history, repo=snap.repo, dates=snap.tag_dates
            )
        )
    return meter.result(
        commits=len(snap.history.commits),
        parts={
            "git log + parse (CommitCache.scan)": read,
            "snapshot: config, tags": snapped,
            "release_history: cut, parse, render": rendered,
        },
        config=_config_line(snap),
        **_describe_history(releases),
    )


def child_next(repo: str, trace: bool) -> dict:
    _, _, GitRepository, planner, *_ = _engine()
    with Meter(trace) as meter:
        git = GitRepository(repo)
        snap, read = _timed(lambda: _snapshot(git, unreleased_only=True))
        result, planned = _timed(
            lambda: planner.plan(snap.config, snap.history, repo=snap.repo, date=_today())
        )
    return meter.result(
        commits=len(snap.history.commits),
        parts={
            "snapshot: git log down to the release, config, tags": read,
            "plan: parse, version, render": planned,
        },
        **_describe_next(result),
    )


def child_fold(repo: str, trace: bool) -> dict:
    _, _, GitRepository, planner, *_ = _engine()
    with Meter(trace) as meter:
        git = GitRepository(repo)
        snap, read = _timed(lambda: _snapshot(git))
        # No version in the manifest: no previous tag, so every commit since the root is unreleased.
        unreleased = [dataclasses.replace(p, current_version=None) for p in snap.config.packages]
        # Release Please would read only its commit-search-depth (500); raised to the whole
        # history here, to measure the engine on 100 000 commits in one entry.
        config = dataclasses.replace(
            snap.config,
            packages=tuple(unreleased),
            commit_search_depth=len(snap.history.commits) + 1,
        )
        result, planned = _timed(
            lambda: planner.plan(config, snap.history, repo=snap.repo, date=_today())
        )
    return meter.result(
        commits=len(snap.history.commits),
        parts={
            "snapshot: git log of the history, config, tags": read,
            "plan: parse, version, render one entry": planned,
        },
        **_describe_next(result),
    )


def child_session(repo: str, trace: bool, new_commits: int) -> dict:
    """Phases 4 and 5 in one process, after an untimed cold scan and plan."""
    _, CommitCache, GitRepository, *_ = _engine()
    git = GitRepository(repo)
    cache = CommitCache(git)
    _plan_all(_snapshot(git, cache))  # the cold scan and plan: what a running server has done

    read_before = cache.commits_read
    with Meter(trace) as scan_only:
        cache.scan()
    with Meter(trace) as unchanged:
        snap, snapped = _timed(lambda: _snapshot(git, cache))
        (releases, nxt), planned = _timed(lambda: _plan_all(snap))
    no_new = unchanged.result(
        commits=len(snap.history.commits),
        read=cache.commits_read - read_before,
        scan_only=scan_only.wall,
        scan_only_py_peak=scan_only.py_peak,
        parts={"scan + snapshot": snapped, "release_history + plan": planned},
        **_describe_history(releases),
        **_describe_next(nxt),
    )

    append_commits(Path(repo), new_commits)
    read_before = cache.commits_read
    with Meter(trace) as changed:
        snap, snapped = _timed(lambda: _snapshot(git, cache))
        (releases, nxt), planned = _timed(lambda: _plan_all(snap))
    new = changed.result(
        commits=len(snap.history.commits),
        read=cache.commits_read - read_before,
        parts={"scan (new commits only) + snapshot": snapped, "release_history + plan": planned},
        **_describe_history(releases),
        **_describe_next(nxt),
    )
    return {"no_new": no_new, "new": new}


def _config_line(snap) -> str:
    pkgs = snap.config.packages
    listed = ", ".join(f"{p.path!r} {p.release_type} {p.current_version}" for p in pkgs[:4])
    more = f" and {len(pkgs) - 4} more" if len(pkgs) > 4 else ""
    if snap.configured and not getattr(snap, "config_error", None):
        return f"release-please-config.json at HEAD: {len(pkgs)} package(s): {listed}{more}"
    why = getattr(snap, "config_error", None) or "no Release Please files"
    return f"unconfigured ({why}): {listed}{more}, from the highest v-tag"


# --- the repository ----------------------------------------------------------------------------


def append_commits(path: Path, n: int) -> None:
    """n new commits on the checked-out branch, through `git fast-import` (no work tree needed):
    a mix of types, as a day's pull requests would bring."""
    if n <= 0:
        return
    ref = _git(path, "symbolic-ref", "HEAD").strip()
    head = _git(path, "rev-parse", "HEAD").strip()
    when = int(time.time())
    kinds = [
        "feat(cli): bench {i}",
        "fix(controller): bench {i}\n\nCloses #{i}",
        "docs: bench {i}",
        "chore(deps): bench {i}",
        "fix: bench {i}\n\nBody line.\n\nRefs: #{i}",
    ]
    stream = []
    for i in range(n):
        message = kinds[i % len(kinds)].format(i=i).encode() + b"\n"
        content = f"bench {when} {i}\n".encode()
        stream.append(b"commit %s\nmark :%d\n" % (ref.encode(), i + 1))
        stream.append(b"author bench <bench@example.com> %d +0000\n" % (when + i))
        stream.append(b"committer bench <bench@example.com> %d +0000\n" % (when + i))
        stream.append(b"data %d\n%s\n" % (len(message), message))
        stream.append(b"from %s\n" % (head.encode() if i == 0 else b":%d" % i))
        stream.append(b"M 100644 inline docs/bench.md\ndata %d\n%s\n" % (len(content), content))
    stream.append(b"done\n")
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=path,
        input=b"".join(stream),
        check=True,
        env=GIT_ENV,
    )


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, check=True, env=GIT_ENV, capture_output=True, text=True
    ).stdout


def prepare_repo(args, workdir: Path) -> tuple[Path, str]:
    target = workdir / "repo"
    if args.repo:
        source = Path(args.repo).resolve()
        if not (source / ".git").exists() and not (source / "HEAD").exists():
            sys.exit(f"{source} is not a git repository")
        start = time.perf_counter()
        subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", str(source), str(target)],
            check=True,
            env=GIT_ENV,
        )
        return target, f"cloned from {source} in {time.perf_counter() - start:.1f} s (hardlinked)"
    sys.path.insert(0, str(HERE))
    from make_repo import build_repo

    start = time.perf_counter()
    build_repo(target, args.commits, args.tag_every, args.seed)
    return target, (
        f"built with git fast-import in {time.perf_counter() - start:.1f} s "
        f"({args.commits} commits, a tag every {args.tag_every}, seed {args.seed})"
    )


# --- git-cliff ---------------------------------------------------------------------------------

# Release Please's default sections, in its order; the other types are hidden (skipped). git-cliff
# matches the parsers against the whole message: "type(scope)!: ...", case-insensitive type like
# Release Please's section lookup (FEAT lists under Features).
CLIFF_TOML = r'''# Close to Release Please's CHANGELOG.md entries (benchmarks/release_plan.py).
[changelog]
header = ""
body = """
{% if version %}\
## {% if previous and previous.version %}[{{ version | trim_start_matches(pat="v") }}](URL/compare/{{ previous.version }}...{{ version }}){% else %}{{ version | trim_start_matches(pat="v") }}{% endif %} ({{ timestamp | date(format="%Y-%m-%d") }})
{% else %}\
## Unreleased
{% endif %}\
{% set breaking = commits | filter(attribute="breaking", value=true) %}\
{% if breaking | length > 0 %}
### ⚠ BREAKING CHANGES

{% for commit in breaking %}\
* {% if commit.scope and commit.scope != "*" %}**{{ commit.scope }}:** {% endif %}{{ commit.breaking_description }}
{% endfor %}\
{% endif %}\
{% for group, commits in commits | group_by(attribute="group") %}
### {{ group | striptags | trim }}

{% for commit in commits | sort(attribute="message") %}\
* {% if commit.scope and commit.scope != "*" %}**{{ commit.scope }}:** {% endif %}{{ commit.message | split(pat="\n") | first | trim }} ([{{ commit.id | truncate(length=7, end="") }}](URL/commit/{{ commit.id }}))
{% endfor %}\
{% endfor %}
"""
footer = ""
trim = true

[git]
conventional_commits = true
filter_unconventional = true
split_commits = false
protect_breaking_commits = true
filter_commits = false
tag_pattern = "^v[0-9]+\\.[0-9]+\\.[0-9]+$"
topo_order = false
sort_commits = "newest"
commit_parsers = [
  { message = "(?i)^(feat|feature)[(!:]", group = "<!-- 0 -->Features" },
  { message = "(?i)^fix[(!:]", group = "<!-- 1 -->Bug Fixes" },
  { message = "(?i)^perf[(!:]", group = "<!-- 2 -->Performance Improvements" },
  { message = "(?i)^revert[(!:]", group = "<!-- 3 -->Reverts" },
  { message = ".*", skip = true },
]
'''


def find_git_cliff() -> str | None:
    beside = Path(sys.executable).parent / "git-cliff"  # a venv's bin/ is often not on PATH
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("git-cliff")


def run_cliff(binary: str, repo: Path, config: Path, out: Path, *extra: str) -> dict:
    """One git-cliff run: wall time and its own peak RSS (wait4's rusage of that child)."""
    with open(out.with_suffix(".log"), "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                binary,
                "--config",
                str(config),
                "--repository",
                str(repo),
                "--output",
                str(out),
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "NO_COLOR": "1"},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = re.sub(r"\x1b\[[0-9;]*m", "", out.with_suffix(".log").read_text(errors="replace"))
    if proc.returncode != 0:
        raise RuntimeError(f"git-cliff failed ({proc.returncode}): {stderr.strip()[-500:]}")
    text = out.read_text(errors="replace")
    skipped = re.search(r"(\d+) commit\(s\) were skipped", stderr)
    return {
        "wall": wall,
        "proc": usage.ru_maxrss * 1024,
        "releases": sum(1 for line in text.splitlines() if line.startswith("## ")),
        "bytes": len(text.encode()),
        "skipped": int(skipped[1]) if skipped else 0,
    }


# --- the parent: run, collect, report -----------------------------------------------------------


def run_child(repo: Path, phase: str, trace: bool, new_commits: int = 0) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        phase,
        "--repo",
        str(repo),
        "--new-commits",
        str(new_commits),
    ] + (["--trace"] if trace else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{err.decode(errors='replace')[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


def child_main(phase: str, repo: str, trace: bool, new_commits: int) -> None:
    if phase == "history":
        result = child_history(repo, trace)
    elif phase == "next":
        result = child_next(repo, trace)
    elif phase == "fold":
        result = child_fold(repo, trace)
    elif phase == "session":
        result = child_session(repo, trace, new_commits)
    else:
        raise SystemExit(f"unknown phase {phase}")
    result["proc"] = _maxrss()
    print(json.dumps(result))


def both(repo: Path, phase: str, new_commits: int = 0) -> dict:
    """The timed run's figures, with the Python peak of the traced run."""
    timed = run_child(repo, phase, False, new_commits)
    traced = run_child(repo, phase, True, new_commits)
    if phase == "session":
        for key in ("no_new", "new"):
            timed[key]["py_peak"] = traced[key]["py_peak"]
            timed[key]["proc"] = timed["proc"]
        timed["no_new"]["scan_only_py_peak"] = traced["no_new"]["scan_only_py_peak"]
        return timed
    timed["py_peak"] = traced["py_peak"]
    return timed


def mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.0f} MB"


def secs(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def rate(n: int, s: float) -> str:
    return f"{n / s:,.0f}/s" if s > 0 else "-"


HEAD = f"  {'phase':<46} {'wall':>9} {'commits/s':>11} {'py peak':>9} {'RSS +':>8} {'proc':>8}"


def row(label: str, r: dict, commits: int | None = None) -> None:
    commits = r["commits"] if commits is None else commits
    print(
        f"  {label:<46} {secs(r['wall']):>9} {rate(commits, r['wall']):>11} {mb(r['py_peak']):>9} "
        f"{mb(r['rss_growth']):>8} {mb(r.get('proc')):>8}"
    )


def parts(r: dict) -> None:
    print("      " + "; ".join(f"{name} {secs(s)}" for name, s in r["parts"].items()))


def ratio_line(label: str, ours: float, theirs: float) -> None:
    value = ours / theirs
    who = (
        f"cdportal {theirs / ours:,.1f}x faster" if value < 1 else f"git-cliff {value:,.1f}x faster"
    )
    print(f"  {label:<58} {value:>8.3f}   ({secs(ours)} vs {secs(theirs)}: {who})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--commits", type=int, default=100_000, help="commits to generate (100000)")
    p.add_argument("--tag-every", type=int, default=250, help="a release tag every N commits (250)")
    p.add_argument("--repo", help="reuse this repository (cloned first) instead of generating one")
    p.add_argument(
        "--keep", action="store_true", help="keep the temp dir (repository, cliff output)"
    )
    p.add_argument("--seed", type=int, default=0, help="generator seed (0)")
    p.add_argument("--new-commits", type=int, default=10, help="commits added before phase 5 (10)")
    p.add_argument("--no-cliff", action="store_true", help="skip the git-cliff comparison")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(args.child, args.repo, args.trace, args.new_commits)
        return 0
    if args.commits < 2 or args.tag_every < 1 or args.new_commits < 1:
        p.error("--commits must be >= 2, --tag-every and --new-commits >= 1")

    workdir = Path(tempfile.mkdtemp(prefix="cdportal-release-plan-"))
    cliff = None if args.no_cliff else find_git_cliff()
    try:
        return run(args, workdir, cliff)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: Path, cliff: str | None) -> int:
    print("cdportal release planning benchmark")
    repo, how = prepare_repo(args, workdir)
    total = int(_git(repo, "rev-list", "--count", "HEAD"))
    tags = len(_git(repo, "tag").split())
    print(f"  repository: {total} commits, {tags} tags; {how}")
    git_version = _git(repo, "--version").strip().removeprefix("git version ")
    cliff_version = (
        subprocess.run(
            [cliff, "--version"], check=False, capture_output=True, text=True
        ).stdout.strip()
        if cliff
        else None
    )
    print(
        f"  machine: {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {sys.version.split()[0]}, "
        f"git {git_version}, {cliff_version or 'git-cliff not installed'}"
    )

    history = both(repo, "history")
    print(f"  config: {history['config']}")
    print(
        "\n  Each row: a fresh process (phases 1-3: cold), timed; py peak from a second run with\n"
        "  tracemalloc. py peak = Python allocations made during the phase (tracemalloc peak);\n"
        "  RSS + = growth of the process's peak RSS (ru_maxrss) during the phase; proc = the\n"
        "  process's peak RSS (interpreter, imports and the history in memory).\n"
    )
    print(HEAD)
    row("1 release history, cold", history)
    parts(history)
    print(
        f"      {history['releases']} releases, {history['release_entries']} changelog entries, "
        f"{history['release_bytes'] / 1e6:.1f} MB of changelog"
    )
    nxt = both(repo, "next")
    row("2 next release, cold (release-plan command)", nxt)
    parts(nxt)
    print(
        f"      {nxt['unreleased']} commits since {nxt['previous_tags'][0]} -> {nxt['next_versions']}, "
        f"{nxt['entries']} entries, {nxt['changelog_bytes']} bytes of changelog"
    )
    fold = both(repo, "fold")
    row("3 all commits folded into one release", fold)
    parts(fold)
    print(
        f"      {fold['unreleased']} commits -> {fold['next_versions']}, {fold['entries']} entries, "
        f"{fold['changelog_bytes'] / 1e6:.1f} MB entry"
    )

    cliff_full = cliff_next = None
    if cliff:
        config = workdir / "cliff.toml"
        url = "https://github.com/{}/{}".format(*LINKS)
        config.write_text(CLIFF_TOML.replace("URL", url), encoding="utf-8")
        cliff_full = run_cliff(cliff, repo, config, workdir / "cliff-full.md")
        runs = [
            run_cliff(cliff, repo, config, workdir / "cliff-unreleased.md", "--unreleased")
            for _ in range(3)
        ]
        cliff_next = sorted(runs, key=lambda r: r["wall"])[1]  # the median of 3: it is short
        latest = _git(repo, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*").strip()
        cliff_next["commits"] = int(_git(repo, "rev-list", "--count", f"{latest}..HEAD"))

    session = both(repo, "session", args.new_commits)
    no_new, new = session["no_new"], session["new"]
    print("\n  Incremental (one process: a cold scan and plan first, untimed; then):")
    scan_only = {
        "wall": no_new["scan_only"],
        "py_peak": no_new["scan_only_py_peak"],
        "rss_growth": None,
        "proc": None,
        "commits": 0,
    }
    row("4 rescan, no new commit: CommitCache.scan()", scan_only)
    print(f"      {no_new['read']} commits read from git")
    row("4 ... + snapshot, release history, next release", no_new)
    parts(no_new)
    row(f"5 rescan after {args.new_commits} new commits, replanned", new)
    parts(new)
    print(
        f"      {new['read']} commits read from git (of {new['commits']}); {new['releases']} releases; "
        f"next release {new['next_versions']} from {new['unreleased']} commits"
    )

    print()
    if not cliff:
        why = (
            "--no-cliff"
            if args.no_cliff
            else (
                "git-cliff is not installed (pip install git-cliff; it is not a cdportal dependency)"
            )
        )
        print(f"git-cliff comparison skipped: {why}.")
        return 0
    print(
        f"{cliff_version} on the same repository (before phase 5's commits), {workdir / 'cliff.toml'}:"
    )
    print(f"  {'run':<46} {'wall':>9} {'commits/s':>11} {'':>9} {'':>8} {'proc':>8}")
    for label, r, n in (
        ("full changelog", cliff_full, total),
        ("--unreleased (median of 3)", cliff_next, cliff_next["commits"]),
    ):
        print(
            f"  {label:<46} {secs(r['wall']):>9} {rate(n, r['wall']):>11} {'':>9} {'':>8} "
            f"{mb(r['proc']):>8}"
        )
        print(
            f"      {r['releases']} release sections, {r['bytes'] / 1e6:.2f} MB, "
            f"{r['skipped']} commits skipped as unconventional"
        )
    print("\nRatio cdportal / git-cliff (wall time; below 1 cdportal is faster):")
    ratio_line("release history (1) / full changelog", history["wall"], cliff_full["wall"])
    ratio_line("next release, cold (2) / --unreleased", nxt["wall"], cliff_next["wall"])
    ratio_line(
        "a commit lands: rescan + replan (5) / full changelog", new["wall"], cliff_full["wall"]
    )
    print(
        f"  peak RSS: cdportal {mb(history['proc'])} (phase 1 process), {mb(nxt['proc'])} (phase 2); "
        f"git-cliff {mb(cliff_full['proc'])} (full), {mb(cliff_next['proc'])} (--unreleased)"
    )
    print(
        "\nThe outputs are not the same format, so the ratios compare the work, not the bytes:\n"
        "- cdportal writes Release Please's entries exactly (its parser, squash-commit splitting,\n"
        "  footers, BREAKING CHANGE notes, issue and @mention links, ICU sort) and cuts each\n"
        "  release at its Release PR's merge; git-cliff renders its own conventional-commit parse\n"
        "  through a Tera template made to look similar (one entry per commit, no squash splitting,\n"
        "  sorted by description, no issue links) and cuts at the tags.\n"
        "- Phase 1 also keeps every release as data (commits, skipped commits) for the history page;\n"
        "  git-cliff only writes Markdown. Phase 2 reads the whole history (the `release-plan`\n"
        "  command lists all commits, then cuts at the tag); git-cliff --unreleased walks from HEAD\n"
        "  to the latest tag only.\n"
        "- git-cliff has no incremental mode: when a commit lands it runs again in full."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
