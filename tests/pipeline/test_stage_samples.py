"""The history's stage statistics come from StageSample rows kept in step with the releases'
and rollouts' times; they must say exactly what core.durations says over the same releases."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdportal.core import durations
from cdportal.core.stages import RELEASE_STAGES, ROLLOUT_STAGES
from cdportal.pipeline import queries
from cdportal.pipeline.models import (
    Application,
    Component,
    Release,
    Repository,
    Rollout,
    StageSample,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _fleet(rng: random.Random, releases: int, *, components: int = 2) -> None:
    """Releases with random stage times: some missing, some out of order, some equal."""
    repo = Repository.objects.create(full_name="acme/mono")
    comps = [Component.objects.create(repository=repo, name=f"c{n}") for n in range(components)]
    apps = [Application.objects.create(namespace="argocd", name=f"app-{n}") for n in range(4)]
    for n in range(releases):
        at = T0 + timedelta(hours=n)

        def when(minutes: int):
            if rng.random() < 0.1:
                return None
            return at + timedelta(minutes=rng.choice([minutes, minutes, minutes - 30, 0]))

        release = Release.objects.create(
            component=comps[n % components],
            version=f"1.0.{n}",
            tag=f"v1.0.{n}",
            state=Release.State.DEPLOYED,
            merged_at=at,
            pr_opened_at=when(rng.randint(1, 60)),
            released_at=None if rng.random() < 0.1 else at + timedelta(minutes=rng.randint(1, 90)),
            built_at=when(rng.randint(90, 120)),
        )
        for app in rng.sample(apps, rng.randint(0, 3)):
            Rollout.objects.create(
                release=release,
                application=app,
                detected_at=when(rng.randint(120, 130)),
                parameter_updated_at=when(rng.randint(125, 135)),
                synced_at=when(rng.randint(130, 200)),
            )


def _expected(releases) -> list[durations.Stat]:
    """core.durations over the releases, newest first, as the history lists them."""
    rows = list(releases.prefetch_related("rollouts__application"))
    return durations.stats(
        [(r.pk, r.own_stage_times()) for r in rows],
        [((r.pk, ro.application.name), ro.stage_times()) for r in rows for ro in r.rollouts.all()],
    )


def _figures(stats):
    return [(s.name, s.count, s.median, s.p90, s.slowest, s.slowest_key) for s in stats]


@pytest.fixture(params=["read whole", "ranked by the database"])
def reading(request, monkeypatch):
    """Both ways the statistics are read: small histories at once, large ones by rank."""
    if request.param == "ranked by the database":
        monkeypatch.setattr(queries, "SAMPLES_READ_WHOLE", 0)
    return request.param


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_statistics_equal_core_durations_over_the_same_releases(seed, reading):
    _fleet(random.Random(seed), 60)
    got = [row["stat"] for row in queries.stage_stats()]
    assert _figures(got) == _figures(_expected(queries.shipped()))
    one = Component.objects.get(name="c1").pk
    got = [row["stat"] for row in queries.stage_stats(component=one)]
    assert _figures(got) == _figures(_expected(queries.shipped(component=one)))
    last = [row["stat"] for row in queries.stage_stats(last=7)]
    newest = queries.shipped().filter(
        pk__in=list(queries.shipped().values_list("pk", flat=True)[:7])
    )
    assert _figures(last) == _figures(_expected(newest))


def test_the_slowest_names_its_release_and_application(reading):
    _fleet(random.Random(4), 30)
    by_name = {row["stat"].name: row for row in queries.stage_stats()}
    lead = by_name[durations.LEAD_LABEL]
    expected = {s.name: s for s in _expected(queries.shipped())}[durations.LEAD_LABEL]
    assert lead["stat"].slowest == expected.slowest
    release, application = lead["stat"].slowest_key
    assert lead["release"].pk == release and lead["application"] == application
    sample_rollout = Rollout.objects.get(release_id=release, application__name=application)
    assert sample_rollout.synced_at - sample_rollout.release.merged_at == expected.slowest


def test_samples_follow_every_save_and_deletion():
    _fleet(random.Random(5), 10)
    release = Release.objects.filter(rollouts__isnull=False).first()
    release.built_at = release.merged_at + timedelta(days=3)
    release.save(update_fields=["built_at"])
    rollout = release.rollouts.first()
    rollout.synced_at = release.merged_at + timedelta(days=4)
    rollout.save()
    assert _figures(r["stat"] for r in queries.stage_stats()) == _figures(
        _expected(queries.shipped())
    )
    state_only = StageSample.objects.filter(release=release).count()
    release.state = Release.State.SUPERSEDED
    release.save(update_fields=["state"])  # no time changed: nothing measured again
    assert StageSample.objects.filter(release=release).count() == state_only
    release.delete()
    assert not StageSample.objects.filter(release_id=release.pk).exists()


def test_rebuild_measures_what_bulk_writes_bypassed():
    _fleet(random.Random(6), 20)
    before = _rows()
    StageSample.objects.all().delete()
    assert StageSample.rebuild() == len(before)
    assert _rows() == before


def _rows() -> list[tuple]:
    rows = StageSample.objects.values_list("release_id", "rollout_id", "stage", "micros")
    return sorted(
        (release, rollout or 0, stage, micros) for release, rollout, stage, micros in rows
    )


def test_the_statistics_take_the_same_queries_at_any_size(reading):
    _fleet(random.Random(7), 8)
    with CaptureQueriesContext(connection) as small:
        queries.stage_stats()
    rng = random.Random(8)
    repo = Repository.objects.get()
    comp = Component.objects.create(repository=repo, name="more")
    for n in range(80):
        at = T0 + timedelta(days=10, hours=n)
        release = Release.objects.create(
            component=comp,
            version=f"2.0.{n}",
            merged_at=at,
            released_at=at + timedelta(minutes=rng.randint(1, 50)),
        )
        Rollout.objects.create(
            release=release,
            application=Application.objects.first(),
            synced_at=at + timedelta(hours=2),
        )
    with CaptureQueriesContext(connection) as large:
        queries.stage_stats()
    assert len(large) == len(small)


def test_the_stages_sampled_are_the_ones_with_times():
    # A guard on the field lists the save hooks watch: every stage's time is among them.
    from cdportal.pipeline.models import SAMPLED_RELEASE_FIELDS, SAMPLED_ROLLOUT_FIELDS

    assert {s.field for s in RELEASE_STAGES} <= SAMPLED_RELEASE_FIELDS
    assert {s.field for s in ROLLOUT_STAGES} == SAMPLED_ROLLOUT_FIELDS
