"""The overview summarises a large fleet; the applications page pages through all of it."""

import pytest
from helpers import at

from cdportal.pipeline import queries
from cdportal.pipeline.ingest import ingest

pytestmark = pytest.mark.django_db


def _observe(n: int, *, sync="Synced", health="Healthy", namespace="argocd") -> None:
    ingest(
        dict(
            kind="application",
            source="test",
            source_id=f"app-{namespace}-{n}-{sync}-{health}",
            occurred_at=at(n / 100),
            namespace=namespace,
            name=f"svc-{n:03d}",
            sync_status=sync,
            health_status=health,
        )
    )


@pytest.fixture
def fleet():
    """60 applications: svc-007 Degraded, svc-042 OutOfSync, the rest synced and healthy."""
    for n in range(60):
        if n == 7:
            _observe(n, health="Degraded")
        elif n == 42:
            _observe(n, sync="OutOfSync")
        else:
            _observe(n)


def test_the_overview_lists_those_needing_a_look_first_and_counts_all(client, bob, fleet):
    client.force_login(bob)
    html = client.get("/").content.decode()
    section = html[html.index('id="applications"') : html.index('id="tags"')]
    assert "58 synced and healthy · 1 OutOfSync · 1 Degraded or Missing" in section
    assert section.count('id="app-row-') == queries.OVERVIEW_APPLICATIONS
    assert section.index("svc-007") < section.index("svc-000")
    assert section.index("svc-042") < section.index("svc-000")
    assert "svc-059" not in section  # the 51st settled one: on the applications page
    assert 'href="/applications/"' in section and "All 60 applications" in section


def test_the_applications_page_pages_and_filters(client, bob, fleet):
    client.force_login(bob)
    first = client.get("/applications/").content.decode()  # 60 fit on one page of 100
    assert "svc-000" in first and "svc-059" in first and "page 1 of" not in first
    narrow = client.get("/applications/?health=Degraded").content.decode()
    assert "svc-007" in narrow and "svc-000" not in narrow
    named = client.get("/applications/?q=svc-04").content.decode()
    assert "svc-042" in named and "svc-041" in named and "svc-007" not in named


def test_the_applications_page_has_more_pages_when_the_fleet_is_large(
    client, bob, fleet, monkeypatch
):
    monkeypatch.setattr(queries, "APPLICATIONS_PAGE", 25)
    client.force_login(bob)
    third = client.get("/applications/?namespace=argocd&page=3").content.decode()
    assert "page 3 of 3" in third and "svc-050" in third and "svc-049" not in third
    assert 'href="?namespace=argocd&amp;page=2"' in third


def test_a_bad_filter_says_what_is_wrong(client, bob, fleet):
    client.force_login(bob)
    response = client.get("/applications/?sync=%3Cscript%3E")
    assert response.status_code == 400
    assert "Enter a valid value." in response.content.decode()
    assert client.get("/applications/?page=999").status_code == 200  # the last page
