"""GitHub's webhooks: `POST /api/webhooks/github`, authenticated by its signature alone.

Reference: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers.

A delivery is verified (HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET, compared in
constant time), checked (headers, a JSON object, events that parse) and stored as a
WebhookDelivery with one insert; then it is answered. A delivery worker
(cdportal/api/deliveries.py) processes it after the answer: turned into pipeline events by
``cdportal.adapters.github.events``, ingested through the one ingestion path, and the delivery
records what came of it. The same delivery id twice is answered `{"duplicate": true}` and
changes nothing — unless the first attempt failed: GitHub's "Redeliver" keeps the delivery id,
so a failed delivery is processed again.

Answers: 503 no secret configured; 401 missing or wrong signature; 400 missing headers or a
body that is not a JSON object; 200 ping and duplicates; 202 everything stored: `received`
(processed next), or at once `ignored` (nothing the pipeline tracks) or `failed` (a payload
that cannot be turned into valid events: GitHub does not retry a 4xx, and the payload is kept
for a redelivery after a fix). 500 only when storing fails (the database), so GitHub shows the
delivery red. Nothing here calls out; the secret and the signature are never logged. A
`workflow_job` is always `received`: whether it is a build's job depends on the runs recorded
when it is processed.

A payload the database cannot hold — a NUL or a lone surrogate in any string, valid JSON escapes
both — was a 500 with nothing stored, and every redelivery failed the same way. It is now stored
with those characters replaced by U+FFFD, failed with where they were, and answered 202 like any
other payload that makes no valid events: GitHub does not retry a 2xx or a 4xx on its own, and a
2xx keeps the delivery green in its list while the reason is in ours. Nothing of it is ingested.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cdportal.adapters.github.events import from_webhook
from cdportal.api import deliveries
from cdportal.api.inputs import CONTROL
from cdportal.core.events import InvalidEvent, parse_event
from cdportal.core.text import first_unstorable, storable
from cdportal.pipeline import publish
from cdportal.pipeline.changes import Changes
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
        verdict = (
            WebhookDelivery.Status.FAILED,
            f"not processed: {unstorable} is a character the database cannot store "
            "(a NUL or a lone surrogate)",
        )
    elif event == "ping":
        verdict = (WebhookDelivery.Status.IGNORED, "ping")
    else:
        verdict = _check(event, payload)
    delivery = _receive(delivery_id, event, payload, *verdict)
    if delivery is None:
        return JsonResponse({"duplicate": True, "delivery": delivery_id}, status=200)
    if event == "ping" and not unstorable:
        return JsonResponse({"detail": "pong", "delivery": delivery_id}, status=200)
    if delivery.status == WebhookDelivery.Status.RECEIVED:
        deliveries.wake()
    elif delivery.status == WebhookDelivery.Status.FAILED:
        _log_failed(delivery)
    return _outcome(delivery)


def _check(event: str, payload: dict) -> tuple[str, str]:
    """What can be told before processing, without the database: the status to store the
    delivery with and why."""
    Status = WebhookDelivery.Status
    if event == "workflow_job":  # a build's job or not: known from the runs recorded by then
        return Status.RECEIVED, "queued"
    try:
        events = from_webhook(event, payload, build_workflows=_build_workflows())
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        # A payload without the fields its event documents: keep it, say so, don't make GitHub retry.
        return Status.FAILED, f"unexpected {event} payload: {type(e).__name__}: {e}"
    if not events:
        action = payload.get("action")
        action = f".{action}" if isinstance(action, str) and action else ""
        return Status.IGNORED, f"{event}{action}: nothing the pipeline tracks"
    problems = []
    for data in events:
        try:
            parse_event(data)
        except InvalidEvent as e:
            problems.append(f"{data.get('kind')} {data.get('source_id')}: {e}")
    if problems:
        return Status.FAILED, "invalid events: " + "; ".join(problems)
    return Status.RECEIVED, f"{len(events)} events: queued" if len(events) > 1 else "queued"


def _signed(body: bytes, header: str, secret: str) -> bool:
    if not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip())


def _receive(
    delivery_id: str, event: str, payload: dict, status: str, detail: str
) -> WebhookDelivery | None:
    action = payload.get("action") if isinstance(payload.get("action"), str) else ""
    repository = payload.get("repository")
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return WebhookDelivery.receive(
        SOURCE,
        delivery_id,
        event=event,
        action=action,
        payload=payload,
        queue=f"{SOURCE}:{name if isinstance(name, str) else ''}",
        status=status,
        detail=detail,
    )


def process(delivery: WebhookDelivery) -> None:
    """Turn a stored delivery into events and ingest them (a delivery worker, in the
    transaction that claimed it: an exception rolls all of it back)."""
    Status = WebhookDelivery.Status
    event, payload = delivery.event, delivery.payload
    try:
        events = from_webhook(
            event,
            payload,
            build_workflows=_build_workflows(),
            known_runs=_known_runs(event, payload),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        _finish(delivery, Status.FAILED, f"unexpected {event} payload: {type(e).__name__}: {e}", 0)
        return
    if not events:
        action = f".{delivery.action}" if delivery.action else ""
        _finish(delivery, Status.IGNORED, f"{event}{action}: nothing the pipeline tracks", 0)
        return
    recorded, problems, changes = 0, [], Changes()
    for data in events:
        try:
            result = ingest(data, broadcast=False)  # a savepoint in the delivery's transaction
            recorded += result.created
            changes.merge(result.changes)
        except InvalidEvent as e:
            problems.append(f"{data.get('kind')} {data.get('source_id')}: {e}")
    if changes:  # one update of the live pages for the whole delivery
        publish.after_commit(changes)
    if problems:
        _finish(delivery, Status.FAILED, "invalid events: " + "; ".join(problems), recorded)
    else:
        detail = (
            f"{len(events)} events, {recorded} new"
            if len(events) > 1
            else ("recorded" if recorded else "already recorded")
        )
        _finish(delivery, Status.INGESTED, detail, recorded)


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
        _log_failed(delivery)


def _log_failed(delivery: WebhookDelivery) -> None:
    log.warning(
        "GitHub delivery %s (%s) failed: %s", delivery.delivery_id, delivery.event, delivery.detail
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
