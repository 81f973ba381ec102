"""`python manage.py demo`: the dashboard and a simulated pipeline feeding it, in one command.

Runs daphne as a child process and the simulator in this one. The simulator posts its events to
the server's API (the same path any outside source takes), so the server ingests them and
broadcasts to the browsers — which works with the embedded in-memory channel layer too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import semver
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.sinks import HttpSink
from cdportal.api.models import ApiToken
from cdportal.demo import runner
from cdportal.demo.simulator import REPOSITORY
from cdportal.pipeline.models import Release
from cdportal.pipeline.roles import OPERATOR, RELEASER, SOURCE

DEMO_USER, DEMO_PASSWORD = "demo", "demo"
SIMULATOR_USER = "demo-simulator"


class Command(BaseCommand):
    help = "Serve the dashboard with a live simulated pipeline (what `make demo` runs)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--speed", type=float, default=1.0, help="Simulation speed factor (2 = twice as fast)")
        parser.add_argument("--seed", type=int, default=None, help="Random seed for a repeatable run")

    def handle(self, *args, host, port, speed, seed, **options):
        if speed <= 0:
            raise CommandError("--speed must be greater than 0")
        call_command("migrate", interactive=False, verbosity=0)
        token = self._accounts()
        url = f"http://{host}:{port}"
        server = self._serve(host, port)
        try:
            self._wait_until_up(url, server)
            self._banner(url)
            sink = HttpSink(url, token)
            runner.simulate(sink, start_version=_latest_version(), speed=speed, seed=seed)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping.")
        except AdapterError as e:
            raise CommandError(f"the simulator stopped: {e}") from None
        finally:
            _stop(server)

    def _accounts(self) -> str:
        User = get_user_model()
        demo, created = User.objects.get_or_create(username=DEMO_USER, defaults={"is_staff": True})
        if created:
            demo.set_password(DEMO_PASSWORD)
            demo.save()
        demo.groups.add(*Group.objects.filter(name__in=[OPERATOR, RELEASER]))
        simulator, _ = User.objects.get_or_create(username=SIMULATOR_USER)
        simulator.set_unusable_password()
        simulator.save()
        simulator.groups.add(Group.objects.get(name=SOURCE))
        _, token = ApiToken.issue(user=simulator, name="demo")
        return token

    def _serve(self, host: str, port: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "cdportal.asgi:application"]
        return subprocess.Popen(command, cwd=settings.BASE_DIR)

    def _wait_until_up(self, url: str, server: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"daphne exited with code {server.returncode} (is port {url} in use?)")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise CommandError(f"daphne did not answer on {url} within {timeout:.0f}s")

    def _banner(self, url: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"\n  cdportal demo is live on {url}/"))
        self.stdout.write(f"  Log in as {DEMO_USER} / {DEMO_PASSWORD} (operator + releaser). Ctrl-C stops.\n")


def _latest_version() -> str | None:
    """Continue after what an earlier demo run released, so versions never go backwards."""
    versions = Release.objects.filter(
        component__repository__full_name=REPOSITORY, released_at__isnull=False
    ).values_list("version", flat=True)
    parsed = [semver.Version.parse(v) for v in versions if semver.Version.is_valid(v)]
    return str(max(parsed)) if parsed else None


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
