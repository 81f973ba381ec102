"""Image Updater: discovery, restart, rollout following and the credentials check, against the
Kubernetes emulator and a real token-mode registry."""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from datetime import UTC, datetime

import pytest
import yaml
from kube_stub import FIXTURES, Kube
from kubernetes import client
from registry_fixtures import PASSWORD, USER

from cdportal.adapters.kubernetes import updater
from cdportal.live import broadcast
from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Action

pytest_plugins = ["registry_fixtures"]
NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def fixture(name):
    return yaml.safe_load((FIXTURES / name).read_text())


@pytest.fixture
def kube():
    k = Kube()
    yield k
    k.close()


def pod_and_rs(deployment, rs_name):
    meta = deployment["metadata"]
    rs = {
        "metadata": {
            "name": rs_name,
            "namespace": meta["namespace"],
            "uid": "rs-uid",
            "ownerReferences": [
                {
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "controller": True,
                }
            ],
        }
    }
    pod = {
        "metadata": {
            "name": rs_name + "-abcde",
            "namespace": meta["namespace"],
            "labels": {"app.kubernetes.io/name": "argocd-image-updater"},
            "ownerReferences": [
                {"kind": "ReplicaSet", "name": rs_name, "uid": "rs-uid", "controller": True}
            ],
        }
    }
    return pod, rs


@pytest.mark.parametrize(
    "name", ["image-updater-deployment.yaml", "image-updater-deployment-v0.yaml"]
)
def test_it_finds_either_install_through_its_pods(kube, name):
    deployment = fixture(name)
    other = copy.deepcopy(deployment)
    other["metadata"].update(name="decoy", uid="decoy-uid", labels={})
    pod, rs = pod_and_rs(deployment, deployment["metadata"]["name"] + "-7f9c6d8b5d")
    kube.seed_object("apps/v1/deployments", other)
    kube.seed_object("apps/v1/deployments", deployment)
    kube.seed_object("apps/v1/replicasets", rs)
    kube.seed_object("v1/pods", pod)
    found = updater.find(kube.api_client, "argocd")
    assert found["metadata"]["name"] == deployment["metadata"]["name"]
    status = updater.status(found)
    assert status["version"] and status["image"].endswith(":" + status["version"])
    assert updater.find(kube.api_client, "argocd", "decoy")["metadata"]["name"] == "decoy"


def test_it_sets_the_restart_annotation(kube):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    deployment = updater.find(kube.api_client, "argocd")
    updater.restart(kube.api_client, deployment, NOW)
    back = updater.read(kube.api_client, "argocd", "argocd-image-updater-controller")
    assert (
        back["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        == "2026-11-29T01:00:00Z"
    )


def test_it_refuses_a_paused_deployment_and_records_it(kube, alice):
    paused = fixture("image-updater-deployment.yaml")
    paused["spec"]["paused"] = True
    kube.seed_object("apps/v1/deployments", paused)
    with pytest.raises(ActionRefused) as refused:
        updater_actions.restart_updater(by=alice, api_client=kube.api_client, timeout=1, poll=0.05)
    assert refused.value.status == 409  # a precondition, answered like a refused sync
    action = refused.value.action
    assert action.status == Action.Status.REFUSED
    assert "paused" in action.message
    back = updater.read(kube.api_client, "argocd", "argocd-image-updater-controller")
    assert (
        back["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        == "2026-08-22T16:01:12Z"
    )


def test_it_forbids_viewers(kube, bob):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    with pytest.raises(ActionRefused) as refused:
        updater_actions.restart_updater(by=bob, api_client=kube.api_client)
    assert refused.value.status == 403
    action = Action.objects.get()  # refused, and in the action log with the reason
    assert (action.by_name, action.status) == ("bob", Action.Status.REFUSED)
    assert "pipeline.restart_updater" in action.message
    back = updater.read(kube.api_client, "argocd", "argocd-image-updater-controller")
    assert (
        back["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        == "2026-08-22T16:01:12Z"
    )  # not restarted


def _controller(kube, stop_when_restarted):
    """Play the Deployment controller: a new ReplicaSet, first unready, then ready."""
    apps = client.AppsV1Api(kube.api_client)
    name = "argocd-image-updater-controller"
    while True:
        d = updater.read(kube.api_client, "argocd", name)
        if d["metadata"]["generation"] > d["status"]["observedGeneration"]:
            break
        time.sleep(0.02)
    generation = d["metadata"]["generation"]
    apps.patch_namespaced_deployment_status(
        name,
        "argocd",
        {
            "status": {
                "observedGeneration": generation,
                "replicas": 2,
                "updatedReplicas": 1,
                "availableReplicas": 1,
                "readyReplicas": 1,
            }
        },
    )
    stop_when_restarted.wait(0.5)
    apps.patch_namespaced_deployment_status(
        name,
        "argocd",
        {
            "status": {
                "observedGeneration": generation,
                "replicas": 1,
                "updatedReplicas": 1,
                "availableReplicas": 1,
                "readyReplicas": 1,
            }
        },
    )


def test_it_finishes_only_when_the_new_pod_is_ready(kube, alice):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    seen = []
    release = threading.Event()
    thread = threading.Thread(target=_controller, args=(kube, release), daemon=True)
    thread.start()
    deployment = updater.find(kube.api_client, "argocd")
    updater.restart(kube.api_client, deployment, NOW)
    done, message, last = updater.wait_for_rollout(
        kube.api_client,
        "argocd",
        "argocd-image-updater-controller",
        timeout=10,
        poll=0.05,
        on_progress=lambda d, m: seen.append(m),
    )
    thread.join(5)
    assert (
        done and message == 'deployment "argocd-image-updater-controller" successfully rolled out'
    )
    assert any("old replicas are pending termination" in m for m in seen)
    assert seen[-1] == message


def test_the_action_succeeds_after_the_rollout(kube, alice):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    thread = threading.Thread(target=_controller, args=(kube, threading.Event()), daemon=True)
    thread.start()
    action = updater_actions.restart_updater(
        by=alice, api_client=kube.api_client, timeout=10, poll=0.05
    )
    thread.join(5)
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert "successfully rolled out" in action.message


@pytest.mark.django_db(transaction=True)  # the background thread sees only committed rows
def test_from_the_page_it_returns_at_once_and_finishes_in_the_background(kube, alice):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    controller = threading.Event()
    action = updater_actions.restart_updater(
        by=alice, api_client=kube.api_client, timeout=10, poll=0.05, wait=False
    )
    assert action.status == Action.Status.RUNNING
    assert "following the rollout" in action.message
    thread = threading.Thread(target=_controller, args=(kube, controller), daemon=True)
    thread.start()
    thread.join(5)
    deadline = time.monotonic() + 10
    while action.status == Action.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
        action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert "successfully rolled out" in action.message
    broadcast.flush()
    broadcast.close_connections()


def test_it_fails_with_kubectls_message_on_timeout(kube, alice):
    kube.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    action = updater_actions.restart_updater(
        by=alice, api_client=kube.api_client, timeout=0.3, poll=0.05
    )
    assert action.status == Action.Status.FAILED
    assert action.message == (
        "timed out waiting for the condition: Waiting for deployment spec update to be observed..."
    )


def _secret(name, registry, username, password, kind="kubernetes.io/dockerconfigjson"):
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = {"auths": {registry: {"auth": auth}}}
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "type": kind,
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


def test_credentials_check_reasons(kube):
    kube.seed_object("v1/secrets", _secret("opaque", "ghcr.io", "u", "hunter2", kind="Opaque"))
    kube.seed_object("v1/secrets", _secret("other", "quay.io", "u", "hunter2"))
    ok, reason, _ = updater.check_credentials(
        kube.api_client, "pullsecret:argocd/missing", "ghcr.io"
    )
    assert not ok and reason == "secret argocd/missing does not exist"
    ok, reason, _ = updater.check_credentials(
        kube.api_client, "pullsecret:argocd/opaque", "ghcr.io"
    )
    assert not ok and "expected 'kubernetes.io/dockerconfigjson'" in reason
    with pytest.raises(
        updater.RegistryNotAllowed, match="has entries for quay.io only, not ghcr.io"
    ):
        updater.check_credentials(kube.api_client, "pullsecret:argocd/other", "ghcr.io")
    ok, reason, _ = updater.check_credentials(kube.api_client, "env:NOPE", "ghcr.io")
    assert not ok and "pullsecret:NAMESPACE/NAME" in reason
    assert "hunter2" not in reason


def test_credentials_work_against_a_token_registry(kube, token_registry):
    host = token_registry.host
    kube.seed_object("v1/secrets", _secret("good", host, USER, PASSWORD))
    kube.seed_object("v1/secrets", _secret("bad", host, USER, "wrong-password"))
    ok, reason, _ = updater.check_credentials(kube.api_client, "pullsecret:argocd/good", host)
    assert ok, reason
    ok, reason, _ = updater.check_credentials(kube.api_client, "pullsecret:argocd/bad", host)
    assert not ok and "refused" in reason
    for value in (
        PASSWORD,
        "wrong-password",
        f"'{USER}'",
        base64.b64encode(f"{USER}:wrong-password".encode()).decode(),
    ):
        assert value not in reason
