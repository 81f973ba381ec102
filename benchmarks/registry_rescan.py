#!/usr/bin/env python
"""A rescan of unchanged images against a real Distribution registry: requests and wall time.

What is measured
----------------
Debian's `docker-registry` (anonymous, on 127.0.0.1, its data in a temp dir) is filled over the
registry API with N small images (default 200 repositories, each with `v1.0.0`, a two-platform
`v1.1.0` index and `latest` pointing at the same index). cdportal's scanner
(`cdportal.adapters.registry.scanner.scan`, ingesting into a throwaway SQLite database) then
reads them through a counting proxy, so every figure is what reached the registry:

1. first scan: every tag is new (tag list, HEAD, manifest, config; an index adds its child);
2. rescan, same process: what `scan-registry --watch` does every REGISTRY_POLL_SECONDS;
3. rescan, new process: fresh clients, no in-memory cache (`scan-registry --once` from cron):
   what was seen comes from the PollState rows;
4. full rescan (`--full`, also every 6 hours): one HEAD per tag on top of the tag list;
5. one new tag pushed to one image, then a rescan: what a change costs;
6. the rescan again, straight to the registry (no proxy), counted by the client itself.

Printed per phase: requests that reached the registry (by method), requests per image, wall
time, events recorded. No figure is asserted.

The client runs without its rate limit by default, which measures the registry and cdportal;
`--max-rps 10` (REGISTRY_MAX_RPS's default) shows the production pace instead, where a rescan
of 200 images takes about 200 / 10 = 20 s by design.

Running it
----------
    python benchmarks/registry_rescan.py                  # 200 images
    python benchmarks/registry_rescan.py --images 50 --max-rps 10 --keep
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import throwaway_django  # noqa: E402  (benchmarks/, beside this file)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument(
        "--max-rps", type=float, default=0, help="the client's rate limit (0: none)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (registry data, database)"
    )
    args = parser.parse_args()

    if not shutil.which("docker-registry"):
        print("docker-registry is not installed (apt-get install docker-registry)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="registry-rescan-"))
    throwaway_django.setup(tmp, clear=("REGISTRY_",))

    from registry_fixtures import CountingProxy, start_registry

    registry = start_registry(tmp / "registry", mode="anonymous")
    proxy = CountingProxy(registry.url)
    try:
        run(registry, proxy, args)
    finally:
        proxy.close()
        registry.stop()
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run(registry, proxy, args) -> None:
    import json

    from registry_fixtures import Pusher

    from cdportal.adapters.registry.client import RegistryClient
    from cdportal.adapters.registry.scanner import scan
    from cdportal.live import broadcast
    from cdportal.pipeline.sinks import LocalSink
    from cdportal.pipeline.sources import PollStates

    n = args.images
    push = Pusher(registry)
    started = time.perf_counter()
    images = []
    for i in range(n):
        repo = f"bench/service-{i:04d}"
        push.image(repo, "v1.0.0")
        push.index(repo, "v1.1.0")
        push.manifest(repo, "latest", json.loads(push.last_manifest))
        images.append(registry.image(repo))
    print(
        f"pushed {n} images (3 tags each: an image, a two-platform index, latest) "
        f"in {time.perf_counter() - started:.1f} s to {registry.url}"
    )
    print(f"client rate limit: {f'{args.max_rps:g} requests/s' if args.max_rps else 'none'}\n")

    def clients():
        made = {}

        def factory(host):
            if host not in made:
                made[host] = RegistryClient(proxy.url, max_rps=args.max_rps or None)
            return made[host]

        return factory

    sink = LocalSink()
    watching = clients()
    print(f"{'phase':<34} {'requests':>8} {'per image':>9} {'wall':>8}  {'events':>6}  by method")

    def phase(name, factory, **options):
        proxy.reset()
        t0 = time.perf_counter()
        report = scan(images, sink=sink, store=PollStates(), client_factory=factory, **options)
        wall = time.perf_counter() - t0
        broadcast.flush()
        methods = Counter(method for method, _ in proxy.requests)
        count = proxy.count()
        failed = f"  FAILED: {report.failed[:3]}" if report.failed else ""
        print(
            f"{name:<34} {count:>8} {count / len(images):>9.2f} {wall:>7.2f}s  {report.events:>6}  "
            f"{dict(sorted(methods.items()))}{failed}"
        )

    phase("1. first scan", watching)
    phase("2. rescan, same process", watching)
    phase("3. rescan, new process", clients())
    phase("4. full rescan (HEAD every tag)", watching, full=True)
    push.image("bench/service-0000", "v1.2.0")
    phase("5. rescan after one new tag", watching)

    # The proxy's own cost, out of the way: straight to the registry, counted by the client.
    direct = RegistryClient(registry.url, max_rps=args.max_rps or None)
    t0 = time.perf_counter()
    report = scan(images, sink=sink, store=PollStates(), client_factory=lambda host: direct)
    wall = time.perf_counter() - t0
    print(
        f"{'6. rescan, no proxy (client count)':<34} {direct.requests:>8} "
        f"{direct.requests / len(images):>9.2f} {wall:>7.2f}s  {report.events:>6}"
    )


if __name__ == "__main__":
    sys.exit(main())
