"""Argo CD on-call actions as plain data: the patches cdportal sends, and when it must not send them.

Pure Python. An adapter GETs the objects, asks these functions what to send (or why not),
sends it, and polls with the completion checks below. Shapes follow Argo CD 3.5/3.6
(`server/application/application.go`, `controller/appcontroller.go`) and kubectl's
`rollout restart` / `rollout status`; see docs in /work/shared/guide/argo-cd.md.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
UPDATER_POD_LABEL = ("app.kubernetes.io/name", "argocd-image-updater")
# Deployment names/labels differ per install (v1 config/install.yaml, v0 manifests, helm chart).
UPDATER_DEPLOYMENT_NAMES = ("argocd-image-updater-controller", "argocd-image-updater")
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
ACTIVE_PHASES = ("Running", "Terminating")


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


# --- restart and rollout status (kubectl semantics) -------------------------------------------


def _rfc3339(moment: datetime) -> str:
    """Go's time.Format(time.RFC3339): seconds, `Z` for UTC, else the ±hh:mm offset."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("restart time must be timezone-aware")
    text = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
    if offset == timedelta(0):
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def restart_stamp(now: datetime) -> str:
    """The restartedAt value a restart at `now` writes (whole seconds: two restarts within the
    same second are one rollout, as with kubectl)."""
    return _rfc3339(now)


def restart_patch(now: datetime) -> dict:
    """What `kubectl rollout restart` sends (strategic merge patch on the Deployment)."""
    annotations = {RESTARTED_AT_ANNOTATION: restart_stamp(now)}
    return {"spec": {"template": {"metadata": {"annotations": annotations}}}}


def restart_refusal(deployment: dict) -> str | None:
    if (deployment.get("spec") or {}).get("paused"):
        name = _meta(deployment).get("name", "")
        return (
            f'Deployment "{name}" is paused: '
            "can't restart paused deployment (run rollout resume first)"
        )
    return None


def rollout_complete(deployment: dict) -> tuple[bool, str]:
    """(done, message) exactly as `kubectl rollout status` decides and prints them.

    A deployment past its progress deadline is (False, '... exceeded its progress deadline').
    """
    name = _meta(deployment).get("name", "")
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if _meta(deployment).get("generation", 0) > status.get("observedGeneration", 0):
        return False, "Waiting for deployment spec update to be observed..."
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return False, f'deployment "{name}" exceeded its progress deadline'
    updated = status.get("updatedReplicas", 0)
    replicas = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    wanted = spec.get("replicas")
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if wanted is not None and updated < wanted:
        return False, f"{prefix}{updated} out of {wanted} new replicas have been updated..."
    if replicas > updated:
        return False, f"{prefix}{replicas - updated} old replicas are pending termination..."
    if available < updated:
        return False, f"{prefix}{available} of {updated} updated replicas are available..."
    return True, f'deployment "{name}" successfully rolled out'


def _instant(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def restart_outcome(
    requested: str, *, restarted_at: str, complete: bool, message: str, overdue: bool
) -> tuple[bool, str] | None:
    """How a restart that set restartedAt=`requested` ended, from the Deployment as observed:
    (True, message) once a rollout of that restart — or of a later one — is complete; (False,
    message) past the progress deadline, or when `overdue` (the follow-up time ran out); None
    while it is still under way. The times are compared as instants: kubectl writes local time
    with its offset, cdportal writes UTC."""
    asked, seen = _instant(requested), _instant(restarted_at)
    ours = asked is not None and seen is not None and seen >= asked
    if ours and complete:
        later = f" (a later restart at {restarted_at} included it)" if seen != asked else ""
        return True, message + later
    if ours and "exceeded its progress deadline" in message:
        return False, message
    if overdue:
        seen = message if ours else f"the Deployment does not show this restart (restartedAt {restarted_at or 'unset'})"
        return False, f"timed out waiting for the condition: {seen}"
    return None


# --- finding the image updater ----------------------------------------------------------------


def _owner(obj: dict, kind: str) -> dict | None:
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if r.get("kind") == kind]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def _find(objects: Iterable[dict], ref: dict, namespace: str | None) -> dict | None:
    for obj in objects:
        meta = _meta(obj)
        if namespace and meta.get("namespace") not in (None, namespace):
            continue
        if ref.get("uid") and meta.get("uid"):
            if meta["uid"] == ref["uid"]:
                return obj
        elif meta.get("name") == ref.get("name"):
            return obj
    return None


def find_updater_deployment(
    deployments: list[dict],
    pods: list[dict],
    *,
    replicasets: list[dict] | None = None,
    name: str | None = None,
) -> dict | None:
    """The argocd-image-updater Deployment, whatever the install called it.

    A configured `name` wins. Otherwise follow each pod labelled
    app.kubernetes.io/name=argocd-image-updater (true for v0, v1 and helm installs) through its
    owner ReplicaSet to the Deployment. Without the ReplicaSets, the ReplicaSet name is
    `<deployment>-<pod-template-hash>`. With no pods at all (scaled to zero), fall back to the
    known Deployment names/labels.
    """
    if name:
        return next((d for d in deployments if _meta(d).get("name") == name), None)
    label, value = UPDATER_POD_LABEL
    for pod in pods:
        meta = _meta(pod)
        if (meta.get("labels") or {}).get(label) != value:
            continue
        rs_ref = _owner(pod, "ReplicaSet")
        if rs_ref is None:
            continue
        namespace = meta.get("namespace")
        rs = _find(replicasets or [], rs_ref, namespace)
        if rs is not None:
            dep_ref = _owner(rs, "Deployment")
            found = _find(deployments, dep_ref, namespace) if dep_ref else None
        else:
            hash_ = (meta.get("labels") or {}).get("pod-template-hash")
            suffix = f"-{hash_}"
            rs_name = rs_ref.get("name", "")
            if not hash_ or not rs_name.endswith(suffix):
                continue
            found = _find(deployments, {"name": rs_name[: -len(suffix)]}, namespace)
        if found is not None:
            return found
    for deployment in deployments:
        meta = _meta(deployment)
        if (meta.get("labels") or {}).get(label) in (value, *UPDATER_DEPLOYMENT_NAMES):
            return deployment
    return None


# --- registry pull secret ---------------------------------------------------------------------


def registry_host(value: str) -> str:
    """The registry a value names, as host[:port] the way docker keys its config: scheme and path
    dropped, lowercased, Docker Hub's aliases as docker.io."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip().lower())
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _describe(secret: dict) -> str:
    meta = _meta(secret)
    if meta.get("namespace"):
        return f"secret {meta['namespace']}/{meta.get('name', '')}"
    return f"secret {meta.get('name', '')}"


def _auths(secret: dict | None) -> tuple[dict | None, str]:
    """The dockerconfigjson's `auths`, or None and a reason that quotes no secret value."""
    if secret is None:
        return None, "the pull secret does not exist"
    what = _describe(secret)
    kind = secret.get("type")
    if kind != DOCKERCONFIGJSON:
        return None, f"{what} has type {kind!r}, expected {DOCKERCONFIGJSON!r}"
    raw = (secret.get("data") or {}).get(".dockerconfigjson")
    try:
        if raw is not None:
            config = json.loads(base64.b64decode(raw, validate=True))
        else:
            config = json.loads((secret.get("stringData") or {})[".dockerconfigjson"])
    except KeyError:
        return None, f"{what} has no .dockerconfigjson key"
    except (binascii.Error, ValueError):
        return None, f"{what}: .dockerconfigjson is not valid base64-encoded JSON"
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None, f"{what}: .dockerconfigjson has no auths"
    return auths, ""


def pull_secret_registries(secret: dict | None) -> tuple[list[str], str]:
    """The registries a dockerconfigjson secret has entries for (host[:port], sorted), or [] and
    a reason that quotes no secret value."""
    auths, reason = _auths(secret)
    if auths is None:
        return [], reason
    hosts = sorted({registry_host(key) for key, entry in auths.items() if isinstance(entry, dict)})
    return hosts, "" if hosts else f"{_describe(secret)}: .dockerconfigjson names no registry"


def _entry(secret: dict | None, registry: str) -> tuple[dict | None, str]:
    """The auths entry for `registry`, or None and a reason that quotes no secret value."""
    auths, reason = _auths(secret)
    if auths is None:
        return None, reason
    what = _describe(secret)
    wanted = registry_host(registry)
    for key, entry in auths.items():
        if registry_host(key) == wanted and isinstance(entry, dict):
            return entry, f"{what} has credentials for {wanted}"
    return None, f"{what} has no entry for {wanted}"


def _credentials(entry: dict) -> tuple[str, str] | None:
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        return (username, password) if sep and username and password else None
    if entry.get("username") and entry.get("password"):
        return entry["username"], entry["password"]
    return None


def check_pull_secret(secret: dict | None, registry: str) -> tuple[bool, str]:
    """(ok, reason) for a dockerconfigjson secret meant for `registry` (ghcr.io, docker.io, ...).

    The reason names the secret and registry only, never a username, password or token.
    """
    entry, reason = _entry(secret, registry)
    if entry is None:
        return False, reason
    if _credentials(entry) is None:
        wanted = registry_host(registry)
        return (
            False,
            f"{_describe(secret)} has an entry for {wanted} but no usable username and password",
        )
    return True, reason


def pull_secret_credentials(secret: dict | None, registry: str) -> tuple[str, str]:
    """(username, password) for `registry`; ValueError (without secret values) if unusable."""
    ok, reason = check_pull_secret(secret, registry)
    if not ok:
        raise ValueError(reason)
    entry, _ = _entry(secret, registry)
    credentials = _credentials(entry)
    assert credentials is not None
    return credentials
