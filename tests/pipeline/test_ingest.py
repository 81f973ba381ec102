import threading

import pytest
from django.db import connection
from helpers import IMAGE, POLICY, REPO, at, journey

from cdportal.core.events import InvalidEvent
from cdportal.core.stages import Stage
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import (
    Application,
    BuildRun,
    Commit,
    DeployedTag,
    ImageTag,
    PipelineEvent,
    Release,
    Repository,
    Rollout,
)

pytestmark = pytest.mark.django_db


def ingest_all(events):
    return [ingest(e) for e in events]


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Repository,
            Commit,
            Release,
            BuildRun,
            ImageTag,
            Application,
            Rollout,
            PipelineEvent,
        )
    }


def test_a_release_travels_through_all_seven_stages():
    ingest_all(journey("0.3.0"))
    release = Release.objects.get()
    assert release.state == Release.State.DEPLOYED
    assert (release.version, release.tag) == ("0.3.0", "v0.3.0")
    times = Rollout.objects.get().stage_times()
    assert [s for s in Stage if times[s]] == list(Stage)
    assert (
        times[Stage.SYNCED]
        > times[Stage.PARAMETER_UPDATED]
        > times[Stage.DETECTED]
        > times[Stage.BUILT]
    )


def test_the_same_event_twice_is_stored_once_and_changes_nothing():
    events = journey("0.3.0")
    ingest_all(events)
    before = counts()
    release = Release.objects.get()
    again = ingest(events[3])
    assert again.created is False
    assert not again.changes
    assert counts() == before
    assert Release.objects.get().updated_at == release.updated_at


def test_each_event_is_linked_to_its_release_and_application():
    ingest_all(journey("0.3.0"))
    release = Release.objects.get()
    linked = PipelineEvent.objects.filter(release=release).values_list("kind", flat=True)
    assert set(linked) == {
        "commit",
        "release_pr",
        "release",
        "build",
        "image_push",
        "updater",
        "application",
    }
    app = Application.objects.get(name="cto-controller")
    assert PipelineEvent.objects.filter(application=app).count() == 3


def test_a_malformed_event_is_rejected_and_leaves_no_trace():
    before = counts()
    with pytest.raises(InvalidEvent, match="sha"):
        ingest({**journey()[0], "sha": "not-a-sha"})
    assert counts() == before


def test_a_failure_inside_the_transaction_rolls_everything_back(monkeypatch):
    from cdportal.pipeline import ingest as module

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # The commit handler creates a repository, a component and a release before failing here.
    monkeypatch.setattr(module, "_touch", explode)
    before = counts()
    with pytest.raises(RuntimeError):
        ingest(journey()[0])
    assert counts() == before


def test_the_application_model_follows_its_snapshots():
    ingest_all(journey("0.3.0"))
    app = Application.objects.get()
    assert (app.sync_status, app.health_status, app.current_tag) == ("Synced", "Healthy", "v0.3.0")
    assert app.image_policy == POLICY
    assert list(app.images.values_list("name", flat=True)) == [IMAGE]
    assert list(DeployedTag.objects.values_list("tag", flat=True)) == ["v0.3.0"]


def test_a_failed_build_marks_the_release_failed_with_the_reason():
    events = journey("0.3.0")[:4]
    events[3] = {**events[3], "conclusion": "failure"}
    ingest_all(events)
    release = Release.objects.get()
    assert release.state == Release.State.FAILED
    assert release.failed_stage == Stage.BUILT
    assert "binaries-release run #5000 failure" in release.failure_reason


def test_a_successful_rerun_clears_the_build_failure():
    events = journey("0.3.0")[:5]
    failed = {**events[3], "conclusion": "failure", "source_id": "b-failed", "run_id": 77}
    ingest_all(events[:3] + [failed, events[3], events[4]])
    release = Release.objects.get()
    assert release.failed_stage is None
    assert release.built_at is not None


def test_a_late_in_progress_does_not_reopen_a_completed_run():
    events = journey("0.3.0")[:4]
    ingest_all(events)
    ingest({**events[3], "source_id": "late", "status": "in_progress", "conclusion": None})
    assert BuildRun.objects.get().status == "completed"


def test_a_degraded_application_fails_the_rollout_and_recovers():
    events = journey("0.3.0")
    degraded = {
        **events[7],
        "source_id": "degraded",
        "health_status": "Degraded",
        "health_message": "Deployment exceeded its progress deadline",
    }
    ingest_all(events[:7] + [degraded])
    rollout = Rollout.objects.get()
    assert rollout.failed_stage == Stage.SYNCED
    assert "progress deadline" in rollout.failure_reason
    assert Release.objects.get().state == Release.State.FAILED
    ingest(events[7])
    rollout.refresh_from_db()
    assert rollout.failed_stage is None and rollout.synced_at is not None
    assert Release.objects.get().state == Release.State.DEPLOYED


def test_a_failed_sync_operation_is_reported():
    events = journey("0.3.0")
    failed = {
        **events[7],
        "source_id": "sync-failed",
        "sync_status": "OutOfSync",
        "operation_phase": "Failed",
        "operation_message": "one or more objects failed to apply",
        "images": [],
    }
    ingest_all(events[:7] + [failed])
    assert (
        Rollout.objects.get().failure_reason == "Sync failed: one or more objects failed to apply"
    )


def test_commits_before_the_release_pr_join_the_next_release():
    first = journey("0.3.0")
    ingest_all(first)
    second = journey("0.4.0", start=60)
    ingest(second[0])
    pending = Release.objects.exclude(pk=Release.objects.get(version="0.3.0").pk).get()
    assert pending.state == Release.State.PENDING and pending.version == ""
    ingest(second[1])
    pending.refresh_from_db()
    assert (pending.version, pending.state) == ("0.4.0", Release.State.PR_OPEN)
    assert pending.commits.count() == 1


def test_the_release_pr_follows_a_changing_proposal():
    events = journey("0.2.51")
    ingest_all(events[:2])
    ingest(
        {**events[1], "source_id": "pr-update", "version": "0.3.0", "title": "chore: release 0.3.0"}
    )
    release = Release.objects.get()
    assert (release.version, release.pr_title) == ("0.3.0", "chore: release 0.3.0")


def test_an_image_pushed_before_the_release_event_still_counts():
    events = journey("0.3.0")
    ingest_all([events[4], events[0], events[1], events[2]])
    release = Release.objects.get()
    assert release.built_at is not None


def test_a_deployed_release_supersedes_older_ones_that_never_landed():
    old = journey("0.3.0")[:4]
    old[3] = {**old[3], "conclusion": "failure"}
    ingest_all(old)
    ingest_all(journey("0.3.1", start=60))
    assert Release.objects.get(version="0.3.0").state == Release.State.SUPERSEDED
    assert Release.objects.get(version="0.3.1").state == Release.State.DEPLOYED


def test_unknown_image_tags_are_recorded_without_a_release():
    result = ingest(
        dict(
            kind="image_push",
            source="test",
            source_id="x",
            occurred_at=at(0),
            image=IMAGE,
            tag="latest",
            digest="sha256:" + "cd" * 32,
        )
    )
    assert result.event.release is None
    assert ImageTag.objects.get().tag == "latest"


def test_changes_are_broadcast_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(journey()[0])
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(journey()[0])  # duplicate: nothing to broadcast
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_two_writers_racing_on_one_observation_record_it_once():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("in-memory SQLite is one connection; the PostgreSQL pass runs this race")
    event = journey()[0]
    results, errors = [], []
    barrier = threading.Barrier(4)

    def writer():
        try:
            barrier.wait()
            results.append(ingest(event, broadcast=False).created)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert PipelineEvent.objects.count() == 1
    assert Commit.objects.filter(repository__full_name=REPO).count() == 1


def test_a_release_is_deployed_only_when_every_tracking_application_has_it():
    ingest_all(journey("0.3.0", app="cto-controller-dev"))
    # Both applications now track the image; only dev has 0.3.1 so far.
    staging = journey("0.3.0", app="cto-controller-staging")
    ingest_all(staging[5:])
    ingest_all(journey("0.3.1", app="cto-controller-dev", start=60))
    release = Release.objects.get(version="0.3.1")
    assert release.state == Release.State.RELEASED
    ingest_all(journey("0.3.1", app="cto-controller-staging", start=60)[5:])
    release.refresh_from_db()
    assert release.state == Release.State.DEPLOYED
