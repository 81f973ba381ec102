"""`python manage.py demo`: the dashboard and a simulated pipeline feeding it, in one command.

Runs daphne as a child process and the simulator in this one. The simulator posts its events to
the server's API (the same path any outside source takes), so the server ingests them and
broadcasts to the browsers — which works with the embedded in-memory channel layer too.

The GitHub side runs as a simulated GitHub in this process (cdportal.demo.github), backed by a
real git repository in a temporary directory: daphne gets its API URL, a token it accepts and
the webhook secret, so the releasers' buttons (manual tag, build dispatch, re-run Release Please)
act on it through PyGithub, and what happens there reaches the server as signed webhooks.

`--break CODE` (or the control on /demo/) breaks one stage from the next release on, through
these simulated parts, so the release page's "why isn't it live" panel names it
(cdportal.demo.breaks); daphne gets the file the break is kept in (DEMO_BREAK_FILE).

The Argo CD side runs as a simulated cluster in this process (cdportal.demo.cluster): daphne
gets its kubeconfig, so the application and Image Updater pages act on it, and cdportal's own
watchers report what happens in it. Without kmock (`pip install cdportal[demo]`) the simulator
reports the Argo CD side itself and those buttons have no cluster to act on.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import semver
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.api.models import ApiToken
from cdportal.demo import breaks, runner, workflows
from cdportal.demo.github import GitHub
from cdportal.demo.gitrepo import DemoRepository
from cdportal.demo.hooks import Hooks
from cdportal.demo.simulator import REPOSITORY, Simulator
from cdportal.pipeline.models import Release
from cdportal.pipeline.roles import OPERATOR, RELEASER, SOURCE
from cdportal.pipeline.sinks import HttpSink

DEMO_USER, DEMO_PASSWORD = "demo", "demo"
SIMULATOR_USER = "demo-simulator"


class Command(BaseCommand):
    help = "Serve the dashboard with a live simulated pipeline (what `make demo` runs)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--speed", type=float, default=1.0, help="Simulation speed factor (2 = twice as fast)"
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed for a repeatable run"
        )
        parser.add_argument(
            "--break",
            dest="broken",
            default="",
            choices=sorted(breaks.BREAKS),
            metavar="CODE",
            help="Break this stage from the next release on, until healed on the demo page "
            f"(/demo/); one of: {', '.join(breaks.BREAKS)}",
        )

    def handle(self, *args, host, port, speed, seed, broken="", **options):
        if speed <= 0:
            raise CommandError("--speed must be greater than 0")
        call_command("migrate", interactive=False, verbosity=0)
        token = self._accounts()
        url = f"http://{host}:{port}"
        with tempfile.TemporaryDirectory(prefix="cdportal-demo-") as directory:
            github = self._github(url, directory, speed)
            cluster = self._cluster(speed, seed)
            switch = breaks.Switch(Path(directory) / breaks.FILE_NAME)
            switch.set(broken)
            env = self._server_env(cluster, github, directory)
            env["DEMO_BREAK_FILE"] = str(switch.path)
            server = self._serve(host, port, env)
            try:
                self._wait_until_up(url, server)
                self._banner(url, cluster, github)
                sink = HttpSink(url, token)
                runner.simulate(
                    sink,
                    start_version=_latest_version(),
                    speed=speed,
                    seed=seed,
                    cluster=cluster,
                    github=github,
                    switch=switch,
                )
            except KeyboardInterrupt:
                self.stdout.write("\nStopping.")
            except AdapterError as e:
                raise CommandError(f"the simulator stopped: {e}") from None
            finally:
                github.close()
                github.hooks.close()
                _stop(server)
                if cluster is not None:
                    cluster.close()

    def _github(self, url: str, directory: str, speed: float) -> GitHub:
        """The simulated GitHub, serving; its repository is made when the simulation starts."""
        hooks = Hooks(url, secrets.token_hex(16))
        github = GitHub(
            DemoRepository(Path(directory) / "cto"),
            hooks,
            token=f"ghp_demo{secrets.token_hex(16)}",
            speed=speed,
        )
        github.start()
        return github

    def _cluster(self, speed: float, seed: int | None):
        """The simulated Argo CD cluster, or None when kmock (the demo extra) is not installed."""
        try:
            from cdportal.demo.cluster import Cluster
        except ImportError as e:
            self.stderr.write(
                f"No simulated Argo CD cluster ({e}; pip install -e '.[demo]'): "
                "the Argo CD buttons will have nothing to act on."
            )
            return None
        rng = random.Random(None if seed is None else seed + 1)
        cluster = Cluster(rng=rng, speed=speed, degraded_rate=Simulator.degraded_rate)
        # The updater is there from the first page view; the Applications follow the history.
        cluster.install_updater()
        cluster.start()
        return cluster

    def _server_env(self, cluster, github: GitHub, directory: str) -> dict[str, str]:
        """The web process's environment: the simulated GitHub's API, token and webhook secret;
        with a cluster, its kubeconfig and namespaces."""
        env = dict(os.environ)
        for name in ("GITHUB_TOKEN_FILE", "GITHUB_WEBHOOK_SECRET_FILE"):
            env.pop(name, None)
        env.update(
            GITHUB_API_URL=github.url,
            GITHUB_TOKEN=github.token,
            GITHUB_WEBHOOK_SECRET=github.hooks.secret,
            GITHUB_REPOSITORIES=REPOSITORY,
            GITHUB_RELEASE_WORKFLOW=workflows.RELEASE_PLEASE.file,
            GITHUB_BUILD_WORKFLOW=workflows.BUILD.file,
            GITHUB_PAUSE="false",
        )
        if cluster is not None:
            # The kubeconfig names its own context; the updater is found by its pods, as in a cluster.
            for name in ("KUBE_CONTEXT", "UPDATER_DEPLOYMENT"):
                env.pop(name, None)
            env.update(
                KUBECONFIG=cluster.kubeconfig(directory),
                ARGOCD_NAMESPACES="argocd",
                UPDATER_NAMESPACE="argocd",
            )
        return env

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

    def _serve(self, host: str, port: int, env: dict[str, str]) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            "cdportal.asgi:application",
        ]
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)

    def _wait_until_up(self, url: str, server: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(
                    f"daphne exited with code {server.returncode} (is port {url} in use?)"
                )
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise CommandError(f"daphne did not answer on {url} within {timeout:.0f}s")

    def _banner(self, url: str, cluster, github: GitHub) -> None:
        self.stdout.write(self.style.SUCCESS(f"\n  cdportal demo is live on {url}/"))
        self.stdout.write(
            f"  Log in as {DEMO_USER} / {DEMO_PASSWORD} (operator + releaser). Ctrl-C stops."
        )
        self.stdout.write(f"  Break a stage on purpose (and heal it) on {url}/demo/.")
        self.stdout.write(
            f"  Simulated GitHub: {github.url} ({REPOSITORY}, git repository {github.repo.path})."
        )
        if cluster is not None:
            self.stdout.write(
                f"  Simulated Argo CD cluster: {cluster.kube.url} (namespace argocd)."
            )
        self.stdout.write("")


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
