"""POST /api/repositories/{owner}/{name}/tags and …/release-please/dispatch: the same verbs as the
manual release page, against a GitHub API stand-in on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from github_stub import EXAMPLE_HEAD, EXAMPLE_TAG_OBJECT, serve_repository
from helpers import REPO, at

from cdportal.api.models import ApiToken
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, PipelineEvent

pytestmark = pytest.mark.django_db

HEAD = EXAMPLE_HEAD  # the head of main in GitHub's branch example
TAG_OBJECT = EXAMPLE_TAG_OBJECT
TAGS = f"/api/repositories/{REPO}/tags"
RELEASE_PLEASE = f"/api/repositories/{REPO}/release-please/dispatch"


@pytest.fixture
def github(httpserver, settings):
    """GitHub for one repository: its documented examples for the reads, hand-written bodies shaped
    like the documented ones for the writes."""
    serve_repository(httpserver, settings, REPO)
    repo = f"/repos/{REPO}"
    httpserver.expect_request(f"{repo}/git/tags", method="POST").respond_with_json(
        {
            "tag": "v0.3.0",
            "sha": TAG_OBJECT,
            "url": httpserver.url_for(f"{repo}/git/tags/{TAG_OBJECT}"),
            "message": "Release v0.3.0",
            "object": {"type": "commit", "sha": HEAD},
        },
        status=201,
    )
    return httpserver


def the_ref(server, status=201, body=None):
    server.expect_request(f"/repos/{REPO}/git/refs", method="POST").respond_with_json(
        body or {"ref": "refs/tags/v0.3.0", "object": {"type": "tag", "sha": TAG_OBJECT}},
        status=status,
    )


def the_dispatch(server, workflow, status=204, body=None):
    handler = server.expect_request(
        f"/repos/{REPO}/actions/workflows/{workflow}/dispatches", method="POST"
    )
    if body is None:
        handler.respond_with_data("", status=status)
    else:
        handler.respond_with_json(body, status=status)


def sent(server) -> list[tuple[str, str, dict | None]]:
    return [(r.method, r.path, r.get_json(silent=True)) for r, _ in server.log]


@pytest.fixture
def cto(db):
    ingest(
        {
            "kind": "release",
            "source": "test",
            "source_id": "rel-0.2.9",
            "occurred_at": at(0),
            "repository": REPO,
            "version": "0.2.9",
            "tag": "v0.2.9",
            "sha": "a" * 40,
        }
    )


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def token_of(user) -> str:
    return ApiToken.issue(user=user, name="tests")[1]


def post(client, path, body, token):
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_releaser_tags_and_runs_the_build(client, rita, cto, github):
    the_ref(github)
    the_dispatch(github, "binaries-release.yaml")
    response = post(
        client,
        TAGS,
        {"version": "0.3.0", "dispatch_build": True, "idempotency_key": "ci-1"},
        token_of(rita),
    )
    assert response.status_code == 202
    tag, build = response.json()
    assert (tag["kind"], tag["status"], tag["by"], tag["message"]) == (
        "create_tag",
        "succeeded",
        "rita",
        f"created annotated tag v0.3.0 on 7fd1a60 in {REPO}",
    )
    assert (build["kind"], build["status"], build["parameters"]["inputs"]) == (
        "dispatch_workflow",
        "succeeded",
        {"version": "0.3.0"},
    )
    assert [s for s in sent(github) if s[0] == "POST"] == [
        (
            "POST",
            f"/repos/{REPO}/git/tags",
            {"tag": "v0.3.0", "message": "Release v0.3.0", "object": HEAD, "type": "commit"},
        ),
        ("POST", f"/repos/{REPO}/git/refs", {"ref": "refs/tags/v0.3.0", "sha": TAG_OBJECT}),
        (
            "POST",
            f"/repos/{REPO}/actions/workflows/binaries-release.yaml/dispatches",
            {"ref": "main", "inputs": {"version": "0.3.0"}},
        ),
    ]
    assert PipelineEvent.objects.get(source="github").source_id == f"{REPO}/tag/v0.3.0"


def test_the_same_idempotency_key_twice_is_one_tag(client, rita, cto, github):
    the_ref(github)
    token = token_of(rita)
    first = post(client, TAGS, {"version": "0.3.0", "sha": HEAD, "idempotency_key": "ci-2"}, token)
    again = post(client, TAGS, {"version": "0.3.0", "sha": HEAD, "idempotency_key": "ci-2"}, token)
    assert first.json() == again.json()
    assert len(github.log) == 2 and Action.objects.count() == 1


@pytest.mark.parametrize("person", ["bob", "alice"])
def test_viewers_and_operators_get_403(client, request, person, cto, github):
    token = token_of(request.getfixturevalue(person))
    for path in (TAGS, RELEASE_PLEASE):
        response = post(client, path, {"version": "0.3.0"}, token)
        assert response.status_code == 403
        assert "pipeline.create_tag" in response.json()["detail"]
    assert github.log == []
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done


def test_anonymous_callers_get_401(client, cto, github):
    assert client.post(TAGS, data="{}", content_type="application/json").status_code == 401


def test_session_callers_need_the_csrf_token(rita, cto, github):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rita)
    response = client.post(
        TAGS, data=json.dumps({"version": "0.3.0"}), content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert Action.objects.count() == 0


def test_a_version_not_greater_is_400_unless_confirmed(client, rita, cto, github):
    the_ref(github)
    token = token_of(rita)
    refused = post(client, TAGS, {"version": "0.2.9", "sha": HEAD}, token)
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": f"0.2.9 is not greater than the latest release of {REPO} (0.2.9); "
        "confirm explicitly to tag it anyway"
    }
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done
    confirmed = post(
        client, TAGS, {"version": "0.2.9", "sha": HEAD, "allow_not_greater": True}, token
    )
    assert confirmed.status_code == 202 and confirmed.json()[0]["status"] == "succeeded"


def test_a_bad_version_is_400(client, rita, cto, github):
    response = post(client, TAGS, {"version": "v0.3.0"}, token_of(rita))
    assert response.status_code == 400
    assert "without the leading v" in response.json()["detail"]


def test_an_unknown_repository_is_404(client, rita, cto, github):
    assert (
        post(
            client, "/api/repositories/5dlabs/nope/tags", {"version": "0.3.0"}, token_of(rita)
        ).status_code
        == 404
    )


def test_an_existing_tag_is_a_failed_action_not_a_500(client, rita, cto, github):
    the_ref(
        github,
        422,
        {
            "message": "Reference already exists",
            "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference",
        },
    )
    response = post(
        client, TAGS, {"version": "0.3.0", "sha": HEAD, "dispatch_build": True}, token_of(rita)
    )
    assert response.status_code == 202
    [tag] = response.json()
    assert tag["status"] == "failed"
    assert tag["message"].startswith(f"tag v0.3.0 already exists in {REPO}")


def test_release_please_is_dispatched(client, rita, cto, github):
    the_dispatch(github, "release-please.yaml")
    response = post(client, RELEASE_PLEASE, {"idempotency_key": "rp"}, token_of(rita))
    assert response.status_code == 202
    [action] = response.json()
    assert (action["status"], action["target"]) == ("succeeded", f"{REPO}:release-please.yaml")
    assert sent(github)[-1] == (
        "POST",
        f"/repos/{REPO}/actions/workflows/release-please.yaml/dispatches",
        {"ref": "main", "inputs": {}},
    )


def test_release_please_without_a_workflow_dispatch_trigger(client, rita, cto, github):
    the_dispatch(
        github,
        "release-please.yaml",
        422,
        {"message": "Workflow does not have 'workflow_dispatch' trigger"},
    )
    response = post(client, RELEASE_PLEASE, {}, token_of(rita))
    assert response.status_code == 202
    [action] = response.json()
    assert action["status"] == "failed"
    assert "has no workflow_dispatch trigger" in action["message"]
