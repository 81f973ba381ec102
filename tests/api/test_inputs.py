"""Whatever a caller puts in a query, a path or a body, the answer is a 4xx naming the problem,
never a 500: integers beyond 64 bits, NUL bytes and other control characters, time-zone offsets
no database holds (PostgreSQL stores offsets up to ±15:59), dates at the ends of the calendar."""

import json

import pytest
from helpers import journey

from cdportal.pipeline.ingest import ingest

pytestmark = pytest.mark.django_db

HUGE = str(2**63)
LISTS = [
    "/api/releases",
    "/api/rollouts",
    "/api/applications",
    "/api/images/tags",
    "/api/events",
    "/api/actions",
    "/api/history",
]
STRING_FILTERS = [
    "/api/releases?repository=",
    "/api/releases?component=",
    "/api/rollouts?application=",
    "/api/applications?namespace=",
    "/api/applications?project=",
    "/api/applications?sync_status=",
    "/api/applications?health_status=",
    "/api/applications?image=",
    "/api/images/tags?image=",
    "/api/images/tags?tag=",
    "/api/events?kind=",
    "/api/events?source=",
    "/api/actions?kind=",
    "/api/actions?status=",
    "/api/actions?by=",
    "/api/actions?target=",
    "/api/history?type=",
    "/api/history/markdown?type=",
    "/api/history/stage-durations?type=",
]
MOMENTS = [
    "/api/releases?released_after=",
    "/api/releases?released_before=",
    "/api/images/tags?pushed_after=",
    "/api/events?since=",
]
DAYS = [
    "/api/actions?since=",
    "/api/history?since=",
    "/api/history?until=",
    "/api/history/markdown?since=",
    "/api/history/stage-durations?until=",
]
IDS = [
    "/api/events?release=",
    "/api/events?application=",
    "/api/rollouts?release=",
    "/api/history?component=",
    "/api/history/diff?newer=1&older=",
    "/api/history/diff?older=1&newer=",
]
PATHS = ["/api/releases/{}", "/api/components/{}", "/api/actions/{}"]
SEGMENTS = [
    "/api/applications/{}/x",
    "/api/applications/argocd/{}",
    "/api/applications/{}/x/image-policy",
]
PAGES = [
    "/applications/{}/x/",
    "/applications/argocd/{}/",
    "/applications/{}/x/sync/review/",
    "/repositories/{}/x/tag/",
    "/repositories/5dlabs/{}/release-please/review/",
]


@pytest.fixture
def viewer(client, bob):
    for event in journey():
        ingest(event)
    client.force_login(bob)
    return client


def refused(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("param", ["limit", "offset"])
def test_a_page_beyond_64_bits_is_422(viewer, path, param):
    refused(viewer.get(f"{path}?{param}={HUGE}"), 422)


@pytest.mark.parametrize("path", LISTS)
def test_a_page_within_bounds_is_served(viewer, path):
    assert viewer.get(f"{path}?limit=500&offset=1000000").status_code == 200


@pytest.mark.parametrize("path", STRING_FILTERS)
@pytest.mark.parametrize("value", ["a%00b", "a%0Ab", "a%7Fb", "a%C2%85b"])
def test_a_control_character_in_a_filter_is_refused(viewer, path, value):
    refused(viewer.get(path + value), 422)


@pytest.mark.parametrize("path", STRING_FILTERS)
def test_bytes_that_are_not_utf8_are_read_as_replacement_characters(viewer, path):
    assert viewer.get(path + "%ED%A0%80%FF").status_code == 200


@pytest.mark.parametrize("path", MOMENTS)
@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00%2B16:00",
        "2026-01-01T00:00:00-23:59",
        "0001-01-01T00:00:00%2B01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_a_moment_no_database_holds_is_422(viewer, path, value):
    refused(viewer.get(path + value), 422)


@pytest.mark.parametrize("path", MOMENTS)
def test_every_real_offset_is_accepted(viewer, path):
    for value in (
        "2026-01-01T00:00:00%2B14:00",
        "2026-01-01T00:00:00-12:00",
        "2026-01-01T00:00:00Z",
    ):
        assert viewer.get(path + value).status_code == 200, value


@pytest.mark.parametrize("path", DAYS)
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_the_ends_of_the_calendar_are_not_a_500(viewer, path, value):
    assert viewer.get(path + value).status_code in (200, 422)


@pytest.mark.parametrize("path", IDS)
def test_an_id_beyond_64_bits_is_422(viewer, path):
    refused(viewer.get(path + HUGE), 422)


@pytest.mark.parametrize("path", PATHS)
def test_a_path_id_beyond_64_bits_is_not_found(viewer, path):
    refused(viewer.get(path.format(HUGE)), 404, 422)


@pytest.mark.parametrize("path", SEGMENTS)
@pytest.mark.parametrize("value", ["a%00b", "a%01b"])
def test_a_control_character_in_a_path_segment_is_refused(viewer, path, value):
    refused(viewer.get(path.format(value)), 400, 404)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_with_a_nul_in_its_path_is_400(viewer, path):
    assert viewer.get(path.format("a%00b")).status_code == 400


def test_an_api_action_with_a_nul_in_its_path_or_body_is_refused(client, alice, rita):
    client.force_login(alice)
    refused(
        client.post("/api/applications/argo%00cd/x/sync", "{}", content_type="application/json"),
        400,
    )
    body = json.dumps({"idempotency_key": "a\u0000b"})
    refused(
        client.post("/api/applications/argocd/x/refresh", body, content_type="application/json"),
        422,
    )
    client.force_login(rita)
    body = json.dumps({"version": "1.0.0", "idempotency_key": "\ud800"})
    refused(
        client.post("/api/repositories/5dlabs/cto/tags", body, content_type="application/json"), 422
    )


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"])
def test_an_event_the_database_cannot_hold_is_422(client, feeder, bad):
    from cdportal.api.models import ApiToken

    token = ApiToken.issue(user=feeder, name="tests")[1]
    event = {**journey()[0], "message": f"feat: a{bad}b"}
    response = client.post(
        "/api/events",
        json.dumps(event),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    refused(response, 422)
    if bad == "\u0000":  # a lone surrogate already fails pydantic's JSON parser
        assert "message: U+0000" in response.json()["detail"]


def test_each_schema_name_in_the_document_is_one_shape(viewer):
    """ninja names a schema after its class: two classes called ComponentOut made /api/releases
    document the release engine's component (id, plan, …) instead of the one it returns."""
    document = viewer.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    release = viewer.get("/api/releases").json()["items"][0]
    component = schemas[schemas["ReleaseOut"]["properties"]["component"]["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == set(release["component"])


def test_a_body_string_longer_than_its_bound_is_422(client, alice):
    client.force_login(alice)
    body = json.dumps({"idempotency_key": "k" * 91})
    refused(
        client.post("/api/applications/argocd/x/refresh", body, content_type="application/json"),
        422,
    )
