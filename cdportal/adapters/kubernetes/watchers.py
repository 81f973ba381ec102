"""Kubernetes: watch Argo CD Applications and deliver each change as an ``application`` event.

The list-then-watch loop every Kubernetes controller runs (client-go's reflector), on the
official ``kubernetes`` client:

1. list the Applications of a namespace, emit each one, and remember the list's
   ``resourceVersion``;
2. watch from that resourceVersion; emit every ADDED/MODIFIED object, and a deletion for every
   DELETED one, and remember its resourceVersion (BOOKMARK events only move the resourceVersion);
3. when the stream ends (the server's ``timeoutSeconds``) reconnect at once from the last
   resourceVersion; when it breaks (connection refused or reset, 5xx) reconnect the same way
   after a backoff that doubles up to ``backoff_max``;
4. on 410 Gone (the resourceVersion is older than the API server's watch cache) list again; an
   object seen before and absent from that list was deleted meanwhile, and is emitted so.

Nothing is missed across reconnects: the resourceVersion only advances after the event was
emitted, and a relist emits every object again — ingestion stores one fact per
``namespace/name@resourceVersion``, so repeats cost nothing.

Reference: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import updater
from cdportal.adapters.kubernetes.argocd import (
    application_deleted_event,
    application_event,
    image_updater_event,
    images_updated_events,
)
from cdportal.adapters.kubernetes.errors import api_error
from cdportal.adapters.kubernetes.logs import log_events
from cdportal.adapters.sinks import EventSink
from cdportal.core.events import InvalidEvent

log = logging.getLogger(__name__)

__all__ = [
    "ApplicationWatcher",
    "Gone",
    "ImageUpdaterWatcher",
    "NotInstalled",
    "UpdaterDeploymentWatcher",
    "UpdaterEventWatcher",
]

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
GONE = 410


class Gone(Exception):
    """The resourceVersion we watch from has expired: list again."""


class NotInstalled(AdapterError):
    """The API server does not serve this resource (its CRD is not installed)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


class ApplicationWatcher:
    """Lists and watches Argo CD Applications in some namespaces and emits them to ``sink``.

    ``step(namespace)`` does one unit of work (a list, or one watch connection until it ends)
    and is what tests drive; ``run(stop)`` loops over it, with backoff, until ``stop`` is set.
    """

    what = "Applications"  # for messages

    def __init__(
        self,
        api_client: client.ApiClient,
        namespaces: Iterable[str],
        *,
        sink: EventSink,
        timeout_seconds: int = 300,
        request_timeout: float | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        page_size: int = 500,
        watch_factory=watch.Watch,
    ):
        self.api = client.CustomObjectsApi(api_client)
        self.namespaces = list(dict.fromkeys(namespaces))
        if not self.namespaces:
            raise ValueError("ApplicationWatcher needs at least one namespace")
        self.sink = sink
        self.timeout_seconds = timeout_seconds
        # The client-side read timeout ends a stream the server keeps open past timeoutSeconds.
        self.request_timeout = request_timeout or timeout_seconds + 30
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.page_size = page_size
        self.watch_factory = watch_factory
        # namespace -> the resourceVersion to watch from; None: list first.
        self.resource_versions: dict[str, str | None] = {ns: None for ns in self.namespaces}
        self.on_batch = None  # called after each list or watch connection that emitted something
        self._watches: dict[str, watch.Watch] = {}
        # namespace -> the names of the objects it has now, as far as this watcher has seen: a
        # relist (after 410 Gone, or a watch that could not resume) that lacks one of them means
        # it was deleted meanwhile, its DELETED event lost with the expired resourceVersion.
        self.present: dict[str, set[str]] = {ns: set() for ns in self.namespaces}

    # -- one unit of work -------------------------------------------------------------------

    def step(self, namespace: str | None = None) -> int:
        """List (when there is no resourceVersion) or watch once; the number of events emitted.

        Raises AdapterError when the API server cannot be reached or answers an error; the
        resourceVersion is kept, so the next step resumes where this one stopped.
        """
        namespace = namespace or self.namespaces[0]
        try:
            if self.resource_versions[namespace] is None:
                emitted = self.list(namespace)
            else:
                emitted = self.watch(namespace)
                if self.resource_versions[namespace] == "":
                    self.resource_versions[namespace] = None  # nothing to resume from: relist
        except Gone:
            log.info("watch of %s expired (410 Gone): listing again", namespace)
            self.resource_versions[namespace] = None
            return 0
        if emitted and self.on_batch:
            self.on_batch()
        return emitted

    def list(self, namespace: str) -> int:
        emitted, token, resource_version = 0, None, None
        listed: set[str] = set()
        while True:
            kwargs = {"limit": self.page_size, "_request_timeout": self.request_timeout}
            if token:
                kwargs["_continue"] = token
            func, args, extra = self._lister(namespace)
            result = self._call(func, *args, **kwargs, **extra)
            for item in result.get("items") or []:
                listed.add((item.get("metadata") or {}).get("name", ""))
                emitted += self._emit(item)
            metadata = result.get("metadata") or {}
            resource_version = metadata.get("resourceVersion") or resource_version
            token = metadata.get("continue")
            if not token:
                break
        for name in sorted(self.present[namespace] - listed):
            emitted += self._gone(namespace, name, resource_version or "")
        self.present[namespace] = listed
        # Without a resourceVersion (some emulators) the watch starts from "now"; a relist on
        # each reconnect then keeps us from missing anything.
        self.resource_versions[namespace] = resource_version or ""
        return emitted

    def watch(self, namespace: str) -> int:
        """One watch connection, from the last resourceVersion, until the server ends it."""
        emitted = 0
        stream_watch = self.watch_factory()
        self._watches[namespace] = stream_watch
        kwargs: dict[str, Any] = {
            "allow_watch_bookmarks": True,
            # timeout_seconds also turns off the client's own silent reconnects: we do that.
            "timeout_seconds": self.timeout_seconds,
            "_request_timeout": self.request_timeout,
        }
        if self.resource_versions[namespace]:
            kwargs["resource_version"] = self.resource_versions[namespace]
        func, args, extra = self._lister(namespace)
        try:
            for event in self._call(stream_watch.stream, func, *args, **kwargs, **extra):
                emitted += self._on_event(namespace, event)
        except urllib3.exceptions.ReadTimeoutError:
            pass  # a quiet stream outlived the read timeout: reconnect, nothing is lost
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise AdapterError(
                f"watch of {self.what} in {namespace} broke: {type(e).__name__}"
            ) from None
        except ApiException as e:
            raise self._error(e, namespace) from None
        finally:
            self._watches.pop(namespace, None)
        return emitted

    def _lister(self, namespace: str):
        """The list function the list and the watch call, its arguments, extra keywords."""
        return self.api.list_namespaced_custom_object, (GROUP, VERSION, namespace, PLURAL), {}

    def _on_event(self, namespace: str, event: dict) -> int:
        kind, obj = event.get("type"), event.get("raw_object") or event.get("object") or {}
        resource_version = (obj.get("metadata") or {}).get("resourceVersion")
        emitted = 0
        name = (obj.get("metadata") or {}).get("name", "")
        if kind in ("ADDED", "MODIFIED"):
            emitted = self._emit(obj)
            self.present[namespace].add(name)
        elif kind == "DELETED":
            emitted = self._gone(namespace, name, resource_version or "")
            self.present[namespace].discard(name)
        elif kind == "ERROR":
            # The client raises on ERROR itself; a stream that hands one over is handled alike.
            if obj.get("code") == GONE:
                raise Gone()
            raise AdapterError(
                f"watch of {self.what} in {namespace}: {obj.get('message', 'error')}"
            )
        # BOOKMARK: only the resourceVersion.
        if resource_version:
            self.resource_versions[namespace] = resource_version
        return emitted

    def _emit(self, obj: dict) -> int:
        try:
            event = self._event(obj)
        except InvalidEvent as e:
            meta = obj.get("metadata") or {}
            log.warning(
                "skipping %s %s/%s: %s", self.what, meta.get("namespace"), meta.get("name"), e
            )
            return 0
        if event is None:
            return 0
        self.sink.emit(event)
        return 1

    def _event(self, obj: dict) -> dict | None:
        """The event for one object as listed or watched (None: not one of ours)."""
        return application_event(obj, observed_at=datetime.now(UTC))

    def _gone(self, namespace: str, name: str, resource_version: str) -> int:
        """The event for an object that no longer exists (0: this kind records no deletions)."""
        if not name:
            return 0
        self.sink.emit(
            application_deleted_event(
                namespace, name, resource_version=resource_version, observed_at=datetime.now(UTC)
            )
        )
        return 1

    def _call(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiException as e:
            raise self._error(e, args[2] if len(args) > 2 else "?") from None
        except urllib3.exceptions.HTTPError as e:
            raise api_error(e, f"listing {self.what}") from None

    def _error(self, e: ApiException, namespace: str) -> Exception:
        if e.status == GONE:
            return Gone()
        return api_error(e, f"watching {self.what} in {namespace}")

    # -- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watch every namespace (one thread each) until ``stop`` is set."""
        if len(self.namespaces) == 1:
            self._run_namespace(self.namespaces[0], stop)
            return
        threads = [
            threading.Thread(
                target=self._run_namespace, args=(ns, stop), name=f"watch-{ns}", daemon=True
            )
            for ns in self.namespaces
        ]
        for thread in threads:
            thread.start()
        try:
            while not stop.wait(0.5) and any(t.is_alive() for t in threads):
                pass
        finally:
            stop.set()
            self.stop_streams()

    def stop_streams(self) -> None:
        """Ask open watch streams to end (they do at their next line or read timeout)."""
        for stream_watch in list(self._watches.values()):
            stream_watch.stop()

    def _run_namespace(self, namespace: str, stop: threading.Event) -> None:
        delay = self.backoff_initial
        while not stop.is_set():
            try:
                self.step(namespace)
            except AdapterError as e:
                if stop.is_set():
                    return  # the stream broke because we are shutting down
                log.warning("%s; retrying in %.1fs", e, delay)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, self.backoff_max)
            else:
                delay = self.backoff_initial


class UpdaterEventWatcher(ApplicationWatcher):
    """The Image Updater's `ImagesUpdated` Events (stage 5, "seen by the updater"), listed and
    watched like the Applications. Reference: argocd-image-updater pkg/kube/kubernetes.go
    CreateApplicationEvent; disabled when the updater runs with kube.events=false."""

    what = "ImagesUpdated Events"

    def _gone(self, namespace: str, name: str, resource_version: str) -> int:
        return 0  # no deletion to record (ImageUpdater resources: their DELETED, below)

    def __init__(self, api_client: client.ApiClient, namespaces: Iterable[str], **kwargs):
        super().__init__(api_client, namespaces, **kwargs)
        self.core = client.CoreV1Api(api_client)

    def _lister(self, namespace: str):
        return self._list_events, (namespace,), {"field_selector": "reason=ImagesUpdated"}

    def _list_events(self, namespace: str, **kwargs):
        """CoreV1Api answers with model objects; the Applications code reads plain JSON. A watch
        (`watch=True`) gets the raw stream, which the watch turns into dicts itself."""
        if kwargs.get("watch"):
            return self.core.list_namespaced_event(namespace, **kwargs)
        response = self.core.list_namespaced_event(namespace, _preload_content=False, **kwargs)
        return json.loads(response.data)

    def _emit(self, obj: dict) -> int:
        # Events come back as model objects unless raw; both shapes are handled by the mapper.
        events = images_updated_events(obj)
        for event in events:
            self.sink.emit(event)
        return len(events)


class UpdaterDeploymentWatcher(ApplicationWatcher):
    """The Image Updater's own Deployment, listed and watched like the Applications: its version,
    replicas and rollout reach the updater page live, and a restart on-call asked for is finished
    when its rollout completes (ingestion settles the Action; see pipeline.updater_actions).

    Which Deployment: the configured `name`, else the one `adapters.kubernetes.updater.find` follows the
    updater's pods to (found again at every list, so an install that appears later is picked up).
    Every other Deployment of the namespace is ignored."""

    what = "Deployments"

    def _gone(self, namespace: str, name: str, resource_version: str) -> int:
        return 0  # no deletion to record (ImageUpdater resources: their DELETED, below)

    def __init__(
        self, api_client: client.ApiClient, namespace: str, *, name: str | None = None, **kwargs
    ):
        super().__init__(api_client, [namespace], **kwargs)
        self.api_client = api_client
        self.apps = client.AppsV1Api(api_client)
        self.configured_name = name
        self.name = name

    def list(self, namespace: str) -> int:
        if not self.configured_name:
            try:
                found = updater.find(self.api_client, namespace)
            except AdapterError as e:
                raise AdapterError(f"looking for the Image Updater in {namespace}: {e}") from None
            self.name = (found or {}).get("metadata", {}).get("name")
        return super().list(namespace)

    def _lister(self, namespace: str):
        return self._list_deployments, (namespace,), {}

    def _list_deployments(self, namespace: str, **kwargs):
        if kwargs.get("watch"):
            return self.apps.list_namespaced_deployment(namespace, **kwargs)
        response = self.apps.list_namespaced_deployment(namespace, _preload_content=False, **kwargs)
        return json.loads(response.data)

    def _event(self, obj: dict) -> dict | None:
        if (obj.get("metadata") or {}).get("name") != self.name:
            return None
        return updater.deployment_event(obj, observed_at=datetime.now(UTC))


class ImageUpdaterWatcher(ApplicationWatcher):
    """`ImageUpdater` custom resources (argocd-image-updater v1.x), listed and watched like the
    Applications, deletions included: they decide which Applications' images are followed.
    Under v0.x the resource does not exist: the first 404 ends this watcher quietly."""

    what = "ImageUpdater resources"

    def _gone(self, namespace: str, name: str, resource_version: str) -> int:
        return 0  # no deletion to record (ImageUpdater resources: their DELETED, below)

    def _lister(self, namespace: str):
        return (
            self.api.list_namespaced_custom_object,
            ("argocd-image-updater.argoproj.io", "v1alpha1", namespace, "imageupdaters"),
            {},
        )

    def _error(self, e: ApiException, namespace: str) -> Exception:
        if e.status == 404:
            return NotInstalled(
                f"no ImageUpdater resource in the API (argocd-image-updater v0.x?): "
                f"annotations alone configure {namespace}'s applications"
            )
        return super()._error(e, namespace)

    def _on_event(self, namespace: str, event: dict) -> int:
        if event.get("type") != "DELETED":
            return super()._on_event(namespace, event)
        obj = event.get("raw_object") or event.get("object") or {}
        self.sink.emit(image_updater_event(obj, observed_at=datetime.now(UTC), deleted=True))
        resource_version = (obj.get("metadata") or {}).get("resourceVersion")
        if resource_version:
            self.resource_versions[namespace] = resource_version
        return 1

    def _event(self, obj: dict) -> dict | None:
        return image_updater_event(obj, observed_at=datetime.now(UTC))

    def _run_namespace(self, namespace: str, stop: threading.Event) -> None:
        try:
            self.step(namespace)
        except NotInstalled as e:
            log.info("%s", e)
            return
        except AdapterError:
            pass  # the loop below retries with backoff
        super()._run_namespace(namespace, stop)


class UpdaterLogReader:
    """Every `interval` seconds, what the Image Updater pods' logs say about its checks — its
    interval, when its last cycle ended, that cycle's errors — as ``updater_log`` events
    (cdportal.adapters.kubernetes.logs.log_events). The Deployment is the one `deployment` (its
    watcher) follows; nothing is read before that watcher found it."""

    def __init__(
        self,
        api_client: client.ApiClient,
        deployment: UpdaterDeploymentWatcher,
        *,
        sink,
        interval: float = 30.0,
    ):
        self.api_client = api_client
        self.deployment = deployment
        self.sink = sink
        self.interval = interval

    def read(self) -> int:
        """One round; how many pods' logs told something."""
        if not self.deployment.name:
            return 0
        events = log_events(
            self.api_client,
            self.deployment.namespaces[0],
            self.deployment.name,
            observed_at=datetime.now(UTC),
        )
        for event in events:
            self.sink.emit(event)
        return len(events)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.read()
            except Exception:  # the next round reads again
                log.exception("reading the Image Updater's log failed")
