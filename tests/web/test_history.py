import pytest
from helpers import journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Commit, Release

pytestmark = pytest.mark.django_db

FIX = "fix(controller): resolve nil pointer"


@pytest.fixture
def three_releases():
    """0.3.0 (a feature), 0.3.1 (a fix), 0.3.2 (a feature), released on three days."""
    for n, (version, message) in enumerate([("0.3.0", None), ("0.3.1", FIX), ("0.3.2", None)]):
        events = journey(version, start=n * 24 * 60)
        if message:
            events[0] = {**events[0], "message": message}
        for e in events:
            ingest(e)
    return {r.version: r for r in Release.objects.all()}


def test_commits_remember_their_conventional_type(three_releases):
    assert Commit.objects.get(message=FIX).type == "fix"
    assert Commit.objects.get(message=FIX).scope == "controller"


def test_the_history_lists_what_shipped_with_changelogs(client, bob, three_releases):
    client.force_login(bob)
    html = client.get("/history/").content.decode()
    assert html.index("cto v0.3.2") < html.index("cto v0.3.1") < html.index("cto v0.3.0")
    assert "<h3>Features</h3>" in html


def test_the_history_filters_by_type_and_date(client, bob, three_releases):
    client.force_login(bob)
    fixes = client.get("/history/?type=fix").content.decode()
    assert "cto v0.3.1" in fixes and "cto v0.3.2" not in fixes
    assert FIX.split(": ")[1] in fixes
    first_day = client.get("/history/?since=2026-11-28&until=2026-11-28").content.decode()
    assert "cto v0.3.0" in first_day and "cto v0.3.1" not in first_day


def test_bad_filters_say_what_is_wrong(client, bob, three_releases):
    client.force_login(bob)
    response = client.get("/history/?since=2026-12-01&until=2026-11-01")
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()
    assert client.get("/history/?since=yesterday").status_code == 200
    assert client.get("/history.md?type=%3Cscript%3E").status_code == 400


def test_the_history_downloads_as_markdown(client, bob, three_releases):
    client.force_login(bob)
    response = client.get("/history.md?type=feat")
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("## [0.3.2]") and "## [0.3.0]" in text and "0.3.1" not in text


def test_the_diff_shows_what_shipped_between_two_releases(client, bob, three_releases):
    client.force_login(bob)
    r = three_releases
    html = client.get(f"/history/diff/?from={r['0.3.0'].pk}&to={r['0.3.2'].pk}").content.decode()
    assert "2 releases, 2 commits: 1 feat, 1 fix" in html
    assert "## [0.3.2]" in html and "## [0.3.1]" in html
    # Either order of the two picks gives the same answer.
    again = client.get(f"/history/diff/?from={r['0.3.2'].pk}&to={r['0.3.0'].pk}").content.decode()
    assert "2 releases, 2 commits" in again


def test_the_diff_refuses_nonsense(client, bob, three_releases):
    client.force_login(bob)
    assert "Select a valid choice" in client.get("/history/diff/?from=999&to=1").content.decode()


def test_history_api(client, bob, three_releases):
    client.force_login(bob)
    page = client.get("/api/history?type=feat").json()
    assert [item["version"] for item in page["items"]] == ["0.3.2", "0.3.0"]
    r = three_releases
    diff = client.get(f"/api/history/diff?older={r['0.3.0'].pk}&newer={r['0.3.2'].pk}").json()
    assert [x["version"] for x in diff["releases"]] == ["0.3.2", "0.3.1"]
    assert diff["commits_by_type"] == {"feat": 1, "fix": 1}
    markdown = client.get("/api/history/markdown?component=" + str(r["0.3.0"].component_id))
    assert markdown.content.decode().count("## [") == 3
    assert client.get("/api/history?since=nope").status_code == 422


def test_the_history_page_says_how_long_each_stage_takes(bob, client):
    from helpers import journey

    from cdportal.pipeline.ingest import ingest

    for event in journey():
        ingest(event)
    client.force_login(bob)
    html = client.get("/history/").content.decode()
    assert 'id="stage-durations"' in html and "How long each stage takes" in html
    rows = client.get("/api/history/stage-durations").json()
    by_name = {row["name"]: row for row in rows}
    assert by_name["Release PR open"]["count"] == 1
    lead = by_name["Lead time: commit merged → synced and healthy"]
    assert lead["count"] == 1 and lead["median_seconds"] > 0 and lead["slowest_release"]
