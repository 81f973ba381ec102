"""The release page's "Why isn't vX live?" panel in a real browser: it names the blocker, and
follows the release live as events arrive (daphne subprocess, headless Chromium)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_live_overview import TIMEOUT_MS, log_in, wait_live

pytestmark = pytest.mark.browser


def release_id(server, repository: str) -> int:
    response = httpx.get(
        f"{server.url}/api/releases",
        params={"repository": repository},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    (release,) = [r for r in response.json()["items"] if r["tag"]]
    return release["id"]


def test_the_panel_names_the_blocker_and_updates_live(
    page: Page, live_server_url, unique_journey, ingest
):
    journey = unique_journey()
    *before, synced = journey.events  # the last: Synced and Healthy with the new image
    for event in before:
        ingest(event)
    pk = release_id(live_server_url, journey.repository)

    log_in(page, live_server_url)
    page.goto(f"{live_server_url.url}/releases/{pk}/")
    wait_live(page)
    page.evaluate("window.__marker = 1")
    panel = page.locator(f"#release-{pk}-explain article.explain-app", has_text=journey.application)
    expect(panel).to_have_attribute("data-code", "syncing", timeout=TIMEOUT_MS)
    expect(panel).to_contain_text("OutOfSync")

    ingest(synced)
    expect(panel).to_have_attribute("data-verdict", "live", timeout=TIMEOUT_MS)
    expect(panel).to_contain_text(f"v{journey.version} runs in argocd/{journey.application}")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
