"""A force sync ends when Argo CD's operation ends, not when the API server accepts the patch.

Against the Kubernetes API emulator: alice's force sync is patched in, then this test plays Argo
CD's application controller (merge-patching status.operationState as it does, docs/argo-cd.md §2)
and cdportal's watcher lists the Application and ingests it, as watch-argocd does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from django.test import Client
from kube_stub import FIXTURES
from kubernetes import client

from cdportal.adapters.kubernetes.watchers import ApplicationWatcher
from cdportal.api.models import ApiToken
from cdportal.pipeline import argo_actions
from cdportal.pipeline.models import Action, Application
from cdportal.pipeline.sinks import LocalSink

ARGO = ("argoproj.io", "v1alpha1", "argocd", "applications")


def controller_sets(kube, name: str, phase: str, message: str = "", **state) -> None:
    """What Argo CD's controller writes: the operation's state; a finished one clears .operation."""
    api = client.CustomObjectsApi(kube.api_client)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    live = api.get_namespaced_custom_object(*ARGO, name)
    previous = (live.get("status") or {}).get("operationState") or {}
    operation = live.get("operation") or previous.get("operation")
    body: dict = {
        "status": {
            "operationState": {
                "operation": operation,
                "phase": phase,
                "message": message,
                "startedAt": previous.get("startedAt") if phase != "Running" else now,
                **state,
            }
        }
    }
    if phase != "Running":
        body["operation"] = None
        body["status"]["operationState"]["finishedAt"] = now
    api.patch_namespaced_custom_object(
        *ARGO, name, body, _content_type="application/merge-patch+json"
    )


def the_watcher_sees(kube) -> None:
    ApplicationWatcher(kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=0.5).list(
        "argocd"
    )


def force_sync(alice) -> Action:
    app = Application.objects.get(namespace="argocd", name="controller")
    return argo_actions.force_sync(app=app, by=alice)


def test_a_sync_that_fails_reads_failed_with_argo_cds_message(alice, argocd_cluster):
    action = force_sync(alice)
    assert action.status == Action.Status.RUNNING  # accepted is not done

    controller_sets(argocd_cluster, "controller", "Running", "waiting for healthy state")
    the_watcher_sees(argocd_cluster)
    action.refresh_from_db()
    assert action.status == Action.Status.RUNNING and action.finished_at is None

    failed = "one or more objects failed to apply, reason: admission webhook denied the request"
    controller_sets(argocd_cluster, "controller", "Failed", failed)
    the_watcher_sees(argocd_cluster)

    action.refresh_from_db()
    assert (action.status, action.message) == (Action.Status.FAILED, failed)
    assert action.finished_at is not None and action.finished_at >= action.started_at


def test_a_terminated_sync_reads_failed_operation_terminated(alice, argocd_cluster):
    action = force_sync(alice)
    controller_sets(argocd_cluster, "controller", "Running")
    the_watcher_sees(argocd_cluster)

    app = Application.objects.get(namespace="argocd", name="controller")
    stop = argo_actions.terminate(app=app, by=alice)
    assert stop.status == Action.Status.SUCCEEDED, stop.message
    controller_sets(argocd_cluster, "controller", "Failed", "Operation terminated")
    the_watcher_sees(argocd_cluster)

    action.refresh_from_db()
    assert (action.status, action.message) == (Action.Status.FAILED, "Operation terminated")


def test_a_sync_that_succeeds_reads_succeeded_once_and_stays_so(alice, argocd_cluster):
    action = force_sync(alice)
    controller_sets(argocd_cluster, "controller", "Running")
    controller_sets(
        argocd_cluster, "controller", "Succeeded", "successfully synced (all tasks run)"
    )
    the_watcher_sees(argocd_cluster)
    action.refresh_from_db()
    assert (action.status, action.message) == (
        Action.Status.SUCCEEDED,
        "successfully synced (all tasks run)",
    )

    controller_sets(argocd_cluster, "controller", "Error", "a later operation's error")
    the_watcher_sees(argocd_cluster)  # first wins: a later event leaves it as it was
    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED


def test_the_operation_before_the_request_does_not_settle_it(alice, argocd_cluster):
    # argocd/controller's last operation (an auto-sync of 2026-08-21) Succeeded: not this one.
    action = force_sync(alice)
    the_watcher_sees(argocd_cluster)
    action.refresh_from_db()
    assert action.status == Action.Status.RUNNING and action.finished_at is None


def test_a_hard_refresh_runs_until_the_controller_reconciles(alice, argocd_cluster, monkeypatch):
    monkeypatch.setattr(argo_actions, "REFRESH_WAIT", 0.2)  # the controller is slow today
    app = Application.objects.get(namespace="argocd", name="controller")
    action = argo_actions.hard_refresh(app=app, by=alice)
    assert action.status == Action.Status.RUNNING, action.message  # not "succeeded" unreconciled

    api = client.CustomObjectsApi(argocd_cluster.api_client)
    reconciled = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.patch_namespaced_custom_object(
        *ARGO,
        "controller",
        {
            "metadata": {"annotations": {"argocd.argoproj.io/refresh": None}},
            "status": {"reconciledAt": reconciled},
        },
        _content_type="application/merge-patch+json",
    )
    the_watcher_sees(argocd_cluster)

    action.refresh_from_db()
    assert (action.status, action.message) == (
        Action.Status.SUCCEEDED,
        f"hard refresh of argocd/controller done: reconciled at {reconciled}",
    )


def test_the_api_says_running_until_argo_cd_is_done_then_failed(alice, argocd_cluster):
    token = ApiToken.issue(user=alice, name="tests")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    answer = api.post(
        "/api/applications/argocd/controller/sync", data={}, content_type="application/json"
    )
    assert answer.status_code == 202, answer.content
    path = f"/api/actions/{answer.json()['id']}"
    assert api.get(path).json()["status"] == "running"

    controller_sets(argocd_cluster, "controller", "Running")
    controller_sets(argocd_cluster, "controller", "Error", "ComparisonError: rpc error")
    the_watcher_sees(argocd_cluster)

    shown = api.get(path).json()
    assert (shown["status"], shown["message"]) == ("failed", "ComparisonError: rpc error")


def test_refusals_answer_409_with_the_reason_on_sync_and_restart_alike(alice, argocd_cluster):
    token = ApiToken.issue(user=alice, name="tests")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    sync = api.post(
        "/api/applications/argocd/api-gateway/sync", data={}, content_type="application/json"
    )
    assert sync.status_code == 409
    assert sync.json()["detail"].startswith("Another operation is already in progress")

    paused = yaml.safe_load((FIXTURES / "image-updater-deployment.yaml").read_text())
    paused["spec"]["paused"] = True
    argocd_cluster.seed_object("apps/v1/deployments", paused)
    restart = api.post("/api/updater/restart", data={}, content_type="application/json")
    assert restart.status_code == 409, restart.content  # was 202 with a refused Action
    assert "paused" in restart.json()["detail"]

    refused = api.get("/api/actions").json()
    assert [a["status"] for a in refused["items"][:2]] == ["refused", "refused"]
