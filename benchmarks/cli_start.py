#!/usr/bin/env python
"""`release-plan --json` from the shell, against `git-cliff --unreleased --bump` on the same history.

What is measured
----------------
The wall time of whole processes, as a script or CI step sees them, on one repository (default:
a 100 000-commit history built by benchmarks/make_repo.py in a temp dir; or `--repo PATH`):

1. `python manage.py release-plan --repo PATH --json` (this checkout, or `--root` another one,
   e.g. an export of main to compare before and after);
2. `python -c pass`: the interpreter alone, the floor of any Python command;
3. `git-cliff --unreleased --bump` with benchmarks/release_plan.py's Release-Please-like
   `cliff.toml` (PyPI `git-cliff`, found beside this Python or on PATH, or `--git-cliff PATH`).
   Without it, the figure issue 15 recorded on this machine (0.085 s) stands in, and is said to.

Each runs `--runs` times after one warm-up run; the median is printed, with the ratio to
git-cliff. Python writes its bytecode cache into a temp dir (PYTHONPYCACHEPREFIX) during the
warm-up, as an installed image has it (the Dockerfile compiles bytecode): without one, every
start compiles cdportal and Django from source and the figures mean nothing.

Then `python -X importtime` of the release-plan run: the slowest top-level imports, where the
start-up time goes. No figure is asserted.

Running it
----------
    python benchmarks/cli_start.py --repo /tmp/big        # a repository make_repo.py built
    python benchmarks/cli_start.py --repo /tmp/big --root /tmp/main-export
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks")]

# benchmarks/release_plan.py, beside this file: its git-cliff configuration and finder.
_release_plan = importlib.import_module("release_plan")
CLIFF_TOML, find_git_cliff = _release_plan.CLIFF_TOML, _release_plan.find_git_cliff

RECORDED_CLIFF = 0.085  # issue 15: git-cliff --unreleased --bump on a 100k-commit history


def timed(cmd: list[str], *, cwd: Path, env: dict, runs: int) -> float:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)  # warm-up
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def slowest_imports(cmd: list[str], *, cwd: Path, env: dict, top: int = 8) -> list[str]:
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )
    rows = []
    for line in proc.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if found:  # top level only: nested ones are indented
            rows.append((int(found[1]), found[2]))
    rows.sort(reverse=True)
    total = sum(us for us, _ in rows)
    return [f"all top-level imports {total / 1e6:.3f} s"] + [
        f"{us / 1e6:.3f} s  {name}" for us, name in rows[:top]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="a repository (default: build 100k commits)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the cdportal checkout to run")
    parser.add_argument("--git-cliff", help="the git-cliff binary (default: found)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = args.repo
        if repo is None:
            repo = tmp / "repo"
            subprocess.run(
                [sys.executable, str(ROOT / "benchmarks/make_repo.py"), "--no-bench", str(repo)],
                check=True,
            )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        plan_cmd = [
            sys.executable,
            "manage.py",
            "release-plan",
            "--repo",
            str(repo),
            "--json",
        ]
        ours = timed(plan_cmd, cwd=args.root, env=env, runs=args.runs)
        bare = timed([sys.executable, "-c", "pass"], cwd=args.root, env=env, runs=args.runs)
        cliff = args.git_cliff or find_git_cliff()
        if cliff:
            config = tmp / "cliff.toml"
            config.write_text(CLIFF_TOML)
            theirs = timed(
                [
                    cliff,
                    "--config",
                    str(config),
                    "--repository",
                    str(repo),
                    "--unreleased",
                    "--bump",
                ],
                cwd=tmp,
                env={**env, "NO_COLOR": "1"},
                runs=args.runs,
            )
            source = "measured"
        else:
            theirs, source = RECORDED_CLIFF, "not installed: issue 15's recorded figure"
        print(f"release-plan --json, {repo} ({args.root}), median of {args.runs}:")
        print(f"  cdportal release-plan --json   {ours:6.3f} s")
        print(f"  python -c pass                 {bare:6.3f} s")
        print(f"  git-cliff --unreleased --bump  {theirs:6.3f} s  ({source})")
        print(f"  ratio cdportal / git-cliff     {ours / theirs:6.2f}x")
        print("where release-plan's start-up goes (python -X importtime):")
        for line in slowest_imports(plan_cmd, cwd=args.root, env=env):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
