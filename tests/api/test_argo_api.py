"""POST /api/applications/{ns}/{name}/sync|refresh|terminate against the Kubernetes API emulator,
reached through a kubeconfig (settings.KUBECONFIG), as in a deployment."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from kube_stub import APPS

from cdportal.api.models import ApiToken
from cdportal.pipeline.models import Action


@pytest.fixture
def kube(argocd_cluster):
    return argocd_cluster


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def token_of(user) -> str:
    return ApiToken.issue(user=user, name="tests")[1]


def post(client, path, body, token):
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def live(kube, name):
    return kube.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], name)


def test_alice_force_syncs_over_the_api(client, alice, kube):
    response = post(
        client,
        "/api/applications/argocd/controller/sync",
        {"prune": True, "idempotency_key": "c1"},
        token_of(alice),
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == "force_sync" and body["status"] == "running" and body["by"] == "alice"
    assert body["parameters"] == {
        "namespace": "argocd",
        "name": "controller",
        "prune": True,
        "revision": None,
        # the controller's last operation when the sync was asked for: ours is the next one
        "after_operation": "2026-08-21T09:14:31Z",
        "after_operation_finished": "2026-08-21T09:14:33Z",
    }
    operation = live(kube, "controller")["operation"]
    assert operation["initiatedBy"] == {"username": "alice"} and operation["sync"]["prune"] is True


def test_the_same_key_twice_is_one_action(client, alice, kube):
    token = token_of(alice)
    first = post(
        client, "/api/applications/argocd/controller/sync", {"idempotency_key": "c2"}, token
    )
    again = post(
        client, "/api/applications/argocd/controller/sync", {"idempotency_key": "c2"}, token
    )
    assert first.json()["id"] == again.json()["id"]
    assert Action.objects.count() == 1


def test_a_sync_while_an_operation_runs_is_409_with_the_reason_and_logged(client, alice, kube):
    response = post(client, "/api/applications/argocd/api-gateway/sync", {}, token_of(alice))

    assert response.status_code == 409
    assert "Another operation is already in progress" in response.json()["detail"]
    assert Action.objects.get().status == Action.Status.REFUSED


def test_bob_the_viewer_gets_403_and_nothing_is_patched(client, bob, kube):
    response = post(client, "/api/applications/argocd/controller/sync", {}, token_of(bob))
    assert response.status_code == 403
    assert "operation" not in live(kube, "controller")
    assert Action.objects.get().status == Action.Status.REFUSED  # the attempt is logged


def test_an_unknown_application_is_404(client, alice, kube):
    response = post(client, "/api/applications/argocd/nope/refresh", {}, token_of(alice))
    assert response.status_code == 404


def test_alice_hard_refreshes_and_terminates(client, alice, kube, monkeypatch):
    from cdportal.pipeline import argo_actions

    monkeypatch.setattr(argo_actions, "REFRESH_WAIT", 0.2)
    token = token_of(alice)
    refreshed = post(client, "/api/applications/argocd/controller/refresh", {}, token)
    assert refreshed.status_code == 202
    assert refreshed.json()["message"].endswith("requested; Argo CD has not reconciled yet")
    assert (
        live(kube, "controller")["metadata"]["annotations"]["argocd.argoproj.io/refresh"] == "hard"
    )

    terminated = post(client, "/api/applications/argocd/api-gateway/terminate", {}, token)
    assert terminated.status_code == 202, terminated.content
    assert live(kube, "api-gateway")["status"]["operationState"]["phase"] == "Terminating"


def test_terminate_without_an_operation_is_409(client, alice, kube):
    response = post(client, "/api/applications/argocd/controller/terminate", {}, token_of(alice))
    assert response.status_code == 409
    assert response.json()["detail"] == "Unable to terminate operation. No operation is in progress"
