"""POST /api/webhooks/github: GitHub's example deliveries, signed as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from pathlib import Path

import pytest

from cdportal.adapters.github.events import from_release, from_workflow_run
from cdportal.api import deliveries
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import (
    BuildRun,
    Commit,
    ImageTag,
    PipelineEvent,
    Release,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/github"
SECRET = "It's a Secret to Everybody"
WEBHOOKS = Path(__file__).parents[1] / "fixtures" / "github" / "webhooks"
PAYLOADS = sorted(str(p.relative_to(WEBHOOKS)) for p in WEBHOOKS.rglob("*.json"))
HELLO = "Codertocat/Hello-World"
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


@pytest.fixture(autouse=True)
def configured(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_BUILD_WORKFLOW = "test.yml,syntax.yml"


@pytest.fixture
def client():
    """Like GitHub: no session, no CSRF token (Django's test client skips CSRF unless asked)."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def load(relative: str) -> dict:
    return json.loads((WEBHOOKS / relative).read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    client,
    event: str,
    payload=None,
    *,
    body: bytes | None = None,
    delivery: str | None = None,
    signature: str | None = None,
    headers: dict | None = None,
):
    body = body if body is not None else json.dumps(payload).encode()
    sent = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else sign(body),
        "User-Agent": "GitHub-Hookshot/044aadd",
    }
    sent.update(headers or {})
    sent = {k: v for k, v in sent.items() if v is not None}
    response = client.post(URL, data=body, content_type="application/json", headers=sent)
    # What the delivery worker does after the answer, here in the test's thread and transaction
    # (tests/api/test_delivery_queue.py has the workers themselves).
    deliveries.process_pending()
    return response


def outcome(response) -> tuple[str, int]:
    """How the delivery ended: its stored status and the events it recorded."""
    delivery = WebhookDelivery.objects.get(source="github", delivery_id=response.json()["delivery"])
    return delivery.status, delivery.events_recorded


def deliver_file(client, relative: str, **options):
    return deliver(client, Path(relative).parent.name, load(relative), **options)


def nothing_stored() -> bool:
    return not WebhookDelivery.objects.exists() and not PipelineEvent.objects.exists()


# --- every fixture through HTTP ----------------------------------------------------------------


@pytest.mark.parametrize("relative", PAYLOADS)
def test_each_delivery_is_stored_and_answered(client, relative):
    response = deliver_file(client, relative)
    delivery = WebhookDelivery.objects.get()
    if relative.endswith("ping.json"):
        assert (response.status_code, response.json()["detail"]) == (200, "pong")
        return
    assert response.status_code == 202, response.content
    recorded = PipelineEvent.objects.count()
    assert delivery.status == ("ingested" if recorded else "ignored"), delivery.detail
    assert delivery.events_recorded == recorded
    # The answer came after the one insert: processed next, or ignored at once.
    answer = response.json()
    assert answer["delivery"] == delivery.delivery_id
    assert answer["status"] == ("received" if recorded else delivery.status) or (
        relative.startswith("examples/workflow_job/") and answer["status"] == "received"
    )
    assert answer["events_recorded"] == 0
    assert delivery.payload == load(relative)
    assert set(PipelineEvent.objects.values_list("source", flat=True)) <= {"github"}


def test_a_release_records_the_release(client):
    deliver_file(client, "examples/release/00-published.json")
    release = Release.objects.get()
    assert (release.component.repository.full_name, release.version, release.tag) == (
        HELLO,
        "0.0.1",
        "0.0.1",
    )
    assert release.released_at.isoformat() == "2019-05-15T15:20:53+00:00"
    event = PipelineEvent.objects.get()
    assert (event.kind, event.source_id, event.release) == (
        "release",
        f"{HELLO}/release/17372790",
        release,
    )
    assert WebhookDelivery.objects.get().events_recorded == 1


def test_a_push_to_the_default_branch_records_its_commit(client):
    deliver_file(client, "examples/push/04-push.json")
    commit = Commit.objects.get()
    assert (commit.sha, commit.message, commit.author) == (SHA, "Initial commit", "Codertocat")


def test_a_release_pr_opens_and_merges_the_release(client):
    deliver_file(client, "handmade/pull_request/release-please-opened.json")
    release = Release.objects.get()
    assert (release.version, release.pr_number, release.pr_state) == ("0.3.0", 2, "open")
    deliver_file(client, "handmade/pull_request/release-please-synchronize.json")
    deliver_file(client, "handmade/pull_request/release-please-merged.json")
    release.refresh_from_db()
    assert (release.version, release.pr_state) == ("0.4.0", "merged")
    assert Release.objects.count() == 1


def test_a_grouped_release_pr_is_acknowledged_and_ignored(client):
    response = deliver_file(client, "handmade/pull_request/release-please-grouped.json")
    assert (response.status_code, response.json()["status"]) == (202, "ignored")
    assert not PipelineEvent.objects.exists()


def test_builds_record_the_run_and_its_jobs(client):
    deliver_file(client, "examples/workflow_run/03-requested.json")
    run = BuildRun.objects.get()
    assert (run.repository.full_name, run.run_id, run.workflow, run.status) == (
        "octo-org/octo-repo",
        289782451,
        "test",
        "queued",
    )
    # A job names its workflow ("Build"), never its file: it is taken because its run is known.
    job = load("examples/workflow_job/04-in_progress.json")
    job["repository"] = load("examples/workflow_run/03-requested.json")["repository"]
    job["workflow_job"].update(run_id=289782451, workflow_name="Build")
    response = deliver(client, "workflow_job", job)
    assert response.json()["status"] == "received"
    assert outcome(response) == ("ingested", 1)
    run.refresh_from_db()
    assert run.status == "in_progress"
    assert [j["id"] for j in run.jobs] == [14541957942]
    assert len(run.jobs[0]["steps"]) == 9
    deliver_file(client, "examples/workflow_run/01-completed.json")
    run.refresh_from_db()
    assert (run.status, run.conclusion) == ("completed", "success")


def test_a_job_of_a_run_never_seen_is_ignored(client):
    response = deliver_file(client, "examples/workflow_job/00-in_progress.json")
    assert outcome(response) == ("ignored", 0)
    assert not BuildRun.objects.exists()


def test_an_image_pushed_for_a_release_is_linked_to_it(client):
    deliver_file(client, "examples/release/00-published.json")
    deliver_file(client, "handmade/registry_package/container-published.json")
    deliver_file(client, "handmade/registry_package/container-updated.json")
    tags = {t.tag: t for t in ImageTag.objects.select_related("image")}
    assert set(tags) == {"0.0.1", "latest"}
    assert tags["0.0.1"].image.name == "ghcr.io/codertocat/hello-world"
    assert tags["0.0.1"].digest == tags["latest"].digest
    release = Release.objects.get()
    assert release.built_at is not None
    assert (
        PipelineEvent.objects.get(kind="image_push", source_id__contains=":0.0.1@").release
        == release
    )


# --- once, and only once -----------------------------------------------------------------------


def test_replaying_a_delivery_changes_nothing(client):
    guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    first = deliver_file(client, "examples/release/00-published.json", delivery=guid)
    assert first.status_code == 202
    before = list(PipelineEvent.objects.values()), list(Release.objects.values())
    again = deliver_file(client, "examples/release/00-published.json", delivery=guid)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    # Even with another (validly signed) body, a delivery id is processed once.
    other = deliver_file(client, "examples/push/04-push.json", delivery=guid)
    assert other.json()["duplicate"] is True
    assert (list(PipelineEvent.objects.values()), list(Release.objects.values())) == before
    assert WebhookDelivery.objects.get().event == "release"


def test_the_same_fact_in_two_deliveries_is_one_event(client):
    deliver_file(client, "examples/release/00-published.json")
    second = deliver_file(client, "examples/release/12-released.json")
    assert outcome(second) == ("ingested", 0)
    assert PipelineEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 2


def test_a_tag_created_and_then_pushed_keeps_its_commit(client, bob):
    """GitHub sends `create` (no sha), then `push` (the sha): one id for both made the push a
    duplicate, and the release never learnt its commit."""
    deliver_file(client, "handmade/create/tag-v0.3.0.json")
    deliver_file(client, "handmade/push/tag-v0.3.0.json")
    assert sorted(PipelineEvent.objects.values_list("source_id", flat=True)) == [
        f"{HELLO}/tag/v0.3.0",
        f"{HELLO}/tag/v0.3.0@{SHA}",
    ]
    release = Release.objects.get()
    assert (release.tag, release.sha) == ("v0.3.0", SHA)
    client.force_login(bob)
    [listed] = client.get("/api/releases").json()["items"]
    assert listed["sha"] == SHA
    assert client.get(f"/api/releases/{release.pk}").json()["sha"] == SHA


def build_run(*, conclusion: str | None, event: str = "workflow_dispatch", branch: str = "main"):
    """The build workflow's run, as a `workflow_run` delivery for Hello-World: started by a
    dispatch (or by the tag's push), without a version input; only `head_sha` names the commit."""
    payload = load("examples/workflow_run/01-completed.json")
    payload["repository"] = load("handmade/push/tag-v0.3.0.json")["repository"]
    payload["workflow_run"].update(
        id=9001,
        event=event,
        head_branch=branch,
        head_sha=SHA,
        display_title="binaries-release",
        status="completed" if conclusion else "in_progress",
        conclusion=conclusion,
    )
    return payload


def test_a_failed_build_dispatched_for_a_tag_fails_its_release(client, bob):
    deliver_file(client, "handmade/create/tag-v0.3.0.json")
    deliver_file(client, "handmade/push/tag-v0.3.0.json")
    deliver(client, "workflow_run", build_run(conclusion=None))
    deliver(client, "workflow_run", build_run(conclusion="failure"))

    release = Release.objects.get()
    assert BuildRun.objects.get().release == release
    assert (release.state, release.failed_stage) == ("failed", 4)
    assert release.failure_reason == "test run #9001 failure"
    client.force_login(bob)
    [problem] = client.get("/api/attention").json()
    assert (problem["subject"], problem["what"]) == (
        "Hello-World v0.3.0",
        "failed at Image built and pushed",
    )
    assert "test run #9001 failure" in client.get("/").content.decode()


def test_a_build_reported_before_the_tags_commit_is_attached_when_the_push_arrives(client):
    deliver_file(client, "handmade/create/tag-v0.3.0.json")
    deliver(client, "workflow_run", build_run(conclusion="failure"))
    assert BuildRun.objects.get().release is None  # the release's commit is not known yet

    deliver_file(client, "handmade/push/tag-v0.3.0.json")

    release = Release.objects.get()
    assert BuildRun.objects.get().release == release
    assert (release.state, release.failed_stage) == ("failed", 4)


def test_a_build_started_by_the_tag_push_is_matched_by_its_ref(client):
    deliver_file(client, "handmade/create/tag-v0.3.0.json")
    deliver(
        client, "workflow_run", build_run(conclusion="timed_out", event="push", branch="v0.3.0")
    )
    release = Release.objects.get()
    assert BuildRun.objects.get().release == release
    assert release.failure_reason == "test run #9001 timed_out"


def test_a_webhook_and_the_poller_report_a_release_once(client):
    deliver_file(client, "examples/release/00-published.json")
    rest_release = load("examples/release/10-published.json")[
        "release"
    ]  # what GET /releases returns
    [result] = [ingest(event) for event in from_release(HELLO, rest_release)]
    assert result.created is False
    assert PipelineEvent.objects.count() == 1


def test_the_poller_first_then_the_webhook_is_one_event_too(client):
    run = load("examples/workflow_run/01-completed.json")["workflow_run"]
    [polled] = from_workflow_run("octo-org/octo-repo", run, workflows={"test.yml"})
    assert ingest(polled).created
    response = deliver_file(client, "examples/workflow_run/02-completed.json")
    assert response.json()["events_recorded"] == 0
    assert PipelineEvent.objects.count() == 1


# --- refused deliveries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        "sha256=",
        sign(
            json.dumps(load("examples/release/00-published.json")).encode(), secret="another secret"
        ),
    ],
)
def test_a_bad_signature_gets_401_and_stores_nothing(client, signature):
    response = deliver_file(client, "examples/release/00-published.json", signature=signature)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["detail"]
    assert nothing_stored()


def test_a_missing_signature_gets_401(client):
    response = deliver_file(
        client, "examples/release/00-published.json", headers={"X-Hub-Signature-256": None}
    )
    assert response.status_code == 401
    assert nothing_stored()


def test_a_body_changed_after_signing_gets_401(client):
    body = json.dumps(load("examples/release/00-published.json")).encode()
    response = deliver(
        client, "release", body=body.replace(b"0.0.1", b"9.9.9"), signature=sign(body)
    )
    assert response.status_code == 401
    assert nothing_stored()


def test_without_a_secret_it_refuses_everything(client, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = deliver_file(client, "examples/release/00-published.json")
    assert response.status_code == 503
    assert "GITHUB_WEBHOOK_SECRET" in response.json()["detail"]
    assert nothing_stored()


@pytest.mark.parametrize("header", ["X-GitHub-Delivery", "X-GitHub-Event"])
def test_a_delivery_without_its_headers_gets_400(client, header):
    response = deliver_file(client, "examples/release/00-published.json", headers={header: None})
    assert response.status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"release"', b"\xff\xfe"])
def test_a_malformed_body_gets_400(client, body):
    response = deliver(client, "release", body=body)
    assert response.status_code == 400
    assert nothing_stored()


def test_only_post(client):
    assert client.get(URL).status_code == 405


# --- acknowledged, not ingested ----------------------------------------------------------------


def test_ping_is_answered_pong(client):
    response = deliver_file(client, "examples/ping/00-ping.json")
    assert (response.status_code, response.json()["detail"]) == (200, "pong")
    assert WebhookDelivery.objects.get().status == "ignored"


def test_an_unknown_event_is_stored_and_ignored(client):
    response = deliver_file(client, "examples/delete/00-delete.json")
    assert (response.status_code, response.json()["status"]) == (202, "ignored")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.events_recorded) == ("delete", "ignored", 0)
    assert not PipelineEvent.objects.exists()


def test_an_invalid_event_fails_the_delivery_without_making_github_retry(client):
    payload = load("examples/release/00-published.json")
    payload["repository"]["full_name"] = "not a repository"
    response = deliver(client, "release", payload, delivery="d-1")
    assert (response.status_code, response.json()["status"]) == (202, "failed")
    delivery = WebhookDelivery.objects.get()
    assert "repository" in delivery.detail
    assert not PipelineEvent.objects.exists()


def test_a_payload_missing_its_object_fails_the_delivery(client):
    response = deliver(
        client, "pull_request", {"action": "opened", "repository": {"full_name": HELLO}}
    )
    assert (response.status_code, response.json()["status"]) == (202, "failed")
    assert "pull_request" in WebhookDelivery.objects.get().detail


def test_a_failed_delivery_is_processed_again_when_redelivered(client):
    broken = load("examples/release/00-published.json")
    broken["repository"]["full_name"] = "not a repository"
    deliver(client, "release", broken, delivery="d-2")
    response = deliver_file(client, "examples/release/00-published.json", delivery="d-2")
    assert (response.status_code, response.json()["status"]) == (202, "received")
    assert outcome(response) == ("ingested", 1)
    assert WebhookDelivery.objects.get().events_recorded == 1
    assert PipelineEvent.objects.count() == 1


def test_neither_the_secret_nor_the_signature_is_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    payload = load("examples/release/00-published.json")
    payload["repository"]["full_name"] = "not a repository"
    body = json.dumps(payload).encode()
    deliver(client, "release", body=body)
    deliver(client, "release", body=body, signature="sha256=" + "1" * 64)
    assert caplog.records  # the failed delivery was logged
    assert SECRET not in caplog.text
    assert sign(body).removeprefix("sha256=") not in caplog.text
    assert "1" * 64 not in caplog.text


def test_the_secret_can_come_from_a_file(tmp_path):
    from cdportal.env import envsecret

    (tmp_path / "secret").write_text(SECRET + "\n")
    environ = {"GITHUB_WEBHOOK_SECRET_FILE": str(tmp_path / "secret")}
    assert envsecret("GITHUB_WEBHOOK_SECRET", environ) == SECRET


# --- what PostgreSQL cannot store ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"])
def test_a_payload_the_database_cannot_hold_is_kept_as_a_failed_delivery(client, bad):
    """A NUL (or a lone surrogate) in any string: jsonb refuses it, so it was a 500 with nothing
    stored. Now the delivery is kept, failed, with the reason; GitHub gets a 2xx."""
    payload = load("examples/release/00-published.json")
    payload["release"]["name"] = f"v1{bad}"
    body = json.dumps(payload).encode()  # json.dumps escapes both: the body is valid JSON

    response = deliver(client, "release", body=body, delivery="d-nul")

    assert (response.status_code, response.json()["status"]) == (202, "failed")
    delivery = WebhookDelivery.objects.get()
    assert f"U+{ord(bad):04X}" in delivery.detail and "release.name" in delivery.detail
    assert delivery.payload["release"]["name"] == "v1\ufffd"
    assert not PipelineEvent.objects.exists()
    again = deliver(client, "release", body=body, delivery="d-nul")
    assert (again.status_code, again.json()["status"]) == (202, "failed")


def test_a_push_of_many_commits_is_answered_then_recorded(client):
    """Each commit is ingested on its own: a push of hundreds took longer than GitHub waits (10 s).
    The delivery is stored, answered, then processed."""
    payload = load("examples/push/04-push.json")
    commit = payload["commits"][0]
    payload["commits"] = [
        {**commit, "id": f"{n:040x}", "message": f"fix: change {n}"} for n in range(30)
    ]

    response = deliver(client, "push", payload)

    assert (response.status_code, response.json()["status"]) == (202, "received")
    assert response.json()["detail"] == "30 events: queued"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.events_recorded) == ("ingested", 30), delivery.detail
    assert Commit.objects.count() == 30
