"""Two operators clicking at once, for real: two threads released by one barrier call the same
action on the same target against the Kubernetes API emulator (tests/kube_stub.py), whose writes
are compare-and-swap under one lock, as etcd's are. Each round starts from the fixture again, so
that one lucky interleaving cannot hide a bug.

- force sync carries the resourceVersion it read: exactly one operation is accepted, the other
  operator gets a clear refusal, and both attempts are in the action log with their outcome;
- hard refresh carries none: both patches land, and they set the same one annotation;
- an Image Updater restart carries none either (as `kubectl rollout restart`), so cdportal
  allows one at a time: the request recorded second sees the first still rolling out and is
  refused, named and logged, before it patches anything.
"""

from __future__ import annotations

import threading
import time

import pytest
import yaml
from django.contrib.auth.models import Group
from django.db import connections
from kube_stub import APPS, FIXTURES, Kube, load
from kubernetes import client

from cdportal.adapters.kubernetes import updater
from cdportal.core import argo_application, updater_deployment
from cdportal.live import broadcast
from cdportal.pipeline import argo_actions, updater_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Action, Application

# Threads use their own database connections: they see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
CONTROLLER_RV = 48213377  # tests/fixtures/argocd/01-controller-synced-healthy.yaml
UPDATER = "argocd-image-updater-controller"


@pytest.fixture
def kube():
    k = Kube()
    yield k
    k.close()


@pytest.fixture
def olga(alice, django_user_model):
    """A second operator."""
    user = django_user_model.objects.create_user(username="olga", password="olga-password")
    user.groups.set(Group.objects.filter(name="operator"))
    return user


@pytest.fixture
def clients(kube):
    """One API client per operator, as two requests to the web process would each have."""
    made = [client.ApiClient(client.Configuration(host=kube.url)) for _ in range(2)]
    yield made
    for api_client in made:
        api_client.close()


@pytest.fixture(autouse=True)
def _quiet_broadcasts():
    yield
    broadcast.flush()  # the live publisher renders from the database in its own thread
    broadcast.close_connections()


def at_once(*calls):
    """Run each call in its own thread, all released by one barrier; what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(10)
            outcomes[index] = call()
        except BaseException as e:  # noqa: BLE001 - handed to the test as the outcome
            outcomes[index] = e
        finally:
            connections.close_all()  # this thread's own connection: the thread ends here

    threads = [
        threading.Thread(target=run, args=(i, call), name=f"operator-{i}")
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "an operator's click never returned"
    return outcomes


def live(kube, name: str) -> dict:
    return kube.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], name)


def controller_row() -> Application:
    return Application.objects.get_or_create(namespace="argocd", name="controller")[0]


def test_two_operators_force_syncing_at_once_make_one_operation(alice, olga, kube, clients):
    app = controller_row()
    seen = set()
    for round_ in range(ROUNDS):
        kube.seed(load("01"))  # no operation, resourceVersion 48213377
        kube.k.patches.clear()
        Action.objects.all().delete()

        outcomes = at_once(
            lambda: argo_actions.force_sync(app=app, by=alice, api_client=clients[0]),
            lambda: argo_actions.force_sync(app=app, by=olga, api_client=clients[1]),
        )

        context = f"round {round_}: {outcomes!r}"
        done = [o for o in outcomes if isinstance(o, Action)]
        refused = [o for o in outcomes if isinstance(o, ActionRefused)]
        assert len(done) == 1 and len(refused) == 1, context
        (won,), (lost,) = done, refused
        winner = won.by_name
        loser = ({"alice", "olga"} - {winner}).pop()
        assert won.status == Action.Status.RUNNING, context  # until the operation ends
        assert won.message == (
            "sync requested on argocd/controller (prune=false); "
            "following Argo CD's operation until it ends"
        )

        # The API server accepted one write: one operation, the winner's.
        obj = live(kube, "controller")
        assert obj["metadata"]["resourceVersion"] == str(CONTROLLER_RV + 1), context
        assert obj["operation"]["initiatedBy"] == {"username": winner}, context
        # Bodies in the order the API server took them under its write lock: the first wins.
        sent = [b for b in kube.k.patches if "operation" in b]
        assert sent[0]["operation"]["initiatedBy"] == {"username": winner}, context
        assert all(b["metadata"] == {"resourceVersion": str(CONTROLLER_RV)} for b in sent), context

        # The other one: either its patch came second (409, stale resourceVersion), or it read
        # after the winner's patch and was refused before sending anything.
        assert lost.status == 409, context
        message = str(lost)
        if message == argo_actions.CHANGED:
            assert len(sent) == 2, context  # sent with the same resourceVersion: 409
            seen.add("409 from the API server")
        else:
            assert message.startswith(
                f"Another operation is already in progress: a sync requested by {winner} has not "
                "been started by the Argo CD controller yet"
            ), context
            assert len(sent) == 1, context
            seen.add("refused after reading the winner's operation")

        # Both attempts are in the action log, with their outcome.
        log = {a.by_name: a for a in Action.objects.filter(kind=Action.Kind.FORCE_SYNC)}
        assert set(log) == {"alice", "olga"}, context
        assert log[winner].status == Action.Status.RUNNING and not log[winner].finished_at
        assert log[loser].status == Action.Status.REFUSED and log[loser].finished_at
        assert log[loser].message == message
        assert log[loser].parameters["refused"] == 409
        assert lost.action.pk == log[loser].pk
    print(f"interleavings seen in {ROUNDS} rounds: {sorted(seen)}")


def test_two_hard_refreshes_at_once_both_land_and_set_one_annotation(
    alice, olga, kube, clients, monkeypatch
):
    monkeypatch.setattr(argo_actions, "REFRESH_WAIT", 0.3)
    app = controller_row()
    for round_ in range(3):
        kube.seed(load("01"))
        kube.k.patches.clear()
        Action.objects.all().delete()

        outcomes = at_once(
            lambda: argo_actions.hard_refresh(app=app, by=alice, api_client=clients[0]),
            lambda: argo_actions.hard_refresh(app=app, by=olga, api_client=clients[1]),
        )

        context = f"round {round_}: {outcomes!r}"
        assert all(isinstance(o, Action) for o in outcomes), context
        # Running until the watcher sees reconciledAt move (no controller here).
        assert [o.status for o in outcomes] == [Action.Status.RUNNING] * 2, context
        # No precondition: both writes were accepted, and both wrote the same one annotation.
        assert kube.k.patches == [argo_application.refresh_patch(hard=True)] * 2, context
        obj = live(kube, "controller")
        assert obj["metadata"]["resourceVersion"] == str(CONTROLLER_RV + 2), context
        annotations = obj["metadata"]["annotations"]
        assert [k for k in annotations if k.startswith("argocd.argoproj.io/")] == [
            argo_application.REFRESH_ANNOTATION
        ]
        assert annotations[argo_application.REFRESH_ANNOTATION] == "hard"
        assert "operation" not in obj  # a refresh never starts an operation
        log = Action.objects.filter(kind=Action.Kind.HARD_REFRESH)
        assert sorted(a.by_name for a in log) == ["alice", "olga"]
        assert {a.message for a in log} == {
            f"hard refresh of argocd/controller {argo_actions.REQUESTED_NOT_RECONCILED}"
        }


def _deployment_controller(kube, stop: threading.Event) -> None:
    """Play the Deployment controller: observe each new generation, and report its one new pod
    ready (as the controller would once the restarted pod passes its readiness probe)."""
    apps = client.AppsV1Api(kube.api_client)
    while not stop.is_set():
        d = updater.read(kube.api_client, "argocd", UPDATER)
        generation = d["metadata"]["generation"]
        if generation > d["status"]["observedGeneration"]:
            apps.patch_namespaced_deployment_status(
                UPDATER,
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
        stop.wait(0.05)


def _wait_finished(actions: list[Action], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    for action in actions:
        while action.finished_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
            action.refresh_from_db()


@pytest.mark.parametrize("wait", [True, False], ids=["command", "page"])
def test_two_updater_restarts_at_once_are_one_restart(alice, olga, kube, clients, settings, wait):
    settings.UPDATER_DEPLOYMENT = UPDATER
    original = yaml.safe_load((FIXTURES / "image-updater-deployment.yaml").read_text())
    before = original["spec"]["template"]["metadata"]["annotations"][
        updater_deployment.RESTARTED_AT_ANNOTATION
    ]
    for round_ in range(3):
        kube.seed_object("apps/v1/deployments", yaml.safe_load(yaml.safe_dump(original)))
        kube.k.patches.clear()
        Action.objects.all().delete()
        stop = threading.Event()
        controller = threading.Thread(target=_deployment_controller, args=(kube, stop), daemon=True)
        controller.start()
        try:
            outcomes = at_once(
                *[
                    lambda by=by, api_client=api_client: updater_actions.restart_updater(
                        by=by, api_client=api_client, timeout=10, poll=0.05, wait=wait
                    )
                    for by, api_client in ((alice, clients[0]), (olga, clients[1]))
                ]
            )
            context = f"round {round_}: {outcomes!r}"
            # The later one is refused (409, like a refused sync), carrying its recorded attempt.
            assert all(isinstance(o, Action | ActionRefused) for o in outcomes), context
            assert [o.status for o in outcomes if isinstance(o, ActionRefused)] == [409], context
            outcomes = [o.action if isinstance(o, ActionRefused) else o for o in outcomes]
            _wait_finished(outcomes)  # from the page, a background thread follows each rollout
        finally:
            stop.set()
            controller.join(5)

        # One restart at a time: the later-recorded request sees the earlier one still rolling
        # out and is refused before it patches anything (perform records and guards under one
        # lock per target, so two requests at the very same moment cannot both go ahead).
        restarts = [b for b in kube.k.patches if "spec" in b]
        stamps = [
            b["spec"]["template"]["metadata"]["annotations"][
                updater_deployment.RESTARTED_AT_ANNOTATION
            ]
            for b in restarts
        ]
        assert len(restarts) == 1 and all(stamp != before for stamp in stamps), context
        deployment = updater.read(kube.api_client, "argocd", UPDATER)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations[updater_deployment.RESTARTED_AT_ANNOTATION] == max(stamps), context
        assert updater_deployment.rollout_complete(deployment)[0], context

        log = {a.by_name: a for a in Action.objects.filter(kind=Action.Kind.RESTART_UPDATER)}
        assert set(log) == {"alice", "olga"}, context
        succeeded = [a for a in log.values() if a.status == Action.Status.SUCCEEDED]
        refused = [a for a in log.values() if a.status == Action.Status.REFUSED]
        assert len(succeeded) == 1 and len(refused) == 1, context
        for action in succeeded:
            assert action.message == f'deployment "{UPDATER}" successfully rolled out'
            assert action.target == f"argocd/{UPDATER}"
        for action in refused:
            first = succeeded[0]
            assert action.message == (
                f"a restart of argocd/{UPDATER} requested by {first.by_name} at "
                f"{first.parameters['restarted_at']} is still rolling out; "
                "it finishes by itself"
            ), context
            assert action.pk > first.pk and action.finished_at is not None
