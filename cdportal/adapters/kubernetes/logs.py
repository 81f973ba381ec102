"""The argocd-image-updater pods and their logs, as `kubectl logs -l … -f` reads them. The
Channels consumer that filters and pushes the lines is cdportal.live.logs; `log_events` reads a
tail of each pod's log for what it says about the updater's checks (``updater_log`` events)."""

from __future__ import annotations

from kubernetes import client

from cdportal.core.updater_deployment import UPDATER_POD_LABEL
from cdportal.core.updater_logs import cycles, redact

TAIL_LINES = 200
# How much of each pod's log `log_events` reads: several cycles at the default interval.
CYCLE_LINES = 2000


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


def log_events(api_client, namespace: str, deployment: str, *, observed_at) -> list[dict]:
    """One ``updater_log`` event per updater pod whose log tail shows a finished cycle or its
    interval (core.updater_logs.cycles): the interval, when the last cycle ended, its errors."""
    core = client.CoreV1Api(api_client)
    events = []
    for pod_namespace, pod in updater_pods(api_client, [namespace]):
        response = core.read_namespaced_pod_log(
            pod, pod_namespace, tail_lines=CYCLE_LINES, _preload_content=False
        )
        found = cycles(response.data.decode("utf-8", "replace").splitlines())
        if found.last_cycle_at is None and found.interval_seconds is None:
            continue
        last = found.last_cycle_at.isoformat() if found.last_cycle_at else "none"
        events.append(
            {
                "kind": "updater_log",
                "source": "kubernetes",
                "source_id": f"log/{pod_namespace}/{pod}/{last}/{found.interval_seconds}"[:200],
                "occurred_at": (found.last_cycle_at or observed_at).isoformat(),
                "namespace": namespace,
                "name": deployment,
                "pod": pod,
                "interval_seconds": found.interval_seconds,
                "last_cycle_at": found.last_cycle_at.isoformat() if found.last_cycle_at else None,
                "errors": [
                    {
                        "time": line.time[:64],
                        "application": line.application[:300],
                        "image": line.image[:300],
                        "message": line.message[:20_000],
                    }
                    for line in found.errors[:50]
                ],
            }
        )
    return events
