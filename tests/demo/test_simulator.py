import random
from datetime import UTC, datetime

import pytest

from cdportal.core.events import parse_event
from cdportal.demo import runner
from cdportal.demo.simulator import APPLICATIONS, Simulator, fake_clock
from cdportal.pipeline.models import Application, PipelineEvent, Release
from cdportal.pipeline.sinks import LocalSink


def simulated(cycles=3, **options):
    now, advance = fake_clock(datetime(2026, 11, 28, 10, tzinfo=UTC))
    sim = Simulator(rng=random.Random(7), clock=now, **options)
    return sim, advance, list(sim.run(cycles=cycles))


def test_every_event_it_emits_is_valid():
    _, _, items = simulated(cycles=5)
    events = [i for i in items if isinstance(i, dict)]
    assert len(events) > 50
    for event in events:
        parse_event(event)
    assert len({e["source_id"] for e in events}) == len(events)


def test_versions_follow_the_commits_bumps():
    _, _, items = simulated(cycles=4, build_failure_rate=0)
    versions = [i["version"] for i in items if isinstance(i, dict) and i["kind"] == "release"]
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert len(set(versions)) == 4


@pytest.mark.django_db
def test_its_releases_reach_every_application_through_the_ingestion_path():
    sim, advance, _ = simulated()
    sim = Simulator(rng=random.Random(3), clock=sim.clock, build_failure_rate=0, degraded_rate=0)
    runner.drive(sim.run(cycles=2), LocalSink(), sleep=advance)
    deployed = Release.objects.filter(state=Release.State.DEPLOYED)
    assert deployed.count() == 2
    assert {r.application.name for r in deployed.first().rollouts.all()} == set(APPLICATIONS)
    assert set(Application.objects.values_list("health_status", flat=True)) == {"Healthy"}


@pytest.mark.django_db
def test_a_failed_build_shows_and_is_superseded_by_the_next_release():
    now, advance = fake_clock(datetime(2026, 11, 28, 10, tzinfo=UTC))
    sim = Simulator(rng=random.Random(3), clock=now, build_failure_rate=1.0, degraded_rate=0)
    runner.drive(sim.run(cycles=1), LocalSink(), sleep=advance)
    assert Release.objects.get().state == Release.State.FAILED
    sim.build_failure_rate = 0
    runner.drive(sim.release_cycle(), LocalSink(), sleep=advance)
    assert list(Release.objects.order_by("pk").values_list("state", flat=True)) == [
        "superseded",
        "deployed",
    ]


@pytest.mark.django_db
def test_seeding_history_twice_records_it_once():
    sim = Simulator(rng=random.Random(1))
    first = runner.seed_history(sim, LocalSink())
    count = PipelineEvent.objects.count()
    assert first == count > 0
    assert runner.seed_history(Simulator(rng=random.Random(1)), LocalSink()) == 0
    assert PipelineEvent.objects.count() == count
    assert Release.objects.filter(state=Release.State.DEPLOYED).count() == runner.HISTORY_RELEASES
