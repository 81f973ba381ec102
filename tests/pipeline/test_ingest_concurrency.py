"""Several sources posting at once, for real: threads released by one barrier each ingest their
share of a simulated pipeline (cdportal/demo/simulator.py), each on its own database connection.
What they leave behind — releases, commits, build runs, image tags, applications, rollouts and
the event log's links — must be exactly what the same events leave when ingested one at a time
in the order the concurrent run committed them (the event log's primary keys).

The race needs PostgreSQL, where writers run side by side: `make test-postgres` runs these tests
there (required in CI); on a machine without it they skip. On SQLite writers wait for each other
(BEGIN IMMEDIATE and a busy timeout, cdportal/env.py): there the same run proves that none of
them fails with "database is locked".
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from helpers import reachable, require

from cdportal.demo.simulator import Simulator, fake_clock
from cdportal.pipeline.ingest import ingest
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

# Threads use their own database connections: they see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 4


def simulated_pipeline(cycles: int = 10) -> list[dict]:
    """A pipeline of `cycles` releases (failed builds and degraded rollouts included)."""
    now, advance = fake_clock(datetime(2026, 11, 28, 10, tzinfo=UTC))
    sim = Simulator(rng=random.Random(11), clock=now, version="100.4.0", run_id="race")
    events = []
    for item in sim.run(cycles=cycles):
        if isinstance(item, dict):
            events.append(item)
        else:
            advance(item)
    return events


def ingest_at_once(events: list[dict], writers: int = WRITERS) -> None:
    """Event i goes to writer i % writers; each posts its share in order, all start together."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(share: list[dict]) -> None:
        try:
            barrier.wait(10)
            for event in share:
                ingest(event, broadcast=False)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(events[i::writers],)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert not any(t.is_alive() for t in threads)


def derived_rows() -> dict[str, list]:
    """Every row ingestion derives, without database ids or wall-clock defaults: comparable
    between two runs."""

    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields), key=repr)

    release = ("component__repository__full_name", "component__name", "version")
    return {
        "repositories": rows(Repository.objects, "full_name", "url"),
        "components": rows(Component.objects, "repository__full_name", "name"),
        "releases": rows(
            Release.objects,
            *release,
            "tag",
            "state",
            "pr_number",
            "pr_title",
            "pr_state",
            "pr_url",
            "url",
            "sha",
            "changelog",
            "merged_at",
            "pr_opened_at",
            "released_at",
            "built_at",
            "failed_stage",
            "failure_reason",  # not updated_at: it starts at the wall-clock time
        ),
        "commits": rows(
            Commit.objects,
            "sha",
            "message",
            "type",
            "scope",
            "breaking",
            "committed_at",
            *("release__" + f for f in ("version", "tag")),
        ),
        "builds": rows(
            BuildRun.objects,
            "run_id",
            "status",
            "conclusion",
            "version",
            "started_at",
            "completed_at",
            "jobs",
            "release__version",
        ),
        "images": rows(
            ImageRepository.objects, "name", "component__repository__full_name", "component__name"
        ),
        "image_tags": rows(ImageTag.objects, "image__name", "tag", "digest", "pushed_at"),
        "applications": rows(
            Application.objects,
            "namespace",
            "name",
            "current_tag",
            "sync_status",
            "health_status",
            "operation_phase",
            "parameters",
            "observed_at",
            "images__name",
        ),
        "deployed_tags": rows(DeployedTag.objects, "application__name", "image", "tag", "since"),
        "rollouts": rows(
            Rollout.objects,
            "release__version",
            "application__name",
            "detected_at",
            "parameter_updated_at",
            "synced_at",
            "failed_stage",
            "failure_reason",
            "updated_at",
        ),
        "events": rows(
            PipelineEvent.objects,
            "source_id",
            "kind",
            "release__version",
            "application__name",
            "image__name",
            "repository__full_name",
        ),
    }


def forget_everything() -> None:
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


def replayed_one_at_a_time(events: list[dict]) -> dict[str, list]:
    """The derived rows after ingesting, from scratch and one by one, the events the log holds, in
    the order they were committed."""
    committed = list(PipelineEvent.objects.order_by("pk").values_list("source_id", flat=True))
    by_id = {e["source_id"]: e for e in events}
    forget_everything()
    for source_id in committed:
        ingest(by_id[source_id], broadcast=False)
    return derived_rows()


@pytest.fixture
def postgres():
    if connection.vendor == "postgresql":
        return
    if reachable("127.0.0.1", 5432):
        pytest.skip("runs in the PostgreSQL pass (make test-postgres)")
    require(
        "PostgreSQL",
        False,
        "concurrent writers only race on PostgreSQL; nothing answers on 127.0.0.1:5432",
    )


def writers_derive_what_one_writer_derives():
    events = simulated_pipeline()
    ingest_at_once(events)
    concurrent = derived_rows()
    assert PipelineEvent.objects.count() == len(events)
    serial = replayed_one_at_a_time(events)
    for table in serial:
        assert concurrent[table] == serial[table], table
    assert len([r for r in serial["releases"] if r[3]]) == 10  # tagged: released
    assert {name for _, name, *_ in serial["rollouts"]} == {
        "cto-controller-dev",
        "cto-controller-staging",
        "cto-controller",
    }


@pytest.mark.postgres
def test_concurrent_writers_derive_what_one_writer_derives_in_their_commit_order(postgres):
    writers_derive_what_one_writer_derives()


@pytest.mark.postgres
def test_writers_posting_the_same_events_at_once_record_each_once(postgres):
    """Every event twice (a webhook and the poller report the same thing): no duplicates, and
    the same rows as one copy of each, one at a time."""
    events = simulated_pipeline(cycles=3)
    ingest_at_once(events + events)
    concurrent = derived_rows()
    assert PipelineEvent.objects.count() == len(events)
    assert concurrent == replayed_one_at_a_time(events)


def test_concurrent_writers_on_sqlite_wait_for_each_other_instead_of_failing():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    writers_derive_what_one_writer_derives()
