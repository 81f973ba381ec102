"""Force sync, hard refresh and terminate against the Kubernetes API emulator, over real HTTP.

The emulator (tests/kube_stub.py) answers a stale resourceVersion with 409 and records every
patch body; the one below can also let "someone else" change an object right after it was read
(the race two operators clicking at once run into).
"""

from __future__ import annotations

import json
import threading

import kube_stub
import pytest
from kmock._internal.enums import action as kaction
from kube_stub import Kube, load

from cdportal.core import argo_application
from cdportal.pipeline import argo_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Action, Application


class RacingEmulator(kube_stub.Emulator):
    """Lets "someone else" change an object right after it was read (`race`)."""

    async def _handle(self, request):
        response = await super()._handle(request)
        race = getattr(self, "race", None)
        if race and request.action == kaction.FETCH and request.name:
            self.race = None  # someone else's change lands right after this read
            key = (request.resource, request.namespace, request.name)
            current = int(self._objects[key].raw["metadata"]["resourceVersion"])
            self._objects[key].patch({**race, "metadata": {"resourceVersion": str(current + 1)}})
        return response


@pytest.fixture
def kube(monkeypatch):
    monkeypatch.setattr(kube_stub, "Emulator", RacingEmulator)
    k = Kube()
    k.seed(load("01"))  # argocd/controller @48213377, no operation
    k.seed(load("06"))  # argocd/api-gateway @48214251, a sync Running
    yield k
    k.close()


def app_row(name: str) -> Application:
    return Application.objects.get_or_create(namespace="argocd", name=name)[0]


def live(kube, name: str) -> dict:
    return kube.api.get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "applications", name
    )


def patches(kube) -> list[dict]:
    return getattr(kube.k, "patches", [])


def test_alice_force_syncs_the_controller_with_its_sync_options_and_her_name(alice, kube):
    action = argo_actions.force_sync(
        app=app_row("controller"), by=alice, prune=True, api_client=kube.api_client
    )

    assert action.status == Action.Status.RUNNING, action.message  # until Argo CD's operation ends
    assert action.message == (
        "sync requested on argocd/controller (prune=true); "
        "following Argo CD's operation until it ends"
    )
    (body,) = patches(kube)
    assert body == argo_application.sync_patch(load("01"), username="alice", prune=True)
    assert body["metadata"] == {"resourceVersion": "48213377"}
    assert body["operation"]["initiatedBy"] == {"username": "alice"}
    assert "force" not in json.dumps(body)
    assert kube.k.content_types == ["application/merge-patch+json"]
    assert live(kube, "controller")["operation"]["sync"]["prune"] is True
    assert Application.objects.get(
        namespace="argocd", name="controller"
    ).revision  # ingested at once


def idle_gateway() -> dict:
    """api-gateway after its sync finished: no .operation, sync options and retry in its policy."""
    obj = load("06")
    del obj["operation"]
    obj["metadata"]["name"] = "idle-gateway"
    obj["status"]["operationState"]["phase"] = "Succeeded"
    return obj


def test_the_application_sync_options_and_retry_are_copied_into_the_operation(alice, kube):
    kube.seed(idle_gateway())
    argo_actions.force_sync(
        app=app_row("idle-gateway"), by=alice, revision="v1", api_client=kube.api_client
    )

    (body,) = patches(kube)
    assert body["operation"] == {
        "info": [{"name": "Reason", "value": "cdportal: on-call manual sync"}],
        "initiatedBy": {"username": "alice"},
        "retry": {"limit": 2},
        "sync": {
            "prune": False,
            "revision": "v1",
            "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
            "syncStrategy": {"hook": {}},
        },
    }


def test_a_revision_auto_sync_would_undo_is_refused_as_argo_cd_does(alice, kube):
    with pytest.raises(
        ActionRefused, match="Cannot sync to v1: auto-sync currently set to main"
    ) as refused:
        argo_actions.force_sync(
            app=app_row("controller"), by=alice, revision="v1", api_client=kube.api_client
        )
    assert refused.value.status == 400
    assert patches(kube) == []


def test_force_sync_while_api_gateways_sync_runs_is_refused_and_recorded(alice, kube):
    with pytest.raises(ActionRefused) as refused:
        argo_actions.force_sync(app=app_row("api-gateway"), by=alice, api_client=kube.api_client)

    assert refused.value.status == 409
    assert "Another operation is already in progress" in str(refused.value)
    assert "terminate it first" in str(refused.value)
    assert patches(kube) == []
    action = Action.objects.get(kind=Action.Kind.FORCE_SYNC)
    assert action.status == Action.Status.REFUSED
    assert action.message == str(refused.value)
    assert refused.value.action == action


def test_a_change_between_read_and_patch_is_a_409_and_a_clear_retry(alice, kube):
    kube.k.race = {"metadata": {"annotations": {"someone": "else"}}}

    with pytest.raises(ActionRefused) as refused:
        argo_actions.force_sync(app=app_row("controller"), by=alice, api_client=kube.api_client)

    assert refused.value.status == 409
    assert str(refused.value) == "the application changed since it was read; try again"
    assert Action.objects.get().status == Action.Status.REFUSED
    assert "operation" not in live(kube, "controller")


def test_two_operators_clicking_at_once_make_one_operation(alice, django_user_model, kube):
    from django.contrib.auth.models import Group

    olga = django_user_model.objects.create_user(username="olga", password="x")
    olga.groups.set(Group.objects.filter(name="operator"))
    theirs = argo_application.sync_patch(load("01"), username="alice")
    kube.k.race = {"operation": theirs["operation"]}  # alice's sync lands right after olga read

    with pytest.raises(ActionRefused) as refused:
        argo_actions.force_sync(app=app_row("controller"), by=olga, api_client=kube.api_client)

    assert refused.value.status == 409
    assert live(kube, "controller")["operation"]["initiatedBy"] == {"username": "alice"}
    # and olga clicking again now is refused because alice's operation is set
    with pytest.raises(ActionRefused, match="requested by alice has not been started"):
        argo_actions.force_sync(app=app_row("controller"), by=olga, api_client=kube.api_client)
    assert Action.objects.filter(by_name="olga", status=Action.Status.REFUSED).count() == 2


def test_one_after_the_other_the_second_operator_is_refused(alice, django_user_model, kube):
    from django.contrib.auth.models import Group

    olga = django_user_model.objects.create_user(username="olga", password="x")
    olga.groups.set(Group.objects.filter(name="operator"))
    argo_actions.force_sync(app=app_row("controller"), by=alice, api_client=kube.api_client)
    with pytest.raises(ActionRefused, match="a sync requested by alice"):
        argo_actions.force_sync(app=app_row("controller"), by=olga, api_client=kube.api_client)
    assert len(patches(kube)) == 1


def test_a_double_click_with_the_same_key_is_one_patch(alice, kube):
    first = argo_actions.force_sync(
        app=app_row("controller"), by=alice, idempotency_key="k1", api_client=kube.api_client
    )
    second = argo_actions.force_sync(
        app=app_row("controller"), by=alice, idempotency_key="k1", api_client=kube.api_client
    )

    assert first.pk == second.pk
    assert len(patches(kube)) == 1
    assert Action.objects.count() == 1


def test_a_refused_double_click_is_refused_again_without_a_second_attempt(alice, kube):
    for _ in range(2):
        with pytest.raises(ActionRefused):
            argo_actions.force_sync(
                app=app_row("api-gateway"),
                by=alice,
                idempotency_key="k2",
                api_client=kube.api_client,
            )
    assert Action.objects.count() == 1


def test_bob_the_viewer_may_not_sync_and_nothing_is_patched(bob, kube):
    with pytest.raises(ActionRefused) as refused:
        argo_actions.force_sync(app=app_row("controller"), by=bob, api_client=kube.api_client)
    assert refused.value.status == 403
    assert patches(kube) == []
    # the attempt is in the action log, with the reason (README: every attempt is logged)
    action = Action.objects.get()
    assert (action.by_name, action.kind, action.status) == (
        "bob",
        Action.Kind.FORCE_SYNC,
        Action.Status.REFUSED,
    )
    assert action.message == "bob may not do this: it needs the pipeline.force_sync permission"
    assert refused.value.action == action


def test_hard_refresh_sets_the_annotation_and_says_argo_cd_has_not_reconciled(
    alice, kube, monkeypatch
):
    monkeypatch.setattr(argo_actions, "REFRESH_WAIT", 0.3)
    action = argo_actions.hard_refresh(
        app=app_row("controller"), by=alice, api_client=kube.api_client
    )

    assert patches(kube) == [{"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}]
    assert (
        live(kube, "controller")["metadata"]["annotations"]["argocd.argoproj.io/refresh"] == "hard"
    )
    assert action.status == Action.Status.RUNNING  # until the watcher sees reconciledAt move
    assert (
        action.message
        == "hard refresh of argocd/controller requested; Argo CD has not reconciled yet"
    )


def test_hard_refresh_notices_when_the_controller_finished(alice, kube):
    # the controller reconciles soon after the patch: the annotation goes, reconciledAt moves
    done = {
        "metadata": {
            "annotations": {"argocd.argoproj.io/refresh": None},
            "resourceVersion": "48213378",
        },
        "status": {"reconciledAt": "2030-01-01T00:00:00Z"},
    }
    timer = threading.Timer(
        0.4,
        kube.api.patch_namespaced_custom_object,
        args=("argoproj.io", "v1alpha1", "argocd", "applications", "controller", done),
        kwargs={"_content_type": "application/merge-patch+json"},
    )
    timer.start()
    try:
        action = argo_actions.hard_refresh(
            app=app_row("controller"), by=alice, api_client=kube.api_client
        )
    finally:
        timer.join()
    assert (
        action.message
        == "hard refresh of argocd/controller done: reconciled at 2030-01-01T00:00:00Z"
    )


def test_terminate_stops_api_gateways_running_sync(alice, kube):
    action = argo_actions.terminate(
        app=app_row("api-gateway"), by=alice, api_client=kube.api_client
    )

    assert action.status == Action.Status.SUCCEEDED, action.message
    assert patches(kube) == [argo_application.terminate_patch(load("06"))]
    assert live(kube, "api-gateway")["status"]["operationState"]["phase"] == "Terminating"


def test_terminate_without_an_operation_is_refused_with_argo_cds_words(alice, kube):
    with pytest.raises(ActionRefused, match="No operation is in progress"):
        argo_actions.terminate(app=app_row("controller"), by=alice, api_client=kube.api_client)
    assert Action.objects.get().status == Action.Status.REFUSED


def test_an_application_gone_from_the_cluster_is_a_clear_404(alice, kube):
    with pytest.raises(ActionRefused) as refused:
        argo_actions.force_sync(app=app_row("deleted-app"), by=alice, api_client=kube.api_client)
    assert refused.value.status == 404
    assert "argocd/deleted-app no longer exists in the cluster" in str(refused.value)


def test_an_unreachable_api_server_is_a_failed_action_not_an_error(alice, db):
    from kube_stub import free_port
    from kubernetes import client

    nowhere = client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{free_port()}"))
    nowhere.configuration.retries = 0
    action = argo_actions.force_sync(app=app_row("controller"), by=alice, api_client=nowhere)
    assert action.status == Action.Status.FAILED
    assert "reading argocd/controller: cannot reach the Kubernetes API" in action.message


def test_the_command_syncs_with_yes_and_refuses_with_exit_status_2(alice, kube, settings, tmp_path):
    import yaml
    from django.core.management import CommandError, call_command

    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "emulator",
                "clusters": [{"name": "emulator", "cluster": {"server": kube.url}}],
                "users": [{"name": "cdportal", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emulator", "user": "cdportal"}}
                ],
            }
        )
    )
    settings.KUBECONFIG, settings.KUBE_CONTEXT = str(config), ""
    app_row("controller"), app_row("api-gateway")

    call_command(
        "argocd-action", "sync", "--app", "argocd/controller", "--user", "alice", "--prune", "--yes"
    )
    assert live(kube, "controller")["operation"]["sync"]["prune"] is True
    with pytest.raises(CommandError, match="Another operation is already in progress") as refused:
        call_command(
            "argocd-action", "sync", "--app", "argocd/api-gateway", "--user", "alice", "--yes"
        )
    assert refused.value.returncode == 2
    assert [a.status for a in Action.objects.order_by("pk")] == [
        Action.Status.RUNNING,  # accepted; the watcher settles it when the operation ends
        Action.Status.REFUSED,
    ]
