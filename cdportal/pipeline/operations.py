"""Argo CD work the on-call actions started, settled from the watcher's `application` events.

A force sync is done when Argo CD says so, not when the API server accepts the patch: the Action
stays running until status.operationState of the operation after the one the request saw reaches
Succeeded, Failed or Error, then reads as Argo CD's message (e.g. "Operation terminated"). A hard
refresh is done when status.reconciledAt moves past the one the request saw. Both compare the
controller's own times (noted in the Action's parameters when the request was accepted), so
cdportal's clock does not matter. First wins, as for restarts
(`updater_actions.settle_restarts`): a later event leaves the Action as it is.
"""

from __future__ import annotations

from datetime import datetime

from cdportal.core import argo_application
from cdportal.core.events import ApplicationObserved
from cdportal.pipeline.models import Action


def settle(event: ApplicationObserved) -> list[Action]:
    """Finish the running syncs and refreshes of the Application `event` shows that it decides."""
    return settle_syncs(event) + settle_refreshes(event)


def settle_refreshes(event: ApplicationObserved) -> list[Action]:
    """Finish the running hard refreshes of the Application, once reconciledAt moved past them."""
    target = f"{event.namespace}/{event.name}"
    running = Action.objects.filter(
        kind=Action.Kind.HARD_REFRESH, finished_at__isnull=True, target=target
    )
    finished = []
    for action in running:
        if "reconciled_before" not in action.parameters:
            continue  # still being requested, or it finished while it was
        done = argo_application.refresh_outcome(
            _time(action.parameters["reconciled_before"]), reconciled_at=event.reconciled_at
        )
        if done is not None:
            finished.append(action.finish(message=f"hard refresh of {target} {done}"))
    return finished


def settle_syncs(event: ApplicationObserved) -> list[Action]:
    """Finish the running force syncs of the Application `event` shows, once their operation ended."""
    operation = event.operation
    if operation is None:
        return []
    running = Action.objects.filter(
        kind=Action.Kind.FORCE_SYNC,
        finished_at__isnull=True,
        target=f"{event.namespace}/{event.name}",
    )
    finished = []
    for action in running:
        if "after_operation" not in action.parameters:
            continue  # the request is still being made (its own patch's answer is ingested)
        outcome = argo_application.operation_outcome(
            _time(action.parameters["after_operation"]),
            phase=operation.phase,
            message=operation.message,
            started_at=operation.started_at,
            finished_at=operation.finished_at,
            before_finished=_time(action.parameters.get("after_operation_finished", "")),
        )
        if outcome is not None:
            ok, message = outcome
            finished.append(action.finish(message=message) if ok else action.finish(error=message))
    return finished


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
