"""`python manage.py watch-argocd [--namespace NS ...] [--once]`

Lists the Argo CD Applications of each namespace (default ARGOCD_NAMESPACES, "argocd") and
records them through the ingestion path (``cdportal.adapters.kubernetes``); then watches them
until interrupted, reconnecting from the last resourceVersion and relisting on 410 Gone. The
client comes from KUBECONFIG/KUBE_CONTEXT, or the pod's service account in a cluster. `--once`
lists, prints one line per namespace and exits. Exit status: 2 on bad configuration, 1 when a
namespace could not be listed.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import ApplicationWatcher, Gone, UpdaterEventWatcher, kube_client
from cdportal.adapters.sinks import LocalSink
from cdportal.live import broadcast

BAD_INPUT = 2


class Command(BaseCommand):
    help = "List and watch Argo CD Applications, recording every change."

    def add_arguments(self, parser):
        parser.add_argument("--namespace", action="append", metavar="NS",
                            help="Repeatable (default: ARGOCD_NAMESPACES, argocd)")
        parser.add_argument("--once", action="store_true", help="List once, then exit")

    def handle(self, *args, namespace, once, **options):
        namespaces = list(dict.fromkeys(namespace or settings.ARGOCD_NAMESPACES))
        try:
            api_client = kube_client(settings.KUBECONFIG or None, settings.KUBE_CONTEXT or None)
        except AdapterError as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        watcher = ApplicationWatcher(api_client, namespaces, sink=LocalSink())
        # The Image Updater's ImagesUpdated Events: stage 5, "seen by the updater".
        updates = UpdaterEventWatcher(api_client, namespaces, sink=LocalSink())
        # Each list or watch connection is a batch: push its changes to the browsers now.
        watcher.on_batch = updates.on_batch = broadcast.flush
        if once:
            failed = []
            for ns in namespaces:
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
                self.stdout.write(f"{ns}: {count} applications, {found} image updates")
            broadcast.flush()
            if failed:
                raise CommandError(f"listing failed in {', '.join(failed)}", returncode=1)
            return
        stop = threading.Event()
        events = threading.Thread(target=updates.run, args=(stop,), name="imagesupdated-watch", daemon=True)
        events.start()
        try:
            watcher.run(stop)
        except KeyboardInterrupt:
            stop.set()
            watcher.stop_streams()
            updates.stop_streams()
