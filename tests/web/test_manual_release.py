"""The manual release page: a releaser reviews, confirms and tags; nobody else sees any of it.
GitHub is a stand-in on 127.0.0.1 (pytest-httpserver) that PyGithub reaches over real HTTP."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from github_stub import EXAMPLE_HEAD, EXAMPLE_TAG_OBJECT, serve_repository
from helpers import REPO, at

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Component, PipelineEvent, Release

pytestmark = pytest.mark.django_db

HEAD = EXAMPLE_HEAD  # the head of main in GitHub's branch example
TAG_OBJECT = EXAMPLE_TAG_OBJECT
PAGE = f"/repositories/{REPO}/tag/"


@pytest.fixture
def github(httpserver, settings):
    """GitHub for one repository: its documented examples for the reads, hand-written bodies shaped
    like the documented ones for the writes."""
    serve_repository(httpserver, settings, REPO)
    return httpserver


def creates_tags(server):
    repo = f"/repos/{REPO}"
    server.expect_request(f"{repo}/git/tags", method="POST").respond_with_json(
        {
            "tag": "v0.3.0",
            "sha": TAG_OBJECT,
            "url": server.url_for(f"{repo}/git/tags/{TAG_OBJECT}"),
            "message": "Release v0.3.0",
            "object": {"type": "commit", "sha": HEAD},
        },
        status=201,
    )
    server.expect_request(f"{repo}/git/refs", method="POST").respond_with_json(
        {
            "ref": "refs/tags/v0.3.0",
            "url": server.url_for(f"{repo}/git/refs/tags/v0.3.0"),
            "object": {"type": "tag", "sha": TAG_OBJECT},
        },
        status=201,
    )


def calls(server) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r, _ in server.log]


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
    ingest(
        {
            "kind": "release_plan",
            "source": "git",
            "source_id": "plan-1",
            "occurred_at": at(5),
            "repository": REPO,
            "head_sha": HEAD,
            "current_version": "0.2.9",
            "next_version": "0.3.0",
            "tag": "v0.3.0",
            "commit_count": 1,
            "changelog": "## [0.3.0]\n\n### Features\n\n* **controller:** add task retry logic",
            "commits": [
                {
                    "sha": HEAD,
                    "subject": "add task retry logic",
                    "type": "feat",
                    "scope": "controller",
                    "bump": "minor",
                }
            ],
        }
    )
    return Component.objects.get()


@pytest.fixture
def rita_client(rita):
    """Rita's browser: CSRF is enforced, as for a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(rita)
    return client


def csrf(client) -> str:
    return client.cookies["csrftoken"].value


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def review(client, **fields) -> str:
    client.get(PAGE)  # sets the CSRF cookie
    data = {"version": "0.3.0", "sha": "", "csrfmiddlewaretoken": csrf(client), **fields}
    response = client.post(f"{PAGE}review/", data)
    assert response.status_code == 200, response.content.decode()
    return response.content.decode()


def confirm(client, form: dict, **extra):
    return client.post(f"{PAGE}create/", {**form, "csrfmiddlewaretoken": csrf(client), **extra})


def test_the_form_offers_the_predicted_version_and_the_head_of_the_default_branch(
    rita_client, cto, github
):
    html = rita_client.get(PAGE).content.decode()
    assert 'name="version" value="0.3.0"' in html
    assert f'name="sha" value="{HEAD}"' in html
    assert "Head of main" in html
    assert "add task retry logic" in html  # the commits since the last tag
    assert "<strong>controller:</strong> add task retry logic" in html  # the predicted changelog
    assert "also run binaries-release.yaml" in html
    assert "Re-run Release Please" in html
    assert Action.objects.count() == 0


def test_the_confirmation_says_exactly_what_will_happen(rita_client, cto, github):
    html = review(rita_client, dispatch_build="on")
    assert (
        f"This will <strong>create annotated tag v0.3.0 on 7fd1a60 in {REPO}, then run binaries-release.yaml "
        "with version=0.3.0 (on main)</strong>"
    ) in html
    form = hidden(html)
    assert form["sha"] == HEAD and form["version"] == "0.3.0" and form["dispatch_build"] == "on"
    assert re.fullmatch(r"[0-9a-f]{32}", form["idempotency_key"])
    assert "allow_not_greater" not in html
    assert Action.objects.count() == 0
    assert ("POST", f"/repos/{REPO}/git/tags") not in calls(github)


def test_confirming_creates_the_tag_and_shows_the_outcome(rita_client, cto, github):
    creates_tags(github)
    form = hidden(review(rita_client))
    response = confirm(rita_client, form)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"created annotated tag v0.3.0 on 7fd1a60 in {REPO}" in html
    release = Release.objects.get(version="0.3.0")
    assert f'href="/releases/{release.pk}/"' in html
    assert PipelineEvent.objects.filter(source_id=f"{REPO}/tag/v0.3.0").exists()
    action = Action.objects.get()
    assert (action.status, action.by_name, action.idempotency_key) == (
        "succeeded",
        "rita",
        form["idempotency_key"],
    )


def test_a_double_click_is_one_tag(rita_client, cto, github):
    creates_tags(github)
    form = hidden(review(rita_client))
    first = confirm(rita_client, form).content.decode()
    second = confirm(rita_client, form).content.decode()
    assert [c for c in calls(github) if c[0] == "POST"] == [
        ("POST", f"/repos/{REPO}/git/tags"),
        ("POST", f"/repos/{REPO}/git/refs"),
    ]
    assert Action.objects.count() == 1
    assert "created annotated tag v0.3.0" in first and "created annotated tag v0.3.0" in second


def test_an_existing_tag_is_a_clear_message_not_a_500(rita_client, cto, github):
    github.expect_request(f"/repos/{REPO}/git/tags", method="POST").respond_with_json(
        {"tag": "v0.3.0", "sha": TAG_OBJECT}, status=201
    )
    github.expect_request(f"/repos/{REPO}/git/refs", method="POST").respond_with_json(
        {
            "message": "Reference already exists",
            "documentation_url": "https://docs.github.com/rest",
        },
        status=422,
    )
    response = confirm(rita_client, hidden(review(rita_client, dispatch_build="on")))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"tag v0.3.0 already exists in {REPO}" in html
    assert "binaries-release.yaml was not run: the tag was not created" in html


def test_a_build_without_a_workflow_dispatch_trigger_is_said_plainly(rita_client, cto, github):
    creates_tags(github)
    github.expect_request(
        f"/repos/{REPO}/actions/workflows/binaries-release.yaml/dispatches", method="POST"
    ).respond_with_json(
        {"message": "Workflow does not have 'workflow_dispatch' trigger"}, status=422
    )
    html = confirm(rita_client, hidden(review(rita_client, dispatch_build="on"))).content.decode()
    assert "created annotated tag v0.3.0" in html
    assert "binaries-release.yaml in 5dlabs/cto has no workflow_dispatch trigger" in html


def test_a_version_not_greater_needs_the_explicit_confirmation(rita_client, cto, github):
    creates_tags(github)
    html = review(rita_client, version="0.2.9")
    assert "version 0.2.9 is not greater than the latest release (0.2.9) — I confirm" in html
    form = hidden(html)
    refused = confirm(rita_client, form)
    assert refused.status_code == 400
    assert "confirm explicitly" in refused.content.decode()
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done
    done = confirm(rita_client, form, allow_not_greater="on")
    assert "created annotated tag v0.2.9" in done.content.decode()


def test_a_bad_version_is_sent_back_to_the_form(rita_client, cto, github):
    rita_client.get(PAGE)
    response = rita_client.post(
        f"{PAGE}review/", {"version": "v0.3.0", "csrfmiddlewaretoken": csrf(rita_client)}
    )
    assert response.status_code == 400
    assert "without the leading v" in response.content.decode()


def test_posts_need_the_csrf_token(rita_client, cto, github):
    form = hidden(review(rita_client))
    del form["csrfmiddlewaretoken"]
    response = rita_client.post(f"{PAGE}create/", form)
    assert response.status_code == 403
    assert Action.objects.count() == 0


def test_release_please_is_rerun_after_its_own_confirmation(rita_client, cto, github):
    github.expect_request(
        f"/repos/{REPO}/actions/workflows/release-please.yaml/dispatches", method="POST"
    ).respond_with_data("", status=204)
    rita_client.get(PAGE)
    html = rita_client.post(
        f"/repositories/{REPO}/release-please/review/", {"csrfmiddlewaretoken": csrf(rita_client)}
    ).content.decode()
    assert f"This will <strong>run release-please.yaml on main in {REPO}</strong>" in html
    assert Action.objects.count() == 0
    key = hidden(html)["idempotency_key"]
    for _ in range(2):  # a double click
        done = rita_client.post(
            f"/repositories/{REPO}/release-please/run/",
            {"idempotency_key": key, "csrfmiddlewaretoken": csrf(rita_client)},
        ).content.decode()
    assert "GitHub accepted running release-please.yaml on main" in done
    dispatches = [r for r, _ in github.log if r.path.endswith("/dispatches")]
    assert len(dispatches) == 1 and json.loads(dispatches[0].data) == {"ref": "main", "inputs": {}}


@pytest.mark.parametrize("person", ["bob", "alice"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "tag/"),
        ("post", "tag/review/"),
        ("post", "tag/create/"),
        ("post", "release-please/review/"),
        ("post", "release-please/run/"),
    ],
)
def test_viewers_and_operators_get_403_and_nothing_is_recorded(
    client, request, person, method, path, cto, github
):
    client.force_login(request.getfixturevalue(person))
    response = getattr(client, method)(
        f"/repositories/{REPO}/{path}",
        {"version": "0.3.0", "sha": HEAD, "idempotency_key": "k"} if method == "post" else None,
    )
    assert response.status_code == 403
    assert Action.objects.count() == 0 and github.log == []


def test_only_releasers_see_the_links(client, bob, rita, cto):
    release = Release.objects.get(version="0.2.9")
    client.force_login(bob)
    for page in (f"/releases/{release.pk}/", f"/components/{cto.pk}/"):
        assert PAGE not in client.get(page).content.decode()
    client.force_login(rita)
    for page in (f"/releases/{release.pk}/", f"/components/{cto.pk}/"):
        assert f'href="{PAGE}"' in client.get(page).content.decode()


def test_github_unreachable_still_shows_the_form(rita_client, cto, settings):
    settings.GITHUB_API_URL = "http://127.0.0.1:9"
    settings.GITHUB_PAUSE = False
    response = rita_client.get(PAGE)
    assert response.status_code == 200
    assert "could not reach GitHub" in response.content.decode()
