"""The Image Updater's Deployment: find it, restart it as `kubectl rollout restart` does, and tell
when the restart is done as `kubectl rollout status` does.

Pure Python. The adapter lists Deployments, ReplicaSets and Pods and sends the patch; these
functions choose the Deployment, build the patch and read the rollout. See docs/argo-cd.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
UPDATER_POD_LABEL = ("app.kubernetes.io/name", "argocd-image-updater")
# Deployment names/labels differ per install (v1 config/install.yaml, v0 manifests, helm chart).
UPDATER_DEPLOYMENT_NAMES = ("argocd-image-updater-controller", "argocd-image-updater")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


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
        seen = (
            message
            if ours
            else f"the Deployment does not show this restart (restartedAt {restarted_at or 'unset'})"
        )
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
