"""The Application watcher on the official kubernetes client, over real HTTP, against kmock.

kmock 0.8 keeps no resourceVersions and replays every object on each watch; the emulator
below adds just enough of the API server's contract for the watcher: list and watch
resourceVersions (seeded by the tests, which bump them as the API server would), a watch that
only replays what is newer than its resourceVersion, streams that end (the server's
timeoutSeconds; here the client's read timeout, as kmock ignores timeoutSeconds) and 410 Gone for expired resourceVersions. What a watch stream may carry
beyond that (BOOKMARK, DELETED, a malformed object) is fed to the watcher as a fake stream.
"""

from __future__ import annotations

import threading

import pytest
import yaml
from django.core.management import call_command
from helpers import wait_for
from kube_stub import APPS, Kube, free_port, load  # noqa: F401
from kubernetes import client

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes.watchers import ApplicationWatcher
from cdportal.pipeline.models import Application, PipelineEvent
from cdportal.pipeline.sinks import LocalSink


@pytest.fixture
def kube():
    k = Kube()
    k.seed(load("01"))  # argocd/controller @48213377, Synced/Healthy
    k.seed(load("05"))  # argocd/docs-site @48212960, OutOfSync/Healthy
    other = load("07")
    other["metadata"]["namespace"] = "billing-team"
    k.seed(other)  # not watched
    yield k
    k.close()


def watcher_for(kube, *namespaces, **kwargs) -> ApplicationWatcher:
    kwargs.setdefault(
        "request_timeout", 1.0
    )  # kmock ignores timeoutSeconds: end quiet streams soon
    return ApplicationWatcher(
        kube.api_client, namespaces or ["argocd"], sink=LocalSink(), backoff_initial=0.05, **kwargs
    )


def app(name: str) -> Application:
    return Application.objects.get(namespace="argocd", name=name)


def test_it_lists_and_records_every_application_of_its_namespaces(transactional_db, kube):
    watcher = watcher_for(kube)
    assert watcher.step() == 2
    assert sorted(Application.objects.values_list("name", "sync_status")) == [
        ("controller", "Synced"),
        ("docs-site", "OutOfSync"),
    ]
    assert app("controller").parameters["image.tag"] == "v1.4.2"
    assert watcher.resource_versions["argocd"] == "48213377"  # the list's resourceVersion


def test_watch_events_change_the_application_rows(transactional_db, kube):
    watcher = watcher_for(kube, request_timeout=5.0)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: Application.objects.count() == 2, timeout=10)
        wait_for(lambda: kube.k.watches, timeout=10)  # the watch is open
        kube.patch(
            "argocd",
            "controller",
            48213400,
            {
                "spec": {
                    "source": {
                        "helm": {
                            "parameters": [
                                {"name": "image.name", "value": "ghcr.io/5dlabs/controller"},
                                {"name": "image.tag", "value": "v1.5.0"},
                            ]
                        }
                    }
                },
                "status": {"sync": {"status": "OutOfSync"}},
            },
        )
        wait_for(lambda: app("controller").sync_status == "OutOfSync", timeout=10)
        assert app("controller").parameters["image.tag"] == "v1.5.0"
        kube.patch(
            "argocd", "controller", 48213401, {"status": {"health": {"status": "Progressing"}}}
        )
        wait_for(lambda: app("controller").health_status == "Progressing", timeout=10)
    finally:
        stop.set()
        watcher.stop_streams()
        thread.join(10)
    assert not thread.is_alive()
    assert watcher.resource_versions["argocd"] == "48213401"
    assert kube.k.lists == 1  # one list, then only watches
    assert PipelineEvent.objects.filter(source_id="argocd/controller@48213401").count() == 1


def test_it_reconnects_from_the_last_resource_version_without_missing_a_change(
    transactional_db, kube
):
    watcher = watcher_for(kube)
    watcher.step()  # list
    assert watcher.step() == 0  # a quiet watch that ends (the read timeout here)
    # A change while no watch is open.
    kube.patch("argocd", "docs-site", 48213500, {"status": {"sync": {"status": "Synced"}}})
    assert watcher.step() == 1  # reconnects from 48213377 and gets it
    assert app("docs-site").sync_status == "Synced"
    assert kube.k.watches[:2] == ["48213377", "48213377"]
    assert watcher.resource_versions["argocd"] == "48213500"
    assert kube.k.lists == 1


def test_on_410_gone_it_lists_again(transactional_db, kube):
    watcher = watcher_for(kube)
    watcher.step()
    kube.k.gone.add("48213377")
    kube.patch("argocd", "controller", 48213600, {"status": {"health": {"status": "Degraded"}}})
    assert watcher.step() == 0  # the watch answers 410 Gone
    assert watcher.resource_versions["argocd"] is None
    assert watcher.step() == 2  # relists: every object again, the change included
    assert kube.k.lists == 2
    assert app("controller").health_status == "Degraded"
    assert watcher.resource_versions["argocd"] == "48213600"
    # The unchanged object was already recorded at its resourceVersion: stored once.
    assert PipelineEvent.objects.filter(source_id="argocd/docs-site@48212960").count() == 1


def test_the_loop_recovers_from_410_by_itself(transactional_db, kube):
    kube.k.gone.add("48213377")
    watcher = watcher_for(kube)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: getattr(kube.k, "lists", 0) >= 2, timeout=10)
        kube.k.gone.clear()
        kube.patch("argocd", "docs-site", 48213700, {"status": {"health": {"status": "Missing"}}})
        wait_for(lambda: app("docs-site").health_status == "Missing", timeout=10)
    finally:
        stop.set()
        thread.join(10)


def test_it_watches_several_namespaces(transactional_db, kube):
    watcher = watcher_for(kube, "argocd", "billing-team")
    assert watcher.step("argocd") == 2
    assert watcher.step("billing-team") == 1
    assert Application.objects.filter(namespace="billing-team", name="billing").exists()


def test_an_unreachable_api_server_is_an_adapter_error(transactional_db):
    api_client = client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{free_port()}"))
    api_client.configuration.retries = False
    watcher = ApplicationWatcher(api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0)
    with pytest.raises(AdapterError) as e:
        watcher.step()
    assert not e.value.permanent
    assert watcher.resource_versions["argocd"] is None


def test_the_loop_backs_off_while_the_api_server_is_down(transactional_db):
    api_client = client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{free_port()}"))
    api_client.configuration.retries = False
    watcher = ApplicationWatcher(
        api_client,
        ["argocd"],
        sink=LocalSink(),
        request_timeout=1.0,
        backoff_initial=0.1,
        backoff_max=0.4,
    )
    delays = []
    stop = threading.Event()

    class Recording(threading.Event):
        def wait(self, timeout=None):
            delays.append(timeout)
            if len(delays) >= 4:
                stop.set()
            return stop.is_set()

        def is_set(self):
            return stop.is_set()

    watcher.run(Recording())
    assert delays == [0.1, 0.2, 0.4, 0.4]


def test_watch_argocd_once_lists_and_exits(transactional_db, kube, settings, tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "kmock",
                "clusters": [{"name": "kmock", "cluster": {"server": kube.url}}],
                "users": [{"name": "ci", "user": {"token": "test-only"}}],
                "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "ci"}}],
            }
        )
    )
    settings.KUBECONFIG, settings.KUBE_CONTEXT = str(kubeconfig), "kmock"
    call_command("watch-argocd", "--once", "--namespace", "argocd", "--namespace", "billing-team")
    out = capsys.readouterr().out
    assert "argocd: 2 applications" in out and "billing-team: 1 applications" in out
    assert Application.objects.count() == 3


# -- what kmock cannot send: fed to the watcher as a fake stream ------------------------------


class FakeWatch:
    """Stands in for kubernetes.watch.Watch: yields the given events, as `stream` would."""

    def __init__(self, events):
        self.events, self.calls = events, []

    def __call__(self):
        return self

    def stream(self, func, *args, **kwargs):
        self.calls.append(kwargs)
        yield from self.events

    def stop(self):
        pass


def event(kind: str, obj: dict) -> dict:
    return {"type": kind, "object": obj, "raw_object": obj}


def without_finalizers(kube, stem: str) -> None:
    """The fixture's Application as it is once Argo CD has run its finalizer (the emulator
    keeps an object with finalizers forever): a delete removes it."""
    obj = load(stem)
    obj["metadata"].pop("finalizers", None)
    kube.seed(obj)


def delete_application(kube, name: str) -> None:
    """Through the API server, as `kubectl delete application` does."""
    client.CustomObjectsApi(kube.api_client).delete_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "applications", name
    )


def test_a_deleted_application_leaves_the_lists_and_attention(transactional_db, kube, bob):
    from django.test import Client

    viewer = Client()
    viewer.force_login(bob)
    without_finalizers(kube, "05")
    watcher = watcher_for(kube, request_timeout=5.0)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: Application.objects.count() == 2, timeout=10)
        wait_for(lambda: getattr(kube.k, "watches", None), timeout=10)  # the watch is open
        assert "docs-site" in [p["subject"] for p in viewer.get("/api/attention").json()]
        # The emulator numbers a delete after the object's own resourceVersion: make it newer
        # than the watch's, as the API server's one counter would.
        kube.patch("argocd", "docs-site", 48213500, {"status": {"health": {"status": "Degraded"}}})
        wait_for(lambda: app("docs-site").health_status == "Degraded", timeout=10)
        delete_application(kube, "docs-site")
        wait_for(lambda: app("docs-site").deleted_at is not None, timeout=10)
    finally:
        stop.set()
        watcher.stop_streams()
        thread.join(10)
    assert app("docs-site").deleted_at is not None
    listed = viewer.get("/api/applications").json()["items"]
    assert [a["name"] for a in listed] == ["controller"]
    everything = viewer.get("/api/applications", {"deleted": True}).json()["items"]
    assert {a["name"]: bool(a["deleted_at"]) for a in everything} == {
        "controller": False,
        "docs-site": True,
    }
    assert "docs-site" not in [p["subject"] for p in viewer.get("/api/attention").json()]
    assert viewer.get("/api/applications/argocd/docs-site").json()["deleted_at"]

    # Re-created: back in the lists, deleted_at cleared.
    recreated = load("05")
    recreated["metadata"]["resourceVersion"] = "48219999"
    kube.seed(recreated)
    watcher.resource_versions["argocd"] = None
    watcher.step()
    assert app("docs-site").deleted_at is None
    assert len(viewer.get("/api/applications").json()["items"]) == 2


def test_an_application_deleted_while_the_watch_expired_is_deleted_by_the_relist(
    transactional_db, kube
):
    without_finalizers(kube, "05")
    watcher = watcher_for(kube)
    watcher.step()
    kube.k.gone.add("48213377")
    delete_application(kube, "docs-site")
    assert watcher.step() == 0  # the watch answers 410 Gone
    assert watcher.step() == 2  # relists: controller again, docs-site gone
    assert app("docs-site").deleted_at is not None
    assert app("controller").deleted_at is None
    assert PipelineEvent.objects.filter(
        application__name="docs-site", source_id__endswith=":deleted"
    ).exists()


def test_bookmarks_and_deletions_move_the_resource_version_without_recording(transactional_db):
    deleted = load("05")
    deleted["metadata"]["resourceVersion"] = "48213900"
    fake = FakeWatch(
        [
            event("BOOKMARK", {"metadata": {"resourceVersion": "48213800"}}),
            event("DELETED", deleted),
        ]
    )
    watcher = ApplicationWatcher(
        client.ApiClient(), ["argocd"], sink=LocalSink(), watch_factory=fake
    )
    watcher.resource_versions["argocd"] = "48213000"
    assert watcher.step() == 1  # the deletion: of an application never recorded, nothing to mark
    assert fake.calls[0]["resource_version"] == "48213000"
    assert fake.calls[0]["allow_watch_bookmarks"] is True
    assert watcher.resource_versions["argocd"] == "48213900"
    assert not Application.objects.exists()


def test_a_malformed_object_is_skipped_and_the_stream_goes_on(transactional_db):
    bad = load("01")
    bad["metadata"]["name"] = "Not A Valid Name"
    good = load("05")
    fake = FakeWatch([event("MODIFIED", bad), event("MODIFIED", good)])
    watcher = ApplicationWatcher(
        client.ApiClient(), ["argocd"], sink=LocalSink(), watch_factory=fake
    )
    watcher.resource_versions["argocd"] = "1"
    assert watcher.step() == 1
    assert list(Application.objects.values_list("name", flat=True)) == ["docs-site"]


def test_an_error_event_410_means_relist(transactional_db):
    fake = FakeWatch([event("ERROR", {"kind": "Status", "code": 410, "message": "too old"})])
    watcher = ApplicationWatcher(
        client.ApiClient(), ["argocd"], sink=LocalSink(), watch_factory=fake
    )
    watcher.resource_versions["argocd"] = "1"
    assert watcher.step() == 0
    assert watcher.resource_versions["argocd"] is None


def test_a_sink_failure_keeps_the_resource_version_so_nothing_is_skipped(transactional_db):
    class Down:
        def emit(self, event):
            raise AdapterError("cdportal is unreachable")

    fake = FakeWatch([event("MODIFIED", load("01"))])
    watcher = ApplicationWatcher(client.ApiClient(), ["argocd"], sink=Down(), watch_factory=fake)
    watcher.resource_versions["argocd"] = "48213000"
    with pytest.raises(AdapterError):
        watcher.step()
    assert watcher.resource_versions["argocd"] == "48213000"
