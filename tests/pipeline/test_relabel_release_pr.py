"""Relabelling a merged Release PR `autorelease: tagged` (so Release Please opens the next one):
the verb, the API and the page, against the GitHub stand-in on 127.0.0.1 over real HTTP."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from github_stub import stand_in
from helpers import REPO, at

from cdportal.api.models import ApiToken
from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Release

pytestmark = pytest.mark.django_db

LABELS = f"/repos/{REPO}/issues/41/labels"
PENDING = f"{LABELS}/autorelease: pending"


@pytest.fixture
def github(settings):
    with stand_in() as stub:
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_TOKEN = "ghs_test"
        settings.GITHUB_PAUSE = False
        stub.serve(LABELS, [{"id": 2, "name": "autorelease: tagged", "color": "ededed"}])
        stub.serve(PENDING, [{"id": 2, "name": "autorelease: tagged", "color": "ededed"}])
        yield stub


def asked(stub) -> list[tuple[str, str, object]]:
    return [
        (r.method, r.path, r.get_json(silent=True))
        for r in stub.requests
        if r.path.startswith(f"/repos/{REPO}/issues/")
    ]


@pytest.fixture
def stuck(db):
    """v0.2.9 released; its Release PR #41 merged and still `autorelease: pending`."""
    for event in (
        {
            "kind": "release_pr",
            "source": "test",
            "source_id": "pr-41",
            "occurred_at": at(0),
            "repository": REPO,
            "number": 41,
            "title": "chore(main): release 0.2.9",
            "version": "0.2.9",
            "state": "merged",
            "labels": ["autorelease: pending"],
        },
        {
            "kind": "release",
            "source": "test",
            "source_id": "rel-0.2.9",
            "occurred_at": at(1),
            "repository": REPO,
            "version": "0.2.9",
            "tag": "v0.2.9",
        },
    ):
        ingest(event)
    return Release.objects.get(version="0.2.9")


def test_a_releaser_relabels_the_merged_release_pr(rita, stuck, github):
    action = release_actions.relabel_release_pr(release=stuck, by=rita, idempotency_key="k")
    assert asked(github) == [
        ("POST", LABELS, ["autorelease: tagged"]),
        ("DELETE", PENDING, None),
    ]
    assert (action.kind, action.status, action.by_name, action.target) == (
        "relabel_release_pr",
        "succeeded",
        "rita",
        f"{REPO}#41",
    )
    stuck.refresh_from_db()
    assert stuck.pr_labels == ["autorelease: tagged"]
    again = release_actions.relabel_release_pr(release=stuck, by=rita, idempotency_key="k")
    assert again.pk == action.pk and len(asked(github)) == 2


@pytest.mark.parametrize("person", ["bob", "alice"])
def test_viewers_and_operators_are_refused_and_nothing_is_sent(person, request, stuck, github):
    with pytest.raises(ActionRefused) as refused:
        release_actions.relabel_release_pr(release=stuck, by=request.getfixturevalue(person))
    assert refused.value.status == 403
    assert asked(github) == []
    action = Action.objects.get()
    assert (action.kind, action.status) == ("relabel_release_pr", "refused")


def test_a_release_pr_whose_release_has_no_tag_is_not_relabelled(rita, stuck, github):
    Release.objects.filter(pk=stuck.pk).update(tag="")
    stuck.refresh_from_db()
    with pytest.raises(ActionRefused, match="no tag yet") as refused:
        release_actions.relabel_release_pr(release=stuck, by=rita)
    assert refused.value.status == 409 and asked(github) == []


def test_github_refusing_is_a_failed_action(rita, stuck, github):
    github.fail_next(403, "Resource not accessible by integration")
    action = release_actions.relabel_release_pr(release=stuck, by=rita)
    assert action.status == "failed" and "403" in action.message


def post(release, user):
    token = ApiToken.issue(user=user, name="tests")[1]
    return Client(enforce_csrf_checks=True).post(
        f"/api/releases/{release.pk}/relabel-release-pr",
        data=json.dumps({"idempotency_key": "api-1"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_api_answers_202_with_the_action(rita, stuck, github):
    response = post(stuck, rita)
    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["status"]) == (
        "relabel_release_pr",
        "succeeded",
    )
    assert asked(github)[0] == ("POST", LABELS, ["autorelease: tagged"])


def test_the_api_answers_403_to_a_viewer(bob, stuck, github):
    assert post(stuck, bob).status_code == 403
    assert asked(github) == []


def test_the_page_reviews_then_relabels(rita, stuck, github):
    client = Client()
    client.force_login(rita)
    review = client.post(f"/releases/{stuck.pk}/relabel/review/")
    assert review.status_code == 200
    assert b"autorelease: tagged" in review.content and asked(github) == []
    key = review.context["key"]
    done = client.post(f"/releases/{stuck.pk}/relabel/", {"idempotency_key": key})
    assert done.status_code == 200
    assert b"now labelled" in done.content
    assert [a[0] for a in asked(github)] == ["POST", "DELETE"]


def test_the_page_refuses_a_viewer(bob, stuck, github):
    client = Client()
    client.force_login(bob)
    assert client.post(f"/releases/{stuck.pk}/relabel/review/").status_code == 403
    assert (
        client.post(f"/releases/{stuck.pk}/relabel/", {"idempotency_key": "x"}).status_code == 403
    )
    assert asked(github) == []
