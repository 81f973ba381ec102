"""`python manage.py poll-github [--repository OWNER/NAME ...] [--once | --watch]`

Polls GitHub for what the webhooks may have missed (releases, Release PRs, tags, build runs and
their jobs) with conditional requests, and records it through the ingestion path. Prints one line
per repository and round: requests, 304s, events recorded, rate budget left. `--watch` keeps
going every GITHUB_POLL_SECONDS, later while GitHub asks it to wait. Exit status: 2 on bad input;
with `--once`, 1 when a repository could not be polled (the line says why).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdportal.adapters.git.release_source import OWNER_REPO
from cdportal.adapters.github.poller import next_due, poll_all
from cdportal.pipeline import publish
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Poll GitHub (conditional requests) for releases, Release PRs, tags and build runs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--repository",
            action="append",
            metavar="OWNER/NAME",
            help="Repeatable (default: GITHUB_REPOSITORIES)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="One round, then exit (the default)")
        mode.add_argument(
            "--watch",
            action="store_true",
            help="A round every GITHUB_POLL_SECONDS until interrupted",
        )

    def handle(self, *args, repository, once, watch, **options):
        repositories = list(dict.fromkeys(repository or settings.GITHUB_REPOSITORIES))
        if not repositories:
            raise CommandError(
                "no repository: pass --repository OWNER/NAME or set GITHUB_REPOSITORIES",
                returncode=BAD_INPUT,
            )
        for name in repositories:
            if not OWNER_REPO.fullmatch(name):
                raise CommandError(
                    f"--repository must look like OWNER/NAME, got {name!r}", returncode=BAD_INPUT
                )
        sink, store = LocalSink(), PollStates()
        if watch and (isolation := publish.isolation()):
            self.stderr.write(f"warning: {isolation}")
        try:
            while True:
                reports = poll_all(sink=sink, store=store, repositories=repositories)
                publish.flush()
                for report in reports:
                    self.stdout.write(str(report))
                if not watch:
                    failed = [r.repository for r in reports if r.status == "error"]
                    if failed:
                        raise CommandError(f"polling failed for {', '.join(failed)}", returncode=1)
                    return
                due = next_due(
                    repositories,
                    store=store,
                    now=timezone.now(),
                    interval=settings.GITHUB_POLL_SECONDS,
                )
                time.sleep(max((due - timezone.now()).total_seconds(), 0))
        except KeyboardInterrupt:
            return
