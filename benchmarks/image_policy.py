#!/usr/bin/env python
"""The image policy engine over a 100 000-tag registry: one evaluation = one `select()` call.

"Would update to" re-evaluates an image's policy against its registry's whole tag list whenever
the tag list or the application changes (registry_rescan.py measures fetching that list; this is
the other half). The tag list is synthetic but shaped like a busy ghcr.io repository: semver
releases with and without `v`, pre-releases (rc/beta/alpha, some with dotted numbers), CI tags
(`sha-1a2b3c4`, `main-1a2b3c4`, `pr-123`), calver dates, all-digit build numbers (which Masterminds
reads as huge major versions), `latest`/`stable`, creation dates and digests on every tag.

Scenarios (each is one realistic configuration, see the table the script prints):
  semver               no constraint (v1.3's implicit `*`: pre-releases excluded)
  semver ~1.2          a tilde constraint
  semver + filters     the 5dlabs setup: allow-tags `regexp:^v\\d+\\.\\d+\\.\\d+$`, ignore-tags globs
  semver >=0.0.0-0     pre-releases admitted (every pre-release is compared)
  newest-build         creation dates (no allow-tags: every tag has metadata)
  alphabetical calver  allow-tags on YYYY-MM-DD
  digest latest        follow one mutable tag
  semver → JSON        select() plus the command's JSON document (100 000 `rejected` entries)

Each scenario runs --runs times (default 31) after one untimed warm-up that also fills the
compiled-pattern caches; "first" is that warm-up's time (allow-tags regexp translation and
constraint parsing included). p99 is the nearest-rank percentile, i.e. the slowest run when
there are fewer than 100 runs. tags/s divides the tag count by the p50 time. No figure is
asserted; timings vary with the load on the machine.

    python benchmarks/image_policy.py                 # 100 000 tags, 31 runs each
    python benchmarks/image_policy.py --tags 20000 --runs 101
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cdportal.core.tag_policy import ImagePolicy, TagInfo, select


def make_tags(count: int, seed: int) -> list[TagInfo]:
    """`count` unique tags in registry (push) order, each with a creation date and a digest."""
    rnd = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    names: dict[str, None] = {}
    kinds = [
        (0.30, lambda: f"v{rnd.randint(0, 4)}.{rnd.randint(0, 60)}.{rnd.randint(0, 300)}"),
        (0.08, lambda: f"{rnd.randint(0, 4)}.{rnd.randint(0, 60)}.{rnd.randint(0, 300)}"),
        (
            0.12,
            lambda: (
                f"v{rnd.randint(0, 4)}.{rnd.randint(0, 60)}.{rnd.randint(0, 30)}-"
                f"{rnd.choice(['rc', 'beta', 'alpha'])}.{rnd.randint(0, 12)}"
            ),
        ),
        (0.03, lambda: f"v{rnd.randint(0, 4)}.{rnd.randint(0, 60)}.0-rc{rnd.randint(1, 9)}"),
        (0.20, lambda: f"sha-{rnd.getrandbits(28):07x}"),
        (0.12, lambda: f"main-{rnd.getrandbits(28):07x}"),
        (0.05, lambda: f"pr-{rnd.randint(1, 9999)}"),
        (
            0.06,
            lambda: (
                (start + timedelta(days=rnd.randint(0, 1500))).strftime("%Y-%m-%d")
                + rnd.choice(["", f".{rnd.randint(1, 9)}"])
            ),
        ),
        (0.04, lambda: str(rnd.randint(1_000_000, 99_999_999))),
    ]
    weights = [w for w, _ in kinds]
    makers = [m for _, m in kinds]
    names.update(dict.fromkeys(["latest", "stable", "main"]))
    while len(names) < count:
        names[rnd.choices(makers, weights)[0]()] = None
    return [
        TagInfo(
            name,
            start + timedelta(seconds=30 * i + rnd.randint(0, 29)),
            f"sha256:{rnd.getrandbits(256):064x}",
        )
        for i, name in enumerate(list(names)[:count])
    ]


SCENARIOS = [
    ("semver", ImagePolicy(image="ghcr.io/acme/app"), "v2.10.3"),
    ("semver ~1.2", ImagePolicy(image="ghcr.io/acme/app", constraint="~1.2"), "v1.2.3"),
    (
        "semver + filters",
        ImagePolicy(
            image="ghcr.io/acme/app",
            allow_tags=r"regexp:^v\d+\.\d+\.\d+$",
            ignore_tags=("v0.*", "*-rc*", "v4.60.*"),
        ),
        "v2.10.3",
    ),
    ("semver >=0.0.0-0", ImagePolicy(image="ghcr.io/acme/app", constraint=">=0.0.0-0"), "v2.10.3"),
    ("newest-build", ImagePolicy(image="ghcr.io/acme/app", strategy="newest-build"), "sha-1a2b3c4"),
    (
        "alphabetical calver",
        ImagePolicy(
            image="ghcr.io/acme/app",
            strategy="alphabetical",
            allow_tags=r"regexp:^\d{4}-\d{2}-\d{2}$",
        ),
        "2024-01-01",
    ),
    (
        "digest latest",
        ImagePolicy(image="ghcr.io/acme/app", strategy="digest", constraint="latest"),
        "latest",
    ),
]


def run(label: str, evaluate, runs: int, count: int) -> dict:
    started = time.perf_counter()
    selection = evaluate()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        evaluate()
        times.append(time.perf_counter() - started)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[max(0, math.ceil(0.99 * len(times)) - 1)]
    return {
        "label": label,
        "first": first,
        "p50": p50,
        "p99": p99,
        "rate": count / p50,
        "selection": selection,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tags", type=int, default=100_000, help="tags in the registry (default 100 000)"
    )
    parser.add_argument(
        "--runs", type=int, default=31, help="timed evaluations per scenario (default 31)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-registry",
        action="store_true",
        help="skip the second half: a rescan of 200 unchanged images (benchmarks/registry_rescan.py)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    tags = make_tags(args.tags, args.seed)
    print(
        f"{len(tags):,} tags generated in {time.perf_counter() - started:.1f} s "
        f"(Python {sys.version.split()[0]}); {args.runs} timed evaluations per scenario\n"
    )

    results = []
    for label, policy, current in SCENARIOS:
        results.append(
            run(
                label,
                lambda p=policy, c=current: select(p, tags, current_tag=c),
                args.runs,
                len(tags),
            )
        )
    policy, current = SCENARIOS[0][1], SCENARIOS[0][2]
    results.append(
        run(
            "semver → JSON",
            lambda: json.dumps(select(policy, tags, current_tag=current).to_json(), indent=2),
            args.runs,
            len(tags),
        )
    )

    print(f"{'scenario':<22}{'first':>9}{'p50':>9}{'p99':>9}{'tags/s':>12}   result")
    for r in results:
        s = r["selection"]
        outcome = (
            f"{s.reason.value} {s.tag or '-'}, {len(s.rejected):,} rejected"
            if not isinstance(s, str)
            else f"{len(s) / 1e6:.1f} MB of JSON"
        )
        print(
            f"{r['label']:<22}{r['first'] * 1000:>7.0f}ms{r['p50'] * 1000:>7.0f}ms{r['p99'] * 1000:>7.0f}ms"
            f"{r['rate']:>12,.0f}   {outcome}"
        )
    if args.no_registry:
        return 0
    # The second half: requests and wall time of a rescan of 200 unchanged images
    # against the real Distribution registry.
    print("\n--- rescan of unchanged images (benchmarks/registry_rescan.py) ---\n", flush=True)
    import subprocess
    from pathlib import Path

    return subprocess.call([sys.executable, str(Path(__file__).with_name("registry_rescan.py"))])


if __name__ == "__main__":
    sys.exit(main())
