"""Operators' actions on Argo CD Applications, through the Kubernetes API: force sync, hard
refresh and terminating the running operation. Each goes through `perform` (permission, Action
row before the call, the API server's answer after, one action per idempotency key).

Every call is: GET the live Application, ask `cdportal.core.argo_application` whether to act and
what to send, merge-patch it (application/merge-patch+json), then ingest the object the API server
returned so the application page shows the operation at once. The sync and terminate patches
carry the resourceVersion that was read: a change in between (another operator's sync, the
controller) makes the API server answer 409, so two operators clicking at once make one
operation. Shapes and checks: docs/argo-cd.md §2.

Every attempt that passes the permission check is in the action log, refused ones included
(the issue: "every attempt is in the action log with its outcome"). A refusal the person can act
on — an operation in progress, the app changed since it was read, the app is gone — is recorded
as a failed Action *and* raised as ActionRefused (409/404) carrying that Action as `.action`;
other failures of the API server (its own 403, timeouts, 5xx) are returned as the failed Action.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import urllib3
from django.conf import settings
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cdportal.adapters.argocd import application_event
from cdportal.adapters.errors import AdapterError, kubernetes_reason
from cdportal.adapters.kubernetes import kube_client
from cdportal.core import argo_application
from cdportal.pipeline.actions import ActionRefused, perform
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Application

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
MERGE_PATCH = "application/merge-patch+json"
SYNC_PERMISSION = "pipeline.force_sync"
REFRESH_PERMISSION = "pipeline.refresh_application"
REQUEST_TIMEOUT = 10.0  # seconds per call to the API server
REFRESH_WAIT = 3.0  # how long hard_refresh re-reads for the controller to finish, at most
REFRESH_POLL = 0.25
REQUESTED_NOT_RECONCILED = "requested; Argo CD has not reconciled yet"
CHANGED = "the application changed since it was read; try again"


class Refused(AdapterError):
    """Not sent (or not accepted) for a reason the person can act on; recorded, then raised."""

    def __init__(self, message: str, *, status: int = 409):
        super().__init__(message, permanent=True)
        self.status = status


# --- what the pages and the command show before anyone confirms ------------------------------


def describe(kind: str, app: Application, *, by, prune: bool = False, revision: str | None = None) -> str:
    """Exactly what the verb will do, for the confirmation step."""
    who = by.get_username()
    target = f"{app.namespace}/{app.name}"
    if kind == Action.Kind.FORCE_SYNC:
        text = f"patch {target}: .operation.sync with prune={'true' if prune else 'false'}"
        text += f", revision={revision}" if revision else ", revision=the target revision"
        return text + f", initiated by {who} (sync options and retry copied from the app's sync policy)"
    if kind == Action.Kind.HARD_REFRESH:
        return f"patch {target}: annotation {argo_application.REFRESH_ANNOTATION}=hard, requested by {who}"
    return f"patch {target}: status.operationState.phase=Terminating (stops the running sync), requested by {who}"


# --- the verbs --------------------------------------------------------------------------------


def force_sync(*, app: Application, by, prune: bool = False, revision: str | None = None,
               idempotency_key: str = "", api_client=None) -> Action:
    """Request a sync as Argo CD's API server would (`.operation.sync`), never with `force`."""
    revision = (revision or "").strip() or None

    def plan(live: dict) -> dict:
        problem = argo_application.refusal(live)
        if problem:  # an operation is set or running
            raise Refused(problem)
        problem = argo_application.refusal(live, revision=revision)
        if problem:  # a revision auto-sync would undo at once
            raise Refused(problem, status=400)
        try:
            return argo_application.sync_patch(live, username=by.get_username(), prune=prune, revision=revision)
        except ValueError as e:
            raise Refused(str(e), status=400) from None

    def said(obj: dict) -> str:
        what = f"prune={'true' if prune else 'false'}" + (f", revision {revision}" if revision else "")
        return f"sync requested on {_name(app)} ({what}); Argo CD starts it within seconds"

    return _act(Action.Kind.FORCE_SYNC, SYNC_PERMISSION, app=app, by=by, plan=plan, said=said,
                parameters={"prune": bool(prune), "revision": revision}, idempotency_key=idempotency_key,
                api_client=api_client)


def hard_refresh(*, app: Application, by, idempotency_key: str = "", api_client=None) -> Action:
    """Annotate refresh=hard, then re-read for a few seconds to see the controller finish it."""
    read: dict = {}

    def plan(live: dict) -> dict:
        read["before"] = live
        return argo_application.refresh_patch(hard=True)

    def said(obj: dict, api) -> str:
        deadline = time.monotonic() + REFRESH_WAIT
        while True:
            if argo_application.refresh_done(read["before"], obj):
                return f"hard refresh of {_name(app)} done: reconciled at {obj['status']['reconciledAt']}"
            if time.monotonic() >= deadline:
                return f"hard refresh of {_name(app)} {REQUESTED_NOT_RECONCILED}"
            time.sleep(REFRESH_POLL)
            try:
                obj = _get(api, app)
            except AdapterError:
                return f"hard refresh of {_name(app)} {REQUESTED_NOT_RECONCILED}"
            _observe(obj)

    return _act(Action.Kind.HARD_REFRESH, REFRESH_PERMISSION, app=app, by=by, plan=plan, said=said,
                parameters={"hard": True}, idempotency_key=idempotency_key, api_client=api_client)


def terminate(*, app: Application, by, idempotency_key: str = "", api_client=None) -> Action:
    """Ask the controller to stop the running operation (it ends Failed, "Operation terminated")."""

    def plan(live: dict) -> dict:
        problem = argo_application.terminate_refusal(live)
        if problem:
            raise Refused(problem)
        return argo_application.terminate_patch(live)

    def said(obj: dict) -> str:
        return f"termination requested on {_name(app)}; the operation ends as Failed within seconds"

    return _act(Action.Kind.TERMINATE, SYNC_PERMISSION, app=app, by=by, plan=plan, said=said, parameters={},
                idempotency_key=idempotency_key, api_client=api_client)


# --- the frame every verb shares --------------------------------------------------------------


def _act(kind: str, permission: str, *, app: Application, by, plan: Callable[[dict], dict], said: Callable,
         parameters: dict, idempotency_key: str, api_client) -> Action:
    refused: list[Refused] = []
    ran: list[bool] = []

    def call() -> str:
        ran.append(True)
        api = client.CustomObjectsApi(api_client or _client())
        try:
            live = _get(api, app)
            body = plan(live)
            obj = _patch(api, app, body)
        except Refused as e:
            refused.append(e)
            raise
        _observe(obj)
        return said(obj, api) if kind == Action.Kind.HARD_REFRESH else said(obj)

    action = perform(kind=kind, target=_name(app), by=by, permission=permission,
                     parameters={"namespace": app.namespace, "name": app.name, **parameters},
                     call=call, idempotency_key=idempotency_key)
    if refused:
        _note(action, refused=refused[0].status)
        _raise(action, refused[0].status)
    if not ran and action.parameters.get("refused"):  # the same request again: the same answer
        _raise(action, action.parameters["refused"])
    return action


def _raise(action: Action, status: int):
    error = ActionRefused(action.message, status=status)
    error.action = action
    raise error


def _client():
    return kube_client(settings.KUBECONFIG or None, settings.KUBE_CONTEXT or None)


def _get(api, app: Application) -> dict:
    return _answer(f"reading {_name(app)}", app, lambda: api.get_namespaced_custom_object(
        GROUP, VERSION, app.namespace, PLURAL, app.name, _request_timeout=REQUEST_TIMEOUT))


def _patch(api, app: Application, body: dict) -> dict:
    # Merge patch, as `kubectl patch --type merge` and Argo CD's docs do; the client would
    # otherwise pick JSON patch for a dict body. The body's resourceVersion is the precondition.
    return _answer(f"patching {_name(app)}", app, lambda: api.patch_namespaced_custom_object(
        GROUP, VERSION, app.namespace, PLURAL, app.name, body,
        _content_type=MERGE_PATCH, _request_timeout=REQUEST_TIMEOUT))


def _answer(doing: str, app: Application, request: Callable[[], dict]) -> dict:
    """The API server's refusals and silences as clear messages (AdapterError / Refused)."""
    try:
        return request()
    except ApiException as e:
        if e.status == 409:
            raise Refused(CHANGED) from None
        if e.status == 404:
            raise Refused(f"{_name(app)} no longer exists in the cluster (404 while {doing})", status=404) from None
        if e.status in (401, 403):
            raise AdapterError(
                f"the Kubernetes API refused cdportal ({e.status} while {doing}): its service account needs "
                f"get and patch on applications.argoproj.io in {app.namespace}", permanent=True) from None
        if e.status == 422:
            raise AdapterError(f"the Kubernetes API rejected the patch (422 while {doing}): "
                               f"{kubernetes_reason(e.body) or e.reason}", permanent=True) from None
        raise AdapterError(f"the Kubernetes API answered {e.status} {e.reason} while {doing}; try again") from None
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise AdapterError(f"the Kubernetes API did not answer within {REQUEST_TIMEOUT:g}s while {doing}; "
                           "check the application before trying again") from None
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise AdapterError(f"could not reach the Kubernetes API while {doing} ({type(e).__name__})") from None


def _observe(obj: dict) -> None:
    """Ingest the object the API server answered with, so the page shows it at once."""
    try:
        ingest(application_event(obj, observed_at=datetime.now(UTC)))
    except Exception:  # the patch landed either way; the watcher records the object soon
        meta = obj.get("metadata") or {}
        log.exception("recording %s/%s after an action failed", meta.get("namespace"), meta.get("name"))


def _note(action: Action, **values) -> None:
    action.parameters = {**action.parameters, **values}
    Action.objects.filter(pk=action.pk).update(parameters=action.parameters)


def _name(app: Application) -> str:
    return f"{app.namespace}/{app.name}"
