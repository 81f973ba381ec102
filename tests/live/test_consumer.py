"""The live websocket: who may connect, what arrives, and how bursts are merged."""

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from helpers import journey, wait_for_async

from cdportal.asgi import application
from cdportal.live.consumers import SESSION_EXPIRED
from cdportal.pipeline import queries
from cdportal.pipeline.ingest import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session_cookie(bob):
    client = Client()
    client.force_login(bob)
    return f"sessionid={client.cookies['sessionid'].value}"


async def receive_until(ws, text, frames=5):
    """Publishing is asynchronous: an earlier event's push may still arrive first."""
    for _ in range(frames):
        html = await ws.receive_from(timeout=3)
        if text in html:
            return html
    raise AssertionError(f"no frame contained {text!r}")


def socket(path="/ws/live/overview/", cookie="", origin="http://testserver"):
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def test_an_anonymous_socket_is_closed_with_4401_and_gets_no_data():
    ws = socket()
    connected, _ = await ws.connect()
    assert connected  # accepted, so the browser sees our close code rather than a network error
    assert await ws.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": SESSION_EXPIRED,
    }
    await ws.disconnect()


async def test_a_socket_from_another_origin_is_refused(session_cookie):
    ws = socket(cookie=session_cookie, origin="https://evil.example")
    connected, _ = await ws.connect()
    assert not connected


async def test_a_logged_in_tab_is_told_it_is_live(session_cookie):
    ws = socket(cookie=session_cookie)
    connected, _ = await ws.connect()
    assert connected
    assert 'id="live-status"' in await ws.receive_from(timeout=2)
    await ws.disconnect()


async def test_an_ingested_event_arrives_as_out_of_band_fragments(session_cookie):
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    result = await database_sync_to_async(ingest)(journey()[0])
    html = await ws.receive_from(timeout=3)
    # the event log gets the new row alone, on top; the releases card the changed release's
    # card, then the list's order (what the browser arranges the cards by)
    assert '<ol hx-swap-oob="afterbegin:#events > ol.events">' in html
    assert f'id="event-{result.event.pk}"' in html and 'id="events"' not in html
    release = result.event.release_id
    assert '<div hx-swap-oob="beforeend:#release-list">' in html and 'id="releases"' not in html
    assert html.index(f'id="release-card-{release}"') < html.index('id="releases-count"')
    assert f'data-order="release-card-{release} "' in html
    assert "add task retry logic" in html
    await ws.disconnect()


def event_log(frames: list[str], shown: list[int] | None = None) -> list[int]:
    """The overview's event log (ids, top first) after a browser swapped these frames in as
    htmx and static/cdportal.js do."""
    shown = list(shown or [])
    pattern = re.compile(
        r'<section id="events".*?</section>|<ol hx-swap-oob="afterbegin:#events > ol.events">.*?</ol>',
        re.S,
    )
    for frame in frames:
        for block in pattern.findall(frame):
            rows = [int(pk) for pk in re.findall(r'id="event-(\d+)"', block)]
            if block.startswith("<section"):
                shown = rows
            else:
                shown = rows + [pk for pk in shown if pk not in rows]
    return shown[: queries.RECENT_EVENTS]


async def test_an_event_published_late_is_put_in_its_place(session_cookie):
    from cdportal.live import broadcast
    from cdportal.pipeline.changes import Changes

    first, second = [await database_sync_to_async(ingest)(e) for e in journey()[:2]]
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    # as if the first event's broadcast came after the second's (another process)
    await database_sync_to_async(broadcast.publish_now)(Changes(events=[first.event.pk]))
    html = await ws.receive_from(timeout=3)
    assert event_log([html], [second.event.pk]) == [second.event.pk, first.event.pk]


async def test_a_late_event_survives_the_coalescing_window(session_cookie, settings):
    """The late event's top (second, first) and then the second's own top (second) reach one
    consumer within its window: the second must not replace the first."""
    from cdportal.live import broadcast
    from cdportal.pipeline.changes import Changes

    settings.LIVE_COALESCE_MS = 2000
    first, second = [await database_sync_to_async(ingest)(e) for e in journey()[:2]]
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    await database_sync_to_async(broadcast.publish_now)(Changes(releases={0}))  # opens a window
    await ws.receive_from(timeout=3)
    for late in (first, second):
        await database_sync_to_async(broadcast.publish_now)(Changes(events=[late.event.pk]))
    html = await ws.receive_from(timeout=5)  # one frame: the window's
    assert event_log([html]) == [second.event.pk, first.event.pk]


async def test_nothing_is_rendered_for_a_page_nobody_has_open(session_cookie):
    from cdportal.live import broadcast
    from cdportal.pipeline.changes import Changes

    ws = socket(cookie=session_cookie)  # the overview only
    await ws.connect()
    await ws.receive_from(timeout=2)
    changes = Changes(releases={1, 2}, events=[1])
    assert await broadcast.listening(broadcast.audience(changes)) == {broadcast.OVERVIEW}
    await ws.disconnect()
    await wait_for_async(lambda: True)
    assert await broadcast.listening(broadcast.audience(changes)) == set()


async def test_the_release_page_gets_its_own_fragments(session_cookie):
    result = await database_sync_to_async(ingest)(journey()[0])
    release_id = result.event.release_id
    ws = socket(f"/ws/live/releases/{release_id}/", cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    await database_sync_to_async(ingest)(journey()[1])
    html = await receive_until(ws, "Release PR #100")
    assert f'id="release-{release_id}-header"' in html
    assert 'id="releases"' not in html  # overview fragments go to the overview only
    await ws.disconnect()


async def test_a_burst_is_coalesced_into_few_frames(session_cookie, settings):
    settings.LIVE_COALESCE_MS = 400
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    events = journey("0.3.0")
    pks = []
    for event in events:
        pks.append((await database_sync_to_async(ingest)(event)).event.pk)
    frames = []
    while not await ws.receive_nothing(timeout=1):
        frames.append(await ws.receive_from())
    assert 1 <= len(frames) < len(events)
    # Each fragment appears once per frame, and the last frame shows the final state.
    assert all(frame.count('id="releases"') <= 1 for frame in frames)
    assert "cto-controller: Synced/Healthy" in frames[-1]
    # No event lost though only new rows travel: the browser's log is the page's.
    page = await database_sync_to_async(queries.recent_events)()
    assert event_log(frames) == [e.pk for e in page] == sorted(pks, reverse=True)
    await ws.disconnect()


async def test_a_socket_whose_session_was_deleted_is_closed(bob, session_cookie, monkeypatch):
    from django.contrib.sessions.models import Session

    from cdportal.live import consumers

    monkeypatch.setattr(consumers, "SESSION_RECHECK_SECONDS", 0.2)

    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    await database_sync_to_async(lambda: Session.objects.all().delete())()
    assert await ws.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": SESSION_EXPIRED,
    }


async def test_logging_out_closes_the_tabs_of_that_session_at_once(bob, session_cookie):
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    client = Client()
    client.cookies["sessionid"] = session_cookie.split("=", 1)[1]
    await database_sync_to_async(client.post)("/logout/")
    assert await ws.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": SESSION_EXPIRED,
    }


async def test_the_socket_closes_when_the_session_expires(bob, session_cookie):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    soon = timezone.now() + timedelta(seconds=1)
    await database_sync_to_async(lambda: Session.objects.update(expire_date=soon))()
    ws = socket(cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    assert await ws.receive_output(timeout=4) == {
        "type": "websocket.close",
        "code": SESSION_EXPIRED,
    }


async def test_the_updater_page_gets_the_deployment_as_the_watcher_records_it(session_cookie):
    ws = socket("/ws/live/updater/", cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)
    await database_sync_to_async(ingest)(
        {
            "kind": "updater_deployment",
            "source": "kubernetes",
            "occurred_at": "2026-11-29T01:00:00Z",
            "source_id": "argocd/argocd-image-updater-controller@7",
            "namespace": "argocd",
            "name": "argocd-image-updater-controller",
            "image": "quay.io/argoprojlabs/argocd-image-updater:v1.3.0",
            "version": "v1.3.0",
            "replicas_desired": 1,
            "replicas_updated": 1,
            "replicas_ready": 0,
            "replicas_available": 0,
            "restarted_at": "2026-11-29T01:00:00Z",
            "rollout_complete": False,
            "rollout_message": 'Waiting for deployment "argocd-image-updater-controller" rollout to finish: '
            "0 of 1 updated replicas are available...",
        }
    )
    html = await receive_until(ws, 'id="updater-status"')
    assert 'hx-swap-oob="true"' in html
    assert "0 ready of 1" in html and "0 of 1 updated replicas are available" in html
    await ws.disconnect()


async def test_the_action_log_shows_an_action_as_it_starts_and_finishes(session_cookie, bob):
    from cdportal.pipeline.models import Action

    ws = socket("/ws/live/actions/", cookie=session_cookie)
    await ws.connect()
    await ws.receive_from(timeout=2)

    def start():
        action = Action.objects.create(
            kind=Action.Kind.HARD_REFRESH, target="argocd/controller", by=bob, by_name="bob"
        )
        action.announce()
        return action

    action = await database_sync_to_async(start)()
    html = await receive_until(ws, f'id="action-{action.pk}"')
    assert 'id="action-log" hx-swap-oob="true"' in html and "Running" in html
    await database_sync_to_async(action.finish)(message="hard refresh of argocd/controller done")
    html = await receive_until(ws, "hard refresh of argocd/controller done")
    assert '<span class="badge ok">Succeeded</span>' in html
    await ws.disconnect()
