import pytest, time, httpx
from playwright.sync_api import Page, expect

def test_scratch(page: Page, live_server_url):
    s = live_server_url
    page.goto(f"{s.url}/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#live-status")).to_have_text("live")
    done = []
    def handler(route):
        if not done:
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            r = httpx.post(f"{s.url}/logout/", cookies=cookies, headers={"X-CSRFToken": cookies["csrftoken"]})
            done.append(r.status_code)
        route.continue_()
    page.route("**/static/vendor/htmx-ext-ws-*.js", handler)
    page.add_init_script("""window.__closes = []; document.addEventListener('htmx:wsClose', e => window.__closes.push([e.detail.event.code, Date.now()]));""")
    page.reload()
    page.wait_for_timeout(2000)
    print("RES", done, page.evaluate("window.__closes"), page.locator("#live-status").text_content(), page.context.cookies())
