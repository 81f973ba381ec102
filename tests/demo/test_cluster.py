"""The demo's simulated Argo CD cluster, driven through cdportal's real code paths: the on-call
actions patch it over HTTP with the official client, the simulated controllers answer as Argo CD
and the deployment controller would, and cdportal's watchers carry the result into ingestion.

Most tests step the controllers themselves with a fake clock; the actions that wait for the
controller (hard refresh, restart with wait=True) run it in its thread with short delays."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest
from kubernetes import client

from cdportal.adapters.kubernetes import updater
from cdportal.adapters.kubernetes.watchers import ApplicationWatcher, UpdaterEventWatcher
from cdportal.core import argo_application, updater_deployment
from cdportal.demo import runner
from cdportal.demo.cluster import Cluster, ClusterSink
from cdportal.demo.manifests import GITOPS_REVISION, IMAGE, UPDATER_DEPLOYMENT
from cdportal.demo.simulator import APPLICATIONS, Simulator, fake_clock
from cdportal.pipeline import argo_actions, updater_actions
from cdportal.pipeline.models import Action, Application, Release
from cdportal.pipeline.sinks import LocalSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    return fake_clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def cluster(clock):
    now, _ = clock
    c = Cluster(clock=now, rng=random.Random(1), degraded_rate=0)
    c.install({app: "v1.4.2" for app in APPLICATIONS})
    yield c
    c.close()


@pytest.fixture
def live_cluster():
    """The controllers in their thread, on the real clock, with short delays."""
    c = Cluster(
        rng=random.Random(1),
        degraded_rate=0,
        react_seconds=0.3,
        sync_seconds=0.5,
        ready_seconds=1.0,
    )
    c.install({app: "v1.4.2" for app in APPLICATIONS})
    c.start(tick=0.05)
    yield c
    c.close()


def live(cluster, name: str) -> dict:
    return cluster.kube.api.get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "applications", name
    )


def run_for(cluster, advance, seconds: float, tick: float = 0.5) -> None:
    """Let `seconds` pass on the fake clock, one controller pass every `tick`."""
    while seconds > 0:
        advance(min(tick, seconds))
        cluster.step()
        seconds -= tick


def watcher(cluster) -> ApplicationWatcher:
    # kmock ignores timeoutSeconds: a short read timeout ends each watch soon after its events.
    return ApplicationWatcher(cluster.api_client, ["argocd"], sink=LocalSink(), request_timeout=0.5)


def row(name: str) -> Application:
    return Application.objects.get(namespace="argocd", name=name)


def test_the_applications_are_listed_from_the_cluster(cluster):
    assert watcher(cluster).step() == 3
    app = row("cto-controller")
    assert (app.sync_status, app.health_status, app.revision) == (
        "Synced",
        "Healthy",
        GITOPS_REVISION,
    )
    assert app.parameters["image.tag"] == "v1.4.2"
    assert app.current_tag == "v1.4.2"


def test_alices_force_sync_runs_and_succeeds_and_the_watcher_records_each_phase(
    alice, cluster, clock
):
    _, advance = clock
    watching = watcher(cluster)
    watching.step()  # list

    action = argo_actions.force_sync(
        app=row("cto-controller"), by=alice, api_client=cluster.api_client
    )
    # Accepted is not done: the action runs until Argo CD's operation ends.
    assert action.status == Action.Status.RUNNING, action.message
    cluster.step()
    running = live(cluster, "cto-controller")
    state = running["status"]["operationState"]
    assert state["phase"] == "Running" and state["startedAt"]
    assert state["operation"]["initiatedBy"] == {"username": "alice"}
    watching.step()  # the watch carries the Running state
    assert row("cto-controller").operation_phase == "Running"

    run_for(cluster, advance, 4)
    done = live(cluster, "cto-controller")
    assert "operation" not in done
    assert done["status"]["operationState"]["phase"] == "Succeeded"
    assert done["status"]["operationState"]["syncResult"]["revision"] == GITOPS_REVISION
    assert done["status"]["history"][-1]["initiatedBy"] == {"username": "alice"}
    assert len(done["status"]["history"]) == 2
    assert done["status"]["sync"]["status"] == "Synced"
    watching.step()
    app = row("cto-controller")
    assert (app.operation_phase, app.sync_status, app.health_status) == (
        "Succeeded",
        "Synced",
        "Healthy",
    )
    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert action.finished_at is not None


def test_a_terminated_sync_ends_failed_and_auto_sync_does_not_retry_it(alice, cluster, clock):
    _, advance = clock
    cluster.updater.write_back("cto-controller-dev", "v1.5.0")
    run_for(cluster, advance, 4)  # compared (OutOfSync), auto-sync requested, started
    assert live(cluster, "cto-controller-dev")["status"]["operationState"]["phase"] == "Running"
    watcher(cluster).step()

    action = argo_actions.terminate(
        app=row("cto-controller-dev"), by=alice, api_client=cluster.api_client
    )
    assert action.status == Action.Status.SUCCEEDED, action.message
    run_for(cluster, advance, 6)
    app = live(cluster, "cto-controller-dev")
    assert "operation" not in app
    assert app["status"]["operationState"]["phase"] == "Failed"
    assert app["status"]["operationState"]["message"] == "Operation terminated"
    assert app["status"]["sync"]["status"] == "OutOfSync"  # stuck until someone syncs by hand
    assert app["status"]["summary"]["images"] == [f"{IMAGE}:v1.4.2"]

    argo_actions.force_sync(app=row("cto-controller-dev"), by=alice, api_client=cluster.api_client)
    run_for(cluster, advance, 5)
    app = live(cluster, "cto-controller-dev")
    assert (app["status"]["sync"]["status"], app["status"]["summary"]["images"]) == (
        "Synced",
        [f"{IMAGE}:v1.5.0"],
    )


def test_a_hard_refresh_is_seen_done(alice, live_cluster):
    watcher(live_cluster).step()
    action = argo_actions.hard_refresh(
        app=row("cto-controller"), by=alice, api_client=live_cluster.api_client
    )
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert action.message.startswith("hard refresh of argocd/cto-controller done: reconciled at ")
    assert argo_application.REFRESH_ANNOTATION not in live(live_cluster, "cto-controller")[
        "metadata"
    ].get("annotations", {})


def test_the_updater_is_found_and_rolled_out(cluster):
    deployment = updater.find(cluster.api_client, "argocd")
    assert deployment["metadata"]["name"] == UPDATER_DEPLOYMENT
    status = updater.status(deployment)
    assert status["version"] == "v1.3.0"
    assert status["rollout_complete"] and (
        status["replicas_ready"],
        status["replicas_available"],
    ) == (1, 1)


def test_a_restart_completes_only_once_the_new_pod_is_ready(cluster, clock):
    _, advance = clock
    core = client.CoreV1Api(cluster.api_client)
    (old_pod,) = [p.metadata.name for p in core.list_namespaced_pod("argocd").items]
    now, _ = clock
    updater.restart(cluster.api_client, updater.find(cluster.api_client, "argocd"), now())
    said = []
    for _ in range(8):  # 4 s in half seconds: the new pod gets ready after 3
        deployment = updater.read(cluster.api_client, "argocd", UPDATER_DEPLOYMENT)
        said.append(updater_deployment.rollout_complete(deployment))
        run_for(cluster, advance, 0.5)
    assert said[0] == (False, "Waiting for deployment spec update to be observed...")
    pending = (
        f'Waiting for deployment "{UPDATER_DEPLOYMENT}" rollout to finish: '
        "1 old replicas are pending termination..."
    )
    assert (False, pending) in said
    assert updater_deployment.rollout_complete(
        updater.read(cluster.api_client, "argocd", UPDATER_DEPLOYMENT)
    )[0]
    pods = core.list_namespaced_pod("argocd").items
    assert [p.metadata.name for p in pods] != [old_pod] and len(pods) == 1
    assert pods[0].status.phase == "Running"
    assert ("argocd", old_pod) in cluster.kube.k.logs_ended  # its `kubectl logs -f` ended
    new_log = cluster.kube.k.pod_logs["argocd", pods[0].metadata.name]
    assert any('msg="Controller runtime logger initialized."' in line for line in new_log)


def test_restart_updater_waits_for_the_new_pod(alice, live_cluster, settings):
    settings.UPDATER_NAMESPACE = "argocd"
    started = time.monotonic()
    action = updater_actions.restart_updater(
        by=alice, api_client=live_cluster.api_client, wait=True, timeout=15, poll=0.05
    )
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert action.message == f'deployment "{UPDATER_DEPLOYMENT}" successfully rolled out'
    assert time.monotonic() - started >= 1.0  # the new pod's readiness delay
    pods = client.CoreV1Api(live_cluster.api_client).list_namespaced_pod("argocd").items
    assert (
        len(pods) == 1
        and updater.find(live_cluster.api_client, "argocd")["metadata"]["name"]
        == UPDATER_DEPLOYMENT
    )


def test_the_updater_logs_its_cycles_and_write_backs_in_its_real_format(cluster, clock):
    _, advance = clock
    run_for(cluster, advance, 16)
    cluster.updater.write_back("cto-controller-staging", "v1.5.0")
    (lines,) = cluster.kube.k.pod_logs.values()
    assert any(
        "Processing results: applications=3 images_considered=3 images_skipped=0 images_updated=0 errors=0"
        in line
        for line in lines
    )
    assert any(
        line.startswith('time="')
        and 'level=info msg="Setting new image to ghcr.io/5dlabs/controller:v1.5.0" '
        "application=argocd/cto-controller-staging controller=imageupdater "
        in line
        for line in lines
    )
    assert "images_updated=1" in lines[-2]


def test_a_simulated_release_moves_the_image_tag_through_the_cluster(cluster, clock):
    now, advance = clock
    sim = Simulator(
        rng=random.Random(3), clock=now, build_failure_rate=0, degraded_rate=0, version="1.4.2"
    )
    sink = ClusterSink(LocalSink(), cluster)
    runner.drive(
        sim.release_cycle(), sink, sleep=lambda seconds: run_for(cluster, advance, seconds, tick=1)
    )
    run_for(cluster, advance, 10, tick=1)
    tag = f"v{sim.version}"
    for name in APPLICATIONS:
        app = live(cluster, name)
        assert {p["name"]: p["value"] for p in app["spec"]["source"]["helm"]["parameters"]}[
            "image.tag"
        ] == tag
        assert app["status"]["summary"]["images"] == [f"{IMAGE}:{tag}"]
        assert app["status"]["sync"]["status"] == "Synced"
    watcher(cluster).step()
    assert UpdaterEventWatcher(cluster.api_client, ["argocd"], sink=LocalSink()).step() == 3
    assert {r.parameters["image.tag"] for r in Application.objects.all()} == {tag}
    release = Release.objects.get(version=sim.version)
    assert release.state == Release.State.DEPLOYED
    assert {r.application.name for r in release.rollouts.all()} == set(APPLICATIONS)


def test_a_long_running_demo_cluster_keeps_its_memory_and_answer_time_bounded():
    """kmock keeps every request and every version; the demo's emulator trims both, so a demo
    left running for hours answers as fast as in its first minute."""
    import copy as copying

    from kube_stub import load as load_fixture

    from cdportal.demo.kube import APPS, KEPT_REQUESTS, KEPT_VERSIONS, Kube

    k = Kube(cluster_versions=True, first_version=1000)
    k.k.recording = False
    try:
        obj = copying.deepcopy(load_fixture("01"))
        obj["metadata"].pop("resourceVersion")
        k.api.create_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], obj)
        for n in range(KEPT_REQUESTS * 3):
            k.api.patch_namespaced_custom_object(
                *APPS[:2],
                "argocd",
                APPS[2],
                "controller",
                {"status": {"health": {"message": f"change {n}"}}},
            )
        assert len(k.k._requests) <= KEPT_REQUESTS + 1
        assert len(k.k.objects["/".join(APPS), "argocd", "controller"].history) <= KEPT_VERSIONS
        live = k.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], "controller")
        assert live["status"]["health"]["message"] == f"change {KEPT_REQUESTS * 3 - 1}"
    finally:
        k.close()
