"""Argo CD Application objects → ``application`` events (pure mapping, no network).

The Kubernetes watcher (``cdportal.adapters.kubernetes.watchers``) hands every Application it sees, as
the API returns it, to ``application_event``. One event per ``resourceVersion``: the same
object seen by the list and again by the watch, or again after a relist, is ingested once.

Reference: argo-cd ``pkg/apis/application/v1alpha1/types.go`` (Application, ApplicationStatus)
and docs/argo-cd.md §1.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from cdportal.core.argo_application import auto_sync_enabled
from cdportal.core.events import InvalidEvent, parse_event

log = logging.getLogger(__name__)

__all__ = ["UPDATER_ANNOTATION_PREFIX", "application_event"]

UPDATER_ANNOTATION_PREFIX = "argocd-image-updater.argoproj.io/"

SYNC_STATUSES = {"Synced", "OutOfSync", "Unknown"}
HEALTH_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
OPERATION_PHASES = {"Running", "Terminating", "Succeeded", "Failed", "Error"}
MAX_TEXT = 20_000


def application_event(
    obj: dict[str, Any], *, observed_at: datetime | None = None
) -> dict[str, Any]:
    """The ``application`` event for one Application object.

    ``occurred_at`` is ``observed_at`` when the caller knows when it saw the object (the watcher
    does); otherwise the newest timestamp the object carries, so the mapping stays deterministic.

    ``last_synced_at`` is when the last *successful* sync finished: ``operationState.finishedAt``
    when the phase is Succeeded, else the newest ``history[].deployedAt`` (Argo CD appends history
    only after a Succeeded sync). Not ``reconciledAt``: that is the periodic comparison with git,
    which moves every few minutes without anything being deployed. A failed or running operation
    leaves it None, and ingestion then keeps the last value it knew.
    """
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    sources = _sources(spec)
    operation = status.get("operationState") or {}
    health = status.get("health") or {}
    sync = status.get("sync") or {}
    phase = operation.get("phase", "")

    event = {
        "kind": "application",
        "source": "kubernetes",
        "source_id": f"{namespace}/{name}@{metadata.get('resourceVersion', '')}",
        "occurred_at": (
            observed_at or _newest_timestamp(metadata, status) or datetime.now(UTC)
        ).isoformat(),
        "namespace": namespace,
        "name": name,
        "project": spec.get("project") or "default",  # "" means default (types.go)
        "repo_url": _primary(sources).get("repoURL", ""),
        "sync_status": _one_of(sync.get("status"), SYNC_STATUSES, "Unknown"),
        "health_status": _one_of(health.get("status"), HEALTH_STATUSES, "Unknown"),
        "health_message": (health.get("message") or "")[:MAX_TEXT],
        "operation_phase": _one_of(phase, OPERATION_PHASES, ""),
        "operation_message": (operation.get("message") or "")[:MAX_TEXT],
        "auto_sync": auto_sync_enabled(obj),
        "revision": _revision(sources, sync),
        "parameters": _helm_parameters(sources),
        "images": list((status.get("summary") or {}).get("images") or []),
        "annotations": {
            key: str(value)
            for key, value in (metadata.get("annotations") or {}).items()
            if key.startswith(UPDATER_ANNOTATION_PREFIX)
        },
        "labels": {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()},
        "last_synced_at": _last_synced(operation, status),
        "reconciled_at": status.get("reconciledAt") or None,
        "conditions": _conditions(status),
        "operation": _operation(operation),
        "history": _history(status),
    }
    # Validate here, so a surprising object fails in the adapter with the field named.
    return parse_event(event).model_dump(mode="json")


def application_deleted_event(
    namespace: str, name: str, *, resource_version: str, observed_at: datetime
) -> dict[str, Any]:
    """The ``application`` event saying the Application no longer exists: a watch DELETED (its
    last resourceVersion), or absent from a full list (the list's resourceVersion)."""
    event = {
        "kind": "application",
        "source": "kubernetes",
        "source_id": f"{namespace}/{name}@{resource_version}:deleted",
        "occurred_at": observed_at.isoformat(),
        "namespace": namespace,
        "name": name,
        "deleted": True,
    }
    return parse_event(event).model_dump(mode="json")


def _sources(spec: dict) -> list[dict]:
    # With spec.sources set, spec.source is ignored (docs/user-guide/multiple_sources.md).
    if spec.get("sources"):
        return [source or {} for source in spec["sources"]]
    return [spec["source"]] if spec.get("source") else []


def _primary(sources: list[dict]) -> dict:
    """The first source that renders manifests; a ``ref``-only source only lends value files."""
    for source in sources:
        if not _ref_only(source):
            return source
    return sources[0] if sources else {}


def _ref_only(source: dict) -> bool:
    return bool(source.get("ref")) and not (source.get("chart") or source.get("path"))


def _revision(sources: list[dict], sync: dict) -> str:
    if sync.get("revision"):
        return str(sync["revision"])[:100]
    # Multi-source apps have revisions[] aligned with sources[]; show the primary source's.
    revisions = sync.get("revisions") or []
    for source, revision in zip(sources, revisions):
        if not _ref_only(source) and revision:
            return str(revision)[:100]
    return str(revisions[0])[:100] if revisions else ""


def _helm_parameters(sources: list[dict]) -> dict[str, str]:
    """``helm.parameters`` of every source, in order (a later source wins a repeated name)."""
    parameters: dict[str, str] = {}
    for source in sources:
        for parameter in (source.get("helm") or {}).get("parameters") or []:
            if parameter.get("name"):
                parameters[parameter["name"]] = str(parameter.get("value", ""))
    return parameters


def _last_synced(operation: dict, status: dict) -> str | None:
    if operation.get("phase") == "Succeeded" and operation.get("finishedAt"):
        return operation["finishedAt"]
    deployed = [
        entry["deployedAt"] for entry in status.get("history") or [] if entry.get("deployedAt")
    ]
    return max(deployed, key=_parse) if deployed else None


MAX_CONDITIONS, MAX_RESOURCES, MAX_HISTORY = 50, 50, 20
# A resource whose sync went as planned says nothing on-call needs; these do.
QUIET_RESOURCE_STATUSES = {"Synced", "Pruned"}


def _conditions(status: dict) -> list[dict]:
    return [
        {
            "type": str(c.get("type", ""))[:300],
            "message": str(c.get("message") or "")[:MAX_TEXT],
            "last_transition_time": c.get("lastTransitionTime"),
        }
        for c in (status.get("conditions") or [])[:MAX_CONDITIONS]
        if c.get("type")
    ]


def _initiator(initiated_by: dict | None) -> str:
    initiated_by = initiated_by or {}
    if initiated_by.get("automated"):
        return "automated"
    return str(initiated_by.get("username") or "")[:300]


def _operation(operation: dict) -> dict | None:
    """operationState, with the resources worth reading: hooks and anything not plainly synced."""
    phase = operation.get("phase")
    if phase not in OPERATION_PHASES:
        return None
    result = operation.get("syncResult") or {}
    resources = [
        {
            "kind": str(r.get("kind", ""))[:300],
            "namespace": str(r.get("namespace") or "")[:300],
            "name": str(r.get("name", ""))[:300],
            "status": str((r.get("hookPhase") if r.get("hookType") else r.get("status")) or "")[
                :300
            ],
            "hook": str(r.get("hookType") or "")[:300],
            "message": str(r.get("message") or "")[:MAX_TEXT],
        }
        for r in result.get("resources") or []
        if r.get("kind")
        and r.get("name")
        and (r.get("hookType") or r.get("status") not in QUIET_RESOURCE_STATUSES)
    ]
    return {
        "phase": phase,
        "message": str(operation.get("message") or "")[:MAX_TEXT],
        "initiated_by": _initiator((operation.get("operation") or {}).get("initiatedBy")),
        "started_at": operation.get("startedAt"),
        "finished_at": operation.get("finishedAt"),
        "retry_count": max(int(operation.get("retryCount") or 0), 0),
        "revision": str(result.get("revision") or "")[:300],
        "resources": resources[:MAX_RESOURCES],
    }


def _history(status: dict) -> list[dict]:
    """status.history, newest first (Argo CD appends, so the list is oldest first)."""
    entries = [entry for entry in status.get("history") or [] if isinstance(entry.get("id"), int)]
    return [
        {
            "id": entry["id"],
            "revision": str(entry.get("revision") or (entry.get("revisions") or [""])[0])[:300],
            "deployed_at": entry.get("deployedAt"),
            "started_at": entry.get("deployStartedAt"),
            "initiated_by": _initiator(entry.get("initiatedBy")),
        }
        for entry in reversed(entries[-MAX_HISTORY:])
    ]


def _newest_timestamp(metadata: dict, status: dict) -> datetime | None:
    operation = status.get("operationState") or {}
    candidates = [
        metadata.get("creationTimestamp"),
        status.get("reconciledAt"),
        (status.get("health") or {}).get("lastTransitionTime"),
        operation.get("startedAt"),
        operation.get("finishedAt"),
    ]
    parsed = [_parse(value) for value in candidates if value]
    return max(parsed) if parsed else None


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _one_of(value: Any, allowed: set[str], default: str) -> str:
    return value if value in allowed else default


IMAGES_UPDATED = "ImagesUpdated"
_IMAGE_ANNOTATION = "argocd-image-updater.image-"


def images_updated_events(obj: dict) -> list[dict]:
    """An Image Updater `ImagesUpdated` Event as `updater` events, one per image it changed.

    The Event names the Application in `involvedObject` and each image in annotations
    `argocd-image-updater.image-N/{full-image-name,image-name,old-tag,new-tag}` (argo-cd.md).
    Match on reason and involvedObject.name: kind and apiVersion are not always filled in."""
    if obj.get("reason") != IMAGES_UPDATED:
        return []
    meta = obj.get("metadata") or {}
    target = obj.get("involvedObject") or {}
    namespace = target.get("namespace") or meta.get("namespace")
    name = target.get("name")
    if not namespace or not name:
        return []
    when = (
        obj.get("lastTimestamp")
        or obj.get("eventTime")
        or obj.get("firstTimestamp")
        or meta.get("creationTimestamp")
    )
    images: dict[str, dict[str, str]] = {}
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(_IMAGE_ANNOTATION) and "/" in key:
            index, field = key[len(_IMAGE_ANNOTATION) :].split("/", 1)
            images.setdefault(index, {})[field] = value
    events = []
    for index, image in sorted(images.items()):
        full, new = image.get("full-image-name"), image.get("new-tag")
        if not full or not new:
            continue
        event = {
            "kind": "updater",
            "source": "kubernetes",
            "source_id": f"event/{namespace}/{meta.get('name')}/{obj.get('count') or 1}/{index}",
            "occurred_at": when,
            "namespace": namespace,
            "application": name,
            "image": full,
            "alias": "",
            "from_tag": image.get("old-tag", ""),
            "to_tag": new,
        }
        try:
            parse_event(event)
        except InvalidEvent as e:
            log.warning("skipping ImagesUpdated event %s: %s", meta.get("name"), e)
            continue
        events.append(event)
    return events


def image_updater_event(obj: dict, *, observed_at: datetime, deleted: bool = False) -> dict:
    """The ``updater_config`` event for an ImageUpdater custom resource (v1.x), as listed or
    watched; `deleted` for a DELETED watch event or an object marked for deletion. Status: argocd-image-updater
    internal/controller/status.go (conditions Ready and Error, lastCheckedAt, lastUpdatedAt)."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    # Marked for deletion (its finalizer still pending): it no longer configures anything.
    deleted = deleted or bool(meta.get("deletionTimestamp"))
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    error = conditions.get("Error") or {}
    suffix = ":deleted" if deleted else ""
    event = {
        "kind": "updater_config",
        "source": "kubernetes",
        "source_id": f"imageupdater/{meta.get('namespace', '')}/{meta.get('name', '')}@{meta.get('resourceVersion', '')}{suffix}",
        "occurred_at": observed_at.isoformat(),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "spec": obj.get("spec") or {},
        "deleted": deleted,
        "ready": str((conditions.get("Ready") or {}).get("message") or "")[:MAX_TEXT],
        "error": str(error.get("message") or "")[:MAX_TEXT]
        if error.get("status") == "True"
        else "",
        "last_checked_at": status.get("lastCheckedAt"),
        "last_updated_at": status.get("lastUpdatedAt"),
    }
    return parse_event(event).model_dump(mode="json")
