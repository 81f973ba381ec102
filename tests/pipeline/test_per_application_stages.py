"""A release's stages 5-7 count every application it is headed for, not the first to get there."""

import pytest
from helpers import DEV, PROD, STAGING, at, journey, synced, three_environments

from cdportal.core.stages import Stage
from cdportal.pipeline import queries
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Release

pytestmark = pytest.mark.django_db


def by_stage(release):
    return {step.stage: step for step in queries.release_stepper(release)}


def test_dev_synced_alone_leaves_stage_7_undone_with_1_of_3():
    for event in three_environments():
        ingest(event)
    release = queries.release(Release.objects.get(version="0.2.56").pk)
    steps = by_stage(release)
    assert [steps[s].state for s in Stage][:4] == ["done"] * 4
    assert (steps[Stage.SYNCED].state, steps[Stage.SYNCED].reached) == ("pending", 1)
    assert steps[Stage.SYNCED].targets == 3
    # Staging's updater picked it up too: 2 of 3 have stages 5 and 6; prod has not.
    assert (steps[Stage.DETECTED].reached, steps[Stage.DETECTED].state) == (2, "current")
    assert release.state == Release.State.RELEASED


def test_the_lanes_read_dev_then_staging_then_prod_and_name_who_is_behind():
    for event in three_environments():
        ingest(event)
    lanes = queries.release_lanes(queries.release(Release.objects.get(version="0.2.56").pk))
    assert [lane.application.name for lane in lanes] == [DEV, STAGING, PROD]
    assert [lane.done for lane in lanes] == [True, False, False]
    assert [lane.stage for lane in lanes] == [Stage.SYNCED, Stage.PARAMETER_UPDATED, None]


def test_every_application_synced_makes_stage_7_done():
    events = three_environments()
    events += [*journey("0.2.56", app=PROD)[5:6], synced("0.2.56", STAGING, 30)]
    events.append(synced("0.2.56", PROD, 40))
    for event in events:
        ingest(event)
    release = queries.release(Release.objects.get(version="0.2.56").pk)
    steps = by_stage(release)
    assert [steps[s].state for s in Stage] == ["done"] * 7
    assert (steps[Stage.SYNCED].reached, steps[Stage.SYNCED].targets) == (3, 3)
    assert steps[Stage.SYNCED].reached_at.isoformat() == at(40)  # when the last one got there
    assert release.state == Release.State.DEPLOYED


def test_an_image_no_application_tracks_is_not_in_flight_and_says_why():
    for event in journey("0.3.0")[:5]:  # released, built and pushed; no Argo CD at all
        ingest(event)
    release = queries.release(Release.objects.get().pk)
    steps = by_stage(release)
    assert steps[Stage.BUILT].state == "done"
    assert steps[Stage.DETECTED].state == "pending"
    assert steps[Stage.DETECTED].duration is None  # no ticking counter
    assert "No application tracks an image of cto" in steps[Stage.DETECTED].reason
    assert (steps[Stage.SYNCED].reached, steps[Stage.SYNCED].targets) == (0, 0)
    assert release not in queries.releases_in_flight()


def test_a_release_imported_from_history_stops_at_stage_4_once_a_newer_one_follows():
    for event in journey("0.2.54", start=-60)[:5]:  # from history: no application picked it up
        ingest(event)
    for event in three_environments():
        ingest(event)
    old = queries.release(Release.objects.get(version="0.2.54").pk)
    reason = by_stage(old)[Stage.DETECTED].reason
    assert "v0.2.56 followed before any application picked this release up" in reason
    assert old not in queries.releases_in_flight()


def test_an_imported_history_costs_the_overview_nothing_however_long(db):
    """Releases imported from history that no application picked up and a newer one followed
    are left out by the database: the same queries for 3 or 60 of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def history(first: int, count: int) -> None:
        for n in range(first, first + count):
            for event in journey(f"0.1.{n}", start=n)[:3]:  # commits, Release PR, release
                ingest(event)

    history(0, 3)
    with CaptureQueriesContext(connection) as few:
        shown = queries.releases_in_flight()
    history(3, 57)
    with CaptureQueriesContext(connection) as many:
        more = queries.releases_in_flight()
    assert len(many) == len(few)
    assert [r.version for r in more] == ["0.1.59"] and [r.version for r in shown] == ["0.1.2"]
