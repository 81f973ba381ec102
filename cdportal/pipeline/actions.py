"""What people do to the pipeline. One keyword-only function per verb (in the modules that own
the outside system's calls); all of them go through `perform`, which:

- records every attempt: one refused without the permission, with invalid input or a failed
  precondition (an operation already running) is an Action with status `refused` and the reason;
- records the Action row *before* calling out (outside any enclosing transaction, so a failure
  still leaves it), and finishes it with the outside system's answer;
- is idempotent per (user, idempotency key): a double click or a retried POST returns the first
  Action instead of calling out twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction

from cdportal.adapters.errors import AdapterError
from cdportal.pipeline.models import Action

log = logging.getLogger(__name__)


class Pending(str):
    """What `call` returns when the outcome comes later: the Action stays running with this
    message, and whoever follows the work finishes it (e.g. a rollout followed in the background).
    `note`: added to the Action's parameters — what the follower needs to know it is done."""

    note: dict

    def __new__(cls, message: str, *, note: dict | None = None):
        pending = super().__new__(cls, message)
        pending.note = note or {}
        return pending


class ActionRefused(Exception):
    """The action was not attempted; the message says why, for the person who asked. `status`
    is the HTTP status that fits (403 without the role, 400 invalid input, 404/409 a
    precondition); `action` is the refused attempt as recorded, once `perform` recorded it."""

    def __init__(
        self, message: str, *, status: int = 400, action: Action | None = None, why: str = ""
    ):
        super().__init__(message)
        self.status = status
        self.action = action
        self.why = why  # a code callers may decide by (e.g. argo_actions.OPERATION_RUNNING)


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
    prepare: Callable[[], tuple[str, dict[str, Any]]] | None = None,
) -> Action:
    """Check, record, call, finish. `call` returns a short success message, raises AdapterError
    (the outside system failed: a failed Action) or ActionRefused (not attempted: a refused one).

    Every attempt is recorded, refused ones included: without the permission, when `prepare`
    (after the permission check, before the row: the target and parameters found, e.g. which
    Deployment) or `call` raise ActionRefused, and when `guard(action)` — run after the row is
    written, so two requests at once see each other — returns a reason. A refused attempt is
    stored with status `refused` and its reason, and ActionRefused is raised carrying it (a
    guard's refusal as 409: a precondition failed), so every endpoint answers a refusal alike."""
    by_name = by.get_username()
    earlier = _earlier(by_name, idempotency_key)
    if earlier is not None:
        return _replay(earlier)
    if not by.has_perm(permission):
        message = f"{by_name} may not do this: it needs the {permission} permission"
        return _refuse(kind, target, by, parameters, status=403, message=message)
    if prepare is not None:
        try:
            target, parameters = prepare()
        except ActionRefused as e:
            return _refuse(kind, target, by, parameters, message=str(e), status=e.status)
    try:
        action, problem = _record(kind, target, by, parameters, idempotency_key, guard)
    except IntegrityError:  # the same key, a moment ago, from a concurrent request
        return _replay(_earlier(by_name, idempotency_key))
    action.announce()  # "running" shows on the pages that list actions
    if problem:
        log.info("%s on %s by %s refused: %s", kind, target, by_name, problem)
        return _refused(action, problem, status=409)
    return _call(action, call)


def _earlier(by_name: str, idempotency_key: str) -> Action | None:
    if not idempotency_key:
        return None
    return Action.objects.filter(by_name=by_name, idempotency_key=idempotency_key).first()


def _record(kind, target, by, parameters, idempotency_key, guard) -> tuple[Action, str | None]:
    """Write the running Action, and ask the guard about it under the target's lock."""
    with transaction.atomic():
        if guard is not None:
            _one_writer(kind, target)
        action = Action.objects.create(
            kind=kind,
            target=target,
            by=by,
            by_name=by.get_username(),
            parameters=parameters,
            idempotency_key=idempotency_key,
        )
        # Under the lock: a concurrent attempt on the same target sees this row, or this
        # guard sees that one's — never neither.
        return action, guard(action) if guard is not None else None


def _call(action: Action, call: Callable[[], str]) -> Action:
    """Call out and finish the Action with the answer (a Pending one stays running)."""
    said = f"{action.kind} on {action.target} by {action.by_name}"
    try:
        message = call()
    except ActionRefused as e:
        log.info("%s refused: %s", said, e)
        return _refused(action, str(e), status=e.status, why=e.why)
    except AdapterError as e:
        log.info("%s failed: %s", said, e)
        return action.finish(error=str(e))
    except Exception:
        log.exception("%s failed unexpectedly", said)
        action.finish(error="cdportal failed while doing this; the error is in its log")
        raise
    if isinstance(message, Pending):  # unless whoever follows the work finished it already
        parameters = {**action.parameters, **message.note}
        Action.objects.filter(pk=action.pk, finished_at__isnull=True).update(
            message=str(message), parameters=parameters
        )
        action.refresh_from_db(fields=["status", "message", "finished_at", "parameters"])
        action.announce()
        return action
    return action.finish(message=message)


def _one_writer(kind: str, target: str) -> None:
    """Serialize guarded attempts on one target until the transaction ends (PostgreSQL: an
    advisory lock; SQLite serializes writers itself)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(f"action:{kind}:{target}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _refuse(kind: str, target: str, by, parameters: dict, *, message: str, status: int):
    """Record an attempt refused before anything was written, then raise."""
    log.info("%s on %s by %s refused: %s", kind, target, by.get_username(), message)
    action = Action.objects.create(
        kind=kind, target=target[:300], by=by, by_name=by.get_username(), parameters=parameters
    )
    return _refused(action, message, status=status)


def _refused(action: Action, message: str, *, status: int, why: str = ""):
    action.parameters = {
        **action.parameters,
        "refused": status,
        **({"refused_why": why} if why else {}),
    }
    Action.objects.filter(pk=action.pk).update(parameters=action.parameters)
    action.finish(refused=message)
    raise ActionRefused(action.message, status=status, action=action, why=why)


def _replay(earlier: Action) -> Action:
    """The same request again (a double click, a retried POST): the first answer."""
    if (
        earlier.status == Action.Status.REFUSED and "refused" in earlier.parameters
    ):  # raised the first time
        raise ActionRefused(
            earlier.message,
            status=earlier.parameters.get("refused", 409),
            action=earlier,
            why=earlier.parameters.get("refused_why", ""),
        )
    return earlier
