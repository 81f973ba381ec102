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
    assert text.startswith("# cto (5dlabs/cto)\n\n## [0.3.2]")
    assert "## [0.3.0]" in text and "0.3.1" not in text


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


@pytest.fixture
def mixed():
    """cto: 0.3.0 shipped, 0.3.1's build failed, 0.3.2 built but replaced by 0.3.3 before any
    application ran it; and a second component, tools 1.0.0 and 1.0.1, only released."""
    day = 24 * 60
    for event in journey("0.3.0"):
        ingest(event)
    failed = journey("0.3.1", start=day)[:4]
    failed[3] = {**failed[3], "conclusion": "failure"}
    for event in failed:
        ingest(event)
    for event in journey("0.3.2", start=2 * day)[:5]:
        ingest(event)
    for event in journey("0.3.3", start=3 * day):
        ingest(event)
    for n, version in enumerate(["1.0.0", "1.0.1"]):
        for event in journey(version, start=n * day + 5)[:3]:
            ingest(
                {**event, "repository": "5dlabs/tools", "source_id": "tools-" + event["source_id"]}
            )
    return {r.title: r for r in Release.objects.select_related("component")}


def test_what_shipped_between_leaves_out_failed_and_superseded_releases(client, bob, mixed):
    client.force_login(bob)
    older, newer = mixed["cto v0.3.0"], mixed["cto v0.3.3"]
    diff = client.get(f"/api/history/diff?older={older.pk}&newer={newer.pk}").json()
    assert [x["version"] for x in diff["releases"]] == ["0.3.3"]
    assert diff["releases"][0]["shipped_to"] == ["argocd/cto-controller"]
    why = {x["version"]: x["not_shipped_why"] for x in diff["not_shipped"]}
    assert why["0.3.1"].startswith("failed at") and "superseded" in why["0.3.2"]
    assert diff["component"] == "cto" and diff["repository"] == "5dlabs/cto"
    shipped_part, _, not_shipped_part = diff["markdown"].partition("## Not shipped")
    assert "0.3.1" not in shipped_part and "0.3.2" not in shipped_part
    assert "- v0.3.1: failed at" in not_shipped_part and "- v0.3.2: superseded" in not_shipped_part
    html = client.get(f"/history/diff/?from={older.pk}&to={newer.pk}").content.decode()
    assert "What shipped in cto after" in html and "1 release," in html
    assert "not shipped" in html and "superseded by a newer release" in html


def test_history_says_whether_and_where_each_release_shipped(client, bob, mixed):
    client.force_login(bob)
    items = {x["version"]: x for x in client.get("/api/history").json()["items"]}
    assert items["0.3.0"]["shipped"] and items["0.3.0"]["shipped_to"] == ["argocd/cto-controller"]
    assert not items["0.3.1"]["shipped"] and items["0.3.1"]["not_shipped_why"]
    assert not items["0.3.2"]["shipped"] and "superseded" in items["0.3.2"]["not_shipped_why"]
    assert items["1.0.0"]["component"] == "tools" and items["1.0.0"]["shipped_to"] == []
    html = client.get("/history/").content.decode()
    assert "Shipped to argocd/cto-controller" in html and "<strong>Not shipped</strong>" in html


def test_compare_and_export_are_per_component_and_name_it(client, bob, mixed):
    client.force_login(bob)
    html = client.get("/history/").content.decode()
    cto, tools = mixed["cto v0.3.0"].component, mixed["tools v1.0.0"].component
    cto_form = html[
        html.index(f'id="compare-{cto.pk}"') : html.index(
            "</form>", html.index(f'id="compare-{cto.pk}"')
        )
    ]
    assert "<strong>cto</strong>" in cto_form and "tools v1.0.0" not in cto_form
    assert f'id="compare-{tools.pk}"' in html
    text = client.get("/history.md").content.decode()
    assert "# cto (5dlabs/cto)" in text and "# tools (5dlabs/tools)" in text
    tools_part = text[text.index("# tools (5dlabs/tools)") :]
    assert "0.3." not in tools_part.split("# cto")[0]
    markdown = client.get("/api/history/markdown").content.decode()
    assert markdown.count("# cto (5dlabs/cto)") == 1


def test_the_api_documents_where_releases_shipped(client, bob):
    client.force_login(bob)
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert {"shipped", "shipped_to", "not_shipped_why"} <= set(schemas["ShippedOut"]["properties"])
    assert {"component", "not_shipped"} <= set(schemas["DiffOut"]["properties"])


def test_the_history_pages_and_its_durations_cover_every_page(
    client, bob, three_releases, monkeypatch
):
    from cdportal.pipeline import queries

    monkeypatch.setattr(queries, "HISTORY_PAGE", 2)
    client.force_login(bob)
    entry = {v: f'id="release-{r.pk}-changelog"' for v, r in three_releases.items()}
    first = client.get("/history/").content.decode()
    assert entry["0.3.2"] in first and entry["0.3.1"] in first and entry["0.3.0"] not in first
    assert "page 1 of 2" in first and 'href="?page=2"' in first
    assert "every release this filter selects (3)" in first
    features = client.get("/history/?type=feat").content.decode()
    assert "page 1 of" not in features  # two feature releases: one page
    last = client.get("/history/?page=2").content.decode()
    assert entry["0.3.0"] in last and entry["0.3.2"] not in last and "← previous" in last
