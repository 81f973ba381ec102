"""Every page under cdportal's Content-Security-Policy in a real browser: nothing blocked.

The policy forbids inline script and style and anything from another origin; a template that
slipped an inline handler, a style="" attribute or a CDN script back in would show up here as a
violation (the browser reports each one as a `securitypolicyviolation` event and on the console).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

ALICE = ("alice", "alice-password-1")
TIMEOUT_MS = 5_000
PAGES = ["/", "/history/", "/updater/", "/actions/", "/api/docs"]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page: Page):
    """The page, with every CSP violation it reports collected (events and console lines)."""
    console = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    page.console_violations = console
    return page


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__violations") + page.console_violations


def log_in(page: Page, server, username: str, password: str) -> None:
    page.goto(f"{server.url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_every_page_loads_without_a_csp_violation(watched: Page, live_server_url):
    page = watched
    log_in(page, live_server_url, *ALICE)
    expect(page).to_have_url(f"{live_server_url.url}/")
    # The live socket opens under connect-src.
    expect(page.locator("#live-status")).to_have_text("live", timeout=TIMEOUT_MS)
    assert violations(page) == []

    for path in PAGES:
        response = page.goto(f"{live_server_url.url}{path}")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], path

    # Swagger UI from ninja's own static files renders its operations under the policy.
    expect(page.locator(".opblock").first).to_be_visible(timeout=TIMEOUT_MS)
    assert violations(page) == []


def test_the_policy_blocks_inline_script(watched: Page, live_server_url):
    """The check above can see a violation: an injected inline script is refused and reported."""
    page = watched
    page.goto(f"{live_server_url.url}/login/")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.__ran = true"; document.head.appendChild(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("window.__ran === undefined")
    assert any(v.startswith("script-src") for v in violations(page))


def test_repeated_wrong_passwords_lock_the_login_with_a_message(watched: Page, live_server_url):
    """The fifth wrong password in a row (the default LOGIN_FAILURE_LIMIT) for one user name from
    one address locks it: the login page says why and for how long, and stays locked."""
    page = watched
    for _ in range(4):
        log_in(page, live_server_url, "mallory", "wrong-password")
        expect(page.locator("p.error")).to_contain_text("did not match")
    log_in(page, live_server_url, "mallory", "wrong-password")
    expect(page.locator("#locked-out")).to_contain_text("Too many failed logins")
    log_in(page, live_server_url, "mallory", "another-password")
    expect(page.locator("#locked-out")).to_contain_text("Too many failed logins")
    expect(page.locator("#locked-out")).to_contain_text("15 minutes")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert violations(page) == []
