"""`python manage.py scan-registry [--image HOST/NAMESPACE/NAME ...] [--once | --watch] [--full]`

Scans container registries for tags the push notifications may have missed and records them
through the ingestion path (``cdportal.adapters.registry.scanner``). Prints one line per image
and round: requests, tags, new tags, events recorded, status. An unchanged image costs one
request. `--watch` keeps going every REGISTRY_POLL_SECONDS (the clients, and their token and
digest caches, live as long as the command). `--full` re-reads every tag's digest (one HEAD per
tag) to catch tags moved to another image. Exit status: 2 on bad input; with `--once`, 1 when an
image could not be scanned (its line says why).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.registry.scanner import scan, split_image
from cdportal.pipeline import publish
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Scan container registries for new tags (one request per unchanged image)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--image",
            action="append",
            metavar="HOST/NAMESPACE/NAME",
            help="Repeatable (default: REGISTRY_IMAGES)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="One round, then exit (the default)")
        mode.add_argument(
            "--watch",
            action="store_true",
            help="A round every REGISTRY_POLL_SECONDS until interrupted",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Re-read every tag's digest in the first round (finds moved tags)",
        )

    def handle(self, *args, image, once, watch, full, **options):
        names = image or settings.REGISTRY_IMAGES
        images = list(dict.fromkeys(name.strip().lower() for name in names))
        if not images:
            raise CommandError(
                "no image: pass --image HOST/NAMESPACE/NAME or set REGISTRY_IMAGES",
                returncode=BAD_INPUT,
            )
        for name in images:
            try:
                split_image(name)
            except ValueError as e:
                raise CommandError(f"--image: {e}", returncode=BAD_INPUT) from None
        sink, store = LocalSink(), PollStates()
        if watch and (isolation := publish.isolation()):
            self.stderr.write(f"warning: {isolation}")
        try:
            while True:
                started = time.monotonic()
                report = scan(images, sink=sink, store=store, full=full)
                full = False
                publish.flush()
                for line in report.images:
                    self.stdout.write(str(line))
                if not watch:
                    if report.failed:
                        raise CommandError(
                            f"scanning failed for {', '.join(report.failed)}", returncode=1
                        )
                    return
                elapsed = time.monotonic() - started
                time.sleep(max(settings.REGISTRY_POLL_SECONDS - elapsed, 0))
        except KeyboardInterrupt:
            return
