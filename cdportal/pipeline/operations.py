"""Argo CD operations the on-call actions started, settled from the watcher's `application` events.

A force sync is done when Argo CD says so, not when the API server accepts the patch: the Action
stays running until status.operationState of an operation started after the request reaches
Succeeded, Failed or Error, then reads as Argo CD's message (e.g. "Operation terminated"). First
wins, as for restarts (`updater_actions.settle_restarts`): a later event leaves it as it is.
"""

from __future__ import annotations

from cdportal.core import argo_application
from cdportal.core.events import ApplicationObserved
from cdportal.pipeline.models import Action


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
        outcome = argo_application.operation_outcome(
            action.started_at,
            phase=operation.phase,
            message=operation.message,
            started_at=operation.started_at,
        )
        if outcome is not None:
            ok, message = outcome
            finished.append(action.finish(message=message) if ok else action.finish(error=message))
    return finished
