import pytest
from helpers import journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Release

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped():
    for e in journey("0.3.0"):
        ingest(e)
    return Release.objects.get()


@pytest.mark.parametrize(
    "path", ["/", "/releases/1/", "/applications/argocd/cto-controller/", "/admin/"]
)
def test_anonymous_visitors_get_the_login_page(client, path, shipped):
    response = client.get(path, follow=True)
    assert response.redirect_chain[-1][0].startswith(("/login/", "/admin/login/"))
    assert b"v0.3.0" not in response.content and b"Synced" not in response.content


def test_it_logs_in_and_lands_on_the_overview(client, bob):
    response = client.post("/login/", {"username": "bob", "password": "bob-password"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Releases in flight" in response.content


def test_a_wrong_password_is_refused_plainly(client, bob):
    response = client.post("/login/", {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_the_overview_shows_releases_applications_tags_and_events(client, bob, shipped):
    ingest(journey("0.4.0", start=100)[0])
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert 'ws-connect="/ws/live/overview/"' in html
    assert "cto next release" in html  # the pending release, in flight
    assert "cto v0.3.0" in html  # recently deployed
    assert "cto-controller" in html and "v0.3.0" in html
    assert html.count('class="step ') == 7  # one stepper: the release in flight


def test_the_release_page_has_the_timeline_commits_and_changelog(client, bob, shipped):
    client.force_login(bob)
    html = client.get(f"/releases/{shipped.pk}/").content.decode()
    assert html.count('class="step done"') == 14  # the release's stepper and its one rollout's
    assert "add task retry logic" in html
    assert "<h3>Features</h3>" in html
    assert f'ws-connect="/ws/live/releases/{shipped.pk}/"' in html


def test_changelog_markdown_cannot_inject_html(client, bob):
    events = journey("0.3.0")[:3]
    events[2] = {**events[2], "changelog": "<script>alert(1)</script> [x](javascript:alert(1))"}
    for e in events:
        ingest(e)
    client.force_login(bob)
    html = client.get(f"/releases/{Release.objects.get().pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html


def test_the_application_page_has_status_policy_and_history(client, bob, shipped):
    client.force_login(bob)
    html = client.get("/applications/argocd/cto-controller/").content.decode()
    assert "argocd-image-updater.argoproj.io/image-list" in html
    assert "Tags it ran" in html and "v0.3.0" in html


def test_missing_objects_are_404(client, bob):
    client.force_login(bob)
    assert client.get("/releases/999/").status_code == 404
    assert client.get("/applications/argocd/nope/").status_code == 404


def test_health_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_logout_is_a_post(client, bob):
    client.force_login(bob)
    assert client.get("/logout/").status_code == 405
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_the_release_page_links_to_github_and_follows_the_build(client, bob, shipped):
    from helpers import at

    later = journey("0.3.1", start=60)
    for e in later[:3]:
        ingest(e)
    job = {
        "id": 77,
        "name": "build-images",
        "status": "in_progress",
        "url": "https://github.com/5dlabs/cto/actions/runs/9/job/77",
        "steps": [
            {"number": 1, "name": "Checkout", "status": "completed", "conclusion": "success"},
            {"number": 2, "name": "Push to ghcr.io", "status": "in_progress"},
        ],
    }
    ingest(
        {
            **later[3],
            "source_id": "job-77",
            "status": "in_progress",
            "conclusion": None,
            "jobs": [job],
            "url": "https://github.com/5dlabs/cto/actions/runs/9",
            "occurred_at": at(72),
        }
    )
    release = Release.objects.get(version="0.3.1")
    client.force_login(bob)
    html = client.get(f"/releases/{release.pk}/").content.decode()
    assert "https://github.com/5dlabs/cto/compare/v0.3.0...v0.3.1" in html
    assert "binaries-release run #" in html
    assert "build-images" in html and "Push to ghcr.io" in html
    assert f'id="release-{release.pk}-builds"' in html
    # The job finishing replaces its earlier report, never the other way round.
    done = {
        **job,
        "status": "completed",
        "conclusion": "success",
        "steps": [{**s, "status": "completed", "conclusion": "success"} for s in job["steps"]],
    }
    ingest(
        {
            **later[3],
            "source_id": "job-77-done",
            "status": "in_progress",
            "conclusion": None,
            "jobs": [done],
            "occurred_at": at(75),
        }
    )
    ingest(
        {
            **later[3],
            "source_id": "job-77-late",
            "status": "in_progress",
            "conclusion": None,
            "jobs": [job],
            "occurred_at": at(76),
        }
    )
    run = release.build_runs.get()
    assert run.jobs[0]["conclusion"] == "success"


def test_the_overview_shows_how_the_sources_are_doing(client, bob):
    from django.utils import timezone

    from cdportal.pipeline.models import PollState, WebhookDelivery

    PollState.objects.create(
        source="github",
        key="5dlabs/cto",
        status="not_modified",
        polled_at=timezone.now(),
        rate_limit=5000,
        rate_remaining=4996,
        requests=8,
        not_modified=4,
    )
    PollState.objects.create(source="github", key="5dlabs/cto:releases", etag='W/"x"')
    WebhookDelivery.objects.create(
        source="github", delivery_id="d1", event="release", payload={}, status="ingested"
    )
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert "5dlabs/cto" in html and "4996 of 5000" in html and "8 / 4" in html
    assert "5dlabs/cto:releases" not in html
    assert "github ingested 1" in html


def test_the_application_page_says_which_tag_the_updater_would_pick(client, bob, shipped):
    from helpers import IMAGE, at

    for tag in ("v0.4.0", "v0.4.1-rc.1", "latest"):
        ingest(
            dict(
                kind="image_push",
                source="test",
                source_id=f"push-{tag}",
                occurred_at=at(90),
                image=IMAGE,
                tag=tag,
                digest="sha256:" + "cd" * 32,
            )
        )
    client.force_login(bob)
    html = client.get("/applications/argocd/cto-controller/").content.decode()
    assert "Would update to" in html
    assert "<code>v0.3.0</code> →" in html and "<code>v0.4.0</code>" in html
    api = client.get("/api/applications/argocd/cto-controller/image-policy").json()
    [outlook] = api["images"]
    assert (outlook["current"], outlook["tag"], outlook["reason"]) == ("v0.3.0", "v0.4.0", "update")
    why = {r["tag"]: r["why"] for r in outlook["rejected"]}
    assert "allow-tags" in why["latest"] and "allow-tags" in why["v0.4.1-rc.1"]
    assert why["v0.3.0"].startswith("lower than")


# --- an application's conditions, operation and syncs, as Argo CD reported them ----------------


def _observe(stem: str):
    from kube_stub import load

    from cdportal.adapters.kubernetes.argocd import application_event
    from cdportal.pipeline.ingest import ingest

    return ingest(application_event(load(stem))).event.application


def test_a_stuck_sync_shows_its_condition_retries_and_failing_resource(bob, client):
    app = _observe("07")
    client.force_login(bob)
    html = client.get(f"/applications/{app.namespace}/{app.name}/").content.decode()
    assert '<span class="badge bad">SyncError</span> Failed last sync attempt' in html
    assert "Last operation:" in html and "retried 5×" in html and "by automated" in html
    assert '<span class="badge bad">SyncFailed</span>' in html
    assert "must be less than or equal to memory limit of 1Gi" in html


def test_a_running_sync_shows_who_started_it_and_the_hook_it_waits_for(bob, client):
    app = _observe("06")
    client.force_login(bob)
    html = client.get(f"/applications/{app.namespace}/{app.name}/").content.decode()
    assert "Operation:" in html and "by alice@5dlabs.ai" in html
    assert "Job/api/api-gateway-db-migrate" in html and "PreSync hook" in html


def test_the_sync_history_lists_argo_cds_syncs_newest_first(bob, client):
    app = _observe("01")
    client.force_login(bob)
    html = client.get(f"/applications/{app.namespace}/{app.name}/").content.decode()
    assert "<h3>Syncs</h3>" in html
    ids = [h["id"] for h in app.sync_history]
    assert ids == sorted(ids, reverse=True) and html.index(f"<td>{ids[0]}</td>") < html.index(
        f"<td>{ids[-1]}</td>"
    )


def test_the_api_returns_the_details_too(bob, client):
    app = _observe("07")
    client.force_login(bob)
    body = client.get(f"/api/applications/{app.namespace}/{app.name}").json()
    assert body["conditions"][0]["type"] == "SyncError"
    assert body["operation"]["retry_count"] == 5
    assert body["sync_history"][0]["id"] >= body["sync_history"][-1]["id"]


def test_the_overview_shows_a_release_s_applications_as_lanes_and_who_is_behind(client, bob):
    from helpers import DEV, PROD, STAGING, three_environments

    for event in three_environments():
        ingest(event)
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert '<li class="step pending" data-stage="7" data-reached="1" data-targets="3"' in html
    assert '<span class="count">1/3</span>' in html
    lanes = html[html.index('<ol class="lanes">') :]
    assert lanes.index(DEV) < lanes.index(STAGING) < lanes.index(f">{PROD}<")
    assert f'class="lane done" data-application="argocd/{DEV}"' in lanes
    assert f'class="lane behind" data-application="argocd/{STAGING}"' in lanes
    assert "behind: at parameter updated" in lanes
    assert "behind: not picked up, runs v0.2.55" in lanes


def test_a_release_no_application_tracks_says_why_it_stops_at_stage_4(client, bob):
    for event in journey("0.3.0")[:5]:
        ingest(event)
    client.force_login(bob)
    assert "cto v0.3.0" not in client.get("/").content.decode()  # not in flight
    release = Release.objects.get()
    html = client.get(f"/releases/{release.pk}/").content.decode()
    assert "No application tracks an image of cto: the pipeline ends at stage 4." in html
    assert 'class="step current"' not in html
