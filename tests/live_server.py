"""A real daphne process serving cdportal for the browser tests: its own SQLite file and
environment, started on a free port, with manage.py commands run against the same database.
Fixtures (tests/browser/conftest.py and test modules that need another set-up, e.g. Redis and a
cluster) compose these."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 20.0


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    token: str  # bearer token of "feeder" (role: source), "" when none was made
    port: int
    env: dict  # the environment the server runs with: manage.py commands against the same DB

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        """Run one manage.py command against the server's database; its stdout."""
        return manage(self.env, list(args))[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path) -> dict:
    env = dict(os.environ)
    # In-memory channel layer; nothing from the developer's shell may point the server elsewhere.
    for name in (
        "REDIS_URL",
        "REDIS_URL_FILE",
        "DATABASE_URL_FILE",
        "SECRET_KEY_FILE",
        "SECURE_COOKIES",
        "HTTPS",
        "HSTS_SECONDS",
        "TRUSTED_PROXIES",
        "LOGIN_FAILURE_LIMIT",
        "LOGIN_LOCKOUT_SECONDS",
        "MAX_REQUEST_BYTES",
        "MAX_WEBHOOK_BYTES",
    ):
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


def manage(env: dict, *commands: list[str]) -> list[str]:
    """Run manage.py commands side by side against the server's database; their stdout."""
    procs = [
        (
            args,
            subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
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
            pytest.fail(
                f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{stdout}\n{stderr}"
            )
        outputs.append(stdout)
    return outputs


def start_daphne(env: dict, tmp: Path) -> tuple[subprocess.Popen, str, int, Path]:
    """daphne on a free port, logging to tmp/daphne.log: (process, url, port, log path).
    Not yet answering: call wait_healthy (set up users meanwhile — each command costs a second)."""
    port = free_port()
    log_path = tmp / "daphne.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "cdportal.asgi:application",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}", port, log_path


def wait_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"daphne exited with {proc.returncode} before answering:\n{log_path.read_text()}"
            )
        try:
            response = httpx.get(f"{url}/healthz", timeout=1.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    proc.kill()
    pytest.fail(
        f"daphne did not answer /healthz within {STARTUP_TIMEOUT:.0f} s ({last}):\n{log_path.read_text()}"
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
