"""How long each stage of the pipeline takes, over many releases: what managers read on the
history page. Plain Python: the samples are stage → time maps, as the stepper reads them.

A stage's duration is measured as the stepper measures it: from the last stage reached before
it (a stage reached out of order, or skipped, does not count). The release's own stages (commits
merged → Release PR → tag → image) are counted once per release; the rollout stages (seen by
the updater → parameter → synced and healthy) once per application the release reached. Lead
time is first commit merged → synced and healthy, per application.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cdportal.core.stages import ROLLOUT_STAGES, Stage

Times = Mapping[Stage, datetime | None]


@dataclass(frozen=True)
class Stat:
    """One row: a stage (or the lead time) over the samples that reached it in order."""

    name: str
    count: int
    median: timedelta | None
    p90: timedelta | None
    slowest: timedelta | None
    slowest_key: Hashable | None  # which sample (e.g. a release or rollout id) was slowest

    def to_json(self) -> dict:
        seconds = lambda d: round(d.total_seconds(), 3) if d is not None else None  # noqa: E731
        return {
            "name": self.name,
            "count": self.count,
            "median_seconds": seconds(self.median),
            "p90_seconds": seconds(self.p90),
            "slowest_seconds": seconds(self.slowest),
            "slowest": self.slowest_key,
        }


def stage_durations(times: Times) -> dict[Stage, timedelta]:
    """Each reached stage's duration from the last stage reached before it (in stage order)."""
    durations, previous = {}, None
    for stage in Stage:
        at = times.get(stage)
        if at is None:
            continue
        if previous is not None and at >= previous:
            durations[stage] = at - previous
        previous = at
    return durations


# The key of the lead time among a rollout's samples (stages are 1-7).
LEAD = 0
LEAD_LABEL = "Lead time: commit merged → synced and healthy"


def release_samples(times: Times) -> dict[Stage, timedelta]:
    """What one release contributes to the statistics: its own stages' durations (2-4)."""
    return {s: d for s, d in stage_durations(times).items() if s not in ROLLOUT_STAGES}


def rollout_samples(times: Times) -> dict[int, timedelta]:
    """What one rollout contributes (`times`: the release's merged with the rollout's): the
    rollout stages' durations (5-7) and, under LEAD, commit merged → synced and healthy."""
    found: dict[int, timedelta] = {
        s: d for s, d in stage_durations(times).items() if s in ROLLOUT_STAGES
    }
    start, end = times.get(Stage.MERGED), times.get(Stage.SYNCED)
    if start is not None and end is not None and end >= start:
        found[LEAD] = end - start
    return found


def stats(
    releases: Iterable[tuple[Hashable, Times]], rollouts: Iterable[tuple[Hashable, Times]]
) -> list[Stat]:
    """Per stage 2–7, then the lead time. `releases`: (key, the release's times); `rollouts`:
    (key, the release's times merged with one application's rollout times)."""
    samples: dict[int, list[tuple[timedelta, Hashable]]] = {
        stage: [] for stage in Stage if stage != Stage.MERGED
    }
    samples[LEAD] = []
    for key, times in releases:
        for stage, duration in release_samples(times).items():
            samples[stage].append((duration, key))
    for key, times in rollouts:
        for stage, duration in rollout_samples(times).items():
            samples[stage].append((duration, key))
    ordered = {stage: sorted(values, key=lambda v: v[0]) for stage, values in samples.items()}
    return [_stat(stat_label(stage), ordered[stage]) for stage in STAT_ORDER]


# The rows of the statistics, in the order they are shown.
STAT_ORDER = (*(stage for stage in Stage if stage != Stage.MERGED), LEAD)


def stat_label(stage: int) -> str:
    return LEAD_LABEL if stage == LEAD else Stage(stage).label


def percentile_rank(count: int, p: float) -> int:
    """The 1-based nearest rank of the p-th percentile among `count` sorted values."""
    return max(1, math.ceil(p / 100 * count))


def _stat(name: str, ordered: list[tuple[timedelta, Hashable]]) -> Stat:
    if not ordered:
        return Stat(name, 0, None, None, None, None)
    durations = [d for d, _ in ordered]
    slowest, key = ordered[-1]
    return Stat(
        name, len(ordered), percentile(durations, 50), percentile(durations, 90), slowest, key
    )


def percentile(ordered: list[timedelta], p: float) -> timedelta:
    """Nearest-rank percentile of a sorted, non-empty list (the median of two is the first)."""
    return ordered[percentile_rank(len(ordered), p) - 1]


# Stages machines complete (CI, the Image Updater, Argo CD): waiting long there means stuck.
# A Release PR waits for people, so stages 2-3 never count as stalled.
AUTOMATED_STAGES = (Stage.BUILT, Stage.DETECTED, Stage.PARAMETER_UPDATED, Stage.SYNCED)
STALL_FACTOR = 3
STALL_FLOOR = timedelta(minutes=10)
STALL_WITHOUT_HISTORY = timedelta(minutes=30)


@dataclass(frozen=True)
class Stall:
    stage: Stage  # the stage not reached yet
    waited: timedelta  # since the last stage reached
    usual: timedelta | None  # the 90th percentile of that stage, when there is history


def stalled(
    times: Times,
    usual: Mapping[Stage, timedelta],
    now: datetime,
    stages: tuple[Stage, ...] = AUTOMATED_STAGES,
) -> Stall | None:
    """The automated stage a release (or rollout) has waited for far longer than usual: more than
    STALL_FACTOR × its 90th percentile and at least STALL_FLOOR, or STALL_WITHOUT_HISTORY when
    nothing has been measured yet. None when it is not waiting at one of `stages`."""
    reached = [stage for stage in Stage if times.get(stage)]
    if not reached:
        return None
    last = max(reached)
    waiting = next((stage for stage in Stage if stage > last), None)
    if waiting is None or waiting not in stages:
        return None
    waited = now - times[last]
    typical = usual.get(waiting)
    limit = (
        max(STALL_FACTOR * typical, STALL_FLOOR) if typical is not None else STALL_WITHOUT_HISTORY
    )
    return Stall(waiting, waited, typical) if waited > limit else None


def usual_durations(rows: Iterable[Stat]) -> dict[Stage, timedelta]:
    """Stage → 90th percentile, from stats() rows."""
    by_label = {stage.label: stage for stage in Stage}
    return {
        by_label[row.name]: row.p90 for row in rows if row.name in by_label and row.p90 is not None
    }


__all__ = [
    "AUTOMATED_STAGES",
    "LEAD",
    "STAT_ORDER",
    "Stall",
    "Stat",
    "percentile",
    "percentile_rank",
    "release_samples",
    "rollout_samples",
    "stat_label",
    "stage_durations",
    "stalled",
    "stats",
    "usual_durations",
]
