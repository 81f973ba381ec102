"""The version truth table (API, page, each application's page) and the overview's release
automation health, from events ingested through the real ingest path."""

from __future__ import annotations

import pytest
from django.test import Client
from helpers import IMAGE, POLICY, REPO, at, journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Release

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def prod_behind() -> None:
    """v0.3.0 runs in cto-controller-dev; cto-controller has it written but still runs v0.2.9."""
    for event in journey("0.2.9", app="cto-controller"):
        ingest(event)
    for event in journey("0.3.0", app="cto-controller-dev", start=100):
        ingest(event)
    ingest(
        dict(
            kind="application",
            source="test",
            source_id="prod-written",
            occurred_at=at(130),
            namespace="argocd",
            name="cto-controller",
            sync_status="OutOfSync",
            health_status="Healthy",
            parameters={"image.tag": "v0.3.0"},
            images=[f"{IMAGE}:v0.2.9"],
            annotations=POLICY,
        )
    )


def test_the_versions_api_lines_up_release_policy_override_and_running(bob):
    prod_behind()
    rows = {r["application"]: r for r in logged_in(bob).get("/api/applications/versions").json()}
    assert rows["argocd/cto-controller"] == {
        "application": "argocd/cto-controller",
        "image": IMAGE,
        "latest_release": "v0.3.0",
        "latest_release_id": Release.objects.get(version="0.3.0").pk,
        "policy_tag": "v0.3.0",
        "parameter": "image.tag",
        "written": "v0.3.0",
        "running": "v0.2.9",
        "drift": ["running_behind_override"],
        "error": "",
    }
    assert rows["argocd/cto-controller-dev"]["drift"] == []


def test_the_versions_page_highlights_drift_and_is_in_the_nav(bob):
    prod_behind()
    client = logged_in(bob)
    page = client.get("/applications/versions/").content.decode()
    assert 'data-application="argocd/cto-controller" data-drift="running_behind_override"' in page
    assert 'class="behind"' in page
    assert 'href="/applications/versions/"' in client.get("/").content.decode()
    app_page = client.get("/applications/argocd/cto-controller/").content.decode()
    assert 'data-drift="running_behind_override"' in app_page


def test_the_overview_guards_the_release_automation(bob):
    for event in (
        dict(
            kind="release_pr",
            source="test",
            source_id="pr-41",
            occurred_at=at(0),
            repository=REPO,
            number=41,
            title="chore(main): release 0.2.9",
            version="0.2.9",
            state="merged",
            labels=["autorelease: pending"],
        ),
        dict(
            kind="release",
            source="test",
            source_id="rel",
            occurred_at=at(1),
            repository=REPO,
            version="0.2.9",
            tag="v0.2.9",
        ),
        dict(
            kind="release_plan",
            source="test",
            source_id="plan",
            occurred_at=at(2),
            repository=REPO,
            head_sha="a" * 40,
            current_version="0.2.8",
            next_version="0.3.0",
        ),
        dict(
            kind="release_pr",
            source="test",
            source_id="pr-42",
            occurred_at=at(3),
            repository=REPO,
            number=42,
            title="chore(main): release 0.3.0",
            version="0.3.0",
            state="open",
            labels=["autorelease: pending"],
        ),
    ):
        ingest(event)
    client = logged_in(bob)
    (health,) = client.get("/api/attention/automation").json()
    assert health["open_release_pr"] == 42 and health["open_release_pr_since"]
    assert health["merged_pending_prs"] == [41]
    assert health["releases_without_build"] == ["v0.2.9"]
    assert (health["manifest_version"], health["latest_tag"], health["manifest_behind"]) == (
        "0.2.8",
        "v0.2.9",
        True,
    )
    page = client.get("/").content.decode()
    assert 'id="automation"' in page and "#41 v0.2.9" in page and "0.2.8 behind v0.2.9" in page
