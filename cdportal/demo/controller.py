"""A simulated Argo CD application controller, a client of the (emulated) Kubernetes API like the
real one: it reads the Applications and merge-patches them with a resourceVersion precondition,
so what cdportal patches in (a sync, a refresh, a termination) and what the simulated Image
Updater writes are handled the way docs/argo-cd.md §2 describes:

- spec.source ≠ status.sync.comparedTo.source (the updater wrote image.tag): refresh → OutOfSync;
  with auto-sync on, an automated `.operation` (never twice for the same source after a failure);
- `.operation` set and nothing running: operationState Running (a copy of the operation,
  startedAt, message), a few seconds later Succeeded (finishedAt, syncResult, history appended),
  `.operation` removed, Synced; a running sync moves the app to Progressing with both images live;
- operationState.phase Terminating: Failed "Operation terminated", `.operation` removed;
- annotation argocd.argoproj.io/refresh: removed after a moment, status.reconciledAt moved.

`step()` does one pass over the Applications (at most one write each) and is what tests drive,
with their own clock; Cluster runs it in a thread. Delays are measured from when a pass first
saw the change, like the work queues of the real controller.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cdportal.core import argo_application
from cdportal.demo import manifests
from cdportal.demo.manifests import GITOPS_REVISION, IMAGE, WORKLOAD, image_tag, stamp

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
MERGE_PATCH = "application/merge-patch+json"
COMPLETED = ("Succeeded", "Failed", "Error")
PROGRESS_DEADLINE = 'Deployment "controller" exceeded its progress deadline'


class ArgoController:
    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str = manifests.NAMESPACE,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        react_seconds: float = 1.0,
        sync_seconds: float = 4.0,
        degraded_rate: float = 0.1,
    ):
        self.api = client.CustomObjectsApi(api_client)
        self.namespace, self.clock = namespace, clock
        self.rng = rng or random.Random()
        self.react_seconds, self.sync_seconds = react_seconds, sync_seconds
        self.degraded_rate = degraded_rate
        self._seen: dict[tuple[str, str], datetime] = {}  # (app, what) -> first seen by a pass
        # Broken on purpose (cdportal.demo.breaks): their syncs fail, or their rollouts degrade.
        self.failing: set[str] = set()
        self.degrading: set[str] = set()

    def install(self, tags: dict[str, str]) -> None:
        """Create the Applications, each Synced and Healthy at its tag."""
        now = self.clock()
        for name, tag in tags.items():
            self.api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, manifests.application(name, tag, now)
            )

    def step(self) -> int:
        """One pass: at most one change per Application; the number of writes accepted."""
        listed = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        written = 0
        for app in listed.get("items") or []:
            change = self._reconcile(app, self.clock())
            if change is None:
                continue
            name = app["metadata"]["name"]
            change = _as_merge_patch(app, change)
            change.setdefault("metadata", {})["resourceVersion"] = app["metadata"][
                "resourceVersion"
            ]
            try:
                self.api.patch_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, name, change, _content_type=MERGE_PATCH
                )
                written += 1
            except ApiException as e:
                if e.status != 409:
                    raise
                log.debug(
                    "%s changed under the controller; next pass", name
                )  # as the real one requeues
        return written

    # -- what one pass does to one Application ----------------------------------------------------

    def _reconcile(self, app: dict, now: datetime) -> dict | None:
        name = app["metadata"]["name"]
        status = app.get("status") or {}
        state = status.get("operationState") or {}
        phase = state.get("phase")
        if phase == "Terminating":
            return self._terminated(app, now)
        if app.get("operation") is not None and phase not in ("Running",):
            return self._start(app, now)
        if phase == "Running" and self._waited(name, "sync", now, self.sync_seconds):
            return self._finish(app, now)
        if argo_application.REFRESH_ANNOTATION in (app["metadata"].get("annotations") or {}):
            if self._waited(name, "refresh", now, self.react_seconds):
                return self._refresh(
                    app,
                    now,
                    {"metadata": {"annotations": {argo_application.REFRESH_ANNOTATION: None}}},
                )
            return None
        spec_source = app["spec"]["source"]
        if spec_source != (status.get("sync") or {}).get("comparedTo", {}).get("source"):
            if self._waited(name, "compare", now, self.react_seconds):
                return self._refresh(app, now, {})  # "spec.source differs": compare at once
            return None
        if self._should_auto_sync(app) and self._waited(name, "auto-sync", now, self.react_seconds):
            return {"operation": self._auto_sync_operation(app)}
        return None

    def _waited(self, name: str, what: str, now: datetime, seconds: float) -> bool:
        """True once `seconds` have passed since a pass first saw `what` on `name` (then forgets)."""
        first = self._seen.setdefault((name, what), now)
        if now - first < timedelta(seconds=seconds):
            return False
        del self._seen[(name, what)]
        return True

    def _refresh(self, app: dict, now: datetime, change: dict) -> dict:
        """A comparison with git: comparedTo is the spec now, Synced only if that is what runs."""
        status = app.get("status") or {}
        src = app["spec"]["source"]
        synced = src == _deployed_source(app)
        change.setdefault("status", {}).update(
            {
                "reconciledAt": _after(status.get("reconciledAt"), now),
                "sync": {
                    "status": "Synced" if synced else "OutOfSync",
                    "revision": GITOPS_REVISION,
                    "comparedTo": {
                        "source": copy.deepcopy(src),
                        "destination": app["spec"]["destination"],
                    },
                },
            }
        )
        return change

    def _should_auto_sync(self, app: dict) -> bool:
        status = app.get("status") or {}
        if not argo_application.auto_sync_enabled(app) or app.get("operation") is not None:
            return False
        if (status.get("sync") or {}).get("status") != "OutOfSync":
            return False
        state = status.get("operationState") or {}
        tried = ((state.get("operation") or {}).get("sync") or {}).get("source")
        # Auto-sync never retries the same source after a failed attempt (docs/user-guide/auto_sync.md).
        return not (state.get("phase") in ("Failed", "Error") and tried == app["spec"]["source"])

    def _auto_sync_operation(self, app: dict) -> dict:
        policy = app["spec"].get("syncPolicy") or {}
        sync = {
            "prune": bool((policy.get("automated") or {}).get("prune")),
            "revision": GITOPS_REVISION,
            "source": copy.deepcopy(app["spec"]["source"]),
        }
        if policy.get("syncOptions"):
            sync["syncOptions"] = list(policy["syncOptions"])
        return {
            "initiatedBy": {"automated": True},
            "retry": copy.deepcopy(policy.get("retry") or {}),
            "sync": sync,
        }

    def _start(self, app: dict, now: datetime) -> dict:
        """processRequestedAppOperation: a new operationState, Running, with the operation copied."""
        operation = copy.deepcopy(app["operation"])
        new_tag, old_tag = image_tag(app["spec"]["source"]), image_tag(_deployed_source(app))
        rolling = new_tag != old_tag
        self._seen[(app["metadata"]["name"], "sync")] = now
        change = {
            "status": {
                "operationState": {
                    "operation": operation,
                    "phase": "Running",
                    "startedAt": stamp(now),
                    "message": f"waiting for healthy state of {WORKLOAD}" if rolling else "",
                }
            }
        }
        if rolling:  # the new ReplicaSet's pods start beside the old ones
            change["status"]["health"] = {"status": "Progressing", "lastTransitionTime": stamp(now)}
            change["status"]["summary"] = {
                "images": sorted({f"{IMAGE}:{old_tag}", f"{IMAGE}:{new_tag}"})
            }
        return change

    def _finish(self, app: dict, now: datetime) -> dict:
        """setOperationState: Succeeded, history appended, `.operation` null, Synced."""
        status = app["status"]
        state = status["operationState"]
        synced = copy.deepcopy(
            ((state.get("operation") or {}).get("sync") or {}).get("source")
            or app["spec"]["source"]
        )
        name, tag = app["metadata"]["name"], image_tag(synced)
        rolled = tag != image_tag(_deployed_source(app))
        if rolled and name in self.failing:
            return self._failed(app, now, synced)
        history = list(status.get("history") or [])
        number = max((entry.get("id", 0) for entry in history), default=0) + 1
        history.append(
            manifests.history_entry(
                number,
                synced,
                state["startedAt"],
                stamp(now),
                (state.get("operation") or {}).get("initiatedBy") or {},
            )
        )
        degraded = rolled and (
            name in self.degrading
            or (name.endswith("-dev") and self.rng.random() < self.degraded_rate)
        )
        health = (
            {"status": "Degraded", "message": PROGRESS_DEADLINE}
            if degraded
            else {"status": "Healthy"}
        )
        return {
            "operation": None,
            "status": {
                "operationState": {
                    **state,
                    "phase": "Succeeded",
                    "message": "successfully synced (all tasks run)",
                    "finishedAt": stamp(now),
                    "syncResult": {
                        "revision": GITOPS_REVISION,
                        "source": synced,
                        "resources": manifests.synced_resources(name, tag),
                    },
                },
                "history": history[-manifests.HISTORY_LIMIT :],
                "health": {**health, "lastTransitionTime": stamp(now)},
                "summary": {"images": [f"{IMAGE}:{tag}"]},
                "reconciledAt": _after(status.get("reconciledAt"), now),
                "sync": {
                    "status": "Synced" if synced == app["spec"]["source"] else "OutOfSync",
                    "revision": GITOPS_REVISION,
                    "comparedTo": {
                        "source": copy.deepcopy(app["spec"]["source"]),
                        "destination": app["spec"]["destination"],
                    },
                },
            },
        }

    def _failed(self, app: dict, now: datetime, synced: dict) -> dict:
        """The apply was refused: Failed with the resource's reason, nothing new runs, no history
        entry (Argo CD appends one only for a successful sync), still OutOfSync."""
        tag = image_tag(_deployed_source(app))
        reason = (
            'Deployment.apps "controller" is invalid: spec.template.spec.containers[0].image: '
            "Invalid value: admission webhook denied the request"
        )
        resources = manifests.synced_resources(app["metadata"]["name"], image_tag(synced))
        for resource in resources:
            if resource.get("kind") == "Deployment":
                resource.update(status="SyncFailed", message=reason)
        return {
            "operation": None,
            "status": {
                "operationState": {
                    **app["status"]["operationState"],
                    "phase": "Failed",
                    "message": f"one or more objects failed to apply, reason: {reason}",
                    "finishedAt": stamp(now),
                    "syncResult": {
                        "revision": GITOPS_REVISION,
                        "source": synced,
                        "resources": resources,
                    },
                },
                "health": {"status": "Healthy", "lastTransitionTime": stamp(now)},
                "summary": {"images": [f"{IMAGE}:{tag}"]},
            },
        }

    def _terminated(self, app: dict, now: datetime) -> dict:
        """The sync stops where it is: Failed, "Operation terminated"; the old pods keep running."""
        self._seen.pop((app["metadata"]["name"], "sync"), None)
        tag = image_tag(_deployed_source(app))
        return {
            "operation": None,
            "status": {
                "operationState": {
                    **app["status"]["operationState"],
                    "phase": "Failed",
                    "message": "Operation terminated",
                    "finishedAt": stamp(now),
                },
                "health": {"status": "Healthy", "lastTransitionTime": stamp(now)},
                "summary": {"images": [f"{IMAGE}:{tag}"]},
            },
        }


def _as_merge_patch(app: dict, change: dict) -> dict:
    """`change` as a merge patch. The status fields in it are written whole, as the controller's
    JSON patch replaces /status/operationState; a merge patch has to name every key that goes."""
    patch = copy.deepcopy(change)
    for key, new in (change.get("status") or {}).items():
        old = (app.get("status") or {}).get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            patch["status"][key] = _replacing(old, new)
    return patch


def _replacing(old: dict, new: dict) -> dict:
    patch: dict = {key: None for key in old if key not in new}
    for key, value in new.items():
        both = isinstance(value, dict) and isinstance(old.get(key), dict)
        patch[key] = _replacing(old[key], value) if both else value
    return patch


def _deployed_source(app: dict) -> dict:
    """What runs: the source of the last successful sync (history is appended only then)."""
    history = (app.get("status") or {}).get("history") or []
    return history[-1]["source"] if history else {}


def _after(previous: str | None, now: datetime) -> str:
    """A reconciledAt later than the last one, even within the same second (refresh_done compares)."""
    now = now.replace(microsecond=0)
    if previous:
        last = datetime.fromisoformat(previous)
        if now <= last:
            now = last + timedelta(seconds=1)
    return stamp(now)
