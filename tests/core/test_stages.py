from datetime import UTC, datetime, timedelta

from cdportal.core.stages import (
    Stage,
    StepState,
    format_duration,
    furthest_stage,
    release_steps,
    steps,
)

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def minutes(n):
    return T + timedelta(minutes=n)


def test_a_fresh_release_has_only_pending_steps():
    result = steps({}, now=T)
    assert [s.state for s in result] == [StepState.PENDING] * 7
    assert [s.stage for s in result] == list(Stage)


def test_done_steps_measure_from_the_previous_stage():
    result = steps({Stage.MERGED: minutes(0), Stage.RELEASE_PR: minutes(3)}, now=minutes(10))
    assert result[0].state == StepState.DONE and result[0].duration is None
    assert result[1].state == StepState.DONE and result[1].duration == timedelta(minutes=3)


def test_the_next_stage_is_current_and_counts_elapsed_time():
    result = steps({Stage.MERGED: minutes(0), Stage.RELEASE_PR: minutes(3)}, now=minutes(10))
    assert result[2].state == StepState.CURRENT
    assert result[2].duration == timedelta(minutes=7)
    assert result[2].since == minutes(3)
    assert all(s.state == StepState.PENDING for s in result[3:])


def test_a_failed_stage_says_why_and_nothing_is_current():
    times = {Stage.MERGED: minutes(0), Stage.RELEASE_PR: minutes(1), Stage.RELEASED: minutes(2)}
    result = steps(
        times, now=minutes(9), failed_stage=Stage.BUILT, failure_reason="binaries-release failed"
    )
    assert result[3].state == StepState.FAILED
    assert result[3].reason == "binaries-release failed"
    assert StepState.CURRENT not in [s.state for s in result]


def test_stages_reached_out_of_order_leave_the_skipped_ones_pending():
    # A tag pushed by hand: no commits or Release PR were observed.
    result = steps({Stage.RELEASED: minutes(0), Stage.BUILT: minutes(4)}, now=minutes(5))
    assert [s.state for s in result[:5]] == ["pending", "pending", "done", "done", "current"]
    assert result[3].duration == timedelta(minutes=4)


def test_furthest_stage():
    assert furthest_stage({}) is None
    assert furthest_stage({Stage.MERGED: T, Stage.BUILT: T}) == Stage.BUILT


def test_format_duration_fits_a_stepper():
    assert format_duration(None) == ""
    assert format_duration(timedelta(seconds=12)) == "12s"
    assert format_duration(timedelta(seconds=245)) == "4m 05s"
    assert format_duration(timedelta(hours=3, minutes=2)) == "3h 02m"
    assert format_duration(timedelta(days=2, hours=4)) == "2d 4h"


def test_a_stage_one_application_reached_and_another_failed_shows_the_failure():
    from datetime import UTC, datetime, timedelta

    from cdportal.core.stages import Stage, StepState, steps

    t0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    times = {stage: t0 + timedelta(minutes=int(stage)) for stage in Stage}  # every stage reached
    result = steps(
        times,
        now=t0 + timedelta(hours=1),
        failed_stage=Stage.SYNCED,
        failure_reason="controller-dev: Degraded: exceeded its progress deadline",
    )
    synced = result[-1]
    assert (synced.state, synced.reason) == (
        StepState.FAILED,
        "controller-dev: Degraded: exceeded its progress deadline",
    )
    assert synced.reached_at == times[Stage.SYNCED] and synced.duration == timedelta(minutes=1)
    assert [s.state for s in result[:-1]] == [StepState.DONE] * 6


OWN = {
    Stage.MERGED: minutes(0),
    Stage.RELEASE_PR: minutes(1),
    Stage.RELEASED: minutes(2),
    Stage.BUILT: minutes(3),
}
SYNCED_AT = {
    Stage.DETECTED: minutes(4),
    Stage.PARAMETER_UPDATED: minutes(5),
    Stage.SYNCED: minutes(6),
}


def test_a_rollout_stage_is_done_only_when_every_application_reached_it():
    lanes = [SYNCED_AT, {Stage.DETECTED: minutes(7)}, {}]
    result = release_steps(OWN, lanes, now=minutes(10))
    assert [s.state for s in result] == ["done"] * 4 + ["current", "pending", "pending"]
    assert [(s.reached, s.targets) for s in result[4:]] == [(2, 3), (1, 3), (1, 3)]
    assert result[4].since == minutes(3)
    assert all(s.targets is None for s in result[:4])


def test_the_last_application_to_arrive_dates_a_done_stage():
    later = {s: t + timedelta(minutes=10) for s, t in SYNCED_AT.items()}
    result = release_steps(OWN, [SYNCED_AT, later], now=minutes(30))
    assert [s.state for s in result] == ["done"] * 7
    assert result[6].reached_at == minutes(16) and (result[6].reached, result[6].targets) == (2, 2)


def test_a_later_stage_reached_counts_the_earlier_ones_for_that_application():
    # Observed with the new parameter before the updater's log line said it chose the tag.
    result = release_steps(OWN, [{Stage.PARAMETER_UPDATED: minutes(5)}], now=minutes(8))
    assert [s.state for s in result[4:]] == ["done", "done", "current"]


def test_no_application_is_never_done_and_a_stopped_release_does_not_tick():
    result = release_steps(OWN, [], now=minutes(99), stopped="No application tracks it")
    assert [s.state for s in result[4:]] == ["pending"] * 3
    assert result[4].reason == "No application tracks it" and result[4].duration is None
    assert (result[6].reached, result[6].targets) == (0, 0)
