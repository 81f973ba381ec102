"""Where a poller or scanner keeps what it has seen between rounds, as a protocol: the adapters
read and write it without knowing that the pipeline keeps it in ``PollState`` rows
(``cdportal.pipeline.sources.PollStates`` wires that in)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

ETAG_LENGTH = 200  # the longest validator a record keeps
LAST_MODIFIED_LENGTH = 100


class PollRecord(Protocol):
    """Where a poller stands for one resource (one per `(source, key)`)."""

    etag: str
    last_modified: str
    cursor: dict[str, Any]
    polled_at: datetime | None
    changed_at: datetime | None
    next_poll_at: datetime | None
    status: str  # ok, not_modified, unchanged, skipped, rate_limited, error
    detail: str
    rate_limit: int | None
    rate_remaining: int | None
    rate_reset: datetime | None
    requests: int
    not_modified: int


class StateStore(Protocol):
    def load(self, source: str, key: str) -> PollRecord:
        """The stored record as it is now, created empty when there is none."""

    def save(self, record: PollRecord, fields: Iterable[str] | None = None) -> None:
        """Store the record (only `fields`, when given)."""

    def delete(self, source: str, key: str) -> None:
        """Forget the record."""
