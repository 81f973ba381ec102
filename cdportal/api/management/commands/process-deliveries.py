"""`python manage.py process-deliveries [--once] [--poll SECONDS]`

A dedicated webhook delivery worker: processes the deliveries the webhook views stored (in order
per repository, see cdportal/api/deliveries.py), then waits for more, looking every --poll
seconds, until interrupted. Several may run side by side on PostgreSQL. A worker that is killed
leaves the delivery it was on unprocessed, and the next worker takes it again. `--once`:
process what is waiting, then exit. Prints how many deliveries it processed.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from cdportal.api import deliveries
from cdportal.pipeline import publish

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Process stored webhook deliveries (the web processes do too, unless turned off)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Process what is waiting, then exit"
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="How often an idle worker looks for new deliveries (default 1)",
        )

    def handle(self, *args, once, poll, **options):
        if poll <= 0:
            raise CommandError("--poll must be > 0", returncode=BAD_INPUT)
        if once:
            done = deliveries.process_pending()
            publish.flush()
            self.stdout.write(f"processed {done} deliveries")
            return
        if isolation := publish.isolation():
            self.stderr.write(f"warning: {isolation}")
        stop, wake = threading.Event(), threading.Event()

        def finish(*_):  # SIGTERM (Kubernetes, docker stop): finish the delivery at hand, exit
            stop.set()
            wake.set()

        signal.signal(signal.SIGTERM, finish)
        try:
            deliveries.run(stop=stop, wake=wake, poll=poll)
        except KeyboardInterrupt:
            pass
        publish.flush()
