"""`python manage.py watch-argocd [--namespace NS ...] [--once]`

Lists the Argo CD Applications of each namespace (default ARGOCD_NAMESPACES, "argocd") and
records them through the ingestion path (``cdportal.adapters.kubernetes.watchers``); then watches them
until interrupted, reconnecting from the last resourceVersion and relisting on 410 Gone. The
client comes from KUBECONFIG/KUBE_CONTEXT, or the pod's service account in a cluster. `--once`
lists, prints one line per namespace and exits. Exit status: 2 on bad configuration, 1 when a
namespace could not be listed.

Alongside: the `ImageUpdater` resources of v1.x (which images each Application follows), the
Image Updater's `ImagesUpdated` Events (stage 5) in the same namespaces, its own
Deployment in UPDATER_NAMESPACE (status, version, restarts' rollouts), every LOG_INTERVAL
seconds what its pods' logs say about its checks (interval, last cycle, that cycle's errors:
``updater_log`` events), and every REAP_INTERVAL seconds the restarts nobody finished (see
pipeline.updater_actions.reap_overdue_restarts).
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import client as kube
from cdportal.adapters.kubernetes.watchers import (
    ApplicationWatcher,
    Gone,
    ImageUpdaterWatcher,
    NotInstalled,
    UpdaterDeploymentWatcher,
    UpdaterEventWatcher,
    UpdaterLogReader,
)
from cdportal.pipeline import publish, updater_actions
from cdportal.pipeline.sinks import LocalSink

BAD_INPUT = 2
REAP_INTERVAL = 30.0
LOG_INTERVAL = 30.0


class Command(BaseCommand):
    help = "List and watch Argo CD Applications, recording every change."

    def add_arguments(self, parser):
        parser.add_argument(
            "--namespace",
            action="append",
            metavar="NS",
            help="Repeatable (default: ARGOCD_NAMESPACES, argocd)",
        )
        parser.add_argument("--once", action="store_true", help="List once, then exit")

    def handle(self, *args, namespace, once, **options):
        namespaces = list(dict.fromkeys(namespace or settings.ARGOCD_NAMESPACES))
        try:
            api_client = kube.configured()
        except AdapterError as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        # ImageUpdater resources first: they decide which images an Application follows.
        configs = ImageUpdaterWatcher(api_client, namespaces, sink=LocalSink())
        watcher = ApplicationWatcher(api_client, namespaces, sink=LocalSink())
        # The Image Updater's ImagesUpdated Events: stage 5, "seen by the updater".
        updates = UpdaterEventWatcher(api_client, namespaces, sink=LocalSink())
        deployment = UpdaterDeploymentWatcher(
            api_client,
            updater_actions.namespace(),
            name=updater_actions.configured_name(),
            sink=LocalSink(),
        )
        watchers = (configs, watcher, updates, deployment)
        for each in watchers:
            # Each list or watch connection is a batch: push its changes to the browsers now.
            each.on_batch = publish.flush
        if once:
            self._once(api_client, namespaces, configs, watcher, updates, deployment)
            return
        if isolation := publish.isolation():
            self.stderr.write(f"warning: {isolation}")
        stop = threading.Event()
        helpers = [
            threading.Thread(
                target=configs.run, args=(stop,), name="imageupdater-watch", daemon=True
            ),
            threading.Thread(
                target=updates.run, args=(stop,), name="imagesupdated-watch", daemon=True
            ),
            threading.Thread(
                target=deployment.run, args=(stop,), name="updater-deployment-watch", daemon=True
            ),
            threading.Thread(
                target=self._reap, args=(api_client, stop), name="restart-reaper", daemon=True
            ),
            threading.Thread(
                target=self._read_logs,
                args=(api_client, deployment, stop),
                name="updater-log-reader",
                daemon=True,
            ),
        ]
        for thread in helpers:
            thread.start()
        try:
            watcher.run(stop)
        except KeyboardInterrupt:
            stop.set()
            for each in watchers:
                each.stop_streams()

    def _once(self, api_client, namespaces, configs, watcher, updates, deployment) -> None:
        failed = []
        for ns in namespaces:
            try:
                resources = f"{configs.list(ns)} ImageUpdater resources"
            except NotInstalled:
                resources = "no ImageUpdater resource type (v0.x)"
            except (AdapterError, Gone) as e:
                resources = f"ImageUpdater resources: ? ({e})"
            try:
                count = watcher.list(ns)
            except (AdapterError, Gone) as e:
                failed.append(ns)
                self.stdout.write(f"{ns}: {e}")
                continue
            try:
                found = updates.list(ns)
            except (AdapterError, Gone) as e:
                found = f"? ({e})"
            self.stdout.write(f"{ns}: {count} applications, {found} image updates, {resources}")
        updater_ns = deployment.namespaces[0]
        try:
            seen = deployment.list(updater_ns)
            self.stdout.write(
                f"{updater_ns}: Image Updater "
                + (f"Deployment {deployment.name}" if seen else "not found")
            )
        except (AdapterError, Gone) as e:
            self.stdout.write(f"{updater_ns}: Image Updater: {e}")
        read = self._log_round(api_client, deployment)
        if read:
            self.stdout.write(f"{updater_ns}: Image Updater log read from {read} pod(s)")
        publish.flush()
        if failed:
            raise CommandError(f"listing failed in {', '.join(failed)}", returncode=1)

    def _read_logs(self, api_client, deployment, stop: threading.Event) -> None:
        while not stop.wait(LOG_INTERVAL):
            try:
                self._log_round(api_client, deployment)
                publish.flush()
            finally:
                connection.close()  # this thread's own connection

    def _log_round(self, api_client, deployment) -> int:
        """Record what the updater pods' logs say about its checks; how many pods told."""
        try:
            return UpdaterLogReader(api_client, deployment, sink=LocalSink()).read()
        except Exception:  # the watchers go on; the next round reads again
            logging.getLogger(__name__).exception("reading the Image Updater's log failed")
            return 0

    def _reap(self, api_client, stop: threading.Event) -> None:
        while not stop.wait(REAP_INTERVAL):
            try:
                for action in updater_actions.reap_overdue_restarts(api_client):
                    self.stdout.write(
                        f"restart {action.target} ({action.pk}) ended: {action.message}"
                    )
            except Exception:  # the watchers go on; the next round tries again
                logging.getLogger(__name__).exception("settling overdue restarts failed")
            finally:
                connection.close()
