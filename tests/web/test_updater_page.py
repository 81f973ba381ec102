"""The Image Updater page without a reachable cluster still answers, and says why."""

import pytest

pytestmark = pytest.mark.django_db


def test_without_a_cluster_the_page_explains(client, alice, settings, tmp_path):
    settings.KUBECONFIG = str(tmp_path / "missing-kubeconfig")
    client.force_login(alice)
    response = client.get("/updater/")
    assert response.status_code == 200
    assert b"Image Updater" in response.content


def test_viewers_cannot_restart(client, bob, settings, tmp_path):
    settings.KUBECONFIG = str(tmp_path / "missing-kubeconfig")
    client.force_login(bob)
    assert client.post("/updater/restart/review/").status_code == 403


def test_the_api_explains_a_missing_cluster(client, alice, settings, tmp_path):
    settings.KUBECONFIG = str(tmp_path / "missing-kubeconfig")
    client.force_login(alice)
    response = client.get("/api/updater")
    assert response.status_code in (404, 503)
    assert response.json()["detail"]
    assert (
        client.post("/api/updater/restart", {}, content_type="application/json").status_code == 503
    )


def test_the_command_says_why_without_a_cluster(settings, tmp_path):
    from django.core.management import CommandError, call_command

    settings.KUBECONFIG = str(tmp_path / "missing-kubeconfig")
    with pytest.raises(CommandError, match="Kubernetes client"):
        call_command("updater", "status")
    with pytest.raises(CommandError, match="no user named"):
        call_command("updater", "restart", "--user", "nobody", "--yes")


def test_the_page_lists_the_imageupdater_resources_and_their_state(bob, client, settings):
    from cdportal.pipeline.models import ImageUpdaterConfig

    settings.KUBECONFIG = (
        "/nonexistent/kubeconfig"  # the Deployment cannot be read: the list still shows
    )
    ImageUpdaterConfig.objects.create(
        namespace="argocd",
        name="cto-controller",
        spec={"applicationRefs": [{"namePattern": "controller*", "useAnnotations": True}]},
        ready="Reconciled 4 applications, 0 images updated.",
    )
    client.force_login(bob)
    html = client.get("/updater/").content.decode()
    assert 'id="updater-resources"' in html and "<code>argocd/cto-controller</code>" in html
    assert "<code>controller*</code> <small>(annotations)</small>" in html
    assert "Reconciled 4 applications, 0 images updated." in html
