"""Drive the simulator: wait where it says, deliver its events to a sink."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cdportal.adapters.sinks import EventSink
from cdportal.demo.simulator import Item, Simulator, fake_clock

if TYPE_CHECKING:
    from cdportal.demo.cluster import Cluster

log = logging.getLogger(__name__)

HISTORY_RELEASES = 3


def drive(
    items: Iterable[Item],
    sink: EventSink,
    *,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
) -> int:
    """Deliver every event, waiting between them; returns how many were new."""
    new = 0
    for item in items:
        if stop is not None and stop.is_set():
            break
        if isinstance(item, float):
            sleep(item)
            continue
        if sink.emit(item):
            new += 1
        log.debug("%s %s", item["kind"], item["source_id"])
    return new


def seed_history(sim: Simulator, sink: EventSink, *, releases: int = HISTORY_RELEASES) -> int:
    """Past releases, delivered at once with timestamps from the last hours, so a new
    dashboard has history to show. Their ids are fixed: seeding twice records nothing new."""
    real_clock, real_run_id, failure_rate = sim.clock, sim.run_id, sim.build_failure_rate
    now, advance = fake_clock(datetime.now(UTC) - timedelta(hours=2))
    sim.clock, sim.run_id, sim.build_failure_rate = now, "seed", 0.0
    # Minutes between stages in the past, as a real team would see them.
    try:
        return drive(sim.run(cycles=releases), sink, sleep=lambda s: advance(s * 25))
    finally:
        sim.clock, sim.run_id, sim.build_failure_rate = real_clock, real_run_id, failure_rate


def simulate(
    sink: EventSink,
    *,
    start_version: str | None,
    speed: float = 1.0,
    seed: int | None = None,
    stop: threading.Event | None = None,
    cluster: Cluster | None = None,
) -> None:
    """History first (unless an earlier run left some), then release after release. With a
    `cluster` (its updater installed, its controllers started), the present of the Argo CD side
    lives there: its Applications start where the history left them, cdportal's watchers report
    them to `sink`, and the simulator's Argo CD events become changes to the cluster (ClusterSink)."""
    sim = Simulator(rng=random.Random(seed), speed=speed)
    if start_version is None:
        added = seed_history(sim, sink)
        log.info("seeded %d history events", added)
    else:
        sim.version = start_version
        sim.reset_running(f"v{start_version}")
    if cluster is not None:
        cluster.install_applications(sim.running)
        cluster.watch(sink)
        sink = cluster.feeding(sink)
    drive(sim.run(), sink, stop=stop)
