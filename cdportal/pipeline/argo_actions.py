"""Operators' actions on Argo CD Applications, through the Kubernetes API: force sync, hard
refresh and terminating the running operation. Each goes through `perform` (permission, Action
row before the call, the API server's answer after, one action per idempotency key).

Every call is: GET the live Application, ask `cdportal.core.argo_application` whether to act and
what to send, merge-patch it (application/merge-patch+json), then ingest the object the API server
returned so the application page shows the operation at once. The sync and terminate patches
carry the resourceVersion that was read: a change in between (another operator's sync, the
controller) makes the API server answer 409, so two operators clicking at once make one
operation. Shapes and checks: docs/argo-cd.md §2.

Every attempt is in the action log (`perform` records it). A refusal the person can act on —
no role, an operation in progress, the app changed since it was read, the app is gone — is a
refused Action *and* raised as ActionRefused (403/409/404/400) carrying that Action as `.action`;
other failures of the API server (its own 401/403, timeouts, 5xx) are returned as the failed
Action, in the API server's words.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from cdportal.adapters.errors import AdapterError, Conflict, NotFound
from cdportal.adapters.kubernetes import applications
from cdportal.adapters.kubernetes import client as kube
from cdportal.adapters.kubernetes.argocd import application_event
from cdportal.core import argo_application
from cdportal.pipeline.actions import ActionRefused, Pending, perform
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Application

log = logging.getLogger(__name__)

SYNC_PERMISSION = "pipeline.force_sync"
REFRESH_PERMISSION = "pipeline.refresh_application"
REFRESH_WAIT = 3.0  # how long hard_refresh re-reads for the controller to finish, at most
REFRESH_POLL = 0.25
REQUESTED_NOT_RECONCILED = "requested; Argo CD has not reconciled yet"
CHANGED = "the application changed since it was read; try again"
# ActionRefused.why of a sync refused while an operation that Terminate would stop is pending.
OPERATION_RUNNING = "operation_running"


# --- what the pages and the command show before anyone confirms ------------------------------


def describe(
    kind: str, app: Application, *, by, prune: bool = False, revision: str | None = None
) -> str:
    """Exactly what the verb will do, for the confirmation step."""
    who = by.get_username()
    target = f"{app.namespace}/{app.name}"
    if kind == Action.Kind.FORCE_SYNC:
        text = f"patch {target}: .operation.sync with prune={'true' if prune else 'false'}"
        text += f", revision={revision}" if revision else ", revision=the target revision"
        return (
            text
            + f", initiated by {who} (sync options and retry copied from the app's sync policy)"
        )
    if kind == Action.Kind.HARD_REFRESH:
        return f"patch {target}: annotation {argo_application.REFRESH_ANNOTATION}=hard, requested by {who}"
    return f"patch {target}: status.operationState.phase=Terminating (stops the running sync), requested by {who}"


# --- the verbs --------------------------------------------------------------------------------


def force_sync(
    *,
    app: Application,
    by,
    prune: bool = False,
    revision: str | None = None,
    idempotency_key: str = "",
    api_client=None,
) -> Action:
    """Request a sync as Argo CD's API server would (`.operation.sync`), never with `force`. The
    Action stays running until Argo CD's operation ends (`operations.settle_syncs`, from the
    watcher's events), then reads succeeded or failed in Argo CD's words."""
    revision = (revision or "").strip() or None

    def call() -> str:
        api, live = _read(app, api_client)
        _refuse(argo_application.sync_refusal(live, revision=revision))
        patch = argo_application.sync_patch(
            live, username=by.get_username(), prune=prune, revision=revision
        )
        _patch(api, app, patch)
        summary = argo_application.sync_summary(_name(app), prune=prune, revision=revision)
        # Ours is the operation after the one there now (operations.settle_syncs).
        before = argo_application.operation_state(live)
        note = {
            "after_operation": before.get("startedAt") or "",
            "after_operation_finished": before.get("finishedAt") or "",
        }
        return Pending(summary, note=note)

    return perform(
        kind=Action.Kind.FORCE_SYNC,
        target=_name(app),
        by=by,
        permission=SYNC_PERMISSION,
        parameters=_parameters(app, prune=bool(prune), revision=revision),
        call=call,
        idempotency_key=idempotency_key,
    )


def hard_refresh(*, app: Application, by, idempotency_key: str = "", api_client=None) -> Action:
    """Annotate refresh=hard, then re-read for a few seconds to see the controller finish it; if
    it has not, the Action stays running until the watcher sees reconciledAt move."""

    def call() -> str:
        api, before = _read(app, api_client)
        after = _patch(api, app, argo_application.refresh_patch(hard=True))
        return _await_refresh(api, app, before, after)

    return perform(
        kind=Action.Kind.HARD_REFRESH,
        target=_name(app),
        by=by,
        permission=REFRESH_PERMISSION,
        parameters=_parameters(app, hard=True),
        call=call,
        idempotency_key=idempotency_key,
    )


def terminate(*, app: Application, by, idempotency_key: str = "", api_client=None) -> Action:
    """Ask the controller to stop the running operation (it ends Failed, "Operation terminated")."""

    def call() -> str:
        api, live = _read(app, api_client)
        if problem := argo_application.terminate_refusal(live):
            raise ActionRefused(problem, status=409)
        _patch(api, app, argo_application.terminate_patch(live))
        return f"termination requested on {_name(app)}; the operation ends as Failed within seconds"

    return perform(
        kind=Action.Kind.TERMINATE,
        target=_name(app),
        by=by,
        permission=SYNC_PERMISSION,
        parameters=_parameters(app),
        call=call,
        idempotency_key=idempotency_key,
    )


# --- the calls every verb shares ----------------------------------------------------------------


def _parameters(app: Application, **values) -> dict:
    return {"namespace": app.namespace, "name": app.name, **values}


def _refuse(refusal: argo_application.Refusal | None) -> None:
    if refusal is not None:
        why = OPERATION_RUNNING if refusal.terminable else ""
        raise ActionRefused(refusal.reason, status=409 if refusal.conflict else 400, why=why)


def _await_refresh(api, app: Application, before: dict, after: dict) -> str:
    """Re-read the app until the controller finished the refresh, for REFRESH_WAIT at most."""
    deadline = time.monotonic() + REFRESH_WAIT
    while not argo_application.refresh_done(before, after):
        if time.monotonic() >= deadline:  # the watcher settles it when reconciledAt moves
            return _refresh_pending(app, before)
        time.sleep(REFRESH_POLL)
        try:
            after = _observe(applications.get(api, app.namespace, app.name))
        except AdapterError:  # the refresh was requested; the watcher sees it end
            return _refresh_pending(app, before)
    return f"hard refresh of {_name(app)} done: reconciled at {after['status']['reconciledAt']}"


def _refresh_pending(app: Application, before: dict) -> Pending:
    reconciled = (before.get("status") or {}).get("reconciledAt") or ""
    message = f"hard refresh of {_name(app)} {REQUESTED_NOT_RECONCILED}"
    return Pending(message, note={"reconciled_before": reconciled})


def _read(app: Application, api_client) -> tuple:
    """The API client and the live Application; a vanished one refuses the action (404)."""
    api = api_client or kube.configured()
    try:
        return api, applications.get(api, app.namespace, app.name)
    except NotFound:
        raise ActionRefused(
            f"{_name(app)} no longer exists in the cluster (404 while reading {_name(app)})",
            status=404,
        ) from None


def _patch(api, app: Application, body: dict) -> dict:
    """Patch, then ingest the object the API server answered with, so the page shows it at once.
    A 409 on a body carrying the resourceVersion read: someone changed the app in between."""
    try:
        return _observe(applications.patch(api, app.namespace, app.name, body))
    except Conflict:
        raise ActionRefused(CHANGED, status=409) from None
    except NotFound:
        raise ActionRefused(
            f"{_name(app)} no longer exists in the cluster (404 while patching {_name(app)})",
            status=404,
        ) from None


def _observe(obj: dict) -> dict:

    try:
        ingest(application_event(obj, observed_at=datetime.now(UTC)))
    except Exception:  # the patch landed either way; the watcher records the object soon
        meta = obj.get("metadata") or {}
        log.exception(
            "recording %s/%s after an action failed", meta.get("namespace"), meta.get("name")
        )
    return obj


def _name(app: Application) -> str:
    return f"{app.namespace}/{app.name}"
