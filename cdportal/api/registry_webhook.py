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

The view only checks and stores (one insert) and answers; a delivery worker
(cdportal/api/deliveries.py) processes the stored envelope after the answer, created-time
lookups included, and the delivery row (admin: Webhook deliveries) says how it ended.

Answers: 503 no token configured; 401 missing or wrong token (nothing stored); 415 another
content type; 400 a body that is not an envelope; 200 pulls and duplicates (the same event id
again); 202 stored: `received` (processed next), or at once `failed` for events that are not
valid and `ignored` for envelopes that record nothing (a 4xx would make the registry redeliver
forever and hold every later event behind it). 500 only when storing fails (the database): the
registry redelivers, and a failed delivery is processed again.

A payload the database cannot hold — a NUL or a lone surrogate in any string, both valid JSON
escapes — is stored with those characters replaced by U+FFFD, marked failed with where they were,
and answered 202 like any other invalid event: the registry only ever sent it because a pusher
named something that way, and redelivering it forever (what a 400 or a 500 gets) would hold every
later push behind it. Nothing of it is ingested.
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
from cdportal.core.events import InvalidEvent, parse_event
from cdportal.core.text import first_unstorable, storable
from cdportal.pipeline import publish
from cdportal.pipeline.changes import Changes
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
    if unstorable:
        verdict = (
            WebhookDelivery.Status.FAILED,
            f"not processed: {unstorable} is a character the database cannot store "
            "(a NUL or a lone surrogate)",
        )
    else:
        verdict = _check(events)
    delivery = _receive(delivery_id, actions, payload, *verdict)
    if delivery is None:
        return JsonResponse({"duplicate": True, "delivery": delivery_id}, status=200)
    if delivery.status == WebhookDelivery.Status.RECEIVED:
        deliveries.wake()
    elif delivery.status == WebhookDelivery.Status.FAILED:
        log.warning("registry delivery %s failed: %s", delivery.delivery_id, delivery.detail)
    return _outcome(delivery)


def _check(events: list[dict]) -> tuple[str, str]:
    """What can be told before processing, without calling out: the status to store the
    envelope with and why."""
    Status = WebhookDelivery.Status
    pushes, notes, problems = 0, [], []
    for item in events:
        try:
            data, note = _push(item, lookup=False)
            if data is not None:
                parse_event(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            problems.append(
                f"event {item.get('id', '?')}: unexpected shape ({type(e).__name__}: {e})"
            )
            continue
        except InvalidEvent as e:
            problems.append(f"{data['source_id']}: {e}")
            continue
        if data is None:
            notes.append(note)
        else:
            pushes += 1
    if problems:
        return Status.FAILED, "; ".join(problems + notes)
    if not pushes:
        return Status.IGNORED, "; ".join(dict.fromkeys(notes)) or "no events"
    return Status.RECEIVED, "queued"


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


def _receive(
    delivery_id: str, actions: list[str], payload: dict, status: str, detail: str
) -> WebhookDelivery | None:
    event = ",".join(dict.fromkeys(a or "?" for a in actions)) or "empty"
    target = (payload["events"][0].get("target") if payload["events"] else None) or {}
    repository = target.get("repository") if isinstance(target, dict) else None
    return WebhookDelivery.receive(
        SOURCE,
        delivery_id,
        event=event,
        action="",
        payload=payload,
        queue=f"{SOURCE}:{repository if isinstance(repository, str) else ''}",
        status=status,
        detail=detail,
    )


def process(delivery: WebhookDelivery) -> None:
    """Ingest the stored envelope's pushes and deletes and record the outcome (a delivery
    worker, in the transaction that claimed it: an exception rolls all of it back)."""
    Status = WebhookDelivery.Status
    recorded, pushes, notes, problems, changes = 0, 0, [], [], Changes()
    for item in delivery.payload["events"]:
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
            result = ingest(data, broadcast=False)  # a savepoint in the delivery's transaction
            recorded += result.created
            changes.merge(result.changes)
        except InvalidEvent as e:
            problems.append(f"{data['source_id']}: {e}")
    if changes:  # one update of the live pages for the whole envelope
        publish.after_commit(changes)
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


def _push(event: dict, *, lookup: bool = True) -> tuple[dict | None, str]:
    """An image_push event for a tagged manifest push, or None and why not. `lookup`: ask the
    registry for the image's created time."""
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
    created, note = _created(host.lower(), repository, digest) if lookup else (None, "")
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
