"""Stage durations over many releases (pure)."""

from datetime import UTC, datetime, timedelta

from cdportal.core.durations import (
    STALL_FLOOR,
    STALL_WITHOUT_HISTORY,
    percentile,
    stage_durations,
    stalled,
    stats,
)
from cdportal.core.stages import Stage

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def release(*minutes) -> dict:
    return {stage: at(m) if m is not None else None for stage, m in zip(Stage, minutes)}


def rollout(release_times: dict, detected: float, parameter: float, synced: float) -> dict:
    return {
        **release_times,
        Stage.DETECTED: at(detected),
        Stage.PARAMETER_UPDATED: at(parameter),
        Stage.SYNCED: at(synced),
    }


def test_each_stage_is_measured_from_the_last_one_reached():
    times = release(0, None, 10, 11)  # no Release PR seen: the tag is measured from the merge
    assert stage_durations(times) == {
        Stage.RELEASED: timedelta(minutes=10),
        Stage.BUILT: timedelta(minutes=1),
    }


def test_a_stage_reached_before_its_predecessor_is_not_a_duration():
    times = release(0, 5, 3)  # tagged "before" the PR opened (clock skew, a hand tag)
    assert Stage.RELEASED not in stage_durations(times)


def test_release_stages_count_once_per_release_rollout_stages_per_application():
    r1 = release(0, 2, 10, 11)
    r2 = release(0, 4, 30, 31)
    rollouts = [
        ("r1/dev", rollout(r1, 17, 18, 20)),
        ("r1/prod", rollout(r1, 19, 20, 50)),
        ("r2/dev", rollout(r2, 35, 36, 40)),
    ]
    rows = {row.name: row for row in stats([("r1", r1), ("r2", r2)], rollouts)}
    assert rows["Release PR open"].count == 2 and rows["Release PR open"].median == timedelta(
        minutes=2
    )
    assert (
        rows["Released (tag)"].slowest == timedelta(minutes=26)
        and rows["Released (tag)"].slowest_key == "r2"
    )
    synced = rows["Synced and healthy"]
    assert (synced.count, synced.median, synced.slowest, synced.slowest_key) == (
        3,
        timedelta(minutes=4),
        timedelta(minutes=30),
        "r1/prod",
    )
    lead = rows["Lead time: commit merged → synced and healthy"]
    assert (lead.count, lead.median, lead.p90) == (3, timedelta(minutes=40), timedelta(minutes=50))


def test_a_stage_nobody_reached_has_no_figures():
    rows = stats([("r1", release(0))], [])
    assert all(row.count == 0 and row.median is None for row in rows)
    assert rows[-1].to_json()["median_seconds"] is None


def test_percentile_is_nearest_rank():
    ordered = [timedelta(seconds=s) for s in range(1, 11)]
    assert (percentile(ordered, 50), percentile(ordered, 90), percentile(ordered, 100)) == (
        timedelta(seconds=5),
        timedelta(seconds=9),
        timedelta(seconds=10),
    )
    assert percentile([timedelta(1)], 90) == timedelta(1)


# --- stalled: waiting far longer than usual at a stage machines complete -------------------------


def test_a_release_waiting_for_the_updater_three_times_longer_than_usual_is_stalled():
    built = release(0, 2, 10, 11)
    usual = {Stage.DETECTED: timedelta(minutes=5)}
    assert stalled(built, usual, at(11 + 15)) is None  # 15 min: within max(3 × 5, 10) minutes
    stall = stalled(built, usual, at(11 + 16))
    assert (stall.stage, stall.waited, stall.usual) == (
        Stage.DETECTED,
        timedelta(minutes=16),
        timedelta(minutes=5),
    )


def test_quick_stages_still_get_the_floor_and_unknown_ones_half_an_hour():
    built = release(0, 2, 10, 11)
    assert stalled(built, {Stage.DETECTED: timedelta(seconds=3)}, at(11) + STALL_FLOOR) is None
    assert stalled(built, {}, at(11) + STALL_WITHOUT_HISTORY) is None
    assert stalled(built, {}, at(11) + STALL_WITHOUT_HISTORY + timedelta(seconds=1)).usual is None


def test_waiting_for_people_is_never_stalled():
    assert stalled(release(0), {}, at(60 * 24 * 30)) is None  # commits waiting for a Release PR
    assert stalled(release(0, 2), {}, at(60 * 24 * 30)) is None  # a Release PR waiting to be merged
    done = {
        **release(0, 2, 10, 11),
        Stage.DETECTED: at(12),
        Stage.PARAMETER_UPDATED: at(13),
        Stage.SYNCED: at(14),
    }
    assert stalled(done, {}, at(10_000)) is None
