"""The demo's own page (/demo/): what the demo breaks now, and the operators' control that
breaks another stage or heals it (a review, then a confirmation), writing the break file the
simulator reads before its next release."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cdportal.demo import breaks

pytestmark = pytest.mark.django_db


@pytest.fixture
def switch(settings, tmp_path):
    settings.DEMO_BREAK_FILE = str(tmp_path / breaks.FILE_NAME)
    return breaks.Switch(settings.DEMO_BREAK_FILE)


def as_(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_is_not_there_outside_the_demo(alice, settings):
    settings.DEMO_BREAK_FILE = ""
    assert as_(alice).get("/demo/").status_code == 404
    assert as_(alice).post("/demo/break/", {"code": "degraded"}).status_code == 404


def test_it_shows_the_break_in_force(bob, switch):
    switch.set("no_build")
    page = as_(bob).get("/demo/").content.decode()
    assert "<code>no_build</code>" in page
    assert "Operators can break a stage here." in page


def test_an_operator_reviews_then_breaks_a_stage(alice, switch):
    review = as_(alice).post("/demo/break/", {"code": "sync_failed"})
    assert review.status_code == 200
    assert 'name="confirm" value="yes"' in review.content.decode()
    assert switch.current() == ""  # nothing happens before the confirmation
    done = as_(alice).post("/demo/break/", {"code": "sync_failed", "confirm": "yes"})
    assert "From the next release on: <code>sync_failed</code>" in done.content.decode()
    assert switch.current() == "sync_failed"


def test_an_operator_heals_the_demo(alice, switch):
    switch.set("degraded")
    as_(alice).post("/demo/break/", {"code": "", "confirm": "yes"})
    assert switch.current() == ""


def test_it_refuses_a_stage_the_demo_cannot_break(alice, switch):
    answer = as_(alice).post("/demo/break/", {"code": "sync_window", "confirm": "yes"})
    assert answer.status_code == 400
    assert "the demo cannot break &#x27;sync_window&#x27;" in answer.content.decode()
    assert switch.current() == ""


def test_it_forbids_viewers(bob, switch):
    answer = as_(bob).post("/demo/break/", {"code": "degraded", "confirm": "yes"})
    assert answer.status_code == 403
    assert switch.current() == ""


def test_the_demo_command_refuses_a_code_it_cannot_break():
    with pytest.raises(CommandError, match="invalid choice: 'sync_window'"):
        call_command("demo", "--break", "sync_window")
