"""`manage.py demo` end to end: daphne, the simulator, the simulated Argo CD cluster and the
simulated GitHub, as a person sees them — log in as demo/demo, open an application, force a sync
over the API; tag a release, dispatch builds and re-run Release Please."""

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

from cdportal.demo.github import FIRST_DISPATCHED_RUN
from cdportal.demo.manifests import GITOPS_REVISION
from cdportal.demo.simulator import REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
APP = "/applications/argocd/cto-controller/"


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    for name in ("REDIS_URL", "KUBECONFIG", "KUBE_CONTEXT"):
        env.pop(name, None)
    # To a file, not a pipe: nobody reads a pipe while the demo runs, and a full one would stop
    # daphne at its next access-log line.
    output = tmp_path / "demo.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "demo",
                "--port",
                str(port),
                "--speed",
                "4",
                "--seed",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return process.poll() is not None  # ended: fail below with its output

    try:
        # migrate on a fresh database comes first: 20 s and more on a busy 2-core machine
        wait_for(up, timeout=90, interval=0.2)
        assert process.poll() is None, output.read_text()
        yield base
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does: daphne and the cluster stop too
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the demo did not stop on SIGINT:\n{output.read_text()[-3000:]}")
    # It stopped by itself and took its temporary directory (the git repository) with it.
    assert process.returncode == 0, output.read_text()[-3000:]
    repository = re.search(r"git repository (\S+)\)", output.read_text())
    assert repository and not Path(repository[1]).exists()


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
    # (after the history, which arrives as GitHub's webhooks: some seconds on a busy machine)
    wait_for(lambda: GITOPS_REVISION in browser.get(APP).text, timeout=60, interval=0.2)

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


def test_the_demo_s_github_buttons_work_against_its_simulated_github(demo):
    browser = logged_in(demo)
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"], "Referer": demo + "/"}

    def released():
        answer = browser.get("/api/releases", params={"repository": REPOSITORY, "limit": 100})
        return [r for r in answer.json()["items"] if r["tag"] and r["released_at"]]

    # The history arrived as GitHub's webhooks and the repository's own tags.
    release = wait_for(released, timeout=60, interval=0.2)[0]

    def ended(action: dict) -> dict:
        url = f"/api/actions/{action['id']}"
        wait_for(lambda: browser.get(url).json()["status"] != "running", timeout=15, interval=0.1)
        return browser.get(url).json()

    # A manual release: the annotated tag, then the build it dispatches.
    answer = browser.post(
        f"/api/repositories/{REPOSITORY}/tags",
        json={"version": "9.0.0", "dispatch_build": True},
        headers=csrf,
    )
    assert answer.status_code == 202, answer.text
    tagged, dispatched = (ended(action) for action in answer.json())
    assert tagged["status"] == "succeeded", tagged
    assert dispatched["status"] == "succeeded", dispatched

    # The build for a release that already has its tag.
    answer = browser.post(f"/api/releases/{release['id']}/dispatch-build", json={}, headers=csrf)
    assert answer.status_code == 202, answer.text
    assert ended(answer.json())["status"] == "succeeded"

    def dispatched_build_completed():
        events = browser.get(
            "/api/events",
            params={"kind": "build", "source": "github", "release": release["id"], "limit": 100},
        ).json()["items"]
        return [
            e
            for e in events
            if e["payload"]["run_id"] >= FIRST_DISPATCHED_RUN
            and e["payload"]["status"] == "completed"
        ]

    run = wait_for(dispatched_build_completed, timeout=15, interval=0.2)[0]
    assert run["payload"]["conclusion"] == "success"

    # Release Please, run again: the run is accepted, and the Release PR follows from it.
    answer = browser.post(
        f"/api/repositories/{REPOSITORY}/release-please/dispatch", json={}, headers=csrf
    )
    assert answer.status_code == 202, answer.text
    assert ended(answer.json()[0])["status"] == "succeeded"

    # The next release is predicted from the demo repository's history (webhooks are
    # processed behind their acknowledgement: the prediction follows within moments).
    def predicted() -> str | None:
        page = browser.get(f"/repositories/{REPOSITORY}/tag/").text
        return None if "No prediction yet" in page else page

    page = wait_for(predicted, timeout=30, interval=0.5)
    component = re.search(r'href="/components/(\d+)/">next release</a>', page)
    assert component, "the manual release page links the component's next release"
    plan = browser.get(f"/components/{component[1]}/").text
    assert "No prediction yet" not in plan
    assert "Predicted at" in plan
