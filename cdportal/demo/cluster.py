"""The simulated Argo CD installation behind `make demo`: a Kubernetes API emulator
(cdportal.demo.kube) holding the Applications, with a simulated application controller
(cdportal.demo.controller) and Image Updater (cdportal.demo.updater) working on it.

The web process gets its kubeconfig, so the on-call buttons (force sync, hard refresh,
terminate; restart the updater, follow its logs, check its pull secret) act on this cluster
through the real code paths. What happens in the cluster reaches the dashboard the way it would
from a real one: cdportal's own watchers (cdportal.adapters.kubernetes.watchers) list and watch it and
deliver `updater_config`, `application`, `updater` and `updater_deployment` events to the
server (`watch`).

The simulator's Argo CD half goes into the cluster instead of straight to the server
(`ClusterSink`): its `updater` events become the updater's write-backs; its `application`
events are dropped, since the controller now decides what each Application shows.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from cdportal.adapters.kubernetes.watchers import (
    ApplicationWatcher,
    ImageUpdaterWatcher,
    UpdaterDeploymentWatcher,
    UpdaterEventWatcher,
    UpdaterLogReader,
)
from cdportal.adapters.sinks import EventSink
from cdportal.core.image_list import IMAGE_LIST
from cdportal.demo import breaks, manifests
from cdportal.demo.controller import ArgoController
from cdportal.demo.kube import Kube
from cdportal.demo.manifests import UPDATER_CR, UPDATER_DEPLOYMENT
from cdportal.demo.simulator import APPLICATIONS, POLICY
from cdportal.demo.updater import ImageUpdater

log = logging.getLogger(__name__)

NAMESPACE = manifests.NAMESPACE


class Cluster:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        speed: float = 1.0,
        degraded_rate: float = 0.1,
        react_seconds: float = 1.0,
        sync_seconds: float = 4.0,
        ready_seconds: float = 3.0,
        cycle_seconds: float = 15.0,
    ):
        # resourceVersions from the clock: the server keeps what an earlier demo run recorded
        # (one event per namespace/name@resourceVersion), so a new run must not reuse numbers.
        self.kube = Kube(cluster_versions=True, first_version=int(time.time() * 1000))
        # A line per request to the emulator (several a second) would drown the demo's output.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        self.kube.k.recording = False  # nobody reads the write log here; it would only grow
        self.api_client = self.kube.api_client
        self.controller = ArgoController(
            self.api_client,
            NAMESPACE,
            clock=clock,
            rng=rng or random.Random(),
            react_seconds=react_seconds / speed,
            sync_seconds=sync_seconds / speed,
            degraded_rate=degraded_rate,
        )
        self.updater = ImageUpdater(
            self.kube,
            NAMESPACE,
            clock=clock,
            cycle_seconds=cycle_seconds / speed,
            ready_seconds=ready_seconds / speed,
        )
        self.stop = threading.Event()
        self.running: threading.Thread | None = None  # the controllers' passes
        self.threads: list[threading.Thread] = []
        self.watchers: list[ApplicationWatcher] = []
        self.broken = ""  # the break in force here (cdportal.demo.breaks)

    def install(self, tags: Mapping[str, str]) -> None:
        """The updater and its secret, and the Applications at their running tags."""
        self.install_updater()
        self.install_applications(tags)

    def install_updater(self) -> None:
        """The Image Updater (rolled out) and its pull secret."""
        self.updater.install()

    def install_applications(self, tags: Mapping[str, str]) -> None:
        """The Applications, Synced and Healthy at their running tags."""
        self.controller.install(dict(tags))

    def set_break(self, code: str, *, running: str) -> None:
        """Break what `code` names in the cluster (cdportal.demo.breaks), after undoing the
        break before it; `running`: the version the applications run now (a pinned policy keeps
        them there). A GitHub-side code or "" only undoes."""
        if code == self.broken:
            return
        self._apply(self.broken, heal=True, running=running)
        self.broken = code
        self._apply(code, heal=False, running=running)

    def _apply(self, code: str, *, heal: bool, running: str) -> None:
        target = breaks.TARGET
        if code == "auto_sync_off":
            automated = {"prune": True, "selfHeal": True} if heal else None
            self._patch_application(target, {"spec": {"syncPolicy": {"automated": automated}}})
        elif code == "tag_rejected_by_policy":
            listed = POLICY[IMAGE_LIST] if heal else f"{POLICY[IMAGE_LIST]}:<={running}"
            self._patch_application(target, {"metadata": {"annotations": {IMAGE_LIST: listed}}})
        elif code == "updater_not_configured":
            names = ["cto-controller*"] if heal else [a for a in APPLICATIONS if a != target]
            refs = [{"namePattern": name, "useAnnotations": True} for name in names]
            self.controller.api.patch_namespaced_custom_object(
                "argocd-image-updater.argoproj.io",
                "v1alpha1",
                NAMESPACE,
                "imageupdaters",
                UPDATER_CR,
                {"spec": {"applicationRefs": refs}},
                _content_type="application/merge-patch+json",
            )
        elif code == "updater_not_running":
            self.updater.apps.patch_namespaced_deployment(
                UPDATER_DEPLOYMENT, NAMESPACE, {"spec": {"replicas": 1 if heal else 0}}
            )
        elif code == "updater_registry_auth":
            self.updater.denied = not heal
        elif code == "sync_failed":
            (self.controller.failing.discard if heal else self.controller.failing.add)(target)
        elif code == "degraded":
            (self.controller.degrading.discard if heal else self.controller.degrading.add)(target)

    def _patch_application(self, name: str, change: dict) -> None:
        self.controller.api.patch_namespaced_custom_object(
            "argoproj.io",
            "v1alpha1",
            NAMESPACE,
            "applications",
            name,
            change,
            _content_type="application/merge-patch+json",
        )

    def step(self) -> None:
        """One pass of each controller (what the thread repeats; tests call it themselves)."""
        self.controller.step()
        self.updater.step()

    def start(self, tick: float = 0.2) -> None:
        """Run the controllers in a thread until close()."""
        self.running = self._thread(self._run, tick, name="argocd-controllers")

    def _run(self, tick: float) -> None:
        while not self.stop.wait(tick):
            try:
                self.step()
            except (ApiException, HTTPError, OSError) as e:
                log.warning("simulated Argo CD: %s; next pass", e)
            except Exception:
                log.exception("simulated Argo CD failed a pass")

    def watch(self, sink: EventSink, *, request_timeout: float | None = None) -> None:
        """cdportal's watchers on this cluster, in threads, delivering to `sink` (the server's
        POST /api/events in the demo): ImageUpdater resources, Applications, ImagesUpdated Events,
        the updater's Deployment, and what the updater's log says about its checks."""
        options = {
            "sink": sink,
            "backoff_initial": 0.2,
            "backoff_max": 5.0,
            "request_timeout": request_timeout,
        }
        self.watchers = [
            ImageUpdaterWatcher(self.api_client, [NAMESPACE], **options),
            ApplicationWatcher(self.api_client, [NAMESPACE], **options),
            UpdaterEventWatcher(self.api_client, [NAMESPACE], **options),
            UpdaterDeploymentWatcher(self.api_client, NAMESPACE, **options),
        ]
        for watcher in self.watchers:
            self._thread(watcher.run, self.stop, name=f"watch-{type(watcher).__name__}")
        # What the updater's log says about its checks: the explainer's ETA and its errors.
        reader = UpdaterLogReader(self.api_client, self.watchers[-1], sink=sink, interval=5.0)
        self._thread(reader.run, self.stop, name="read-updater-log")

    def feeding(self, sink: EventSink) -> ClusterSink:
        """`sink`, with the simulator's Argo CD events turned into changes to this cluster."""
        return ClusterSink(sink, self)

    def kubeconfig(self, directory: Path) -> str:
        return self.kube.kubeconfig(directory)

    def _thread(self, target, *args, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def close(self) -> None:
        self.stop.set()
        for watcher in self.watchers:
            watcher.stop_streams()
        if self.running is not None:
            self.running.join(5)  # its pass ends before the API server goes away
        self.kube.close()  # ends the open watch streams, so their threads see `stop`
        for thread in self.threads:
            thread.join(2)


class ClusterSink:
    """The simulator's events, with its Argo CD half turned into changes to the cluster."""

    def __init__(self, sink: EventSink, cluster: Cluster):
        self.sink, self.cluster = sink, cluster

    def emit(self, event: Mapping[str, Any]) -> bool:
        if event["kind"] == "updater":
            # The updater found the new tag: it writes it back; its Event reaches the server
            # through the watcher.
            return self.cluster.updater.write_back(event["application"], event["to_tag"])
        if event["kind"] == "application":
            return (
                False  # the controller decides what the Application shows; the watcher reports it
            )
        return self.sink.emit(event)
