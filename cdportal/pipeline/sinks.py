"""The event sinks the pipeline gives its sources (the protocol: ``cdportal.adapters.sinks``).

``LocalSink`` ingests in this process; ``HttpSink`` POSTs to ``/api/events`` of the cdportal
server that holds the browsers' websockets, so the event is ingested, and broadcast, there.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from cdportal.adapters.errors import AdapterError
from cdportal.core.events import InvalidEvent
from cdportal.pipeline.ingest import ingest, ingest_many


class LocalSink:
    def emit(self, event: Mapping[str, Any]) -> bool:
        return ingest(dict(event)).created

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[bool]:
        """A batch in one transaction (cdportal.pipeline.ingest.ingest_many)."""
        return [result.created for result in ingest_many(dict(e) for e in events)]


class HttpSink:
    """POSTs events to a cdportal server with a bearer token, retrying while it is unreachable."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0, retries: int = 5):
        self.url = base_url.rstrip("/") + "/api/events"
        self.retries = retries
        self.client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})

    def emit(self, event: Mapping[str, Any]) -> bool:
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(self.url, json=dict(event))
            except httpx.TransportError as e:
                if attempt == self.retries:
                    raise AdapterError(
                        f"cdportal at {self.url} is unreachable: {type(e).__name__}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 8)
                continue
            return self._result(response)
        raise AssertionError("unreachable")

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[bool]:
        return [self.emit(event) for event in events]

    def _result(self, response: httpx.Response) -> bool:
        if response.status_code in (200, 201):
            return response.status_code == 201
        detail = _detail(response)
        if response.status_code == 422:
            raise InvalidEvent(detail)
        permanent = response.status_code in (401, 403, 404)
        raise AdapterError(
            f"POST {self.url} answered {response.status_code}: {detail}", permanent=permanent
        )

    def close(self) -> None:
        self.client.close()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:500]
    except ValueError:
        return response.text[:200]
