"""The Image Updater's ImagesUpdated Events become stage 5 ("seen by the updater")."""

from pathlib import Path

import pytest
import yaml
from kube_stub import Kube

from cdportal.adapters.kubernetes.argocd import images_updated_events
from cdportal.adapters.kubernetes.watchers import UpdaterEventWatcher
from cdportal.core.events import parse_event
from cdportal.live import broadcast
from cdportal.pipeline.models import PipelineEvent
from cdportal.pipeline.sinks import LocalSink

EVENTS = yaml.safe_load(
    (Path(__file__).parents[2] / "fixtures" / "argocd" / "image-updater-events.yaml").read_text()
)


def test_every_fixture_event_maps_to_updater_events():
    mapped = [e for item in EVENTS["items"] for e in images_updated_events(item)]
    assert mapped, "the fixture holds ImagesUpdated events"
    first = mapped[0]
    assert (
        first["namespace"],
        first["application"],
        first["image"],
        first["from_tag"],
        first["to_tag"],
    ) == ("argocd", "controller-staging", "ghcr.io/5dlabs/controller", "v1.4.2", "v1.5.0")
    for event in mapped:
        parse_event(event)
    assert len({e["source_id"] for e in mapped}) == len(mapped)


def test_other_events_are_not_updater_events():
    other = {**EVENTS["items"][0], "reason": "ResourceUpdated"}
    assert images_updated_events(other) == []
    assert images_updated_events({**EVENTS["items"][0], "metadata": {"name": "x"}}) == []


@pytest.mark.django_db(transaction=True)
def test_the_watcher_lists_the_events_through_the_ingestion_path():
    kube = Kube()
    try:
        done = __import__("threading").Event()

        def seed():
            for item in EVENTS["items"]:
                meta = item["metadata"]
                kube.k.objects["v1/events", meta["namespace"], meta["name"]] = item
            done.set()

        kube.loop.call_soon_threadsafe(seed)
        assert done.wait(5)
        watcher = UpdaterEventWatcher(
            kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0
        )
        emitted = watcher.step("argocd")
        assert emitted >= 1
        assert PipelineEvent.objects.filter(kind="updater", source="kubernetes").count() == emitted
        broadcast.flush()
    finally:
        broadcast.close_connections()
        kube.close()
