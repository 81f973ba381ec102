#!/usr/bin/env python
"""Page time against data size: the overview, history, attention and one live re-render with
100, 1,000 and 10,000 Argo CD applications.

What is measured
----------------
A fleet is written straight into the tables (bulk inserts; no events): N applications, one
component and image per 10 applications, 10 releases per application (so 100,000 releases at
10,000), each release with 2 commits and rollouts to 3 of its component's applications, the
newest release of each component in flight. Then, with DEBUG off and a logged-in client:

- overview: `GET /` (every panel);
- history: `GET /history/` (the newest releases and the stage durations over all of them);
- attention: `pipeline.attention.problems()`, the "Needs attention" panel's rules;
- live re-render: `live.broadcast.render_fragments()` for one event that changed one
  application, one release and added one event row (what every ingested event costs).

Each is run `--rounds` times after one warm-up; the median is printed with the HTML size and the
number of queries. No figure is asserted.

Running it
----------
    python benchmarks/pages.py                      # SQLite in a temp dir, 100 / 1,000 / 10,000
    python benchmarks/pages.py --sizes 100 1000 --database-url postgres://postgres@127.0.0.1:5432/scratch

The database must be a scratch one: its pipeline tables are emptied before each size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

APPS_PER_COMPONENT = 10
RELEASES_PER_APPLICATION = 10
ROLLOUTS_PER_RELEASE = 3
BATCH = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cdportal-pages-"))
    for name in list(os.environ):
        if name.startswith(("DATABASE_URL", "REDIS_URL", "KUBE", "GITHUB_", "REGISTRY_")):
            del os.environ[name]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-not-secret-" + "x" * 40,
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="ERROR",
        DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'db.sqlite3'}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    print(f"database: {django.db.connection.vendor}; median of {args.rounds} rounds")
    header = f"{'applications':>12} {'releases':>9} {'page':<16} {'ms':>9} {'KB':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        started = time.perf_counter()
        releases = populate(size)
        setup_s = time.perf_counter() - started
        for name, ms, size_kb, queries in measure(args.rounds):
            print(f"{size:>12,} {releases:>9,} {name:<16} {ms:>9.1f} {size_kb:>8.1f} {queries:>8}")
        print(f"{'':>12} (fleet written in {setup_s:.1f} s)")
    return 0


def populate(applications: int) -> int:
    """Empty the pipeline tables and write a fleet of `applications`; returns the release count."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from cdportal.pipeline import models as m

    with transaction.atomic():
        for model in (
            m.PipelineEvent,
            m.Rollout,
            m.Commit,
            m.BuildRun,
            m.Release,
            m.ImageTag,
            m.Application,
            m.ImageRepository,
            m.Component,
            m.Repository,
        ):
            model.objects.all().delete()
    get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})

    now = datetime.now(UTC)
    components = max(1, applications // APPS_PER_COMPONENT)
    per_component = RELEASES_PER_APPLICATION * APPS_PER_COMPONENT
    with transaction.atomic():
        repo = m.Repository.objects.create(
            full_name="fleet/mono", url="https://github.com/fleet/mono"
        )
        comps = m.Component.objects.bulk_create(
            m.Component(repository=repo, name=f"svc-{c:05d}", path=f"svc/{c:05d}")
            for c in range(components)
        )
        images = m.ImageRepository.objects.bulk_create(
            m.ImageRepository(name=f"ghcr.io/fleet/svc-{c:05d}", component=comp)
            for c, comp in enumerate(comps)
        )
        apps = m.Application.objects.bulk_create(
            (
                m.Application(
                    namespace="argocd",
                    name=f"svc-{i // APPS_PER_COMPONENT:05d}-{i % APPS_PER_COMPONENT}",
                    current_tag=f"v1.0.{per_component - 2}",
                    sync_status="Synced" if i % 97 else "OutOfSync",
                    health_status="Healthy" if i % 89 else "Degraded",
                    health_message="" if i % 89 else "Deployment has 0 ready replicas",
                    observed_at=now - timedelta(hours=1),
                )
                for i in range(applications)
            ),
            batch_size=BATCH,
        )
        through = m.Application.images.through
        through.objects.bulk_create(
            (
                through(
                    application_id=app.pk, imagerepository_id=images[i // APPS_PER_COMPONENT].pk
                )
                for i, app in enumerate(apps)
            ),
            batch_size=BATCH,
        )
        releases = []
        for c, comp in enumerate(comps):
            for r in range(per_component):
                at = now - timedelta(hours=(per_component - r) * 6)
                newest = r == per_component - 1
                releases.append(
                    m.Release(
                        component=comp,
                        version=f"1.0.{r}",
                        tag=f"v1.0.{r}",
                        state=m.Release.State.RELEASED if newest else m.Release.State.DEPLOYED,
                        pr_number=c * per_component + r + 1,
                        merged_at=at - timedelta(minutes=90),
                        pr_opened_at=at - timedelta(minutes=60),
                        released_at=at,
                        built_at=at + timedelta(minutes=6 + r % 5),
                        changelog=f"### Bug Fixes\n\n* fix {r}\n",
                        created_at=at - timedelta(minutes=90),
                        updated_at=at + timedelta(minutes=20),
                    )
                )
        releases = m.Release.objects.bulk_create(releases, batch_size=BATCH)
        m.Commit.objects.bulk_create(
            (
                m.Commit(
                    repository=repo,
                    component_id=release.component_id,
                    release=release,
                    sha=f"{release.pk:020x}{k:020x}",
                    message=f"fix(svc): change {k} of {release.version}",
                    type="fix",
                    scope="svc",
                    committed_at=release.merged_at,
                )
                for release in releases
                for k in range(2)
            ),
            batch_size=BATCH,
        )
        apps_of = [
            apps[c * APPS_PER_COMPONENT : (c + 1) * APPS_PER_COMPONENT] for c in range(components)
        ]
        rollouts = []
        for index, release in enumerate(releases):
            component_apps = apps_of[index // per_component]
            newest = index % per_component == per_component - 1
            for k in range(min(ROLLOUTS_PER_RELEASE, len(component_apps))):
                built = release.built_at
                rollouts.append(
                    m.Rollout(
                        release=release,
                        application=component_apps[(index + k) % len(component_apps)],
                        detected_at=built + timedelta(minutes=2),
                        parameter_updated_at=built + timedelta(minutes=2, seconds=5),
                        synced_at=None if newest else built + timedelta(minutes=3 + k),
                        created_at=built,
                        updated_at=built + timedelta(minutes=3),
                    )
                )
        m.Rollout.objects.bulk_create(rollouts, batch_size=BATCH)
        m.PipelineEvent.objects.bulk_create(
            (
                m.PipelineEvent(
                    source="argocd",
                    source_id=f"bench-{i}",
                    kind="application",
                    occurred_at=now - timedelta(seconds=i),
                    summary=f"{apps[i % len(apps)].name} Synced/Healthy",
                    payload={"sync_status": "Synced", "health_status": "Healthy"},
                    application=apps[i % len(apps)],
                )
                for i in range(min(applications * 2, 20_000))
            ),
            batch_size=BATCH,
        )
        m.StageSample.rebuild()  # bulk inserts bypass the save() that keeps the samples
    return len(releases)


def measure(rounds: int):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cdportal.live.broadcast import render_fragments
    from cdportal.pipeline.attention import problems
    from cdportal.pipeline.changes import Changes
    from cdportal.pipeline.models import Application, PipelineEvent, Release

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    app = Application.objects.order_by("pk").first()
    release = Release.objects.order_by("-pk").first()
    event = PipelineEvent.objects.order_by("-pk").first()
    changes = Changes(applications={app.pk}, releases={release.pk}, events=[event.pk])

    def page(path: str):
        def get() -> int:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return len(response.content)

        return get

    def attention() -> int:
        return len(problems())

    def rerender() -> int:
        fragments = render_fragments(changes)
        return sum(len(html) for group in fragments.values() for html in group.values())

    cases = [
        ("overview", page("/"), True),
        ("history", page("/history/"), True),
        ("attention", attention, False),
        ("live re-render", rerender, True),
    ]
    for name, run, sized in cases:
        run()  # warm-up: templates compiled, caches filled
        times = []
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                produced = run()
                times.append((time.perf_counter() - started) * 1000)
        yield name, statistics.median(times), (produced / 1024 if sized else 0.0), len(queries)


if __name__ == "__main__":
    raise SystemExit(main())
