"""Where a source delivers its normalized events: the protocol every source writes to.

Every source — the demo simulator, GitHub, the registry, Kubernetes — writes to an
``EventSink`` passed in. The pipeline provides them (``cdportal.pipeline.sinks``): ``LocalSink``
in the server process (straight into the ingestion service), ``HttpSink`` from another process
(``POST /api/events``), so the event is ingested, and broadcast, by the server that holds the
browsers' websockets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class EventSink(Protocol):
    def emit(self, event: Mapping[str, Any]) -> bool:
        """Deliver one event; True when it was new, False when already recorded."""

    def emit_many(self, events: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Deliver events in order, as `emit` one by one would (a sink may write them in one
        transaction); for each, whether it was new."""
