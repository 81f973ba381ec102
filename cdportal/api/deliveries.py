"""Webhook deliveries processed after their answer, in one background thread per process.

A sender waits for the answer: the Distribution registry gives up after its endpoint timeout
(2 s in the configuration docs/testing.md §1 uses) and redelivers forever, GitHub after 10 s.
Each event is ingested in its own transaction (``cdportal.pipeline.ingest``), some 20 ms apiece, so an
envelope of 2,000 pushes took 46 s. The view stores the delivery first (WebhookDelivery.receive
commits it), answers 202, and hands the rest to this thread; the delivery row says how it ended.

One thread keeps deliveries in the order they arrived, as the registry sends them. A process that
stops before the thread is done leaves the delivery `received`: the registry's scanner
(`scan-registry --watch`) records the same pushes on its next scan, as for any missed notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections

log = logging.getLogger(__name__)

# Up to this many events are processed while the sender waits, so the answer says how it ended.
INLINE_EVENTS = 20

_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdportal-deliveries")


def later(process: Callable[[int], None], delivery_pk: int) -> None:
    """Run process(delivery_pk) in the background thread."""
    _worker.submit(_run, process, delivery_pk)


def _run(process: Callable[[int], None], delivery_pk: int) -> None:
    try:
        process(delivery_pk)
    except Exception:  # the delivery row keeps what was done; nothing else to tell
        log.exception("processing webhook delivery %s failed", delivery_pk)
    finally:
        close_old_connections()


def drain(timeout: float = 30.0) -> bool:
    """Wait until every delivery handed over so far is processed (tests, benchmarks)."""
    try:
        _worker.submit(lambda: None).result(timeout)
    except TimeoutError:
        return False
    return True


def close_connections() -> None:
    """Close the background thread's database connection (test teardown, shutdown)."""
    _worker.submit(connections.close_all).result()
