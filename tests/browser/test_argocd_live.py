"""A change to an Application in the API server shows in the browser without reload.

Black box, end to end: the Kubernetes API emulator (tests/kube_stub.py) holds the Applications;
`manage.py watch-argocd` (its own process) lists and watches them and records each change; a
daphne process serves the pages; headless Chromium shows them. The watcher and daphne are two
processes, so the live updates travel through Redis (a database of its own, flushed first) —
the conftest's session server uses the in-memory layer and cannot be reused here.

Then alice force-syncs from the page: the patch reaches the API server with her name, and the
operation the controller runs afterwards (played here with kube.patch) shows live.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import live_server
import pytest
from helpers import reachable, require
from kube_stub import APPS, Kube, load
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

REDIS_URL = "redis://127.0.0.1:6379/12"  # no other test uses database 12; flushed first
TIMEOUT_MS = 10_000
ALICE = ("alice", "alice-password-1")  # the conftest's operator


@pytest.fixture(scope="module")
def kube():
    k = Kube()
    k.seed(load("01"))  # argocd/controller: Synced, Healthy, last operation Succeeded
    k.seed(load("05"))  # argocd/docs-site: OutOfSync, Healthy, last synced by hand, no operation
    yield k
    k.close()


@pytest.fixture(scope="module")
def argo_server(kube, tmp_path_factory):
    """The conftest's live server, with Redis as the channel layer and the emulator as the
    cluster, plus `manage.py watch-argocd` against both."""
    require(
        "Redis",
        reachable("127.0.0.1", 6379),
        "the watcher and daphne are two processes: live updates need Redis on 127.0.0.1:6379",
    )
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    tmp = tmp_path_factory.mktemp("cdportal-argocd-live")
    env = live_server.server_env(tmp)
    env.update(
        REDIS_URL=REDIS_URL,
        KUBECONFIG=kube.kubeconfig(tmp),
        KUBE_CONTEXT="",
        ARGOCD_NAMESPACES="argocd",
    )
    live_server.manage(env, ["migrate", "--noinput", "-v", "0"])

    procs = []
    try:
        daphne, url, port, daphne_log = live_server.start_daphne(env, tmp)
        procs.append(daphne)
        live_server.manage(
            env, ["create_user", ALICE[0], "--password", ALICE[1], "--role", "operator"]
        )
        with open(tmp / "watch-argocd.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "watch-argocd"],
                    cwd=live_server.REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        live_server.wait_healthy(daphne, url, daphne_log)
        server = live_server.LiveServer(url=url, token="", port=port, env=env)
        _wait_listed(server, ["controller", "docs-site"], procs[1], tmp / "watch-argocd.log")
        yield server
    finally:
        for proc in reversed(procs):
            live_server.stop(proc)


def _wait_listed(server, names: list[str], watcher: subprocess.Popen, log_path: Path) -> None:
    """Until the watcher's first list is recorded: each application's page answers."""
    with httpx.Client(base_url=server.url, timeout=5) as client:
        client.get("/login/").raise_for_status()
        client.post(
            "/login/",
            data={
                "username": ALICE[0],
                "password": ALICE[1],
                "next": "/",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        deadline = time.monotonic() + 30
        pending = list(names)
        while pending and time.monotonic() < deadline:
            if watcher.poll() is not None:
                pytest.fail(
                    f"watch-argocd exited with {watcher.returncode}:\n{log_path.read_text()}"
                )
            if client.get(f"/applications/argocd/{pending[0]}/").status_code == 200:
                pending.pop(0)
            else:
                time.sleep(0.2)
    if pending:
        pytest.fail(f"watch-argocd did not record {pending} within 30 s:\n{log_path.read_text()}")


def log_in(page: Page, server) -> None:
    page.goto(f"{server.url}/login/")
    page.locator("#id_username").fill(ALICE[0])
    page.locator("#id_password").fill(ALICE[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/")


def open_application(page: Page, server, name: str):
    """The application's page, once its socket is live; its status card."""
    page.goto(f"{server.url}/applications/argocd/{name}/")
    return go_live(page)


def go_live(page: Page):
    """Wait for the server's "live" (the socket has joined its groups), then mark the page: the
    marker is gone if it reloads or navigates. The application's status card."""
    expect(page.locator("#live-status")).to_have_text("live", timeout=TIMEOUT_MS)
    page.evaluate("window.__marker = 1")
    return page.locator("section[id^='app-'][id$='-status']")


def live_object(kube, name: str) -> dict:
    return kube.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], name)


def change(kube, name: str, body: dict) -> None:
    """The Application changes in the cluster (the controller's write), at the next cluster-wide
    resourceVersion as etcd hands them out. The fixtures' resourceVersions are per object and the
    watch resumes from the list's highest one, so "this object's + 1" could be one the watch
    would skip as already seen."""
    items = kube.api.list_namespaced_custom_object(*APPS[:2], "argocd", APPS[2])["items"]
    newest = max(int(item["metadata"]["resourceVersion"]) for item in items)
    kube.patch("argocd", name, newest + 1, body)


def operation_badge(status):
    return status.locator("h1 .badge", has_text="operation")


def test_changes_to_the_application_in_the_cluster_show_without_reload(
    page: Page, argo_server, kube
):
    log_in(page, argo_server)
    status = open_application(page, argo_server, "controller")
    header = status.locator("h1")
    expect(header).to_contain_text("Synced")
    expect(header).to_contain_text("Healthy")
    expect(operation_badge(status)).to_have_text("operation Succeeded")

    message = "Deployment controller exceeded its progress deadline"
    change(kube, "controller", {"status": {"health": {"status": "Degraded", "message": message}}})
    expect(header).to_contain_text("Degraded", timeout=TIMEOUT_MS)
    expect(status).to_contain_text(message)

    change(kube, "controller", {"status": {"sync": {"status": "OutOfSync"}}})
    expect(header.locator(".badge").first).to_have_text("OutOfSync", timeout=TIMEOUT_MS)

    doing = "waiting for healthy state of apps/Deployment/controller"
    change(
        kube,
        "controller",
        {
            "status": {
                "operationState": {
                    "phase": "Running",
                    "message": doing,
                    "startedAt": "2026-11-28T10:30:00Z",
                    "finishedAt": None,
                }
            }
        },
    )
    expect(operation_badge(status)).to_have_text("operation Running", timeout=TIMEOUT_MS)
    expect(status).to_contain_text(doing)
    expect(header).to_contain_text("Degraded")  # earlier changes stay

    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    expect(page.locator("#live-status")).to_have_text("live")


def test_alice_force_syncs_from_the_page_and_follows_the_operation_live(
    page: Page, argo_server, kube
):
    log_in(page, argo_server)
    status = open_application(page, argo_server, "docs-site")
    expect(status.locator("h1")).to_contain_text("OutOfSync")
    patched = len(kube.k.patches)

    page.get_by_role("button", name="Force sync…").click()
    review = page.locator("#argo-action")
    expect(review).to_contain_text(
        "This will patch argocd/docs-site: .operation.sync with prune=false"
    )
    expect(review).to_contain_text("initiated by alice")
    page.get_by_role("button", name="Force sync docs-site").click()
    outcome = page.locator("#argo-action-outcome")
    expect(outcome).to_contain_text(
        "sync requested on argocd/docs-site (prune=false)", timeout=TIMEOUT_MS
    )
    expect(outcome.locator(".badge")).to_have_text("Running")  # until Argo CD's operation ends

    # One merge patch reached the API server, in alice's name, and it was accepted.
    (body,) = kube.k.patches[patched:]
    assert body["operation"]["initiatedBy"] == {"username": "alice"}
    assert body["operation"]["sync"]["prune"] is False and "force" not in str(body)
    assert kube.k.content_types[-1] == "application/merge-patch+json"
    operation = live_object(kube, "docs-site")["operation"]
    assert operation["initiatedBy"] == {"username": "alice"}

    page.get_by_role("link", name=re.compile(r"^Follow docs-site")).click()
    expect(page).to_have_url(f"{argo_server.url}/applications/argocd/docs-site/")
    status = go_live(page)
    recent = page.locator(".recent-actions")
    expect(recent.locator(".badge").first).to_have_text("Running")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    # The controller takes the operation up...
    change(
        kube,
        "docs-site",
        {
            "operation": None,
            "status": {
                "operationState": {
                    "phase": "Running",
                    "message": "one or more tasks are running",
                    "operation": operation,
                    "startedAt": started,
                    "finishedAt": None,
                }
            },
        },
    )
    expect(operation_badge(status)).to_have_text("operation Running", timeout=TIMEOUT_MS)
    expect(status).to_contain_text("one or more tasks are running")

    # ...and finishes it.
    change(
        kube,
        "docs-site",
        {
            "status": {
                "operationState": {
                    "phase": "Succeeded",
                    "message": "successfully synced (all tasks run)",
                    "finishedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                "sync": {"status": "Synced"},
            }
        },
    )
    expect(operation_badge(status)).to_have_text("operation Succeeded", timeout=TIMEOUT_MS)
    expect(status.locator("h1 .badge").first).to_have_text("Synced")
    expect(status).to_contain_text("successfully synced (all tasks run)")
    # alice's force sync ends with the operation, in Argo CD's words, live on the page.
    expect(recent.locator(".badge").first).to_have_text("Succeeded", timeout=TIMEOUT_MS)
    expect(recent.locator("li").first).to_contain_text("successfully synced (all tasks run)")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"


def test_an_idle_page_keeps_its_socket_and_still_shows_a_change(page: Page, argo_server, kube):
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    log_in(page, argo_server)
    sockets.clear()
    status = open_application(page, argo_server, "controller")

    page.wait_for_timeout(7_000)  # nobody changes anything for a while
    # (the overview's socket, from the page before, may be reported after the clear above)
    mine = [url for url in sockets if "/ws/live/applications/" in url]
    assert len(mine) == 1, f"the page had to reconnect: {sockets}\n{server_logs(argo_server)}"
    change(
        kube, "controller", {"status": {"health": {"status": "Missing", "message": "idle check"}}}
    )
    try:
        expect(status.locator("h1")).to_contain_text("Missing", timeout=TIMEOUT_MS)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{server_logs(argo_server)}") from None
    assert page.evaluate("window.__marker") == 1, "the page reloaded"


def server_logs(server, lines: int = 40) -> str:
    """The end of daphne's and the watcher's logs, for a failure message."""
    tmp = Path(server.env["DATABASE_URL"].removeprefix("sqlite:///")).parent
    parts = []
    for name in ("daphne.log", "watch-argocd.log"):
        path = tmp / name
        text = (
            path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["(none)"]
        )
        parts.append(f"--- {name}\n" + "\n".join(text))
    return "\n".join(parts)


def test_the_updater_page_is_live_and_follows_the_log_on_one_socket(page: Page, argo_server, kube):
    pod = "argocd-image-updater-controller-7f9c6d8b5d-x1"
    kube.seed_pod(
        "argocd",
        pod,
        {"app.kubernetes.io/name": "argocd-image-updater"},
        [
            'time="2026-11-29T01:00:00Z" level=info msg="Starting image update cycle, considering 3 application(s)"'
        ],
    )
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    log_in(page, argo_server)
    page.goto(f"{argo_server.url}/updater/")

    # the log's socket opening after the page's own must not leave the indicator "connecting…"
    expect(page.locator("#live-status")).to_have_text("live", timeout=TIMEOUT_MS)
    lines = page.locator("#updater-log li")
    expect(lines).to_have_count(1, timeout=TIMEOUT_MS)
    kube.push_log(
        "argocd", pod, 'time="2026-11-29T01:00:05Z" level=error msg="registry answered 401"'
    )
    expect(lines).to_have_count(2, timeout=TIMEOUT_MS)
    expect(lines.nth(1)).to_contain_text("registry answered 401")
    page.wait_for_timeout(300)
    assert len([url for url in sockets if "/ws/updater/logs/" in url]) == 1, sockets
    expect(page.locator("#live-status")).to_have_text("live")
