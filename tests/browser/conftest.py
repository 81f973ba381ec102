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
import uuid
from dataclasses import dataclass

import helpers  # tests/helpers.py (tests/ is on sys.path, as for tests/conftest.py)
import httpx
import pytest
from helpers import require
from live_server import LiveServer, manage, server_env, start_daphne, stop, wait_healthy

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
ALICE = ("alice", "alice-password-1")


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory) -> LiveServer:
    """A daphne process serving cdportal on a free port, with alice (operator) and a token for
    feeder (source). Named after what it is for; yields a LiveServer (url, token, …)."""
    tmp = tmp_path_factory.mktemp("cdportal-live")
    env = server_env(tmp)
    manage(env, ["migrate", "--noinput", "-v", "0"])

    proc, url, port, log_path = start_daphne(env, tmp)
    try:
        # The users are made while daphne starts (each command is a second of Django start-up).
        manage(
            env,
            ["create_user", ALICE[0], "--password", ALICE[1], "--role", "operator"],
            ["create_user", "feeder", "--role", "source"],
        )
        [printed] = manage(env, ["create_api_token", "feeder"])
        token = printed.strip().splitlines()[-1].strip() if printed.strip() else ""
        assert token.startswith("cdp_"), f"create_api_token printed no token: {printed!r}"
        wait_healthy(proc, url, log_path)
        yield LiveServer(url=url, token=token, port=port, env=env)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require(
        "chromium",
        os.path.exists(CHROMIUM) and shutil.which(CHROMIUM) is not None,
        f"{CHROMIUM} runs the browser tests (apt-get install chromium; never `playwright install`)",
    )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


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
        names = dict(
            source=f"bt-{tag}",
            repository=f"5dlabs/svc-{tag}",
            image=f"ghcr.io/5dlabs/svc-{tag}",
            application=f"svc-{tag}",
        )
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

        events = [
            {**rewrite(e), "source": names["source"]}
            for e in helpers.journey(version, app=names["application"])
        ]
        return Journey(version=version, events=events, **names)

    return make


@pytest.fixture
def ingest(live_server_url):
    """POST one event to the server's /api/events as feeder, with only the bearer token, as a
    real source does; returns the API's answer (id, created, summary)."""
    client = httpx.Client(
        base_url=live_server_url.url,
        timeout=10,
        headers={"Authorization": f"Bearer {live_server_url.token}"},
    )

    def post(event: dict) -> dict:
        response = client.post("/api/events", json=event)
        assert response.status_code == 201, (
            f"POST /api/events: {response.status_code} {response.text}"
        )
        return response.json()

    yield post
    client.close()
