"""The overview's "Needs attention": what is broken or not converging, why, and where to act."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from helpers import journey
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
    from helpers import PROD, journey, synced

    for event in journey()[:5]:  # merged, Release PR, released, built, pushed — then nothing
        ingest(event)
    # No application tracks the image: the release stops at stage 4, nothing is waiting.
    assert problems() == []
    ingest({**synced("0.2.9", PROD, 16), "source_id": "prod-on-0.2.9"})  # tracks it, runs older
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


# --- a state Argo CD is about to resolve by itself is not a problem until it outlasts its time ---


def rollout_state(
    ago: timedelta,
    *,
    sync: str = "OutOfSync",
    health: str = "Healthy",
    auto_sync: bool = True,
    name: str = "controller",
    version: int = 1,
):
    """Argo CD's controller Application (fixture 01) as the watcher saw it `ago`."""
    obj = load("01")
    obj["metadata"].update(name=name, resourceVersion=str(90000 + version))
    obj["status"]["sync"]["status"] = sync
    obj["status"]["health"] = {"status": health, "message": "waiting for rollout to finish"}
    if not auto_sync:
        del obj["spec"]["syncPolicy"]
    return ingest(application_event(obj, observed_at=timezone.now() - ago)).event.application


def shipped_once():
    """One release through all seven stages: parameter updated → synced and healthy took 2 min."""
    for event in journey():
        ingest(event)


def listed(name: str = "controller") -> list:
    return [p for p in problems() if p.subject == name]


def test_an_out_of_sync_application_auto_sync_is_about_to_sync_is_not_listed(db):
    shipped_once()
    rollout_state(timedelta(seconds=5))
    assert listed() == []


def test_it_is_listed_with_how_long_once_it_outlasts_the_usual_sync_time(db):
    shipped_once()
    rollout_state(timedelta(minutes=5), version=1)
    rollout_state(timedelta(seconds=10), version=2)  # still OutOfSync: the state began 5 min ago
    (problem,) = listed()
    assert (problem.severity, problem.what) == (WARN, "OutOfSync")
    assert problem.why == "for 5m 00s and no sync is running (usually synced within 2m 00s)"
    assert timezone.now() - problem.since >= timedelta(minutes=5)


def test_a_fresh_out_of_sync_counts_from_when_it_left_synced(db):
    shipped_once()
    rollout_state(timedelta(minutes=30), sync="Synced", version=1)
    rollout_state(timedelta(minutes=1), version=2)
    assert listed() == []


def test_with_auto_sync_off_it_is_listed_at_once(db):
    shipped_once()
    rollout_state(timedelta(seconds=5), auto_sync=False)
    (problem,) = listed()
    assert (problem.severity, problem.what) == (WARN, "OutOfSync")
    assert problem.why.startswith("auto-sync is off")


def test_without_history_a_configurable_grace_applies(db, settings):
    rollout_state(timedelta(minutes=2))
    assert listed() == []  # the default grace is 3 minutes
    settings.ATTENTION_GRACE_SECONDS = 60
    (problem,) = listed()
    assert problem.why == "for 2m 00s and no sync is running (no history yet; 1m 00s allowed)"


def test_progressing_is_listed_only_once_it_outlasts_the_usual_time(db):
    shipped_once()
    rollout_state(timedelta(seconds=30), sync="Synced", health="Progressing")
    assert listed() == []
    rollout_state(timedelta(minutes=9), sync="Synced", health="Progressing", name="staging")
    (problem,) = listed("staging")
    assert (problem.severity, problem.what) == (WARN, "Progressing")
    assert problem.why.startswith("for 9m 00s (usually healthy within 2m 00s)")


def test_the_overview_and_the_api_leave_a_normal_rollout_out(argocd_cluster, bob, client):
    """The watcher reads the emulated cluster: controller (auto-sync) was just written back by the
    updater; docs (no auto-sync) too. Only docs needs someone."""
    for name, auto_sync in (("controller", True), ("docs", False)):
        obj = load("01")
        obj["metadata"].update(name=name, resourceVersion="777")
        obj["status"]["sync"]["status"] = "OutOfSync"
        if not auto_sync:
            del obj["spec"]["syncPolicy"]
        argocd_cluster.seed(obj)
    call_command("watch-argocd", "--once", "--namespace", "argocd")
    broadcast.flush()
    client.force_login(bob)
    body = client.get("/api/attention").json()
    assert [(p["subject"], p["what"]) for p in body] == [("docs", "OutOfSync")]
    html = client.get("/").content.decode()
    assert (
        "auto-sync is off" in html
        and ">controller<" not in html.split('id="attention"')[1].split("</section>")[0]
    )


def test_the_panel_takes_the_same_queries_however_large_the_fleet(db):
    """Settled applications are not read at all, and when each of the others entered its state
    is a column, not a read of its event log: 3 or 30 OutOfSync applications and 3 or 300
    settled ones take the same queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def fleet(stem: str, count: int, prefix: str) -> None:
        for n in range(count):
            obj = load(stem)
            name = f"{prefix}-{n}"
            obj["metadata"] = {**obj["metadata"], "name": name, "uid": name}
            ingest(application_event(obj))

    fleet("01", 3, "settled-a")
    fleet("05", 3, "behind-a")  # OutOfSync, auto-sync off: listed at once
    with CaptureQueriesContext(connection) as small:
        assert len(problems()) == 3
    fleet("01", 300, "settled-b")
    fleet("05", 27, "behind-b")
    with CaptureQueriesContext(connection) as large:
        assert len(problems()) == 30
    assert len(large) == len(small)
