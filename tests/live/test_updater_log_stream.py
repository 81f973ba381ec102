"""The image updater's log over a websocket: follow, filter, highlight, and stop."""

from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from helpers import wait_for_async
from kube_stub import Kube

from cdportal.asgi import application
from cdportal.live import logs
from cdportal.live.consumers import SESSION_EXPIRED

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "argocd"
V1 = (FIXTURES / "image-updater-logs.txt").read_text().splitlines()
LABELS = {"app.kubernetes.io/name": "argocd-image-updater"}
POD = "argocd-image-updater-controller-7d9f8b6c5d-x2x4k"


@pytest.fixture
def kube(settings, monkeypatch):
    settings.ARGOCD_NAMESPACES = ["argocd"]
    k = Kube()
    k.seed_pod("argocd", POD, LABELS, V1)
    monkeypatch.setattr(logs, "client_factory", lambda: k.api_client)
    yield k
    k.close()


@pytest.fixture
def session_cookie(bob):
    client = Client()
    client.force_login(bob)  # a viewer: reading the log needs no operator role
    return f"sessionid={client.cookies['sessionid'].value}"


def socket(query="", cookie=""):
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, f"/ws/updater/logs/{query}", headers=headers)


async def collect(ws, until=None, quiet=1.0):
    """Frames until `until` shows up, or until nothing arrives for `quiet` seconds."""
    html = ""
    while True:
        if await ws.receive_nothing(timeout=quiet):
            return html
        html += await ws.receive_from()
        if until and until in html:
            return html


async def test_the_tail_arrives_then_new_lines_as_they_are_logged(kube, session_cookie):
    ws = socket(cookie=session_cookie)
    connected, _ = await ws.connect()
    assert connected
    html = await collect(
        ws, until="Starting image update cycle, considering 4 application(s) for update</span>"
    )
    html += await collect(ws)
    assert html.startswith('<ol id="updater-log" hx-swap-oob="beforeend"><li ')
    assert html.count("<li ") == len(V1)
    assert "Finish Reconciliation for CR argocd/cto-controller" in html
    request = kube.k.log_requests[-1]
    assert (request["name"], request["follow"], request["tailLines"]) == (POD, "true", "200")

    kube.push_log(
        "argocd",
        POD,
        'time="2026-08-22T16:07:59Z" level=info msg="Starting image update cycle, live"',
    )
    html = await collect(ws, until="live</span>")
    assert "Starting image update cycle, live" in html and html.count("<li ") == 1
    await ws.disconnect()


async def test_filtering_by_application(kube, session_cookie):
    ws = socket("?application=argocd/controller-eu&image=&errors=", session_cookie)
    await ws.connect()
    html = await collect(ws)
    expected = [line for line in V1 if "application=argocd/controller-eu " in line]
    assert html.count("<li ") == len(expected) == 6
    assert "controller-staging" not in html
    kube.push_log(
        "argocd",
        POD,
        'time="t" level=info msg="other app" application=argocd/controller-dev',
        'time="t" level=info msg="this app" application=argocd/controller-eu',
    )
    html = await collect(ws, until="this app")
    assert "other app" not in html
    await ws.disconnect()


async def test_error_lines_are_highlighted_and_everything_is_escaped(kube, session_cookie):
    ws = socket("?errors=1", session_cookie)
    await ws.connect()
    html = await collect(ws)
    assert html.count("<li ") == 4 == html.count('class="log-line log-error"')
    assert "unauthorized" in html
    kube.push_log(
        "argocd",
        POD,
        'time="t" level=error msg="<script>alert(1)</script> 403 from https://u:tok@ghcr.io/v2/" '
        "application=argocd/controller",
    )
    html = await collect(ws, until="alert")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "tok@" not in html and "https://***@ghcr.io" in html
    assert 'class="log-line log-error"' in html
    await ws.disconnect()


async def test_no_updater_pod_says_so(kube, session_cookie, settings):
    settings.ARGOCD_NAMESPACES = ["elsewhere"]
    ws = socket(cookie=session_cookie)
    await ws.connect()
    html = await collect(ws, until="</ol>")
    assert (
        "No running argocd-image-updater pod in elsewhere." in html and 'class="log-note"' in html
    )
    await ws.disconnect()


async def test_an_anonymous_socket_is_closed_with_4401_and_reads_no_log(kube):
    ws = socket()
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": SESSION_EXPIRED,
    }
    await ws.disconnect()
    assert kube.k.log_requests == []


async def test_closing_the_socket_stops_the_follow_thread(kube, session_cookie):
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await collect(ws)
    await wait_for_async(lambda: kube.k.log_followers == 1)
    threads = set(logs.following)
    assert threads and all(t.is_alive() for t in threads)
    await ws.disconnect()
    await wait_for_async(lambda: not any(t.is_alive() for t in threads))
    await wait_for_async(lambda: kube.k.log_followers == 0)
