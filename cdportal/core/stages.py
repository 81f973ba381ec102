"""The seven stages a release travels through (the seed's diagram), and the stepper built from them.

Plain Python: the pipeline models store a timestamp per stage; this module turns those
timestamps into what a person reads — which stage is done, which one is running and for how
long, which one failed and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntEnum


class Stage(IntEnum):
    MERGED = 1
    RELEASE_PR = 2
    RELEASED = 3
    BUILT = 4
    DETECTED = 5
    PARAMETER_UPDATED = 6
    SYNCED = 7

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def field(self) -> str:
        """Name of the model field holding the time this stage was reached."""
        return FIELDS[self]


LABELS = {
    Stage.MERGED: "Commits merged",
    Stage.RELEASE_PR: "Release PR open",
    Stage.RELEASED: "Released (tag)",
    Stage.BUILT: "Image built and pushed",
    Stage.DETECTED: "Seen by the updater",
    Stage.PARAMETER_UPDATED: "Parameter updated",
    Stage.SYNCED: "Synced and healthy",
}

FIELDS = {
    Stage.MERGED: "merged_at",
    Stage.RELEASE_PR: "pr_opened_at",
    Stage.RELEASED: "released_at",
    Stage.BUILT: "built_at",
    Stage.DETECTED: "detected_at",
    Stage.PARAMETER_UPDATED: "parameter_updated_at",
    Stage.SYNCED: "synced_at",
}

# Stages a release owns; the rest belong to each application the release reaches.
RELEASE_STAGES = (Stage.MERGED, Stage.RELEASE_PR, Stage.RELEASED, Stage.BUILT)
ROLLOUT_STAGES = (Stage.DETECTED, Stage.PARAMETER_UPDATED, Stage.SYNCED)


class StepState:
    DONE = "done"
    CURRENT = "current"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class Step:
    stage: Stage
    state: str
    reached_at: datetime | None
    # For a done stage: how long it took from the previous stage. For the current stage: when
    # the wait began (the page ticks the elapsed time from it), and the elapsed time at render.
    duration: timedelta | None
    since: datetime | None = None
    reason: str = ""
    # Rollout stages of a release: how many of the applications it is headed for reached it.
    reached: int | None = None
    targets: int | None = None

    @property
    def label(self) -> str:
        return self.stage.label


def steps(
    times: Mapping[Stage, datetime | None],
    *,
    now: datetime,
    failed_stage: Stage | None = None,
    failure_reason: str = "",
) -> list[Step]:
    """The stepper for one release or rollout.

    A stage counts as done when it has a time — unless the failure is recorded there (a release
    one application synced and another could not): then it is the failed one. The first stage
    without a time is the current stage (or the failed one); the rest are pending. A
    stage can be reached out of order (an image pushed by hand before any Release PR): the
    skipped stages stay pending and durations are measured from the last reached stage.
    """
    result: list[Step] = []
    previous: datetime | None = None
    reached = [s for s in Stage if times.get(s)]
    furthest = max(reached, default=None)
    current_assigned = False
    for stage in Stage:
        at = times.get(stage)
        if at is not None:
            duration = at - previous if previous is not None and at >= previous else None
            if failed_stage is not None and stage == failed_stage:
                # Reached by some (another application synced) and failed for another: the
                # failure is what needs reading.
                result.append(
                    Step(
                        stage, StepState.FAILED, at, duration, since=previous, reason=failure_reason
                    )
                )
                current_assigned = True
            else:
                result.append(Step(stage, StepState.DONE, at, duration))
            previous = at
            continue
        is_next = not current_assigned and (furthest is None or stage > furthest)
        if failed_stage is not None and stage == failed_stage:
            result.append(
                Step(stage, StepState.FAILED, None, None, since=previous, reason=failure_reason)
            )
            current_assigned = True
        elif is_next and failed_stage is None and previous is not None:
            elapsed = now - previous if now >= previous else timedelta(0)
            result.append(Step(stage, StepState.CURRENT, None, elapsed, since=previous))
            current_assigned = True
        else:
            result.append(Step(stage, StepState.PENDING, None, None))
    return result


def release_steps(
    own: Mapping[Stage, datetime | None],
    lanes: Sequence[Mapping[Stage, datetime | None]],
    *,
    now: datetime,
    failed_stage: Stage | None = None,
    failure_reason: str = "",
    stopped: str = "",
) -> list[Step]:
    """The stepper for a release: its own stages 1-4, then 5-7 over every application it is
    headed for (`lanes`: each one's rollout times, empty for one not reached yet).

    A rollout stage is done only when every lane reached it — at the time the last one did —
    and carries how many did (`reached` of `targets`). `stopped`: why the release goes no
    further than its own stages (no application tracks its image, a newer one took over): the
    stage that would be current is then pending with that reason, not a ticking counter.
    """
    times: dict[Stage, datetime | None] = dict(own)
    counts: dict[Stage, int] = {}
    for stage in ROLLOUT_STAGES:
        got = [t for t in (_lane_time(lane, stage) for lane in lanes) if t is not None]
        counts[stage] = len(got)
        times[stage] = max(got) if lanes and len(got) == len(lanes) else None
    result = []
    for step in steps(times, now=now, failed_stage=failed_stage, failure_reason=failure_reason):
        if step.stage in ROLLOUT_STAGES:
            step = replace(step, reached=counts[step.stage], targets=len(lanes))
        if stopped and step.state == StepState.CURRENT:
            step = replace(step, state=StepState.PENDING, duration=None, reason=stopped)
        result.append(step)
    if stopped and not any(step.reason == stopped for step in result):
        first = result[Stage.DETECTED - 1]
        if first.state == StepState.PENDING:
            result[Stage.DETECTED - 1] = replace(first, reason=stopped)
    return result


def _lane_time(lane: Mapping[Stage, datetime | None], stage: Stage) -> datetime | None:
    """When one application reached `stage`: a later stage reached implies the earlier ones
    (an Application observed with the new parameter before the updater's log line)."""
    if lane.get(stage):
        return lane[stage]
    later = [lane[s] for s in ROLLOUT_STAGES if s > stage and lane.get(s)]
    return min(later, default=None)


def furthest_stage(times: Mapping[Stage, datetime | None]) -> Stage | None:
    return max((s for s in Stage if times.get(s)), default=None)


def format_duration(delta: timedelta | None) -> str:
    """12s, 4m 05s, 3h 02m, 2d 4h — what a stepper has room for."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
