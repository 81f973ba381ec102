import json

import pytest
from helpers import journey

from cdportal.api.models import ApiToken
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import PipelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(feeder):
    return ApiToken.issue(user=feeder, name="tests")[1]


@pytest.fixture
def client():
    """Like a real caller: CSRF is enforced (Django's test client skips it by default)."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def post_event(client, event, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        "/api/events", data=json.dumps(event), content_type="application/json", **headers, **extra
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/releases",
        "/api/applications",
        "/api/events",
        "/api/images/tags",
        "/api/rollouts",
        "/api/releases/1",
    ],
)
def test_anonymous_callers_get_401_and_no_data(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_a_wrong_token_gets_401(client, token):
    assert post_event(client, journey()[0], token="cdp_wrong").status_code == 401
    assert PipelineEvent.objects.count() == 0


def test_a_source_posts_an_event_once(client, token):
    first = post_event(client, journey()[0], token)
    assert first.status_code == 201
    assert first.json()["created"] is True
    again = post_event(client, journey()[0], token)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    assert PipelineEvent.objects.count() == 1


def test_a_malformed_event_gets_422_naming_the_field(client, token):
    response = post_event(client, {**journey()[0], "sha": "zzz"}, token)
    assert response.status_code == 422
    assert "sha" in response.json()["detail"]
    assert PipelineEvent.objects.count() == 0


def test_a_body_that_is_not_json_gets_422(client, token):
    response = client.post(
        "/api/events",
        data="{oops",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422


def test_a_viewer_may_not_ingest(client, bob):
    client.force_login(bob)
    response = post_event(client, journey()[0])
    # Session auth checks CSRF first on unsafe methods.
    assert response.status_code in (401, 403)
    assert PipelineEvent.objects.count() == 0


def test_session_posts_need_a_csrf_token(feeder):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(feeder)
    assert post_event(client, journey()[0]).status_code in (401, 403)
    client.get("/")  # sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    assert post_event(client, journey()[0], HTTP_X_CSRFTOKEN=csrf).status_code == 201


def test_releases_can_be_filtered_and_paginated(client, bob):
    for i, version in enumerate(["0.3.0", "0.3.1", "0.3.2"]):
        for e in journey(version, start=i * 60):
            ingest(e)
    ingest(journey("0.4.0", start=500)[0])  # a pending release
    client.force_login(bob)
    everything = client.get("/api/releases").json()
    assert everything["count"] == 4
    in_flight = client.get("/api/releases?in_flight=true").json()
    assert [r["state"] for r in in_flight["items"]] == ["pending"]
    page = client.get("/api/releases?limit=2&offset=0").json()
    assert len(page["items"]) == 2 and page["count"] == 4
    deployed = client.get("/api/releases?state=deployed").json()
    assert {r["version"] for r in deployed["items"]} == {"0.3.0", "0.3.1", "0.3.2"}
    assert client.get("/api/releases?state=bogus").status_code == 422


def test_release_detail_has_stages_rollouts_and_commits(client, bob):
    for e in journey("0.3.0"):
        ingest(e)
    client.force_login(bob)
    release_id = client.get("/api/releases").json()["items"][0]["id"]
    detail = client.get(f"/api/releases/{release_id}").json()
    assert [s["state"] for s in detail["stages"]] == ["done"] * 7
    assert detail["stages"][1]["seconds"] == 120.0
    assert detail["rollouts"][0]["application"] == "argocd/cto-controller"
    assert detail["commits"][0]["message"].startswith("feat(controller)")
    assert client.get("/api/releases/999").status_code == 404


def test_rollout_stages_count_the_applications_that_reached_them(client, bob):
    from helpers import PROD, STAGING, synced, three_environments

    for e in three_environments():
        ingest(e)
    client.force_login(bob)
    listed = client.get("/api/releases?state=released").json()["items"]
    (release,) = [r for r in listed if r["version"] == "0.2.56"]
    stages = {s["stage"]: s for s in release["stages"]}
    assert all("reached" not in s or s["reached"] is None for s in release["stages"][:4])
    assert [(stages[n]["reached"], stages[n]["targets"]) for n in (5, 6, 7)] == [
        (2, 3),
        (2, 3),
        (1, 3),
    ]
    assert stages[7]["state"] == "pending"
    for e in [synced("0.2.56", STAGING, 30), synced("0.2.56", PROD, 40)]:
        ingest(e)
    detail = client.get(f"/api/releases/{release['id']}").json()
    assert [(s["state"], s["reached"], s["targets"]) for s in detail["stages"][4:]] == [
        ("done", 3, 3)
    ] * 3


def test_applications_events_images_and_rollouts(client, bob):
    for e in journey("0.3.0"):
        ingest(e)
    client.force_login(bob)
    app = client.get("/api/applications/argocd/cto-controller").json()
    assert (app["current_tag"], app["sync_status"], app["images"]) == (
        "v0.3.0",
        "Synced",
        ["ghcr.io/5dlabs/controller"],
    )
    assert client.get("/api/applications?health_status=Degraded").json()["count"] == 0
    assert client.get("/api/events?kind=application").json()["count"] == 2
    assert (
        client.get("/api/images/tags?image=ghcr.io/5dlabs/controller").json()["items"][0]["tag"]
        == "v0.3.0"
    )
    assert client.get("/api/rollouts?complete=true").json()["count"] == 1


def test_the_openapi_description_is_served_to_logged_in_users(client, bob):
    assert client.get("/api/docs").status_code == 302
    client.force_login(bob)
    schema = client.get("/api/openapi.json").json()
    assert "/api/events" in schema["paths"]


def test_the_openapi_document_names_no_key_twice(client, bob):
    """Swagger UI (and any YAML-based reader) refuses a document with a repeated key; the int
    status keys django-ninja writes and the str ones of the common answers once gave two "404"s."""
    client.force_login(bob)
    repeated = []

    def pairs(items):
        keys = [key for key, _ in items]
        repeated.extend(sorted({key for key in keys if keys.count(key) > 1}))
        return dict(items)

    json.loads(client.get("/api/openapi.json").content, object_pairs_hook=pairs)
    assert repeated == []
