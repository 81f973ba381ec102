"""The simulated GitHub's webhook deliveries: signed as GitHub signs them, sent in order by one
thread, to the server's `/api/webhooks/github`.

Each delivery is a POST of the JSON payload with `X-GitHub-Event`, a fresh `X-GitHub-Delivery`
id and `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the webhook secret>`
(docs/github.md). One thread keeps them in the order the changes happened, and lets
whatever changed the state answer first: a request from cdportal (a dispatch) is answered
before the webhook it causes reaches cdportal, as on GitHub. The same thread runs the other
follow-ups queued with `call` (the demo re-reads the repository after a push), in order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

PATH = "/api/webhooks/github"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    action: str
    status: int  # the server's answer (0: not reached)


class Hooks:
    def __init__(self, url: str, secret: str, *, timeout: float = 15):
        self.url, self.secret = url.rstrip("/") + PATH, secret
        self.client = httpx.Client(timeout=timeout)
        self.delivered: list[Delivery] = []
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._work, name="github-webhooks", daemon=True)
        self._thread.start()

    def send(self, event: str, payload: dict) -> None:
        """Deliver `payload` as an `event` webhook, after everything queued before it."""
        self._queue.put(lambda: self._deliver(event, payload))

    def call(self, work: Callable[[], None]) -> None:
        """Run `work` in the delivery thread, after everything queued before it."""
        self._queue.put(work)

    def drain(self, timeout: float = 30) -> bool:
        """Wait until everything queued so far is done; False after `timeout` seconds."""
        done = threading.Event()
        self._queue.put(done.set)
        return done.wait(timeout)

    def close(self) -> None:
        """Stop: what is still queued is dropped (the server is going away with the demo)."""
        self._closing.set()
        self._queue.put(None)
        self._thread.join(15)  # at most the delivery under way
        self.client.close()

    def _work(self) -> None:
        while (work := self._queue.get()) is not None:
            if self._closing.is_set():
                continue
            try:
                work()
            except Exception:
                log.exception("simulated GitHub: a follow-up failed")

    def _deliver(self, event: str, payload: dict) -> None:
        body = json.dumps(payload).encode()
        delivery = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/demo",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": signature(self.secret, body),
        }
        try:
            status = self.client.post(self.url, content=body, headers=headers).status_code
        except httpx.TransportError as e:
            log.warning("simulated GitHub: delivering %s to %s failed: %s", event, self.url, e)
            status = 0
        else:
            if status >= 300:
                log.warning("simulated GitHub: %s delivery answered %s", event, status)
        self.delivered.append(Delivery(delivery, event, payload.get("action") or "", status))
