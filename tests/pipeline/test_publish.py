"""Ingest hands what it changed to the registered publisher once its transaction commits:
never before, never after a rollback, once per recorded event. pipeline knows the live layer
only as the publisher it registered."""

import pytest
from django.db import transaction
from helpers import journey

from cdportal.live import broadcast
from cdportal.pipeline import publish
from cdportal.pipeline.ingest import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch):
    seen = []
    recorder = publish.Publisher(
        publish=seen.append, flush=lambda timeout: True, isolation=lambda: ""
    )
    monkeypatch.setattr(publish, "_publisher", recorder)
    return seen


def test_the_live_layer_registers_its_broadcaster_when_django_is_ready():
    assert publish._publisher is broadcast.PUBLISHER


def test_an_event_is_published_once_its_transaction_commits(published):
    with transaction.atomic():
        result = ingest(journey()[0])
        assert published == []
    assert published == [result.changes] and result.changes.events == [result.event.pk]


def test_nothing_is_published_when_the_transaction_rolls_back(published):
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(journey()[0])
        raise RuntimeError("rolled back")
    assert published == []


def test_an_event_recorded_before_is_not_published_again(published):
    first = journey()[0]
    ingest(first)
    ingest(first)
    assert len(published) == 1
