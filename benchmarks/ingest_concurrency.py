#!/usr/bin/env python
"""Ingestion throughput: one writer against several at once, and what the ingestion lock costs.

What is measured
----------------
A simulated pipeline (cdportal/demo/simulator.py, default 10 release cycles, about 200 events)
is ingested through `cdportal.pipeline.ingest.ingest` (no broadcast), from scratch each time:

1. serial: one thread posts every event in order;
2. N threads (default 4) start together; thread i posts events i, i+N, i+2N, … in order, each on
   its own database connection, as N API clients would;
3. with `--without-lock`, the N threads again with the ingestion lock switched off: what
   concurrency would gain, and what it breaks (how many released releases and rollouts remain;
   the serial run's figures are the correct ones).

Printed per phase: wall time, events/s, released releases, rollouts, events that failed. No figure is
asserted. Each phase runs `--rounds` times; the best time is printed.

The database is SQLite in a temp dir unless `--database-url` names another. It must be a
scratch database: every pipeline table in it is emptied between runs.

Running it
----------
    python benchmarks/ingest_concurrency.py
    python benchmarks/ingest_concurrency.py --database-url postgres://postgres@127.0.0.1:5432/scratch --without-lock
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cycles", type=int, default=10, help="release cycles simulated (default 10)"
    )
    parser.add_argument("--writers", type=int, default=4, help="concurrent threads (default 4)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per phase; the best counts (default 3)"
    )
    parser.add_argument(
        "--database-url", default="", help="a scratch database (default: SQLite in a temp dir)"
    )
    parser.add_argument(
        "--without-lock", action="store_true", help="also run the threads without the lock"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cdportal-bench-"))
    for name in list(os.environ):
        if name.startswith(("DATABASE_URL", "REDIS_URL")):
            del os.environ[name]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="true",
        LOG_LEVEL="WARNING",
        DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'db.sqlite3'}",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cdportal.pipeline import ingest as ingestion

    call_command("migrate", verbosity=0)
    events = simulated(args.cycles)
    print(
        f"{connection.vendor}, {len(events)} events ({args.cycles} release cycles), best of {args.rounds}"
    )
    print(
        f"{'phase':<28}{'wall s':>8}{'events/s':>10}{'released':>10}{'rollouts':>10}{'failed':>8}"
    )

    phases = [("serial", 1, True), (f"{args.writers} threads", args.writers, True)]
    if args.without_lock:
        phases.append((f"{args.writers} threads, no lock", args.writers, False))
    locked = ingestion._one_writer_at_a_time
    for label, writers, lock in phases:
        ingestion._one_writer_at_a_time = locked if lock else (lambda: None)
        best, rows, failed = float("inf"), None, 0
        for _ in range(args.rounds):
            wipe()
            took, errors = run(events, writers)
            best, rows, failed = min(best, took), counts(), max(failed, len(errors))
            if errors and lock:
                raise SystemExit(f"{len(errors)} events failed, the first with: {errors[0]!r}")
        ingestion._one_writer_at_a_time = locked
        print(
            f"{label:<28}{best:>8.2f}{len(events) / best:>10.0f}{rows[0]:>10}{rows[1]:>10}{failed:>8}"
        )
    return 0


def simulated(cycles: int) -> list[dict]:
    from cdportal.demo.simulator import Simulator, fake_clock

    now, advance = fake_clock(datetime(2026, 11, 28, 10, tzinfo=UTC))
    sim = Simulator(rng=random.Random(11), clock=now, version="100.4.0", run_id="bench")
    events = []
    for item in sim.run(cycles=cycles):
        if isinstance(item, dict):
            events.append(item)
        else:
            advance(item)
    return events


def run(events: list[dict], writers: int) -> tuple[float, list[BaseException]]:
    """Wall time, and the events that failed (each writer goes on with its next one)."""
    from django.db import connection

    from cdportal.pipeline.ingest import ingest

    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(share: list[dict]) -> None:
        barrier.wait()
        for event in share:
            try:
                ingest(event, broadcast=False)
            except Exception as e:  # noqa: BLE001 - counted by the caller
                errors.append(e)
        connection.close()

    threads = [threading.Thread(target=writer, args=(events[i::writers],)) for i in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, errors


def wipe() -> None:
    from cdportal.pipeline.models import (
        Application,
        BuildRun,
        Commit,
        Component,
        DeployedTag,
        ImageRepository,
        ImageTag,
        PipelineEvent,
        Release,
        Repository,
        Rollout,
    )

    for model in (
        PipelineEvent,
        Rollout,
        DeployedTag,
        Application,
        ImageTag,
        ImageRepository,
        BuildRun,
        Commit,
        Release,
        Component,
        Repository,
    ):
        model.objects.all().delete()


def counts() -> tuple[int, int]:
    from cdportal.pipeline.models import Release, Rollout

    return Release.objects.exclude(tag="").count(), Rollout.objects.count()


if __name__ == "__main__":
    sys.exit(main())
