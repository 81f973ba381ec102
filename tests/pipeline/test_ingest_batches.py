"""Bulk sources write in batches (`ingest_many`: one transaction, one lock, one publish per
batch) and leave exactly the rows the same events leave one by one: a simulated pipeline with
every kind of event cut into batches of every size, and a generated git history imported by
`sync` (batches of cdportal.adapters.git.source.BATCH) against the same history event by event.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from test_ingest_concurrency import derived_rows, forget_everything, simulated_pipeline

from cdportal.adapters.git import source as git_source
from cdportal.adapters.git.repository import CommitCache, GitRepository
from cdportal.adapters.git.source import GitSource, sync
from cdportal.core.conventional import Repo
from cdportal.core.events import InvalidEvent
from cdportal.pipeline.ingest import ingest, ingest_many
from cdportal.pipeline.models import PipelineEvent
from cdportal.pipeline.sinks import LocalSink

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from make_repo import build_repo  # noqa: E402

pytestmark = pytest.mark.django_db


def event_log() -> list[tuple]:
    """The event log without ids or wall-clock values (a release plan is dated when it is
    made), in the order it was recorded."""
    rows = PipelineEvent.objects.order_by("pk").values_list(
        "source",
        "source_id",
        "kind",
        "occurred_at",
        "summary",
        "payload",
        "repository__full_name",
        "release__version",
    )
    return [
        (*row[:3], None, row[4], {**row[5], "occurred_at": None}, *row[6:])
        if row[2] == "release_plan"
        else row
        for row in rows
    ]


def in_batches(events: list[dict], rng: random.Random) -> None:
    at = 0
    while at < len(events):
        size = rng.choice([1, 2, 7, 50, 400])
        ingest_many(events[at : at + size], broadcast=False)
        at += size


def test_batches_of_any_size_leave_what_one_by_one_leaves():
    events = simulated_pipeline(cycles=6)
    events = events + events[: len(events) // 3]  # some facts reported twice, as sources do
    for event in events:
        ingest(event, broadcast=False)
    one_by_one, log = derived_rows(), event_log()

    forget_everything()
    in_batches(events, random.Random(3))

    assert event_log() == log
    assert derived_rows() == one_by_one


def test_an_invalid_event_stops_a_batch_where_it_would_stop_one_by_one():
    events = simulated_pipeline(cycles=1)[:6]
    broken = {**events[3], "kind": "no such kind"}
    with pytest.raises(InvalidEvent):
        ingest_many([*events[:3], broken, *events[4:]], broadcast=False)
    assert list(PipelineEvent.objects.order_by("pk").values_list("source_id", flat=True)) == [
        e["source_id"] for e in events[:3]
    ]


class OneByOne:
    """LocalSink without batches: what sync-git did before."""

    def emit_many(self, events):
        return [ingest(dict(event)).created for event in events]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    return build_repo(tmp_path_factory.mktemp("history") / "repo", commits=1200, tag_every=100)


def source(path: Path) -> GitSource:
    git = GitRepository(path)
    return GitSource(
        git,
        repository="bench/big",
        github=Repo("bench", "big"),
        history_releases=3,
        cache=CommitCache(git),
    )


def test_a_history_imported_in_batches_equals_it_imported_event_by_event(history, monkeypatch):
    monkeypatch.setattr(git_source, "BATCH", 40)  # many batches from a small history
    first = sync(source(history), OneByOne())
    one_by_one, log = derived_rows(), event_log()
    assert first.recorded["commit"] > 5 * git_source.BATCH

    forget_everything()
    batched = sync(source(history), LocalSink())

    assert batched.recorded == first.recorded
    assert event_log() == log
    assert derived_rows() == one_by_one
    assert sync(source(history), LocalSink()).recorded == {}  # a rescan records nothing new
