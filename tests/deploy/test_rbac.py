"""deploy/kubernetes/rbac.yaml grants every Kubernetes call cdportal makes, and nothing it never
makes: every watcher, on-call action, the log stream and the credentials check run against the
API emulator, which records each request; each must be allowed by a rule of the Role, and each
rule must have been needed by some request."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from kube_stub import FIXTURES, Kube, load

from cdportal.adapters.kubernetes.watchers import (
    ApplicationWatcher,
    ImageUpdaterWatcher,
    UpdaterDeploymentWatcher,
    UpdaterEventWatcher,
)
from cdportal.asgi import application
from cdportal.live import broadcast, logs
from cdportal.pipeline import argo_actions, updater_actions
from cdportal.pipeline.models import Application
from cdportal.pipeline.sinks import LocalSink

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "rbac.yaml"
UPDATER = "argocd-image-updater-controller"
LABELS = {"app.kubernetes.io/name": "argocd-image-updater"}

pytestmark = pytest.mark.django_db(
    transaction=True
)  # the log consumer reads the session in a thread


def role_rules() -> list[dict]:
    (role,) = [doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc and doc["kind"] == "Role"]
    return role["rules"]


def allowed_by(rule: dict, call: tuple) -> bool:
    group, resource, verb, name = call
    return (
        group in rule["apiGroups"]
        and resource in rule["resources"]
        and verb in rule["verbs"]
        and (not rule.get("resourceNames") or name in rule["resourceNames"])
    )


def calls(kube) -> set[tuple]:
    """(apiGroup, resource[/subresource], verb, name) of every request the emulator served."""
    seen = set()
    for request in kube.k._requests:
        if request.resource is None:
            continue
        resource = request.resource.plural + (
            f"/{request.subresource}" if request.subresource else ""
        )
        method = str(request.method).upper().rsplit(".", 1)[-1]
        if method == "GET":
            verb = (
                "get"
                if request.name
                else ("watch" if request.params.get("watch") in ("true", "1") else "list")
            )
        else:
            verb = {"PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}[method]
        seen.add((request.resource.group, resource, verb, request.name or ""))
    return seen


@pytest.fixture
def cluster(settings, tmp_path, monkeypatch):
    k = Kube()
    k.seed(load("01"))  # argocd/controller
    k.seed(load("06"))  # argocd/api-gateway, a sync running
    deployment = yaml.safe_load((FIXTURES / "image-updater-deployment.yaml").read_text())
    k.seed_object("apps/v1/deployments", deployment)
    rs = f"{UPDATER}-7f9c6d8b5d"
    k.seed_object(
        "apps/v1/replicasets",
        {
            "metadata": {
                "name": rs,
                "namespace": "argocd",
                "uid": "rs-uid",
                "ownerReferences": [{"kind": "Deployment", "name": UPDATER, "controller": True}],
            }
        },
    )
    k.seed_pod(
        "argocd", f"{rs}-x1", LABELS, ['time="2026-11-29T01:00:00Z" level=info msg="Starting"']
    )
    events = yaml.safe_load((FIXTURES / "image-updater-events.yaml").read_text())
    k.seed_object("v1/events", events["items"][0])
    k.seed_object(
        "v1/secrets",
        {
            "metadata": {"name": "ghcr-pull-secret", "namespace": "argocd"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {},
        },
    )
    settings.KUBECONFIG, settings.ARGOCD_NAMESPACES = k.kubeconfig(tmp_path), ["argocd"]
    monkeypatch.setattr(argo_actions, "REFRESH_WAIT", 0.2)
    monkeypatch.setattr(logs, "client_factory", lambda: k.api_client)
    yield k
    k.close()


def run_every_call(kube, alice) -> None:
    api = kube.api_client
    for watcher in (
        ImageUpdaterWatcher(api, ["argocd"], sink=LocalSink(), request_timeout=0.5),
        ApplicationWatcher(api, ["argocd"], sink=LocalSink(), request_timeout=0.5),
        UpdaterEventWatcher(api, ["argocd"], sink=LocalSink(), request_timeout=0.5),
        UpdaterDeploymentWatcher(api, "argocd", sink=LocalSink(), request_timeout=0.5),
    ):
        watcher.step("argocd")  # list
        watcher.step("argocd")  # one watch connection, ended by the read timeout
    broadcast.flush()

    argo_actions.force_sync(
        app=Application.objects.get(name="controller"), by=alice, api_client=api
    )
    argo_actions.hard_refresh(
        app=Application.objects.get(name="controller"), by=alice, api_client=api
    )
    argo_actions.terminate(
        app=Application.objects.get(name="api-gateway"), by=alice, api_client=api
    )
    updater_actions.restart_updater(by=alice, api_client=api, timeout=0.2, poll=0.05)
    updater_actions.check_credentials(
        by=alice, secret="pullsecret:argocd/ghcr-pull-secret", api_client=api
    )
    async_to_sync(read_the_log)(alice)


async def read_the_log(user) -> None:
    from channels.db import database_sync_to_async

    client = Client()
    await database_sync_to_async(client.force_login)(user)
    ws = WebsocketCommunicator(
        application,
        "/ws/updater/logs/",
        headers=[
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    assert (await ws.connect())[0]
    html = ""
    while "Starting" not in html:
        html += await ws.receive_from(timeout=5)
    await ws.disconnect()


def test_every_call_cdportal_makes_is_granted_and_every_grant_is_used(cluster, alice):
    run_every_call(cluster, alice)

    rules = role_rules()
    made = calls(cluster)
    denied = sorted(call for call in made if not any(allowed_by(rule, call) for rule in rules))
    assert denied == [], f"calls rbac.yaml does not grant: {denied}"
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert any(c[:3] == (group, resource, verb) for c in made), (
                        f"rbac.yaml grants {verb} on {group or 'core'}/{resource}, which cdportal never needs"
                    )


def test_the_pull_secret_rule_names_the_secret_the_updater_page_checks_by_default():
    from cdportal.web.updater import CredentialsForm

    default = CredentialsForm.base_fields["secret"].initial  # pullsecret:argocd/NAME
    (rule,) = [r for r in role_rules() if "secrets" in r["resources"]]
    assert default.rsplit("/", 1)[1] in rule["resourceNames"]


def test_the_example_manifests_run_commands_that_exist_with_that_service_account():
    from django.core.management import get_commands

    docs = [d for d in yaml.safe_load_all((RBAC.parent / "cdportal.yaml").read_text()) if d]
    (account,) = [
        d["metadata"]["name"]
        for d in yaml.safe_load_all(RBAC.read_text())
        if d and d["kind"] == "ServiceAccount"
    ]
    for doc in docs:
        spec = doc["spec"]["template"]["spec"] if doc["kind"] in ("Deployment", "Job") else None
        if spec is None:
            continue
        for container in spec["containers"]:
            args = container.get("args") or []
            if args[:2] == ["python", "manage.py"]:
                assert args[2] in get_commands(), f"{doc['metadata']['name']}: no command {args[2]}"
        if doc["kind"] == "Deployment":
            assert spec["serviceAccountName"] == account
