"""Webhook deliveries: acknowledged after one insert, processed behind by delivery workers.

A sender waits for the answer: the Distribution registry gives up after its endpoint timeout
(2 s in the configuration docs/testing.md §1 uses) and redelivers forever, GitHub after 10 s.
So a webhook view checks who sent it and that it is well formed, stores the delivery with ONE
insert (``WebhookDelivery.receive``, committed at once) and answers; nothing else happens while
the sender waits. The stored row is the queue: a delivery worker claims the oldest delivery
still `received`, turns it into events, ingests them and records how it ended — all in one
transaction, so a worker that dies half-way (killed, a crash, the machine gone) leaves the row
`received` with nothing of it written, and the next worker takes it again. Ingesting is
idempotent (``cdportal.pipeline.ingest`` records each fact once), so a delivery processed twice
changes nothing the second time.

Why the delivery table and not a queue of its own (docs/deliveries.md has the longer version):
the row must be stored before the answer anyway (it is what makes a delivery durable and
replays detectable), so one insert is both the record and the job; no second system to run,
no second write, and procrastinate or Celery would be new dependencies. Claiming:

- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` on the oldest `received` row whose queue (a
  source's repository) holds no older `received` row. Several workers run side by side without
  waiting for each other's rows; the row lock is held by the processing transaction and goes
  with its connection, so a dead worker's delivery is free again at once.
- SQLite: every cdportal transaction there starts with BEGIN IMMEDIATE, so one transaction
  claims and processes at a time: a single drain, in order.

Order: deliveries of one queue are processed in the order they were stored, one at a time (a
later one is not claimable while an older one is `received`, locked or not); the queues of
different repositories need no order between them (ingest correlates events whichever comes
first).

Where it runs: every web process drains in a background thread (``start``), woken by each
delivery it stores and every ``POLL_SECONDS`` otherwise, so a single process needs nothing
more. ``manage.py process-deliveries`` runs dedicated workers (set WEBHOOK_WORKER_IN_WEB=false
on the web processes then, or keep both: they share the queue).
"""

from __future__ import annotations

import logging
import threading

from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.db.models import Exists, OuterRef

from cdportal.pipeline.models import WebhookDelivery

log = logging.getLogger(__name__)

# How often an idle worker looks for deliveries nobody woke it for (stored by another process,
# or left by one that died).
POLL_SECONDS = 5.0


def claim() -> WebhookDelivery | None:
    """Lock the next delivery to process: the oldest `received` one with nothing older pending
    in its queue. Call inside the transaction that processes it."""
    Status = WebhookDelivery.Status
    older = WebhookDelivery.objects.filter(
        status=Status.RECEIVED, queue=OuterRef("queue"), pk__lt=OuterRef("pk")
    )
    pending = WebhookDelivery.objects.filter(status=Status.RECEIVED).filter(~Exists(older))
    if connection.features.has_select_for_update_skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    return pending.order_by("pk").first()


def process_next() -> bool:
    """Claim and process one delivery in a transaction of its own; False when none is waiting.

    A database that went away leaves the delivery `received` (the error propagates; the worker
    tries again later); anything else fails the delivery with the reason in the server log."""
    pk = None
    try:
        with transaction.atomic():
            delivery = claim()
            if delivery is None:
                return False
            pk = delivery.pk
            _processor(delivery.source)(delivery)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("processing webhook delivery %s failed", pk)
        if pk is None:
            raise
        WebhookDelivery.objects.filter(pk=pk, status=WebhookDelivery.Status.RECEIVED).update(
            status=WebhookDelivery.Status.FAILED,
            detail="processing failed; see the server log",
        )
    return True


def process_pending() -> int:
    """Process deliveries in this thread until none is waiting; how many were processed."""
    done = 0
    while process_next():
        done += 1
    return done


def _processor(source: str):
    # The views import this module; their processing functions are looked up when needed.
    from cdportal.api import registry_webhook, webhooks

    return {webhooks.SOURCE: webhooks.process, registry_webhook.SOURCE: registry_webhook.process}[
        source
    ]


def run(*, stop: threading.Event, wake: threading.Event, poll: float = POLL_SECONDS) -> None:
    """A worker: drain the queue, wait for a wake-up or `poll` seconds, again, until `stop`."""
    try:
        while not stop.is_set():
            wake.clear()
            try:
                process_pending()
            except Exception:  # the database went away: keep the rows, try again later
                log.exception("the delivery worker could not reach the database")
                connections.close_all()
            finally:
                close_old_connections()
            wake.wait(poll)
    finally:
        connections.close_all()


# --- the web process's background worker -----------------------------------------------------

_stop = threading.Event()
_wake = threading.Event()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def start() -> None:
    """Start this process's background worker, once; it first takes what is already waiting."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(
            target=run,
            kwargs={"stop": _stop, "wake": _wake},
            name="cdportal-deliveries",
            daemon=True,
        )
        _thread.start()


def wake() -> None:
    """A delivery was stored: have this process's worker look now (when it runs one)."""
    _wake.set()


def stop(timeout: float = 30.0) -> None:
    """Stop the background worker after the delivery it is on (tests, shutdown)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return
    _stop.set()
    _wake.set()
    thread.join(timeout)
