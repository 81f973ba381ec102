#!/usr/bin/env python
"""Argo CD Applications from the Kubernetes API into cdportal: list, watch latency, relist.

What is measured
----------------
The Kubernetes API emulator of `make demo` (kmock over HTTP, cluster-wide resourceVersions)
holds N Applications shaped like tests/fixtures/argocd/01 (default 300). cdportal's watcher
(`cdportal.adapters.kubernetes.watchers.ApplicationWatcher`, the official client) ingests them into a
throwaway SQLite database through the one ingestion path, as `watch-argocd` does:

1. first list: N Applications become N `application` events and rows;
2. one change at a time: a status merge-patch through the API, then wait until its event is
   ingested; per change, patch answered → event committed (p50/p95/p99);
3. relist (what a 410 Gone costs): the N Applications again, nothing new recorded.

No burst phase: kmock answers a write in 40–80 ms, growing with the history it keeps, so a burst
would measure the emulator (cdportal's ingestion kept up with every burst tried, finishing
within 0.3 s of the last patch). No figure is asserted. The emulator and the watcher share this
machine's cores and one Python process: figures compare versions of cdportal, they do not size
a cluster.

Running it
----------
    python benchmarks/argocd_watch.py                 # 300 applications, 200 single changes
    python benchmarks/argocd_watch.py --apps 1000 --single 500
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import throwaway_django  # noqa: E402  (benchmarks/, beside this file)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--single", type=int, default=200, help="changes made one at a time")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="argocd-watch-"))
    throwaway_django.setup(tmp, clear=("KUBE",))
    import logging

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from cdportal.demo.kube import Kube

    kube = Kube(cluster_versions=True, first_version=1_000)
    try:
        run(kube, args)
    finally:
        kube.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


class TimedSink:
    """LocalSink, noting when each event's ingestion committed."""

    def __init__(self):
        from cdportal.pipeline.sinks import LocalSink

        self.sink, self.done, self.new = LocalSink(), {}, 0
        self.changed = threading.Condition()

    def emit(self, event) -> bool:
        created = self.sink.emit(event)
        with self.changed:
            self.done[event["source_id"]] = time.perf_counter()
            self.new += created
            self.changed.notify_all()
        return created

    def wait_for(self, source_id: str, timeout: float = 30) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: source_id in self.done, timeout):
                raise TimeoutError(f"{source_id} was not ingested within {timeout:g}s")
            return self.done[source_id]


def run(kube, args) -> None:
    from kube_stub import APPS, load

    from cdportal.adapters.kubernetes.watchers import ApplicationWatcher
    from cdportal.live import broadcast
    from cdportal.pipeline.models import Application

    template = load("01")
    names = [f"service-{i:04d}" for i in range(args.apps)]
    for name in names:
        obj = copy.deepcopy(template)
        obj["metadata"].update(name=name, uid=f"uid-{name}")
        obj["metadata"].pop("resourceVersion", None)
        kube.api.create_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], obj)
    print(f"{args.apps} Applications in the emulator at {kube.url}\n")

    sink = TimedSink()
    watcher = ApplicationWatcher(kube.api_client, ["argocd"], sink=sink, request_timeout=5.0)

    t0 = time.perf_counter()
    listed = watcher.list("argocd")
    wall = time.perf_counter() - t0
    broadcast.flush()
    print(
        f"1. first list      {listed:>6} events  {wall:6.2f} s  {listed / wall:8.1f} events/s  "
        f"({Application.objects.count()} rows)"
    )

    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(0.5)  # the watch is open

    def patch(name: str, n: int) -> str:
        health = ("Healthy", "Progressing", "Degraded")[n % 3]
        obj = kube.api.patch_namespaced_custom_object(
            *APPS[:2],
            "argocd",
            APPS[2],
            name,
            {"status": {"health": {"status": health, "message": f"change {n}"}}},
        )
        return f"argocd/{name}@{obj['metadata']['resourceVersion']}"

    latencies = []
    for n in range(args.single):
        source_id = patch(names[n % len(names)], n)
        answered = time.perf_counter()
        latencies.append((sink.wait_for(source_id) - answered) * 1000)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"2. one at a time   {args.single:>6} changes  patch answered → event committed: "
        f"p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms"
    )

    stop.set()
    watcher.stop_streams()
    thread.join(10)
    before = sink.new
    t0 = time.perf_counter()
    relisted = watcher.list("argocd")
    wall = time.perf_counter() - t0
    print(
        f"3. relist (410)    {relisted:>6} events  {wall:6.2f} s  {sink.new - before} new "
        "(each namespace/name@resourceVersion is recorded once)"
    )
    broadcast.flush()


if __name__ == "__main__":
    sys.exit(main())
