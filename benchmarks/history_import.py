#!/usr/bin/env python
"""Recording a long history: `sync-git` on a 100 000-commit repository, from an empty database.

What is measured
----------------
`python manage.py sync-git --repo PATH --repository bench/big` (default `--history`: the
commits of the 20 latest releases, every release and the next-release plan; about 5,650 events
on make_repo.py's history) as one process, on a scratch database created empty for the run
(PostgreSQL: `--database-url`, dropped and created again; default: SQLite in a temp dir), after
`migrate`. Printed: the wall time, what the command reported, and the rows it left (events,
commits, releases). `--root` runs another checkout (an export of main: before and after). The
commit cache (the parsed history) is warmed by a first `release-plan`-like read, so the figure
is the recording, not git. No figure is asserted.

Running it
----------
    python benchmarks/make_repo.py --no-bench /tmp/big
    python benchmarks/history_import.py --repo /tmp/big --database-url postgres://postgres@127.0.0.1:5432/scratch
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def recreate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="a repository make_repo.py built")
    parser.add_argument("--database-url", default="", help="a scratch PostgreSQL database")
    parser.add_argument("--root", type=Path, default=ROOT, help="the cdportal checkout to run")
    parser.add_argument("--history", type=int, help="sync-git --history (default: its own)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = args.database_url or f"sqlite:///{tmp / 'db.sqlite3'}"
        if args.database_url:
            recreate(url)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REDIS_URL", "DATABASE_URL", "PYTHONDONTWRITEBYTECODE"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="cdportal.settings",
            DEBUG="true",
            LOG_LEVEL="WARNING",
            DATABASE_URL=url,
            GIT_CACHE_DIR=str(tmp / "git-cache"),
            PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=args.root, env=env, check=True)
        command = [*manage, "sync-git", "--repo", str(args.repo), "--repository", "bench/big"]
        if args.history is not None:
            command += ["--history", str(args.history)]
        started = time.perf_counter()
        result = subprocess.run(
            command, cwd=args.root, env=env, check=True, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        counts = subprocess.run(
            [
                *manage,
                "shell",
                "-v",
                "0",
                "-c",
                "from cdportal.pipeline.models import Commit, PipelineEvent, Release;"
                "print(PipelineEvent.objects.count(), Commit.objects.count(),"
                " Release.objects.count())",
            ],
            cwd=args.root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-3:]
    print(f"sync-git of {args.repo} into {url.split(':')[0]} ({args.root}):")
    print(f"  {wall:7.1f} s  {result.stdout.strip()}")
    print(f"  rows: {counts[0]} events, {counts[1]} commits, {counts[2]} releases")
    print(f"  {int(counts[0]) / wall:7.1f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
