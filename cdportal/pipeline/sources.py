"""What the pipeline hands its pollers and scanners: their state, kept in ``PollState`` rows
(the protocol: ``cdportal.adapters.state.StateStore``)."""

from __future__ import annotations

from collections.abc import Iterable

from cdportal.pipeline.models import PollState


class PollStates:
    def load(self, source: str, key: str) -> PollState:
        state, _ = PollState.objects.get_or_create(source=source, key=key)
        return state

    def save(self, record: PollState, fields: Iterable[str] | None = None) -> None:
        record.save(update_fields=list(fields) if fields is not None else None)

    def delete(self, source: str, key: str) -> None:
        PollState.objects.filter(source=source, key=key).delete()
