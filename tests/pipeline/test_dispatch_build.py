"""Dispatching the build for a release already tagged (when the dispatch after the tag failed):
the verb, the API and the command, against the GitHub stand-in on 127.0.0.1 over real HTTP."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from github_stub import serve_repository
from helpers import REPO, at

from cdportal.api.models import ApiToken
from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Release

pytestmark = pytest.mark.django_db

DISPATCHES = f"/repos/{REPO}/actions/workflows/binaries-release.yaml/dispatches"


@pytest.fixture
def github(httpserver, settings):
    serve_repository(httpserver, settings, REPO)
    httpserver.expect_request(DISPATCHES, method="POST").respond_with_data("", status=204)
    return httpserver


def dispatches(server) -> list[dict | None]:
    return [r.get_json(silent=True) for r, _ in server.log if r.path == DISPATCHES]


@pytest.fixture
def tagged(db):
    ingest(
        {
            "kind": "release",
            "source": "test",
            "source_id": "rel-0.3.0",
            "occurred_at": at(0),
            "repository": REPO,
            "version": "0.3.0",
            "tag": "v0.3.0",
            "sha": "a" * 40,
        }
    )
    return Release.objects.get(version="0.3.0")


@pytest.fixture
def untagged(tagged):
    Release.objects.filter(pk=tagged.pk).update(tag="")
    return Release.objects.get(pk=tagged.pk)


def test_a_releaser_dispatches_the_build_for_the_existing_tag(rita, tagged, github):
    action = release_actions.dispatch_build(release=tagged, by=rita, idempotency_key="k")
    assert dispatches(github) == [{"ref": "main", "inputs": {"version": "0.3.0"}}]
    assert (action.kind, action.status, action.by_name) == (
        "dispatch_workflow",
        "succeeded",
        "rita",
    )
    assert action.parameters["release"] == tagged.pk
    again = release_actions.dispatch_build(release=tagged, by=rita, idempotency_key="k")
    assert again.pk == action.pk and len(dispatches(github)) == 1


@pytest.mark.parametrize("person", ["bob", "alice"])
def test_others_are_refused_and_nothing_is_sent(person, request, tagged, github):
    with pytest.raises(ActionRefused) as refused:
        release_actions.dispatch_build(release=tagged, by=request.getfixturevalue(person))
    assert refused.value.status == 403
    assert dispatches(github) == []
    assert list(Action.objects.values_list("status", flat=True)) == ["refused"]


def test_a_release_without_a_tag_is_refused(rita, untagged, github):
    with pytest.raises(ActionRefused, match="no tag yet") as refused:
        release_actions.dispatch_build(release=untagged, by=rita)
    assert refused.value.status == 409
    assert dispatches(github) == []
    assert list(Action.objects.values_list("status", flat=True)) == ["refused"]


# --- the API --------------------------------------------------------------------------------


def post(release, user, body=None):
    token = ApiToken.issue(user=user, name="tests")[1]
    return Client(enforce_csrf_checks=True).post(
        f"/api/releases/{release.pk}/dispatch-build",
        data=json.dumps(body or {}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_api_answers_202_with_the_action(rita, tagged, github):
    response = post(tagged, rita, {"idempotency_key": "ci-1"})
    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["status"], body["parameters"]["inputs"]) == (
        "dispatch_workflow",
        "succeeded",
        {"version": "0.3.0"},
    )
    assert dispatches(github) == [{"ref": "main", "inputs": {"version": "0.3.0"}}]


def test_the_api_answers_403_to_a_viewer_and_logs_it(bob, tagged, github):
    response = post(tagged, bob)
    assert response.status_code == 403
    assert dispatches(github) == []
    assert Action.objects.get().status == "refused"


def test_the_api_answers_409_without_a_tag(rita, untagged, github):
    response = post(untagged, rita)
    assert response.status_code == 409
    assert "no tag yet" in response.json()["detail"]
    assert dispatches(github) == []


# --- the command ----------------------------------------------------------------------------


def test_the_command_dispatches_after_confirmation(rita, tagged, github, monkeypatch, capsys):
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    call_command("dispatch-build", "--repository", REPO, "--version", "0.3.0", "--user", "rita")
    assert asked == [
        f"Run binaries-release.yaml with version=0.3.0 for tag v0.3.0 in {REPO}? [y/N] "
    ]
    assert "Dispatch workflow: succeeded" in capsys.readouterr().out
    assert dispatches(github) == [{"ref": "main", "inputs": {"version": "0.3.0"}}]


def test_the_command_refuses_a_viewer_and_an_untagged_release(rita, bob, untagged, github):
    args = ["dispatch-build", "--repository", REPO, "--version", "0.3.0", "--yes"]
    with pytest.raises(CommandError, match="releaser role") as refused:
        call_command(*args, "--user", "bob")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="no tag yet") as refused:
        call_command(*args, "--user", "rita")
    assert refused.value.returncode == 2
    assert dispatches(github) == []


# --- the release page -----------------------------------------------------------------------


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)  # CSRF enforced, as for a real browser
    client.force_login(user)
    return client


def test_the_release_page_dispatches_after_confirmation(rita, tagged, github):
    client = browser(rita)
    page = client.get(f"/releases/{tagged.pk}/").content.decode()
    assert "Dispatch the build…" in page
    token = client.cookies["csrftoken"].value
    html = client.post(
        f"/releases/{tagged.pk}/dispatch-build/review/", {"csrfmiddlewaretoken": token}
    ).content.decode()
    assert "run binaries-release.yaml with version=0.3.0" in html
    assert Action.objects.count() == 0
    key = re.search(r'name="idempotency_key" value="(\w+)"', html)[1]
    for _ in range(2):  # a double click is one dispatch
        done = client.post(
            f"/releases/{tagged.pk}/dispatch-build/",
            {"idempotency_key": key, "csrfmiddlewaretoken": token},
        ).content.decode()
    assert "GitHub accepted running binaries-release.yaml on main with version=0.3.0" in done
    assert dispatches(github) == [{"ref": "main", "inputs": {"version": "0.3.0"}}]
    missing = client.post(f"/releases/{tagged.pk}/dispatch-build/", {"idempotency_key": "x"})
    assert missing.status_code == 403  # no CSRF token


def test_the_release_page_shows_no_button_to_a_viewer_and_refuses_the_post(bob, tagged, github):
    client = browser(bob)
    assert "Dispatch the build" not in client.get(f"/releases/{tagged.pk}/").content.decode()
    viewer = Client()  # no CSRF check: the refusal is the role's
    viewer.force_login(bob)
    response = viewer.post(f"/releases/{tagged.pk}/dispatch-build/", {"idempotency_key": "k"})
    assert response.status_code == 403
    assert dispatches(github) == []


def test_the_release_page_refuses_a_release_without_a_tag(rita, untagged, github):
    client = browser(rita)
    assert "Dispatch the build" not in client.get(f"/releases/{untagged.pk}/").content.decode()
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/releases/{untagged.pk}/dispatch-build/",
        {"idempotency_key": "k", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 409
    assert "no tag yet" in response.content.decode()
    assert dispatches(github) == []
