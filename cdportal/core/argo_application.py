"""Argo CD Application actions as plain data: sync, refresh and terminate patches, and when not to send them.

Pure Python. An adapter GETs the Application, asks these functions what to send (or why not),
sends it, and polls with `refresh_done`. Shapes follow Argo CD 3.5/3.6
(`server/application/application.go`, `controller/appcontroller.go`); see docs/argo-cd.md.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import NamedTuple

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"


# --- sync -------------------------------------------------------------------------------------


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _sync_policy(app: dict) -> dict:
    return (app.get("spec") or {}).get("syncPolicy") or {}


def auto_sync_enabled(app: dict) -> bool:
    """`automated` present and `enabled` nil or true (Argo CD IsAutomatedSyncEnabled)."""
    automated = _sync_policy(app).get("automated")
    return automated is not None and automated.get("enabled", True) is not False


def _initiator(operation: dict) -> str:
    by = operation.get("initiatedBy") or {}
    if by.get("automated"):
        return "auto-sync"
    return by.get("username") or "someone"


def refusal(app: dict, *, revision: str | None = None) -> str | None:
    """Why a sync must not be requested now, in words for the person who clicked; else None.

    Argo CD's API server refuses with "another operation is already in progress". Patching
    `.operation` through the Kubernetes API has no such guard: the controller ignores it while an
    operation runs and then sets `.operation` to null, so the request would silently vanish.
    """
    operation = app.get("operation")
    state = (app.get("status") or {}).get("operationState") or {}
    phase = state.get("phase")
    if phase == "Terminating":
        return (
            "Another operation is already in progress: it is being terminated. "
            "Wait for it to finish, then sync again."
        )
    if phase == "Running":
        who = _initiator(state.get("operation") or operation or {})
        since = f" since {state['startedAt']}" if state.get("startedAt") else ""
        doing = f" ({state['message']})" if state.get("message") else ""
        return (
            f"Another operation is already in progress: a sync started by {who}{since} "
            f"is still running{doing}. A sync requested now would be silently dropped. "
            "Wait for it to finish, or terminate it first."
        )
    if operation is not None:
        who = _initiator(operation)
        return (
            f"Another operation is already in progress: a sync requested by {who} has not "
            "been started by the Argo CD controller yet. Wait for it; if it stays pending, "
            "the controller may not be processing this application — terminate it first."
        )
    if revision and auto_sync_enabled(app):
        target = ((app.get("spec") or {}).get("source") or {}).get("targetRevision") or "HEAD"
        if revision != target:
            # Same check as the API server: auto-sync would move the app straight back.
            return f"Cannot sync to {revision}: auto-sync currently set to {target}"
    return None


class Refusal(NamedTuple):
    """Why an action must not be sent: `conflict` — an operation is in the way (409; else the
    input is wrong, 400); `terminable` — terminating that operation would clear the way."""

    reason: str
    conflict: bool = False
    terminable: bool = False


def sync_refusal(app: dict, *, revision: str | None = None) -> Refusal | None:
    """Every reason not to request a sync of `app` now (see `refusal`), else None."""
    if problem := refusal(app):  # an operation is set or running
        return Refusal(problem, conflict=True, terminable=terminate_refusal(app) is None)
    if problem := refusal(app, revision=revision):  # a revision auto-sync would undo
        return Refusal(problem)
    if revision and (app.get("spec") or {}).get("sources"):
        return Refusal("a multi-source application takes one revision per source")
    return None


def sync_summary(name: str, *, prune: bool, revision: str | None) -> str:
    what = f"prune={'true' if prune else 'false'}" + (f", revision {revision}" if revision else "")
    return f"sync requested on {name} ({what}); following Argo CD's operation until it ends"


FINAL_PHASES = ("Succeeded", "Failed", "Error")


def operation_state(app: dict) -> dict:
    return (app.get("status") or {}).get("operationState") or {}


def operation_outcome(
    before: datetime | None,
    *,
    phase: str,
    message: str,
    started_at: datetime | None,
    finished_at: datetime | None = None,
    before_finished: datetime | None = None,
) -> tuple[bool, str] | None:
    """How the operation requested after the one that started at `before` (and finished at
    `before_finished`) ended, from the Application's status.operationState: (succeeded, Argo
    CD's message), or None while it has not ended — or when that state is still the earlier
    operation's. Argo CD's times have one-second precision, so an operation that starts in the
    second the earlier one started is told apart by its finish. Both times are the controller's,
    so cdportal's clock does not matter."""
    if phase not in FINAL_PHASES or started_at is None:
        return None
    if before is not None and (
        started_at < before or (started_at == before and finished_at == before_finished)
    ):
        return None  # the operation before ours
    return phase == "Succeeded", message or f"the operation ended {phase}"


def sync_patch(
    app: dict,
    *,
    username: str,
    prune: bool = False,
    revision: str | None = None,
    reason: str = "on-call manual sync",
) -> dict:
    """The merge patch that requests a sync as Argo CD's API server would build `.operation`.

    syncOptions and retry are copied from `spec.syncPolicy`: the controller applies only
    `operation.sync.syncOptions`, so leaving them out loses e.g. CreateNamespace=true.
    `metadata.resourceVersion` makes the patch a precondition (409 if the app changed since the
    read). `initiatedBy.automated` and `syncStrategy.*.force` are never set. Check `refusal` first.
    """
    if revision and auto_sync_enabled(app):
        problem = refusal({"spec": app.get("spec")}, revision=revision)
        if problem:
            raise ValueError(problem)
    policy = _sync_policy(app)
    sync: dict = {"prune": bool(prune)}
    if revision:
        if (app.get("spec") or {}).get("sources"):
            raise ValueError("a multi-source application takes one revision per source")
        sync["revision"] = revision
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    sync["syncStrategy"] = {"hook": {}}
    operation: dict = {
        "info": [{"name": "Reason", "value": f"cdportal: {reason}"}],
        "initiatedBy": {"username": username},
    }
    if policy.get("retry"):
        operation["retry"] = copy.deepcopy(policy["retry"])
    operation["sync"] = sync
    return {
        "metadata": {"resourceVersion": _meta(app)["resourceVersion"]},
        "operation": operation,
    }


# --- refresh and terminate --------------------------------------------------------------------


def refresh_patch(hard: bool) -> dict:
    """`hard` also drops the manifest cache (needed for "Manifest generation error (cached)")."""
    return {"metadata": {"annotations": {REFRESH_ANNOTATION: "hard" if hard else "normal"}}}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)


def refresh_done(before: dict, after: dict) -> bool:
    """True once the controller finished the refresh requested after reading `before`.

    The controller removes the annotation when it persists the reconciliation; requiring
    `status.reconciledAt` to advance too rules out reading an app that was never annotated.
    An annotation that never goes away means the controller is down or not sharded onto the app.
    """
    if REFRESH_ANNOTATION in (_meta(after).get("annotations") or {}):
        return False
    then = _parse_time((before.get("status") or {}).get("reconciledAt"))
    now = _parse_time((after.get("status") or {}).get("reconciledAt"))
    if now is None:
        return False
    return then is None or now > then


def refresh_outcome(before: datetime | None, *, reconciled_at: datetime | None) -> str | None:
    """A refresh requested when the controller had last reconciled at `before` is done once
    status.reconciledAt moved past it; the message, or None while it has not."""
    if reconciled_at is None or (before is not None and reconciled_at <= before):
        return None
    return f"done: reconciled at {reconciled_at.isoformat().replace('+00:00', 'Z')}"


def terminate_refusal(app: dict) -> str | None:
    """The API server's own check (TerminateOperation)."""
    state = (app.get("status") or {}).get("operationState")
    if app.get("operation") is None or state is None:
        return "Unable to terminate operation. No operation is in progress"
    if state.get("phase") == "Terminating":
        return "The operation is already being terminated."
    return None


def terminate_patch(app: dict) -> dict:
    """Set `status.operationState.phase=Terminating` (Applications have no status subresource).

    The final phase will be Failed with "Operation terminated" and `.operation` cleared.
    """
    return {
        "metadata": {"resourceVersion": _meta(app)["resourceVersion"]},
        "status": {"operationState": {"phase": "Terminating"}},
    }
