"""`manage.py demo` end to end: daphne, the simulator and the simulated Argo CD cluster, as a
person sees them — log in as demo/demo, open an application, force a sync over the API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from helpers import wait_for
from kube_stub import free_port

from cdportal.demo.manifests import GITOPS_REVISION

ROOT = Path(__file__).resolve().parents[2]
APP = "/applications/argocd/cto-controller/"


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    for name in ("REDIS_URL", "KUBECONFIG", "KUBE_CONTEXT"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port), "--speed", "4", "--seed", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return process.poll() is not None  # ended: fail below with its output

    try:
        wait_for(up, timeout=30, interval=0.2)
        assert process.poll() is None, process.stdout.read()
        yield base
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does: daphne and the cluster stop too
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logged_in(base: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=10)
    page = browser.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    answer = browser.post(
        "/login/", data={"username": "demo", "password": "demo", "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302, answer.text[:500]
    return browser


def test_the_demo_shows_the_cluster_and_runs_a_force_sync_in_it(demo):
    browser = logged_in(demo)
    # The application page shows what cdportal's watcher read from the simulated cluster: the
    # gitops revision the simulated controller synced (the simulator's own events carry others).
    wait_for(lambda: GITOPS_REVISION in browser.get(APP).text, timeout=10, interval=0.1)

    def phase():
        return browser.get(f"/api{APP.removesuffix('/')}").json()["operation_phase"]

    csrf = {"X-CSRFToken": browser.cookies["csrftoken"], "Referer": demo + APP}
    answer = browser.post(f"/api{APP}sync", json={"prune": False}, headers=csrf)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "running", answer.text  # the patch landed, sync not ended
    action = f"/api/actions/{answer.json()['id']}"
    # The simulated controller runs it (1 s at --speed 4) and the watcher reports each phase.
    wait_for(lambda: phase() == "Running", timeout=5, interval=0.05)
    wait_for(lambda: phase() == "Succeeded", timeout=10, interval=0.1)
    # ...and the Action ends with the operation, in Argo CD's words.
    wait_for(lambda: browser.get(action).json()["status"] == "succeeded", timeout=10, interval=0.1)
    assert browser.get(action).json()["message"] == "successfully synced (all tasks run)"
