"""Browser tests against a real daphne process: its own SQLite file, its own users, its own token.

The server runs in a subprocess with the in-memory channel layer. That is enough because every
update the tests expect is triggered inside the server: events arrive through POST /api/events,
the ingestion commits and broadcasts in the same process that holds the browser's websocket.
The tests never touch the ORM (Playwright's sync API runs an event loop in the test thread, and
the server's database is not the test database anyway).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import helpers  # tests/helpers.py (tests/ is on sys.path, as for tests/conftest.py)
from helpers import require

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_TIMEOUT = 20.0

ALICE = ("alice", "alice-password-1")


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    token: str  # bearer token of "feeder" (role: source)
    port: int
    env: dict  # the environment the server runs with: manage.py commands against the same DB

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        """Run one manage.py command against the server's database; its stdout."""
        return _manage(self.env, list(args))[0]


@pytest.hookimpl(trylast=True)  # after pytest-django's reordering
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(tmp: Path) -> dict:
    env = dict(os.environ)
    # In-memory channel layer; nothing from the developer's shell may point the server elsewhere.
    for name in ("REDIS_URL", "REDIS_URL_FILE", "DATABASE_URL_FILE", "SECRET_KEY_FILE", "SECURE_COOKIES"):
        env.pop(name, None)
    env.update(
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LIVE_COALESCE_MS="50",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict, *commands: list[str]) -> list[str]:
    """Run manage.py commands side by side against the server's database; their stdout."""
    procs = [
        (args, subprocess.Popen([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for args in commands
    ]
    outputs = []
    for args, proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
        outputs.append(stdout)
    return outputs


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory) -> LiveServer:
    """A daphne process serving cdportal on a free port, with alice (operator) and a token for
    feeder (source). Named after what it is for; yields a LiveServer (url, token, …)."""
    tmp = tmp_path_factory.mktemp("cdportal-live")
    env = _server_env(tmp)
    _manage(env, ["migrate", "--noinput", "-v", "0"])

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "daphne.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "cdportal.asgi:application"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        # The users are made while daphne starts (each command is a second of Django start-up).
        _manage(env, ["create_user", ALICE[0], "--password", ALICE[1], "--role", "operator"],
                ["create_user", "feeder", "--role", "source"])
        [printed] = _manage(env, ["create_api_token", "feeder"])
        token = printed.strip().splitlines()[-1].strip() if printed.strip() else ""
        assert token.startswith("cdp_"), f"create_api_token printed no token: {printed!r}"
        _wait_healthy(proc, url, log_path)
        yield LiveServer(url=url, token=token, port=port, env=env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"daphne exited with {proc.returncode} before answering:\n{log_path.read_text()}")
        try:
            response = httpx.get(f"{url}/healthz", timeout=1.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"daphne did not answer /healthz within {STARTUP_TIMEOUT:.0f} s ({last}):\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require("chromium", os.path.exists(CHROMIUM) and shutil.which(CHROMIUM) is not None,
            f"{CHROMIUM} runs the browser tests (apt-get install chromium; never `playwright install`)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@dataclass(frozen=True)
class Journey:
    """One release of its own service through all seven stages, as raw events."""

    source: str
    repository: str  # owner/name
    image: str
    application: str
    version: str
    events: list[dict]

    @property
    def release_title(self) -> str:  # what the pages call the release once it is tagged
        return f"{self.repository.split('/')[-1]} v{self.version}"


@pytest.fixture
def unique_journey():
    """journey() from tests/helpers.py, made independent of every other test in the session:
    its own source, repository, image and application, and a fresh version."""

    def make() -> Journey:
        tag = uuid.uuid4().hex[:10]
        version = f"{secrets.randbelow(90) + 1}.{secrets.randbelow(1000)}.{secrets.randbelow(1000)}"
        names = dict(source=f"bt-{tag}", repository=f"5dlabs/svc-{tag}",
                     image=f"ghcr.io/5dlabs/svc-{tag}", application=f"svc-{tag}")
        replacements = {helpers.REPO: names["repository"], helpers.IMAGE: names["image"]}

        def rewrite(value):
            if isinstance(value, str):
                for old, new in replacements.items():
                    value = value.replace(old, new)
                return value
            if isinstance(value, dict):
                return {rewrite(k): rewrite(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rewrite(v) for v in value]
            return value

        events = [{**rewrite(e), "source": names["source"]}
                  for e in helpers.journey(version, app=names["application"])]
        return Journey(version=version, events=events, **names)

    return make


@pytest.fixture
def ingest(live_server_url):
    """POST one event to the server's /api/events as feeder, with only the bearer token, as a
    real source does; returns the API's answer (id, created, summary)."""
    client = httpx.Client(base_url=live_server_url.url, timeout=10,
                          headers={"Authorization": f"Bearer {live_server_url.token}"})

    def post(event: dict) -> dict:
        response = client.post("/api/events", json=event)
        assert response.status_code == 201, f"POST /api/events: {response.status_code} {response.text}"
        return response.json()

    yield post
    client.close()
