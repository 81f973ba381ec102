import pytest
from playwright.sync_api import Page, expect

JS = """url => new Promise(resolve => {
  const ws = new WebSocket(url); const log = [];
  ws.onopen = () => log.push('open');
  ws.onmessage = e => log.push('msg ' + e.data.slice(0, 40));
  ws.onclose = e => { log.push(['close', e.code, e.reason, e.wasClean]); resolve(log); };
})"""

def test_scratch(page: Page, live_server_url):
    s = live_server_url
    page.goto(f"{s.url}/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#live-status")).to_have_text("live")
    print("LOGGED", page.evaluate(JS, f"{s.ws_url}/ws/live/overview/") if False else "")
    cookies = page.context.cookies()
    print(cookies)
    csrftoken = next(c["value"] for c in cookies if c["name"] == "csrftoken")
    r = page.request.post(f"{s.url}/logout/", headers={"X-CSRFToken": csrftoken}, max_redirects=0)
    print("LOGOUT", r.status, r.headers)
    print("AFTER LOGOUT", page.context.cookies())
    print("WS1", page.evaluate(JS, f"{s.ws_url}/ws/live/overview/"))
    page.context.add_cookies([c for c in cookies if c["name"] == "sessionid"])
    print("WS2", page.evaluate(JS, f"{s.ws_url}/ws/live/overview/"))
    print(open(str(s.env["DATABASE_URL"]).replace("sqlite:///", "").replace("db.sqlite3", "daphne.log")).read()[-3000:])
