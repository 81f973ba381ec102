"""The live overview in a real browser: events posted to the API appear without a reload.

Black box: a daphne subprocess (see conftest.py), headless Debian Chromium through Playwright,
events through POST /api/events with a bearer token, and raw websockets from Python.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.browser

ALICE = ("alice", "alice-password-1")
SESSION_EXPIRED = 4401  # cdportal.live.consumers.SESSION_EXPIRED
TIMEOUT_MS = 5_000
REPO_ROOT = Path(__file__).resolve().parents[2]


def log_in(page: Page, server, username: str = ALICE[0], password: str = ALICE[1]) -> None:
    page.goto(f"{server.url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/")


def wait_live(page: Page) -> None:
    """The server says "live" once the socket has joined its groups: updates from now on arrive."""
    expect(page.locator("#live-status")).to_have_text("live", timeout=TIMEOUT_MS)


def test_it_shows_an_ingested_event_without_reload(
    page: Page, live_server_url, unique_journey, ingest
):
    journey = unique_journey()
    commit, release_pr = journey.events[0], journey.events[1]
    log_in(page, live_server_url)
    wait_live(page)
    page.evaluate("window.__marker = 1")
    expect(page.locator("#releases")).not_to_contain_text(journey.version)

    answer = ingest(commit)
    expect(page.locator("#events")).to_contain_text(answer["summary"], timeout=TIMEOUT_MS)
    answer = ingest(release_pr)

    events = page.locator("#events")
    expect(events).to_contain_text(answer["summary"], timeout=TIMEOUT_MS)
    expect(events.locator(f"#event-{answer['id']} .summary")).to_have_text(answer["summary"])
    release = page.locator("#releases article.release", has_text=f"{journey.version} (proposed)")
    expect(release).to_be_visible(timeout=TIMEOUT_MS)
    expect(release).to_contain_text(journey.repository)
    expect(release.locator(".badge")).to_have_text("Release PR open")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    expect(page.locator("#live-status")).to_have_text("live")


def test_it_walks_a_release_through_all_stages(
    page: Page, live_server_url, unique_journey, ingest, tmp_path
):
    journey = unique_journey()
    log_in(page, live_server_url)
    wait_live(page)
    page.evaluate("window.__marker = 1")

    for event in journey.events:
        ingest(event)

    deployed = page.locator("#releases h3:text-is('Recently deployed') + ul")
    link = deployed.get_by_role("link", name=journey.release_title, exact=True)
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    # Deployed releases leave the in-flight list.
    expect(page.locator("#releases article.release", has_text=journey.release_title)).to_have_count(
        0
    )
    app_row = page.locator("#applications tr", has_text=journey.application)
    expect(app_row).to_contain_text(f"v{journey.version}")
    expect(app_row).to_contain_text("Synced")
    expect(page.locator("#tags")).to_contain_text(journey.image)
    assert page.evaluate("window.__marker") == 1, "the page reloaded"

    shot = (
        REPO_ROOT / "docs" / "screenshot.png"
        if os.environ.get("CDPORTAL_SCREENSHOT") == "1"
        else tmp_path / "overview.png"
    )
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    link.click()
    expect(page).to_have_url(re.compile(rf"{re.escape(live_server_url.url)}/releases/\d+/$"))
    header = page.locator("section[id$='-header']")
    expect(header.locator("h1 .badge")).to_have_text("Deployed")
    stepper = page.locator("ol.stepper").first
    expect(stepper.locator("li.step")).to_have_count(7)
    expect(stepper.locator("li.step.done")).to_have_count(7)
    wait_live(page)  # the release page has its own socket


def test_anonymous_user_gets_the_login_page(browser, live_server_url):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server_url.url}/")
        expect(page).to_have_url(
            re.compile(rf"{re.escape(live_server_url.url)}/login/(\?next=/)?$")
        )
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        expect(page.locator("#live-status")).to_have_count(0)
    finally:
        context.close()


def _frames_until_closed(ws_url: str, origin: str, cookie: str | None = None, limit: float = 5.0):
    """Open the overview socket; return (frames received, close code). Waits at most `limit` s."""
    headers = {"Cookie": cookie} if cookie else None
    frames = []
    with connect(
        f"{ws_url}/ws/live/overview/",
        origin=origin,
        additional_headers=headers,
        open_timeout=limit,
        close_timeout=1,
    ) as ws:
        try:
            while True:
                frames.append(ws.recv(timeout=limit))
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return frames, None


def _http_login(server) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=10)
    client.get("/login/").raise_for_status()
    response = client.post(
        "/login/",
        data={
            "username": ALICE[0],
            "password": ALICE[1],
            "next": "/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302 and response.headers["location"] == "/", response.text[:500]
    return client


def test_the_socket_closes_for_an_expired_session(live_server_url):
    server = live_server_url
    origin = server.url

    # No session at all: accepted, then closed with 4401 before any data.
    frames, code = _frames_until_closed(server.ws_url, origin)
    assert (frames, code) == ([], SESSION_EXPIRED)

    client = _http_login(server)
    try:
        sessionid = client.cookies["sessionid"]
        cookie = f"sessionid={sessionid}"
        # A live session gets the "live" indicator first (so 4401 above is about the session).
        with connect(
            f"{server.ws_url}/ws/live/overview/",
            origin=origin,
            additional_headers={"Cookie": cookie},
            open_timeout=5,
            close_timeout=1,
        ) as ws:
            assert 'id="live-status"' in ws.recv(timeout=5)

        # Logged out elsewhere: the session row is gone; the old cookie no longer opens the socket.
        response = client.post("/logout/", headers={"X-CSRFToken": client.cookies["csrftoken"]})
        assert response.status_code == 302, response.status_code
    finally:
        client.close()
    frames, code = _frames_until_closed(server.ws_url, origin, cookie=cookie)
    assert (frames, code) == ([], SESSION_EXPIRED)


def test_the_page_says_signed_out_when_the_socket_closes_with_4401(page: Page, live_server_url):
    """The browser side of 4401: no reconnect loop, and a banner that sends the person to log in.

    The page is rendered for a valid session; the session is deleted on the server (a logout
    from elsewhere, which leaves this browser's cookie in place) after the HTML arrived and
    before the ws extension loads, so the socket opens with a dead session.
    """
    server = live_server_url
    log_in(page, server)
    wait_live(page)
    logged_out = []

    def log_out_elsewhere_then_continue(route):
        if not logged_out:
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            response = httpx.post(
                f"{server.url}/logout/",
                cookies=cookies,
                timeout=10,
                headers={"X-CSRFToken": cookies["csrftoken"]},
            )
            logged_out.append(response.status_code)
        route.continue_()

    # A registered route also turns the browser cache off, so the script is requested again.
    page.route("**/static/vendor/htmx-ext-ws-*.js", log_out_elsewhere_then_continue)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{server.url}/")
    expect(page.locator("#releases")).to_be_visible()  # the overview, not the login page

    expect(page.locator("#live-status")).to_have_text("signed out", timeout=TIMEOUT_MS)
    assert logged_out == [302]
    banner = page.locator("#session-expired")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name="Log in again")).to_have_attribute(
        "href", "/login/?next=/"
    )
    page.wait_for_timeout(1_200)  # the ws extension retries a 1006 within about a second
    assert sockets == [f"{server.ws_url}/ws/live/overview/"], "the page reconnected after 4401"
    expect(page.locator("#live-status")).to_have_text("signed out")


def test_a_source_posts_with_only_its_bearer_token(live_server_url, unique_journey):
    """What a real source does (curl, a webhook relay): a bearer token and no cookies at all.
    Regression: session auth used to run first and answer 403 "CSRF check Failed"."""
    event = unique_journey().events[0]
    response = httpx.post(
        f"{live_server_url.url}/api/events",
        json=event,
        timeout=10,
        headers={"Authorization": f"Bearer {live_server_url.token}"},
    )
    assert response.status_code == 201, f"{response.status_code} {response.text}"
    assert response.json()["created"] is True
    anonymous = httpx.post(f"{live_server_url.url}/api/events", json=event, timeout=10)
    assert anonymous.status_code == 401, f"{anonymous.status_code} {anonymous.text}"


def test_the_api_docs_render_from_the_servers_own_files(page: Page, live_server_url):
    """Swagger UI at /api/docs comes from cdportal's static files: it renders with no network
    beyond the server, and the page asks no other origin for anything."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, live_server_url)
    page.goto(f"{live_server_url.url}/api/docs")
    expect(page.locator(".swagger-ui .information-container .title")).to_contain_text(
        "cdportal", timeout=TIMEOUT_MS
    )
    expect(
        page.locator(".swagger-ui .opblock-summary-path", has_text="/api/events").first
    ).to_be_visible()
    foreign = [
        url
        for url in requested
        if not url.startswith(live_server_url.url) and not url.startswith("data:")
    ]
    assert foreign == [], f"requests to other origins: {foreign}"


def test_a_release_stays_in_flight_until_every_application_runs_it(
    page: Page, live_server_url, unique_journey, ingest
):
    journey = unique_journey()
    last = journey.events[-1]  # the application observed Synced and Healthy on the new tag
    behind = f"{journey.application}-prod"
    older = {
        **last,
        "source_id": f"{last['source_id']}-prod-old",
        "name": behind,
        "parameters": {"image.tag": "v0.0.1"},
        "images": [f"{journey.image}:v0.0.1"],
    }
    log_in(page, live_server_url)
    wait_live(page)
    ingest(older)
    for event in journey.events:
        ingest(event)

    release = page.locator("#releases article.release", has_text=journey.release_title)
    # Synced in one of two: stage 7 is not done, and prod's updater has yet to pick it up.
    expect(release.locator('.step[data-stage="7"] .count')).to_have_text("1/2", timeout=TIMEOUT_MS)
    expect(release.locator('.step[data-stage="7"]')).to_have_class("step pending")
    expect(release.locator('.step[data-stage="5"]')).to_have_class("step current")
    expect(release.locator(".lane.done")).to_contain_text(journey.application)
    expect(release.locator(".lane.behind")).to_contain_text(f"{behind} behind: not picked up")

    ingest(
        {
            **older,
            "source_id": f"{last['source_id']}-prod-new",
            "parameters": last["parameters"],
            "images": last["images"],
            "occurred_at": last["occurred_at"].replace("10:20", "10:30"),
        }
    )
    deployed = page.locator("#releases h3:text-is('Recently deployed') + ul")
    expect(deployed.get_by_role("link", name=journey.release_title, exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(release).to_have_count(0)


def test_the_event_log_grows_by_rows_and_stays_what_a_reload_shows(
    page: Page, live_server_url, unique_journey, ingest
):
    """Only new rows travel; the browser keeps the log as long as the page renders it, without
    duplicates, in the page's order."""
    journey = unique_journey()
    commit = journey.events[0]
    log_in(page, live_server_url)
    wait_live(page)
    rows = page.locator("#events ol.events > li")
    keep = int(page.locator("#events ol.events").get_attribute("data-keep"))
    answers = []
    for n in range(keep + 3):
        event = {**commit, "source_id": f"{commit['source_id']}-{n}", "sha": f"{n:040x}"}
        answers.append(ingest(event))
    expect(rows.first).to_have_id(f"event-{answers[-1]['id']}", timeout=TIMEOUT_MS)
    expect(rows).to_have_count(keep)
    live = rows.evaluate_all("items => items.map(li => li.id)")
    assert len(set(live)) == keep
    page.reload()
    expect(rows).to_have_count(keep)
    assert rows.evaluate_all("items => items.map(li => li.id)") == live


def test_changed_release_cards_take_their_place_as_a_reload_shows_them(
    page: Page, live_server_url, unique_journey, ingest
):
    """Only the changed releases' cards travel, with the list's order."""
    first, second = unique_journey(), unique_journey()
    log_in(page, live_server_url)
    wait_live(page)
    ingest(first.events[0])
    ingest(second.events[0])
    cards = page.locator("#release-list > article.release")
    expect(cards.first).to_contain_text(second.repository, timeout=TIMEOUT_MS)
    ingest(first.events[1])  # the first one's release PR: its card changes
    listed = page.locator("#release-list")
    expect(listed).to_contain_text(f"{first.version} (proposed)", timeout=TIMEOUT_MS)
    live = cards.evaluate_all("items => items.map(a => a.id)")
    assert len(set(live)) == len(live)
    page.reload()
    expect(listed).to_contain_text(f"{first.version} (proposed)")
    assert cards.evaluate_all("items => items.map(a => a.id)") == live
    expect(page.locator("#releases-count")).to_have_text(str(len(live)))
