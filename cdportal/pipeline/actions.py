"""What people do to the pipeline. One keyword-only function per verb (in the modules that own
the outside system's calls); all of them go through `perform`, which:

- refuses without the permission, before anything is written;
- records the Action row *before* calling out (outside any enclosing transaction, so a failure
  still leaves it), and finishes it with the outside system's answer;
- is idempotent per (user, idempotency key): a double click or a retried POST returns the first
  Action instead of calling out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from cdportal.adapters.errors import AdapterError
from cdportal.pipeline.models import Action

log = logging.getLogger(__name__)


class Pending(str):
    """What `call` returns when the outcome comes later: the Action stays running with this
    message, and whoever follows the work finishes it (e.g. a rollout followed in the background)."""


class ActionRefused(Exception):
    """The action was not attempted; the message says why, for the person who asked."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def perform(
    *,
    kind: str,
    target: str,
    by,
    permission: str,
    parameters: dict[str, Any],
    call: Callable[[], str],
    idempotency_key: str = "",
    guard: Callable[[Action], str | None] | None = None,
) -> Action:
    """Record, call, finish. `call` returns a short success message or raises AdapterError.

    `guard(action)`, when given, runs after the Action is recorded and before the call: a
    message from it fails the Action without calling out. Recorded first, so that two requests at
    once see each other (e.g. "another restart is still running")."""
    if not by.has_perm(permission):
        raise ActionRefused(f"{by.get_username()} may not do this: it needs the {permission} permission",
                            status=403)
    by_name = by.get_username()
    if idempotency_key:
        earlier = Action.objects.filter(by_name=by_name, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier
    try:
        with transaction.atomic():
            action = Action.objects.create(
                kind=kind, target=target, by=by, by_name=by_name, parameters=parameters,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:  # the same key, a moment ago, from a concurrent request
        return Action.objects.get(by_name=by_name, idempotency_key=idempotency_key)
    action.announce()  # "running" shows on the pages that list actions
    problem = guard(action) if guard is not None else None
    if problem:
        log.info("%s on %s by %s refused: %s", kind, target, by_name, problem)
        return action.finish(error=problem)
    try:
        message = call()
    except AdapterError as e:
        log.info("%s on %s by %s failed: %s", kind, target, by_name, e)
        return action.finish(error=str(e))
    except Exception:
        log.exception("%s on %s by %s failed unexpectedly", kind, target, by_name)
        action.finish(error="cdportal failed while doing this; the error is in its log")
        raise
    if isinstance(message, Pending):
        action.message = str(message)
        action.save(update_fields=["message"])
        action.announce()
        return action
    return action.finish(message=message)
