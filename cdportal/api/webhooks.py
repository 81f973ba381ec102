"""GitHub's webhooks: `POST /api/webhooks/github`, authenticated by its signature alone.

Reference: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers.

A delivery is verified (HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET, compared in
constant time), stored as a WebhookDelivery before anything else happens, turned into pipeline
events by ``cdportal.adapters.github.events`` and ingested one by one through the one ingestion
path; the delivery then records what came of it. The same delivery id twice is answered
`{"duplicate": true}` and changes nothing — unless the first attempt failed: GitHub's
"Redeliver" keeps the delivery id, so a failed delivery is processed again.

Answers: 503 no secret configured; 401 missing or wrong signature; 400 missing headers or a
body that is not a JSON object; 200 ping and duplicates; 202 everything stored, including
deliveries that recorded nothing (ignored) and those whose payload could not be turned into
valid events (failed: GitHub does not retry a 4xx, and the payload is kept for a redelivery after
a fix). 500 only when recording itself fails (the database), so GitHub shows the delivery red.
Nothing here calls out; the secret and the signature are never logged.

A payload the database cannot hold — a NUL or a lone surrogate in any string, valid JSON escapes
both — was a 500 with nothing stored, and every redelivery failed the same way. It is now stored
with those characters replaced by U+FFFD, failed with where they were, and answered 202 like any
other payload that makes no valid events: GitHub does not retry a 2xx or a 4xx on its own, and a
2xx keeps the delivery green in its list while the reason is in ours. Nothing of it is ingested.

A delivery that makes more than ``deliveries.INLINE_EVENTS`` events (a push of many commits) is
answered 202 `received` once stored and processed after the answer
(cdportal/api/deliveries.py): GitHub gives up after 10 s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from functools import partial

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdportal.adapters.github.events import from_webhook
from cdportal.api import deliveries
from cdportal.api.inputs import CONTROL
from cdportal.core.events import InvalidEvent
from cdportal.core.text import first_unstorable, storable
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import BuildRun, WebhookDelivery

log = logging.getLogger(__name__)

SOURCE = "github"
SIGNATURE_PREFIX = "sha256="


@csrf_exempt
@login_not_required
@require_POST
def github(request: HttpRequest) -> JsonResponse:
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        return _answer(
            503,
            "GitHub webhooks are not configured: set GITHUB_WEBHOOK_SECRET "
            "(or GITHUB_WEBHOOK_SECRET_FILE) to the webhook's secret",
        )
    try:
        body = request.body
    except RequestDataTooBig:
        return _answer(413, "payload larger than DATA_UPLOAD_MAX_MEMORY_SIZE")
    if not _signed(body, request.headers.get("X-Hub-Signature-256", ""), secret):
        return _answer(401, "missing or invalid X-Hub-Signature-256")
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    event = request.headers.get("X-GitHub-Event", "").strip()
    if (
        not delivery_id
        or not event
        or len(delivery_id) > 100
        or len(event) > 64
        or CONTROL.search(delivery_id + event)
    ):
        return _answer(
            400,
            "X-GitHub-Delivery and X-GitHub-Event headers are required "
            "(printable, at most 100 and 64 characters)",
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(
            400, "the body is not JSON (set the webhook's content type to application/json)"
        )
    if not isinstance(payload, dict):
        return _answer(400, "the body is not a JSON object")

    unstorable = first_unstorable(payload)
    if unstorable:
        payload = storable(payload)
    delivery = _receive(delivery_id, event, payload)
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
        return _outcome(delivery)
    if event == "ping":
        _finish(delivery, WebhookDelivery.Status.IGNORED, "ping", 0)
        return JsonResponse({"detail": "pong", "delivery": delivery_id}, status=200)
    return _process(delivery, event, payload)


def _signed(body: bytes, header: str, secret: str) -> bool:
    if not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip())


def _receive(delivery_id: str, event: str, payload: dict) -> WebhookDelivery | None:
    action = payload.get("action") if isinstance(payload.get("action"), str) else ""
    return WebhookDelivery.receive(SOURCE, delivery_id, event=event, action=action, payload=payload)


def _process(delivery: WebhookDelivery, event: str, payload: dict) -> JsonResponse:
    Status = WebhookDelivery.Status
    try:
        events = from_webhook(
            event,
            payload,
            build_workflows=_build_workflows(),
            known_runs=_known_runs(event, payload),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        # A payload without the fields its event documents: keep it, say so, don't make GitHub retry.
        _finish(delivery, Status.FAILED, f"unexpected {event} payload: {type(e).__name__}: {e}", 0)
        return _outcome(delivery)
    if not events:
        action = f".{delivery.action}" if delivery.action else ""
        _finish(delivery, Status.IGNORED, f"{event}{action}: nothing the pipeline tracks", 0)
        return _outcome(delivery)
    if len(events) > deliveries.INLINE_EVENTS:
        deliveries.later(partial(_ingest_stored, event=event, events=events), delivery.pk)
        delivery.detail = f"{len(events)} events: processed after this answer"
        return _outcome(delivery)
    if not _ingest(delivery, event, events):
        return _answer(500, "recording the delivery's events failed; it can be redelivered")
    return _outcome(delivery)


def _ingest_stored(delivery_pk: int, *, event: str, events: list[dict]) -> None:
    _ingest(WebhookDelivery.objects.get(pk=delivery_pk), event, events)


def _ingest(delivery: WebhookDelivery, event: str, events: list[dict]) -> bool:
    """Ingest the delivery's events and record the outcome; False when recording failed."""
    Status = WebhookDelivery.Status
    recorded, problems = 0, []
    for data in events:
        try:
            result = ingest(data)  # its own transaction
        except InvalidEvent as e:
            problems.append(f"{data.get('kind')} {data.get('source_id')}: {e}")
            continue
        except Exception:
            log.exception(
                "GitHub delivery %s (%s): ingesting %s failed",
                delivery.delivery_id,
                event,
                data.get("source_id"),
            )
            _finish(
                delivery,
                Status.FAILED,
                f"recording {data.get('source_id')} failed "
                f"after {recorded} new events; see the server log",
                recorded,
            )
            return False
        recorded += result.created
    if problems:
        _finish(delivery, Status.FAILED, "invalid events: " + "; ".join(problems), recorded)
    else:
        detail = (
            f"{len(events)} events, {recorded} new"
            if len(events) > 1
            else ("recorded" if recorded else "already recorded")
        )
        _finish(delivery, Status.INGESTED, detail, recorded)
    return True


def _build_workflows() -> list[str]:
    return [name.strip() for name in settings.GITHUB_BUILD_WORKFLOW.split(",") if name.strip()]


def _known_runs(event: str, payload: dict) -> dict[int, str]:
    """For a workflow_job: its run, when a build run by that id is recorded (jobs do not name
    their workflow file)."""
    if event != "workflow_job":
        return {}
    job = payload.get("workflow_job") or {}
    repo = (payload.get("repository") or {}).get("full_name")
    run_id = job.get("run_id")
    if not repo or not isinstance(run_id, int):
        return {}
    run = BuildRun.objects.filter(repository__full_name=repo, run_id=run_id).first()
    return {run_id: run.workflow} if run else {}


def _finish(delivery: WebhookDelivery, status: str, detail: str, recorded: int) -> None:
    delivery.status, delivery.detail, delivery.events_recorded = status, detail[:5000], recorded
    delivery.save(update_fields=["status", "detail", "events_recorded"])
    if status == WebhookDelivery.Status.FAILED:
        log.warning(
            "GitHub delivery %s (%s) failed: %s", delivery.delivery_id, delivery.event, detail
        )


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


def _answer(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)
