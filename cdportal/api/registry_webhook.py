"""The Distribution registry's notifications: `POST /api/webhooks/registry`.

Reference: https://distribution.github.io/distribution/about/notifications/ (the envelope,
`application/vnd.docker.distribution.events.v1+json`) and docs/registry.md (how registry 2.8.2 delivers: one event per POST, redelivered forever
on anything but 2xx/3xx, a 3xx counts as delivered).

The registry is configured with an endpoint whose `headers` carry `Authorization: Bearer
<REGISTRY_WEBHOOK_TOKEN>`; the token is compared in constant time. An envelope of pulls only is
answered 200 and not stored (the Image Updater's checks would fill the table with them). Any
other envelope is stored as a WebhookDelivery (source "registry", delivery id = its first
event's id, else a hash of the body) before anything else, then each `push` of a manifest with
a tag becomes an `image_push` event, and each `delete` (of a manifest by digest: every tag on
it; or of one tag) an `image_delete` event, ingested through the one ingestion path. Tagless
pushes (an index's children, blobs) are ignored.

The event's image is `HOST/REPOSITORY`. HOST is REGISTRY_PUBLIC_HOST when set (a registry that
is reached under an internal name but known by another); otherwise the host the push was sent to
(`request.host`), which is the name the pusher — and so the Image Updater — uses. Its source id is
`IMAGE:TAG@DIGEST`, exactly what the scanner (``cdportal.adapters.registry.scanner``) gives the
same push, so the two paths never record it twice.

The envelope carries no created time. The view asks the registry for it (the manifest and its
config blob, by digest, with the scanner's credentials) with a short timeout and no retries; when
that fails the push is recorded without one rather than late.

Answers: 503 no token configured; 401 missing or wrong token (nothing stored); 415 another
content type; 400 a body that is not an envelope; 200 pulls and duplicates (the same event id
again); 202 stored, including envelopes that recorded nothing and events that were not valid
(a 4xx would make the registry redeliver forever and hold every later event behind it). 500
only when recording fails (the database): the registry redelivers, and a failed delivery is
processed again.

A payload the database cannot hold — a NUL or a lone surrogate in any string, both valid JSON
escapes — is stored with those characters replaced by U+FFFD, marked failed with where they were,
and answered 202 like any other invalid event: the registry only ever sent it because a pusher
named something that way, and redelivering it forever (what a 400 or a 500 gets) would hold every
later push behind it. Nothing of it is ingested.

An envelope of more than ``deliveries.INLINE_EVENTS`` events is stored and answered 202
`received` at once, then processed in the background (cdportal/api/deliveries.py): ingesting
2,000 pushes one by one took 46 s, far past the registry's endpoint timeout, so it redelivered
the same envelope forever. The delivery row (admin: Webhook deliveries) says how it ended.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdportal.adapters.registry.client import (
    RegistryClient,
    parse_credentials,
    parse_timestamp,
)
from cdportal.adapters.registry.errors import RegistryError
from cdportal.adapters.registry.scanner import delete_event, push_event
from cdportal.api import deliveries
from cdportal.core.events import InvalidEvent
from cdportal.core.text import first_unstorable, storable
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import WebhookDelivery

log = logging.getLogger(__name__)

SOURCE = "registry"
CONTENT_TYPES = {"application/vnd.docker.distribution.events.v1+json", "application/json"}
# The registry's endpoint timeout is typically 2 s; the created-time lookup must fit well inside.
LOOKUP_TIMEOUT = 1.0


@csrf_exempt
@login_not_required
@require_POST
def registry(request: HttpRequest) -> JsonResponse:
    token = settings.REGISTRY_WEBHOOK_TOKEN
    if not token:
        return _answer(
            503,
            "registry notifications are not configured: set REGISTRY_WEBHOOK_TOKEN "
            "(or REGISTRY_WEBHOOK_TOKEN_FILE) to the token the registry sends",
        )
    if not _authorized(request.headers.get("Authorization", ""), token):
        return _answer(401, "missing or invalid bearer token")
    if request.content_type not in CONTENT_TYPES:
        return _answer(
            415, "expected Content-Type application/vnd.docker.distribution.events.v1+json"
        )
    try:
        body = request.body
    except RequestDataTooBig:
        return _answer(413, "payload larger than DATA_UPLOAD_MAX_MEMORY_SIZE")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "the body is not JSON")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return _answer(400, 'the body is not a notification envelope ({"events": [...]})')

    unstorable = first_unstorable(payload)
    if unstorable:
        payload = storable(payload)
        events = payload["events"]
    actions = [str(e.get("action", "")) for e in events]
    if all(action == "pull" for action in actions):
        return JsonResponse({"detail": f"ignored: {len(events)} pull events"}, status=200)
    delivery_id = _delivery_id(events, body)
    delivery = _receive(delivery_id, actions, payload)
    if delivery is None:
        return JsonResponse({"duplicate": True, "delivery": delivery_id}, status=200)
    if unstorable:
        _finish(
            delivery,
            WebhookDelivery.Status.FAILED,
            f"not processed: {unstorable} is a character the database cannot store "
            "(a NUL or a lone surrogate)",
            0,
        )
    elif len(events) > deliveries.INLINE_EVENTS:
        deliveries.later(_process_stored, delivery.pk)
        delivery.detail = f"{len(events)} events: processed after this answer"
    elif not _process(delivery, events):
        return _answer(
            500, "recording the delivery's events failed; the registry will redeliver it"
        )
    return _outcome(delivery)


def _authorized(header: str, token: str) -> bool:
    scheme, _, presented = header.strip().partition(" ")
    # compare_digest runs in constant time for equal lengths: it reveals only the token's length.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


def _delivery_id(events: list[dict], body: bytes) -> str:
    first = events[0].get("id") if events else None
    if isinstance(first, str) and 0 < len(first.strip()) <= 100:
        return first.strip()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _receive(delivery_id: str, actions: list[str], payload: dict) -> WebhookDelivery | None:
    event = ",".join(dict.fromkeys(a or "?" for a in actions)) or "empty"
    return WebhookDelivery.receive(SOURCE, delivery_id, event=event, action="", payload=payload)


def _process_stored(delivery_pk: int) -> None:
    delivery = WebhookDelivery.objects.get(pk=delivery_pk)
    _process(delivery, delivery.payload["events"])


def _process(delivery: WebhookDelivery, events: list[dict]) -> bool:
    """Ingest the envelope's pushes and record the outcome; False when recording failed."""
    Status = WebhookDelivery.Status
    recorded, pushes, notes, problems = 0, 0, [], []
    for item in events:
        try:
            data, note = _push(item)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            problems.append(
                f"event {item.get('id', '?')}: unexpected shape ({type(e).__name__}: {e})"
            )
            continue
        if data is None:
            notes.append(note)
            continue
        pushes += 1
        if note:
            notes.append(note)
        try:
            result = ingest(data)  # its own transaction
        except InvalidEvent as e:
            problems.append(f"{data['source_id']}: {e}")
            continue
        except Exception:
            log.exception(
                "registry delivery %s: ingesting %s failed", delivery.delivery_id, data["source_id"]
            )
            _finish(
                delivery,
                Status.FAILED,
                f"recording {data['source_id']} failed after "
                f"{recorded} new events; see the server log",
                recorded,
            )
            return False
        recorded += result.created
    if problems:
        _finish(delivery, Status.FAILED, "; ".join(problems + notes), recorded)
    elif pushes:
        detail = (
            ("recorded" if recorded else "already recorded")
            if pushes == 1
            else (f"{pushes} pushes, {recorded} new")
        )
        _finish(delivery, Status.INGESTED, "; ".join([detail, *notes]), recorded)
    else:
        _finish(delivery, Status.IGNORED, "; ".join(dict.fromkeys(notes)) or "no events", 0)
    return True


def _outcome(delivery: WebhookDelivery) -> JsonResponse:
    return JsonResponse(
        {
            "delivery": delivery.delivery_id,
            "status": delivery.status,
            "events_recorded": delivery.events_recorded,
            "detail": delivery.detail,
        },
        status=202,
    )


def _push(event: dict) -> tuple[dict | None, str]:
    """An image_push event for a tagged manifest push, or None and why not."""
    action = event.get("action")
    target = event.get("target") or {}
    if action == "delete":
        return _delete(event, target), ""
    if action != "push":
        return None, f"{action or 'unknown action'}: not recorded"
    tag = target.get("tag")
    if not tag:
        return None, "tagless push (an index's child or a blob): not recorded"
    repository, digest = target["repository"], target["digest"]
    host = _host(event)
    occurred = parse_timestamp(event.get("timestamp")) or timezone.now()
    created, note = _created(host.lower(), repository, digest)
    data = push_event(
        image=f"{host}/{repository}",
        tag=tag,
        digest=digest,
        occurred_at=occurred,
        created_at=created,
    )
    return data, note


def _delete(event: dict, target: dict) -> dict:
    """An image_delete event: a manifest deleted by digest (every tag on it), or one tag."""
    repository = target["repository"]
    tag, digest = target.get("tag") or "", target.get("digest") or ""
    if not tag and not digest:
        raise ValueError("a delete event names neither a tag nor a digest")
    image = f"{_host(event)}/{repository}"
    event_id = event.get("id")
    what = f":{tag}" if tag else f"@{digest}"
    return delete_event(
        image=image,
        tag=tag,
        digest=digest,
        occurred_at=parse_timestamp(event.get("timestamp")) or timezone.now(),
        source_id=f"deleted:{event_id}" if event_id else f"deleted:{image}{what}",
    )


def _host(event: dict) -> str:
    host = settings.REGISTRY_PUBLIC_HOST or (event.get("request") or {}).get("host") or ""
    if not isinstance(host, str) or not host:
        raise ValueError("the event names no request.host; set REGISTRY_PUBLIC_HOST")
    return host


_CLIENTS: dict[str, RegistryClient] = {}
_CLIENTS_LOCK = threading.Lock()


def _known_hosts() -> set[str]:
    hosts = {image.split("/", 1)[0] for image in settings.REGISTRY_IMAGES}
    hosts |= set(settings.REGISTRY_CREDENTIALS)
    if settings.REGISTRY_PUBLIC_HOST:
        hosts.add(settings.REGISTRY_PUBLIC_HOST)
    return hosts


def _created(host: str, repository: str, digest: str):
    """The image's created time from its config, asked quickly or not at all."""
    # Only registries cdportal is configured for: a notification must not make the web
    # process call out to whatever host it names.
    if host not in _known_hosts():
        return None, f"created time not looked up: {host} is not a configured registry"
    try:
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(host)
            if client is None:
                reference = settings.REGISTRY_CREDENTIALS.get(host)
                credentials = parse_credentials(reference) if reference else None
                client = _CLIENTS[host] = RegistryClient(
                    host,
                    credentials=credentials,
                    timeout=LOOKUP_TIMEOUT,
                    retries=0,
                    max_rps=settings.REGISTRY_MAX_RPS or None,
                )
        return client.manifest(repository, digest).created, ""
    except (RegistryError, ValueError) as e:
        log.info(
            "registry notification: no created time for %s/%s@%s: %s", host, repository, digest, e
        )
        return None, f"created time unavailable ({e})"


def _finish(delivery: WebhookDelivery, status: str, detail: str, recorded: int) -> None:
    delivery.status, delivery.detail, delivery.events_recorded = status, detail[:5000], recorded
    delivery.save(update_fields=["status", "detail", "events_recorded"])
    if status == WebhookDelivery.Status.FAILED:
        log.warning("registry delivery %s failed: %s", delivery.delivery_id, detail)


def _answer(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)
