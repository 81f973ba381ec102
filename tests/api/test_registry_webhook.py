"""POST /api/webhooks/registry: real notifications from the real Distribution registry to the
real view (served by the live server), and the answers to what a registry never sends."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from django.db import transaction
from helpers import wait_for
from registry_fixtures import WEBHOOK_TOKEN, start_registry

from cdportal.adapters.registry.client import RegistryClient
from cdportal.adapters.registry.scanner import push_source_id
from cdportal.api import deliveries
from cdportal.pipeline.models import ImageTag, PipelineEvent, WebhookDelivery

pytest_plugins = ["registry_fixtures"]  # tests/registry_fixtures.py: the registry fixtures

URL = "/api/webhooks/registry"
CONTENT_TYPE = "application/vnd.docker.distribution.events.v1+json"
DIGEST = "sha256:e2ea1afd6fa44a861910ea2c3cb21ce11431d037389be4dd591683b52b75fbfc"


def envelope(
    *,
    action: str = "push",
    tag: str | None = "v0.10.0",
    host: str = "registry.example.com",
    event_id: str | None = None,
) -> dict:
    """One event as registry 2.8.2 sends it (a captured index push, docs/registry.md)."""
    target = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "size": 491,
        "digest": DIGEST,
        "length": 491,
        "repository": "5dlabs/controller",
        "url": f"http://{host}/v2/5dlabs/controller/manifests/{DIGEST}",
    }
    if tag:
        target["tag"] = tag
    return {
        "events": [
            {
                "id": event_id or str(uuid.uuid4()),
                "timestamp": "2026-11-28T22:20:40.691061541Z",
                "action": action,
                "target": target,
                "request": {
                    "id": str(uuid.uuid4()),
                    "addr": "127.0.0.1:39444",
                    "host": host,
                    "method": "PUT" if action == "push" else "GET",
                    "useragent": "push-client",
                },
                "actor": {"name": "ci"},
                "source": {"addr": "vm:52945", "instanceID": str(uuid.uuid4())},
            }
        ]
    }


def deliver(client, body, *, token: str | None = WEBHOOK_TOKEN, content_type: str = CONTENT_TYPE):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = client.post(URL, data=data, content_type=content_type, headers=headers)
    if not transaction.get_connection().in_atomic_block:
        return response  # a transactional test: a worker thread processes it
    # What the delivery worker does after the answer, here in the test's thread and transaction.
    deliveries.process_pending()
    return response


@pytest.fixture
def configured(settings):
    settings.REGISTRY_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.REGISTRY_PUBLIC_HOST = ""


@pytest.fixture
def client():
    """Like the registry: no session, no CSRF token."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def nothing_stored() -> bool:
    return not WebhookDelivery.objects.exists() and not PipelineEvent.objects.exists()


# --- the real registry notifying the real endpoint -----------------------------------------------


def test_a_pushed_tag_is_recorded_within_a_second(notifying_registry, pusher, unique):
    repo = unique()
    image = notifying_registry.image(repo)
    started = time.monotonic()
    digest = pusher(notifying_registry).image(repo, "v1.0.0", created="2025-06-01T12:00:00Z")
    pushed = time.monotonic()

    tag = wait_for(lambda: ImageTag.objects.filter(image__name=image, tag="v1.0.0").first())

    assert tag is not None, f"no notification arrived:\n{notifying_registry.log()}"
    seen = time.monotonic()
    assert seen - pushed < 1.0, (
        f"recorded {seen - pushed:.2f} s after the push ({pushed - started:.2f} s to push)"
    )
    assert tag.digest == digest
    assert tag.created_at.isoformat() == "2025-06-01T12:00:00+00:00"  # read from the config blob
    [event] = PipelineEvent.objects.filter(image__name=image)
    assert (event.source, event.source_id) == ("registry", push_source_id(image, "v1.0.0", digest))
    # The delivery is finished right after the ingestion it recorded.
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(source="registry", status="ingested").first()
    )
    assert (delivery.status, delivery.events_recorded, delivery.event) == ("ingested", 1, "push")
    assert delivery.delivery_id == delivery.payload["events"][0]["id"]


def test_an_index_push_records_its_tag_and_ignores_its_children(notifying_registry, pusher, unique):
    repo = unique()
    image = notifying_registry.image(repo)
    digest = pusher(notifying_registry).index(
        repo, "v2.0.0", [("linux", "amd64", ""), ("linux", "arm64", "v8")]
    )

    assert wait_for(lambda: ImageTag.objects.filter(image__name=image).exists())
    assert wait_for(lambda: WebhookDelivery.objects.exclude(status="received").count() == 3)

    assert list(ImageTag.objects.filter(image__name=image).values_list("tag", "digest")) == [
        ("v2.0.0", digest)
    ]
    children = "tagless push (an index's child or a blob): not recorded"
    assert sorted(WebhookDelivery.objects.values_list("status", "detail")) == [
        ("ignored", children),
        ("ignored", children),
        ("ingested", "recorded"),
    ]
    assert ImageTag.objects.get(image__name=image).created_at is not None


def test_pulls_are_answered_and_ignored(notifying_registry, pusher, unique):
    repo = unique()
    image = notifying_registry.image(repo)
    push = pusher(notifying_registry)
    push.image(repo, "v1")
    assert wait_for(lambda: ImageTag.objects.filter(image__name=image).exists())
    reader = RegistryClient(notifying_registry.host)
    reader.manifest(repo, "v1")  # HEAD and GET by digest: pull events
    reader.resolve(repo, "v1")
    push.image(repo, "v2")

    # Notifications arrive in order through one queue: once v2 is in, every pull before it was
    # answered with a 2xx (anything else would have held v2 back).
    assert wait_for(lambda: ImageTag.objects.filter(image__name=image, tag="v2").exists())
    assert not WebhookDelivery.objects.filter(event__contains="pull").exists()
    assert PipelineEvent.objects.filter(image__name=image).count() == 2


def test_a_registry_with_the_wrong_token_gets_nothing_stored(
    transactional_db, webhook_url, settings, tmp_path, pusher, unique
):
    settings.REGISTRY_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    registry = start_registry(
        tmp_path / "registry", notify_url=webhook_url, notify_token="not-the-token"
    )
    try:
        pusher(registry).image(unique(), "v1")
        refused = wait_for(
            lambda: "response status 401 Unauthorized unaccepted" in registry.log(), timeout=5
        )
    finally:
        registry.stop()

    assert refused, f"the registry never reported a refused delivery:\n{registry.log()}"
    assert nothing_stored()


def test_a_replayed_notification_is_a_duplicate(notifying_registry, webhook_url, pusher, unique):
    repo = unique()
    image = notifying_registry.image(repo)
    pusher(notifying_registry).image(repo, "v1")
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="ingested").exists())
    delivery = WebhookDelivery.objects.get(status="ingested")

    answer = httpx.post(
        webhook_url,
        content=json.dumps(delivery.payload),
        headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": CONTENT_TYPE},
    )

    assert answer.status_code == 200 and answer.json() == {
        "duplicate": True,
        "delivery": delivery.delivery_id,
    }
    assert PipelineEvent.objects.filter(image__name=image).count() == 1


# --- what a registry never sends -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_is_unavailable_until_a_token_is_configured(client, settings):
    settings.REGISTRY_WEBHOOK_TOKEN = ""

    answer = deliver(client, envelope())

    assert answer.status_code == 503
    assert "REGISTRY_WEBHOOK_TOKEN" in answer.json()["detail"]
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token", [None, "", "test-webhook-tokeN", "Basic x"], ids=["none", "empty", "wrong", "basic"]
)
def test_a_missing_or_wrong_token_is_refused_and_nothing_stored(client, configured, token):
    answer = deliver(client, envelope(), token=token)

    assert answer.status_code == 401
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"events": {}}', b'{"events": ["push"]}', b"{}"]
)
def test_a_malformed_body_is_400(client, configured, body):
    answer = deliver(client, body)

    assert answer.status_code == 400
    assert nothing_stored()


@pytest.mark.django_db
def test_another_content_type_is_415(client, configured):
    assert deliver(client, envelope(), content_type="text/plain").status_code == 415
    assert deliver(client, envelope(), content_type="application/json").status_code == 202


@pytest.mark.django_db
def test_the_public_host_names_the_image(client, configured, settings):
    settings.REGISTRY_PUBLIC_HOST = "localhost:9"  # nothing listens there: the lookup fails at once
    settings.REGISTRY_CREDENTIALS = {}

    answer = deliver(client, envelope(host="registry.internal:5000"))

    assert answer.status_code == 202
    tag = ImageTag.objects.get()
    assert (tag.image.name, tag.tag, tag.digest) == (
        "localhost:9/5dlabs/controller",
        "v0.10.0",
        DIGEST,
    )
    assert tag.pushed_at.isoformat() == "2026-11-28T22:20:40.691061+00:00"  # the event's timestamp
    # The created time could not be read: recorded without it rather than late, and said so.
    assert tag.created_at is None
    assert "created time unavailable" in WebhookDelivery.objects.get().detail


@pytest.mark.django_db
def test_a_delete_is_recorded_as_an_image_delete(client, configured):
    body = {
        "events": [
            {
                "id": "d1",
                "timestamp": "2026-11-28T22:20:40Z",
                "action": "delete",
                "target": {"digest": DIGEST, "repository": "5dlabs/controller"},
                "request": {"host": "ghcr.io"},
            }
        ]
    }

    answer = deliver(client, body)

    assert answer.status_code == 202 and answer.json()["status"] == "received"
    assert WebhookDelivery.objects.get().status == "ingested"
    event = PipelineEvent.objects.get()
    assert (event.kind, event.source_id) == ("image_delete", "deleted:d1")
    assert event.payload["digest"] == DIGEST and event.payload["tag"] is None
    assert event.payload["image"] == "ghcr.io/5dlabs/controller"


@pytest.mark.django_db
def test_an_event_the_pipeline_refuses_is_kept_and_not_redelivered(client, configured):
    """A 4xx would make the registry redeliver it forever and hold back every later event."""
    body = envelope()
    del body["events"][0]["request"]

    answer = deliver(client, body)

    assert answer.status_code == 202 and answer.json()["status"] == "failed"
    assert "request.host" in WebhookDelivery.objects.get().detail


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["tag", "id", "action"])
def test_a_nul_is_kept_as_a_failed_delivery_and_not_redelivered(client, configured, where):
    """jsonb cannot hold a NUL: this was a 500, nothing stored, and the registry redelivered it
    forever with every later event behind it."""
    body = envelope(event_id="ev-nul")
    event = body["events"][0]
    if where == "tag":
        event["target"]["tag"] = "v1\u0000"
    else:
        event[where] = event[where] + "\u0000"

    answer = deliver(client, body)

    assert answer.status_code == 202 and answer.json()["status"] == "failed"
    delivery = WebhookDelivery.objects.get()
    assert "U+0000" in delivery.detail and delivery.status == "failed"
    assert not PipelineEvent.objects.exists()


def test_a_large_envelope_is_answered_before_it_is_processed(transactional_db, client, configured):
    """Each push is ingested on its own; 2,000 of them took 46 s, far past the registry's
    timeout, so it redelivered. Now the envelope is stored and answered, then processed by the
    web process's delivery worker (benchmarks/registry_webhook.py measures it)."""
    body = {
        "events": [envelope(tag=f"v1.0.{n}", event_id=f"big-{n}")["events"][0] for n in range(60)]
    }

    answer = deliver(client, body)
    assert answer.status_code == 202 and answer.json()["status"] == "received"
    deliveries.start()
    try:
        delivery = wait_for(
            lambda: WebhookDelivery.objects.exclude(status="received").first(), timeout=60
        )
    finally:
        deliveries.stop()
    assert (delivery.status, delivery.events_recorded) == ("ingested", 60), delivery.detail
    assert ImageTag.objects.count() == 60
    from cdportal.live import broadcast

    broadcast.flush()
    broadcast.close_connections()


# --- deletions (issue 13, item 3) ------------------------------------------------------------


def test_a_deleted_manifest_leaves_the_tag_list_and_comes_back_when_pushed_again(
    notifying_registry, pusher, unique, client, bob
):
    client.force_login(bob)
    repo = unique()
    image = notifying_registry.image(repo)
    push = pusher(notifying_registry)
    old = push.image(repo, "v1.0.0", created="2026-01-01T00:00:00Z")
    push.image(repo, "v1.1.0", created="2026-02-01T00:00:00Z")
    assert wait_for(lambda: ImageTag.objects.filter(image__name=image).count() == 2)

    push.delete(repo, old)  # the Distribution API, delete enabled: it notifies `delete`

    deleted = wait_for(
        lambda: ImageTag.objects.filter(image__name=image, deleted_at__isnull=False).first()
    )
    assert deleted is not None, f"no delete notification recorded:\n{notifying_registry.log()}"
    assert deleted.tag == "v1.0.0"
    listed = client.get("/api/images/tags", {"image": image}).json()["items"]
    assert [t["tag"] for t in listed] == ["v1.1.0"]
    with_deleted = client.get("/api/images/tags", {"image": image, "deleted": True}).json()
    assert {t["tag"]: bool(t["deleted_at"]) for t in with_deleted["items"]} == {
        "v1.0.0": True,
        "v1.1.0": False,
    }
    assert PipelineEvent.objects.filter(image__name=image, kind="image_delete").exists()

    # The same image pushed again under the tag: the same digest, a new fact.
    again = push.image(repo, "v1.0.0", created="2026-01-01T00:00:00Z")
    assert again == old
    assert wait_for(
        lambda: ImageTag.objects.filter(
            image__name=image, tag="v1.0.0", deleted_at__isnull=True
        ).exists()
    )
