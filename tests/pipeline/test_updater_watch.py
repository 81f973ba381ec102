"""The Image Updater's Deployment watched like the Applications: its status reaches the model and
the updater page through the ingestion path, and restarts are finished from what the cluster
shows — by the watcher, the page or the periodic reaper — even when nobody follows them any more
(the web process that started one was restarted)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from django.utils import timezone
from kube_stub import FIXTURES, Kube
from kubernetes import client

from cdportal.adapters.kubernetes import updater
from cdportal.adapters.kubernetes.watchers import UpdaterDeploymentWatcher
from cdportal.core import updater_deployment
from cdportal.live import broadcast
from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.changes import Changes
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, PipelineEvent, UpdaterDeployment
from cdportal.pipeline.sinks import LocalSink

NAME = "argocd-image-updater-controller"
TARGET = f"argocd/{NAME}"


def fixture(name):
    return yaml.safe_load((FIXTURES / name).read_text())


@pytest.fixture
def kube():
    k = Kube()
    k.seed_object("apps/v1/deployments", fixture("image-updater-deployment.yaml"))
    yield k
    k.close()


def seed_decoy_and_pod(kube):
    """Another Deployment in the namespace, and the updater's pod pointing at its ReplicaSet."""
    decoy = fixture("image-updater-deployment.yaml")
    decoy["metadata"].update(
        name="argocd-server", uid="decoy-uid", labels={"app.kubernetes.io/name": "argocd-server"}
    )
    kube.seed_object("apps/v1/deployments", decoy)
    rs_name = f"{NAME}-7f9c6d8b5d"
    kube.seed_object(
        "apps/v1/replicasets",
        {
            "metadata": {
                "name": rs_name,
                "namespace": "argocd",
                "uid": "rs-uid",
                "ownerReferences": [{"kind": "Deployment", "name": NAME, "controller": True}],
            }
        },
    )
    kube.seed_object(
        "v1/pods",
        {
            "metadata": {
                "name": f"{rs_name}-x1",
                "namespace": "argocd",
                "labels": {"app.kubernetes.io/name": "argocd-image-updater"},
                "ownerReferences": [
                    {"kind": "ReplicaSet", "name": rs_name, "uid": "rs-uid", "controller": True}
                ],
            }
        },
    )


def watcher(kube, **kwargs) -> UpdaterDeploymentWatcher:
    return UpdaterDeploymentWatcher(
        kube.api_client,
        "argocd",
        sink=LocalSink(),
        timeout_seconds=1,
        request_timeout=1.0,
        **kwargs,
    )  # kmock ignores timeoutSeconds


def restart_action(user, stamp: str, *, started_at=None) -> Action:
    """A restart as `restart_updater` records it, whose follower is gone."""
    return Action.objects.create(
        kind=Action.Kind.RESTART_UPDATER,
        target=TARGET,
        by=user,
        by_name=user.username,
        parameters={"namespace": "argocd", "deployment": NAME, "restarted_at": stamp},
        message=f"restart requested at {stamp}; following the rollout",
        started_at=started_at or timezone.now(),
    )


def roll_out(kube, stamp: str, *, ready: bool) -> None:
    """What `kubectl rollout restart` and then the Deployment controller do to the object."""
    apps = client.AppsV1Api(kube.api_client)
    apps.patch_namespaced_deployment(
        NAME,
        "argocd",
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {updater_deployment.RESTARTED_AT_ANNOTATION: stamp}}
                }
            }
        },
        _content_type="application/strategic-merge-patch+json",
    )
    generation = updater.read(kube.api_client, "argocd", NAME)["metadata"]["generation"]
    status = {
        "observedGeneration": generation,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "replicas": 1 if ready else 2,
        "availableReplicas": 1,
    }
    apps.patch_namespaced_deployment_status(NAME, "argocd", {"status": status})


def test_the_list_finds_the_updater_by_its_pods_and_records_only_it(kube, db):
    seed_decoy_and_pod(kube)
    w = watcher(kube)

    assert w.list("argocd") == 1
    assert w.name == NAME
    row = UpdaterDeployment.objects.get()
    assert (row.namespace, row.name, row.version) == ("argocd", NAME, "v1.3.0")
    assert row.rollout_complete and row.restarted_at == "2026-08-22T16:01:12Z"
    assert row.rollout_message == f'deployment "{NAME}" successfully rolled out'
    event = PipelineEvent.objects.get(kind="updater_deployment")
    assert event.source_id == f"{TARGET}@48190412"
    assert w.list("argocd") == 1  # a relist sees the same resourceVersion: recorded once
    assert PipelineEvent.objects.filter(kind="updater_deployment").count() == 1


def test_a_configured_name_wins_and_nothing_else_is_recorded(kube, db):
    seed_decoy_and_pod(kube)
    w = watcher(kube, name="argocd-server")
    w.list("argocd")
    assert list(UpdaterDeployment.objects.values_list("name", flat=True)) == ["argocd-server"]


def test_no_updater_in_the_namespace_records_nothing(db):
    k = Kube()
    try:
        w = watcher(k)
        assert w.list("argocd") == 0 and w.name is None
        assert not UpdaterDeployment.objects.exists()
    finally:
        k.close()


def test_a_restart_whose_follower_died_is_finished_by_the_watcher(kube, alice):
    """The web process that started the restart is gone; watch-argocd sees the rollout end."""
    w = watcher(kube)
    w.list("argocd")
    stamp = updater_deployment.restart_stamp(datetime.now(UTC))
    action = restart_action(alice, stamp)

    roll_out(kube, stamp, ready=False)
    w.watch("argocd")  # the stream ends after a quiet second with what changed
    action.refresh_from_db()
    assert action.status == Action.Status.RUNNING  # one old replica still terminating
    assert UpdaterDeployment.objects.get().restarted_at == stamp

    client.AppsV1Api(kube.api_client).patch_namespaced_deployment_status(
        NAME, "argocd", {"status": {"replicas": 1}}
    )
    w.watch("argocd")
    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED
    assert action.message == f'deployment "{NAME}" successfully rolled out'
    assert action.finished_at is not None


def test_an_older_restart_is_finished_by_a_later_ones_rollout(kube, alice):
    w = watcher(kube)
    first = restart_action(alice, "2026-11-29T01:00:00Z")
    roll_out(kube, "2026-11-29T01:00:05Z", ready=True)
    w.list("argocd")
    first.refresh_from_db()
    assert first.status == Action.Status.SUCCEEDED
    assert "a later restart at 2026-11-29T01:00:05Z included it" in first.message


def test_a_restart_past_its_deadline_fails_with_kubectls_words(kube, alice, settings):
    settings.UPDATER_ROLLOUT_TIMEOUT = 60
    stamp = "2026-11-29T01:00:00Z"
    roll_out(kube, stamp, ready=False)
    action = restart_action(alice, stamp, started_at=timezone.now() - timedelta(seconds=61))
    fresh = restart_action(alice, stamp)

    finished = updater_actions.reap_overdue_restarts(kube.api_client)

    assert [a.pk for a in finished] == [action.pk]
    action.refresh_from_db()
    fresh.refresh_from_db()
    assert action.status == Action.Status.FAILED
    assert action.message == (
        "timed out waiting for the condition: Waiting for deployment "
        f'"{NAME}" rollout to finish: 1 old replicas are pending termination...'
    )
    assert fresh.status == Action.Status.RUNNING  # still within its time


def test_the_reaper_ends_restarts_of_a_deployment_that_is_gone(alice, settings):
    settings.UPDATER_ROLLOUT_TIMEOUT = 60
    k = Kube()
    try:
        action = restart_action(
            alice, "2026-11-29T01:00:00Z", started_at=timezone.now() - timedelta(hours=1)
        )
        updater_actions.reap_overdue_restarts(k.api_client)
    finally:
        k.close()
    action.refresh_from_db()
    assert action.status == Action.Status.FAILED
    assert action.message == f"the Deployment {TARGET} no longer exists"


def test_the_updater_page_reads_rows_and_the_watchers_event_settles_a_restart(
    kube, alice, client, settings, tmp_path
):
    settings.KUBECONFIG = str(tmp_path / "no-such-kubeconfig")  # the page must not need the cluster
    settings.UPDATER_DEPLOYMENT = NAME
    stamp = "2026-11-29T01:00:00Z"
    roll_out(kube, stamp, ready=True)
    action = restart_action(alice, stamp)
    client.force_login(alice)

    client.get("/updater/")
    action.refresh_from_db()
    assert action.status == Action.Status.RUNNING  # a GET settles nothing

    ingest(
        updater.deployment_event(
            updater.read(kube.api_client, "argocd", NAME), observed_at=timezone.now()
        )
    )
    page = client.get("/updater/").content.decode()

    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED
    assert "Last restart by alice" in page and "successfully rolled out" in page
    assert f"argocd/{NAME}" in page


def test_finishing_twice_keeps_the_first_outcome(alice):
    action = restart_action(alice, "2026-11-29T01:00:00Z")
    other = Action.objects.get(pk=action.pk)
    action.finish(message="rolled out")
    other.finish(error="timed out")  # a slower follower, a moment later
    assert other.status == Action.Status.SUCCEEDED and other.message == "rolled out"
    action.refresh_from_db()
    assert action.message == "rolled out"


def test_the_status_fragment_reaches_the_updater_page_group(kube, alice):
    watcher(kube).list("argocd")
    restart_action(alice, "2026-11-29T01:00:00Z")
    row = UpdaterDeployment.objects.get()

    fragments = broadcast.render_fragments(Changes(updaters={row.pk}))

    html = fragments[broadcast.UPDATER]["updater-status"]
    assert 'id="updater-status"' in html and 'hx-swap-oob="true"' in html
    assert f"argocd/{NAME}" in html and "v1.3.0" in html
    assert "Last restart by alice" in html


def test_restart_updater_records_the_stamp_it_writes(kube, alice):
    action = updater_actions.restart_updater(
        by=alice, api_client=kube.api_client, timeout=0.2, poll=0.05
    )
    written = updater.read(kube.api_client, "argocd", NAME)["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert action.parameters["restarted_at"] == written[updater_deployment.RESTARTED_AT_ANNOTATION]


def test_a_malformed_deployment_is_skipped_not_recorded(kube, db):
    broken = copy.deepcopy(fixture("image-updater-deployment.yaml"))
    broken["metadata"].update(name="argocd-image-updater", uid="u2", resourceVersion="5")
    broken["spec"]["replicas"] = -1
    kube.seed_object("apps/v1/deployments", broken)
    w = watcher(kube, name="argocd-image-updater")
    assert w.list("argocd") == 0
    assert not UpdaterDeployment.objects.exists()


def test_watch_argocd_once_records_the_updater_too(
    transactional_db, kube, settings, tmp_path, capsys
):
    from django.core.management import call_command

    seed_decoy_and_pod(kube)
    settings.KUBECONFIG = kube.kubeconfig(tmp_path)
    call_command("watch-argocd", "--once", "--namespace", "argocd")
    assert f"argocd: Image Updater Deployment {NAME}" in capsys.readouterr().out
    assert UpdaterDeployment.objects.get().name == NAME
    broadcast.flush()
    broadcast.close_connections()


def test_a_second_restart_while_one_rolls_out_is_refused_and_logged(kube, alice, django_user_model):
    from django.contrib.auth.models import Group

    olga = django_user_model.objects.create_user(username="olga", password="x")
    olga.groups.set(Group.objects.filter(name="operator"))
    first = restart_action(alice, "2026-11-29T01:00:00Z")  # still rolling out
    before = updater.read(kube.api_client, "argocd", NAME)

    with pytest.raises(ActionRefused) as refused:
        updater_actions.restart_updater(by=olga, api_client=kube.api_client, timeout=1, poll=0.05)

    assert refused.value.status == 409  # answered like a refused sync, on every endpoint
    second = refused.value.action
    assert second.status == Action.Status.REFUSED and second.by_name == "olga"
    assert second.message == (
        f"a restart of {TARGET} requested by alice at 2026-11-29T01:00:00Z is still "
        "rolling out; it finishes by itself"
    )
    assert updater.read(kube.api_client, "argocd", NAME) == before  # nothing patched
    first.refresh_from_db()
    assert first.status == Action.Status.RUNNING


def test_a_restart_left_running_past_its_deadline_does_not_block_the_next(kube, alice, settings):
    settings.UPDATER_ROLLOUT_TIMEOUT = 60
    stale = restart_action(
        alice, "2026-11-29T01:00:00Z", started_at=timezone.now() - timedelta(hours=2)
    )

    fresh = updater_actions.restart_updater(
        by=alice, api_client=kube.api_client, timeout=0.2, poll=0.05
    )

    stale.refresh_from_db()
    assert stale.status == Action.Status.FAILED and stale.message.startswith(
        "timed out waiting for the condition"
    )
    assert "still rolling out" not in fresh.message  # it went ahead and patched
    written = updater.read(kube.api_client, "argocd", NAME)["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert written[updater_deployment.RESTARTED_AT_ANNOTATION] == fresh.parameters["restarted_at"]
