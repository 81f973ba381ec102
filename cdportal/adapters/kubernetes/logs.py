"""The argocd-image-updater pods and their logs, as `kubectl logs -l … -f` reads them. The
Channels consumer that filters and pushes the lines is cdportal.live.logs."""

from __future__ import annotations

from kubernetes import client

from cdportal.core.updater_deployment import UPDATER_POD_LABEL
from cdportal.core.updater_logs import redact

TAIL_LINES = 200


def updater_pods(api_client, namespaces) -> list[tuple[str, str]]:
    """(namespace, name) of each running updater pod."""
    label, value = UPDATER_POD_LABEL
    core = client.CoreV1Api(api_client)
    found = []
    for namespace in dict.fromkeys(namespaces):
        for pod in core.list_namespaced_pod(namespace, label_selector=f"{label}={value}").items:
            labels = pod.metadata.labels or {}
            phase = pod.status.phase if pod.status else None
            if labels.get(label) == value and phase in ("Running", None):
                found.append((pod.metadata.namespace or namespace, pod.metadata.name))
    return found


def follow(api_client, namespace: str, name: str, *, tail_lines: int = TAIL_LINES):
    """One pod's log as an open HTTP response (read it with `.stream()`, end it with `shutdown`)."""
    return client.CoreV1Api(api_client).read_namespaced_pod_log(
        name, namespace, follow=True, _preload_content=False, tail_lines=tail_lines
    )


def shutdown(response) -> None:
    # shutdown() wakes a read blocked in another thread; close() alone does not.
    for method in ("shutdown", "close", "release_conn"):
        try:
            getattr(response, method, lambda: None)()
        except Exception:  # noqa: BLE001, S110  (best effort: the stream is being dropped anyway)
            pass


def reason(e: Exception) -> str:
    """A failed list or stream in a few words (status and reason, or the redacted message)."""
    status = getattr(e, "status", None)
    why = getattr(e, "reason", None)
    if status and why:
        return f"{status} {why}"
    return redact(str(e))[:200]
