"""The action log: every attempt with its outcome, for anyone logged in, filterable, and on the API."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cdportal.pipeline.models import Action


def record(user, kind, target, *, status=Action.Status.SUCCEEDED, message="done", seconds=3):
    started = timezone.now() - timedelta(minutes=5)
    return Action.objects.create(
        kind=kind,
        target=target,
        by=user,
        by_name=user.username,
        status=status,
        message=message,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if status != "running" else None,
    )


def test_a_viewer_reads_every_action_with_its_outcome_and_duration(alice, bob, client):
    record(
        alice,
        Action.Kind.FORCE_SYNC,
        "argocd/controller",
        message="sync requested on argocd/controller",
    )
    record(
        alice,
        Action.Kind.RESTART_UPDATER,
        "argocd/argocd-image-updater-controller",
        status=Action.Status.FAILED,
        message="timed out waiting for the condition",
        seconds=300,
    )
    client.force_login(bob)
    html = client.get("/actions/").content.decode()
    assert "Force sync" in html and "sync requested on argocd/controller" in html
    assert '<span class="badge bad">Failed</span> timed out waiting for the condition' in html
    assert "5m 00s" in html


def test_filters_narrow_the_log_and_a_bad_filter_says_why(alice, bob, client):
    record(alice, Action.Kind.FORCE_SYNC, "argocd/controller")
    record(alice, Action.Kind.HARD_REFRESH, "argocd/docs-site")
    client.force_login(bob)
    html = client.get("/actions/", {"target": "argocd/docs-site"}).content.decode()
    assert "argocd/docs-site" in html and "argocd/controller</code>" not in html
    bad = client.get("/actions/", {"kind": "reboot"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_the_api_lists_and_reads_actions(alice, bob, client):
    first = record(alice, Action.Kind.FORCE_SYNC, "argocd/controller")
    record(alice, Action.Kind.TERMINATE, "argocd/api-gateway", status=Action.Status.FAILED)
    client.force_login(bob)
    body = client.get("/api/actions", {"status": "failed"}).json()
    assert [item["target"] for item in body["items"]] == ["argocd/api-gateway"]
    one = client.get(f"/api/actions/{first.pk}").json()
    assert (one["kind"], one["by"], one["status"]) == ("force_sync", "alice", "succeeded")
    assert client.get("/api/actions/999999").status_code == 404


def test_the_application_page_shows_its_recent_actions_to_operators(alice, client):
    from kube_stub import load

    from cdportal.adapters.kubernetes.argocd import application_event
    from cdportal.pipeline.ingest import ingest

    app = ingest(application_event(load("01"))).event.application
    record(
        alice, Action.Kind.HARD_REFRESH, app.key, message="hard refresh of argocd/controller done"
    )
    client.force_login(alice)
    html = client.get(f"/applications/{app.namespace}/{app.name}/").content.decode()
    assert "alice: Hard refresh" in html and "hard refresh of argocd/controller done" in html
    assert f"/actions/?target={app.namespace}/{app.name}" in html


def test_the_unfiltered_log_follows_live_and_a_filtered_one_does_not(bob, client):
    client.force_login(bob)
    assert 'ws-connect="/ws/live/actions/"' in client.get("/actions/").content.decode()
    assert (
        'ws-connect="/ws/live/actions/"'
        not in client.get("/actions/", {"by": "alice"}).content.decode()
    )


def test_an_applications_recent_actions_are_rendered_for_its_page_group(alice, db):
    from kube_stub import load

    from cdportal.adapters.kubernetes.argocd import application_event
    from cdportal.live import broadcast
    from cdportal.pipeline.changes import Changes
    from cdportal.pipeline.ingest import ingest

    app = ingest(application_event(load("01"))).event.application
    action = record(
        alice, Action.Kind.FORCE_SYNC, app.key, message="sync requested on argocd/controller"
    )
    fragments = broadcast.render_fragments(Changes(actions={action.pk}))
    html = fragments[broadcast.application_group(app.pk)][f"app-{app.pk}-recent-actions"]
    assert 'hx-swap-oob="true"' in html and "alice: Force sync" in html
    assert "sync requested on argocd/controller" in fragments[broadcast.ACTIONS]["action-log"]
