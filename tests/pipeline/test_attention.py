"""The overview's "Needs attention": what is broken or not converging, why, and where to act."""

from __future__ import annotations

from kube_stub import load

from cdportal.adapters.kubernetes.argocd import application_event
from cdportal.live import broadcast
from cdportal.pipeline.attention import BAD, WARN, problems
from cdportal.pipeline.changes import Changes
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import UpdaterDeployment


def observe(stem: str, **status):
    obj = load(stem)
    obj["status"].update(status)
    return ingest(application_event(obj)).event.application


def test_a_healthy_synced_application_needs_nothing(db):
    observe("01")
    assert problems() == []


def test_a_failed_sync_says_why_and_links_the_application(db):
    app = observe("07")  # billing: operation Failed, a SyncError condition
    found = [p for p in problems() if p.subject == app.name]
    # its SyncError condition says the same as the failed operation: one line, not two
    assert [(p.severity, p.what) for p in found] == [(BAD, "sync failed")]
    assert found[0].url == f"/applications/{app.namespace}/{app.name}/"
    assert "must be less than or equal to memory limit" in found[0].why


def test_degraded_is_broken_and_out_of_sync_without_a_sync_is_a_warning(db):
    observe("03")  # controller-dev: Degraded
    observe("05")  # docs-site: OutOfSync, Healthy, no operation running
    by_subject = {p.subject: p for p in problems()}
    degraded = next(p for p in by_subject.values() if p.what == "Degraded")
    assert degraded.severity == BAD and degraded.why
    out_of_sync = by_subject["docs-site"]
    assert (out_of_sync.severity, out_of_sync.what) == (WARN, "OutOfSync")
    assert [p.severity for p in problems()] == sorted(
        (p.severity for p in problems()), key=lambda s: s != BAD
    )


def test_a_comparison_error_is_shown_once_with_argo_cds_message(db):
    app = observe("09")
    found = [p for p in problems() if p.subject == app.name]
    assert [p.what for p in found] == ["ComparisonError"]
    assert "range can't iterate" in found[0].why


def test_an_image_updater_without_a_ready_pod_is_broken(db):
    UpdaterDeployment.objects.create(
        namespace="argocd",
        name="argocd-image-updater-controller",
        replicas_desired=1,
        replicas_ready=0,
        rollout_message="0 of 1 updated replicas are available...",
    )
    (problem,) = problems()
    assert (problem.severity, problem.what, problem.url) == (BAD, "no ready pod", "/updater/")


def test_the_overview_shows_them_and_the_api_returns_them(bob, client):
    observe("07")
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert 'id="attention" class="card wide attention"' in html and "sync failed" in html
    body = client.get("/api/attention").json()
    assert body[0]["severity"] == "bad" and body[0]["url"].startswith("/applications/")


def test_an_application_change_re_renders_the_panel_for_open_overviews(db):
    app = observe("01")
    fragments = broadcast.render_fragments(Changes(applications={app.pk}))
    assert "Nothing needs attention" in fragments[broadcast.OVERVIEW]["attention"]
    observe("03")
    fragments = broadcast.render_fragments(Changes(applications={app.pk}))
    assert "Degraded" in fragments[broadcast.OVERVIEW]["attention"]


def test_a_release_built_long_ago_that_no_updater_saw_is_waiting_longer_than_usual(db):
    from helpers import journey

    for event in journey()[:5]:  # merged, Release PR, released, built, pushed — then nothing
        ingest(event)
    (problem,) = problems()
    assert (problem.severity, problem.what) == (WARN, "waiting for Seen by the updater")
    assert problem.why.endswith("(no history yet)") and problem.url.startswith("/releases/")


def test_an_image_updater_resource_in_error_needs_attention(db):
    from cdportal.pipeline.models import ImageUpdaterConfig

    ImageUpdaterConfig.objects.create(
        namespace="argocd",
        name="cto-controller",
        spec={},
        error="could not get tags from registry ghcr.io: 401 Unauthorized",
    )
    (problem,) = problems()
    assert (problem.severity, problem.subject, problem.what) == (
        BAD,
        "ImageUpdater argocd/cto-controller",
        "updater error",
    )
    assert "401 Unauthorized" in problem.why and problem.url == "/updater/"
