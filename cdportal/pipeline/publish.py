"""Where committed changes go. pipeline does not know who shows them.

Data flows one way: ingest (and an Action starting or finishing) records rows, and after its
transaction commits hands the changed ids (`Changes`) to the publisher registered here. The live
app registers its broadcaster when Django is ready (cdportal/live/apps.py); pipeline never
imports live. With none registered (a process without the live app) changes go nowhere: the
rows are the truth, and pages show them on their next load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from cdportal.pipeline.changes import Changes


@dataclass(frozen=True)
class Publisher:
    publish: Callable[[Changes], None]  # queue the changes for the browsers; returns at once
    flush: Callable[[float], bool]  # wait until everything queued is sent (short-lived commands)
    # Why changes published by this process reach no other process's browsers; "" when they do.
    isolation: Callable[[], str]


_publisher: Publisher | None = None


def register(publisher: Publisher) -> None:
    """Send committed changes to `publisher` from now on (replaces an earlier one)."""
    global _publisher
    _publisher = publisher


def after_commit(changes: Changes) -> None:
    """Publish `changes` once the enclosing transaction commits — never before, never on rollback
    (outside a transaction: now)."""
    transaction.on_commit(lambda: publish(changes))


def publish(changes: Changes) -> None:
    if _publisher is not None:
        _publisher.publish(changes)


def flush(timeout: float = 10.0) -> bool:
    """Wait until what this process published is sent (commands that exit or sleep next)."""
    return _publisher.flush(timeout) if _publisher is not None else True


def isolation() -> str:
    """Why this process's changes reach no open page until it is reloaded ("": they do)."""
    return _publisher.isolation() if _publisher is not None else ""
