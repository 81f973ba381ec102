"""ImageUpdater resources (argocd-image-updater v1.x) decide which images an Application follows:
watched from the Kubernetes emulator, recorded through ingestion, and read by the policy engine
for the application page and for following a release into the Application."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from kube_stub import Kube, load

from cdportal.adapters.kubernetes.argocd import application_event, image_updater_event
from cdportal.adapters.kubernetes.watchers import ImageUpdaterWatcher, NotInstalled
from cdportal.core.events import parse_event
from cdportal.pipeline import queries
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Application, ImageUpdaterConfig, PipelineEvent
from cdportal.pipeline.policies import policies_for
from cdportal.pipeline.sinks import LocalSink

CR = yaml.safe_load(
    (Path(__file__).parents[1] / "fixtures" / "image-policy" / "image-updater-cr.yaml").read_text()
)
RESOURCE = "argocd-image-updater.argoproj.io/v1alpha1/imageupdaters"
NOW = "2026-11-29T01:00:00+00:00"


def own_images_cr(**ref) -> dict:
    """A CR that configures the image itself (no annotations needed)."""
    cr = copy.deepcopy(CR)
    cr["metadata"].update(name="controller-images", resourceVersion="7")
    cr["spec"] = {
        "applicationRefs": [
            {
                "namePattern": "controller*",
                "images": [
                    {
                        "alias": "controller",
                        "imageName": "ghcr.io/5dlabs/controller",
                        "commonUpdateSettings": {
                            "updateStrategy": "semver",
                            "allowTags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
                        },
                        "manifestTargets": {
                            "helm": {"name": "image.repository", "tag": "image.tag"}
                        },
                    }
                ],
                **ref,
            }
        ]
    }
    return cr


def observe_app(stem="01", *, annotations=None, labels=None) -> Application:
    obj = load(stem)
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    if labels is not None:
        obj["metadata"]["labels"] = labels
    return ingest(application_event(obj)).event.application


def observe_cr(cr: dict, *, deleted=False):
    return ingest(image_updater_event(cr, observed_at=datetime.fromisoformat(NOW), deleted=deleted))


def test_the_fixture_resource_becomes_an_event_with_its_status():
    event = parse_event(image_updater_event(CR, observed_at=datetime.fromisoformat(NOW)))
    assert (event.namespace, event.name, event.deleted) == ("argocd", "cto-controller", False)
    assert event.spec["applicationRefs"][0]["useAnnotations"] is True
    assert event.ready == "Reconciled 4 applications, 0 images updated."
    assert event.error == ""  # the Error condition is False
    assert event.source_id == "imageupdater/argocd/cto-controller@48214430"


def test_a_resource_that_configures_images_makes_an_app_without_annotations_follow_them(db):
    app = observe_app(annotations={})
    assert policies_for(app).policies == []
    observe_cr(own_images_cr())

    app.refresh_from_db()
    found = policies_for(app)
    assert found.source == "imageupdater" and found.config.name == "controller-images"
    assert [p.image for p in found.policies] == ["ghcr.io/5dlabs/controller"]
    assert list(app.images.values_list("name", flat=True)) == ["ghcr.io/5dlabs/controller"]
    outlook, error = queries.image_outlook(app)
    assert error == "" and outlook[0]["alias"] == "controller" and outlook[0]["constraint"] == ""


def test_the_application_then_follows_its_tag_through_the_resources_parameter(db):
    without = observe_app(annotations={})
    assert without.current_tag == ""  # nothing tells cdportal which image to follow
    observe_cr(own_images_cr())
    obj = load("01")
    obj["metadata"]["annotations"] = {}
    obj["metadata"]["resourceVersion"] = "99"
    for source in [obj["spec"].get("source") or {}]:
        source.setdefault("helm", {})["parameters"] = [
            {"name": "image.repository", "value": "ghcr.io/5dlabs/controller"},
            {"name": "image.tag", "value": "v9.9.9"},
        ]
    app = ingest(application_event(obj)).event.application
    assert app.images.filter(name="ghcr.io/5dlabs/controller").exists()
    running = [
        ref.rsplit(":", 1)[1]
        for ref in obj["status"]["summary"]["images"]
        if "5dlabs/controller" in ref
    ]
    assert app.current_tag == (running[0] if running else "v9.9.9")


def test_use_annotations_reads_the_applications_annotations(db):
    observe_cr(CR)
    app = observe_app(labels={"app.kubernetes.io/part-of": "cto"})
    found = policies_for(app)
    assert found.source == "imageupdater+annotations"
    assert found.config.name == "cto-controller"


def test_an_application_the_resource_does_not_select_falls_back_to_its_annotations(db):
    observe_cr(CR)
    app = observe_app(labels={})  # the CR's labelSelector needs part-of=cto
    assert app.image_policy  # fixture 01 carries the updater's annotations
    assert policies_for(app).source == "annotations"


def test_the_page_names_the_resource_that_configures_the_app(bob, client):
    observe_cr(own_images_cr())
    app = observe_app(annotations={})
    client.force_login(bob)
    html = client.get(f"/applications/{app.namespace}/{app.name}/").content.decode()
    assert "Configured by ImageUpdater <code>argocd/controller-images</code>" in html
    assert "<code>ghcr.io/5dlabs/controller</code> · semver" in html


def test_a_broken_resource_is_reported_not_raised(bob, client):
    broken = own_images_cr()
    broken["spec"]["applicationRefs"][0]["namePattern"] = "controller["
    observe_cr(broken)
    app = observe_app(annotations={})
    outlook, error = queries.image_outlook(app)
    assert outlook == [] and "invalid application name pattern 'controller['" in error
    client.force_login(bob)
    assert client.get(f"/applications/{app.namespace}/{app.name}/").status_code == 200


def test_a_deleted_resource_stops_configuring(db):
    cr = own_images_cr()
    observe_cr(cr)
    observe_cr(cr, deleted=True)
    assert not ImageUpdaterConfig.objects.exists()
    assert PipelineEvent.objects.filter(kind="updater_config").count() == 2


# --- over HTTP, against the emulator -------------------------------------------------------------


@pytest.fixture
def kube():
    k = Kube()
    yield k
    k.close()


def uninstall_imageupdaters(kube) -> None:
    """An Argo CD without the v1.x updater: the API server does not serve the resource."""

    async def uninstall():
        del kube.k.resources[RESOURCE]

    asyncio.run_coroutine_threadsafe(uninstall(), kube.loop).result(5)


def test_the_watcher_lists_resources_and_records_them(kube, db):
    kube.seed_object(RESOURCE, own_images_cr())
    watcher = ImageUpdaterWatcher(
        kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0
    )
    assert watcher.list("argocd") == 1
    assert ImageUpdaterConfig.objects.get().name == "controller-images"


def test_without_the_resource_type_the_watcher_ends_quietly(kube, db):
    uninstall_imageupdaters(kube)
    watcher = ImageUpdaterWatcher(
        kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0
    )
    with pytest.raises(NotInstalled, match="argocd-image-updater v0.x"):
        watcher.list("argocd")
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    thread.join(5)
    assert not thread.is_alive()  # no retry loop against a resource that does not exist
    stop.set()


def test_a_resource_deleted_in_the_cluster_is_forgotten_through_the_watch(kube, transactional_db):
    from kubernetes import client

    kube.seed_object(RESOURCE, own_images_cr())
    watcher = ImageUpdaterWatcher(
        kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0
    )
    watcher.list("argocd")
    # kmock replays no history to a watch: open it before the deletion, as a running watcher has.
    # The resource has a finalizer, so the deletion first shows as a deletionTimestamp.
    watching = threading.Thread(target=watcher.watch, args=("argocd",))
    watching.start()
    deadline = time.monotonic() + 5
    while not getattr(kube.k, "watches", None) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    client.CustomObjectsApi(kube.api_client).delete_namespaced_custom_object(
        "argocd-image-updater.argoproj.io",
        "v1alpha1",
        "argocd",
        "imageupdaters",
        "controller-images",
    )
    watching.join(10)
    assert not ImageUpdaterConfig.objects.exists()
    assert PipelineEvent.objects.filter(kind="updater_config", payload__deleted=True).count() == 1


def test_an_application_no_longer_selected_stops_following_the_resources_image(db):
    observe_cr(own_images_cr())
    app = observe_app(annotations={})
    assert list(app.images.values_list("name", flat=True)) == ["ghcr.io/5dlabs/controller"]
    observe_cr(own_images_cr(), deleted=True)
    assert not app.images.exists()
