"""Drive the simulator: wait where it says, deliver its events to a sink."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import semver

from cdportal.adapters.sinks import EventSink
from cdportal.demo.breaks import CLUSTER_BREAKS, Switch
from cdportal.demo.github import GitHub
from cdportal.demo.github_feed import GitHubFeed, GitSync
from cdportal.demo.simulator import Item, Simulator, fake_clock

if TYPE_CHECKING:
    from cdportal.demo.cluster import Cluster

log = logging.getLogger(__name__)

HISTORY_RELEASES = 3
HISTORY_SPAN = timedelta(hours=2)  # how long ago the history starts


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
    now, advance = fake_clock(datetime.now(UTC) - HISTORY_SPAN)
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
    github: GitHub | None = None,
    switch: Switch | None = None,
) -> None:
    """History first (unless an earlier run left some), then release after release. With a
    `cluster` (its updater installed, its controllers started), the present of the Argo CD side
    lives there: its Applications start where the history left them, cdportal's watchers report
    them to `sink`, and the simulator's Argo CD events become changes to the cluster (ClusterSink).
    With a `github` (started, its repository not yet made), the GitHub side lives there: the
    simulator's GitHub events become changes to it (GitHubFeed), which reach the server as
    webhooks, and its repository is read into the server after every push (GitSync). With a
    `switch`, each release breaks the stage it names (cdportal.demo.breaks)."""
    sim = Simulator(rng=random.Random(seed), speed=speed)
    if github is not None:
        sink = start_github(github, sink, sim.version if start_version is None else start_version)
    if start_version is None:
        added = seed_history(sim, sink)
        log.info("seeded %d history events", added)
    else:
        sim.version = start_version
        sim.reset_running(f"v{start_version}")
    if github is not None:
        github.hooks.drain(timeout=120)  # the history is in before the cluster starts
    if cluster is not None:
        cluster.install_applications(sim.running)
        cluster.watch(sink)
        sink = cluster.feeding(sink)
    drive(_cycles(sim, github, switch, cluster), sink, stop=stop)


def start_github(github: GitHub, sink: EventSink, version: str) -> GitHubFeed:
    """The demo repository at `version` (made before the history starts), read into the server
    after each push; returns the sink that plays the simulator's GitHub half on `github`."""
    github.repo.create(version, at=datetime.now(UTC) - HISTORY_SPAN - timedelta(minutes=5))
    github.on_push = GitSync(github.repo.path, sink, github.hooks)
    github.on_push()
    return GitHubFeed(sink, github)


def _cycles(
    sim: Simulator,
    github: GitHub | None,
    switch: Switch | None = None,
    cluster: Cluster | None = None,
) -> Iterator[Item]:
    """The simulator's script; before each release, it learns of tags made by hand (a manual
    release), so it never proposes a version that is already tagged, and reads the break in
    force (cdportal.demo.breaks): the cluster's are set in the cluster, the GitHub half's are
    played by the simulator."""
    yield from sim.run(cycles=0)
    while True:
        if github is not None:
            sim.version = max(sim.version, github.latest_version() or sim.version, key=_semver)
        broken = switch.current() if switch is not None else ""
        if broken in CLUSTER_BREAKS and cluster is None:
            log.warning("no simulated cluster: the demo cannot break %s", broken)
        elif broken:
            log.warning("the demo breaks %s for this release", broken)
        if cluster is not None:
            cluster.set_break(broken, running=sim.version)
        yield from sim.release_cycle(broken)


def _semver(version: str) -> semver.Version:
    return semver.Version.parse(version)
