"""The credentials check on the Image Updater page and on the API: operators only, the action log
records it, and a bystander server on 127.0.0.1 sees no request unless the secret names it."""

from __future__ import annotations

import json

import pytest
from helpers import pull_secret

from cdportal.api.models import ApiToken
from cdportal.pipeline.models import Action

PULL_SECRET = "pullsecret:argocd/ghcr-pull-secret"
FORM = 'action="/updater/credentials/"'


@pytest.fixture
def kube(argocd_cluster, bystander):
    """The cluster's pull secret names the bystander (and ghcr.io)."""
    argocd_cluster.seed_object(
        "v1/secrets",
        pull_secret(
            "ghcr-pull-secret",
            {bystander.host_port: ("ci", "hunter2"), "ghcr.io": ("ci", "hunter2")},
        ),
    )
    return argocd_cluster


def api_check(client, user, body):
    token = ApiToken.issue(user=user, name="tests")[1]
    return client.post(
        "/api/updater/credentials-check",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_viewers_see_no_credentials_form(client, bob, kube):
    client.force_login(bob)
    html = client.get("/updater/").content.decode()
    assert FORM not in html
    assert "Operators can check" in html


def test_operators_see_the_form(client, alice, kube):
    client.force_login(alice)
    assert FORM in client.get("/updater/").content.decode()


def test_a_viewer_gets_403_from_the_page_and_nothing_is_sent(client, bob, kube, bystander):
    client.force_login(bob)
    response = client.post(
        "/updater/credentials/", {"secret": PULL_SECRET, "registry": bystander.host_port}
    )
    assert response.status_code == 403
    assert bystander.log == []


def test_a_viewer_gets_403_from_the_api_and_nothing_is_sent(client, bob, kube, bystander):
    response = api_check(client, bob, {"secret": PULL_SECRET, "registry": bystander.host_port})
    assert response.status_code == 403
    assert "pipeline.check_registry_credentials" in response.json()["detail"]
    assert bystander.log == []


def test_an_operator_checks_from_the_page_and_the_log_shows_it(client, alice, bob, kube, bystander):
    client.force_login(alice)
    response = client.post(
        "/updater/credentials/",
        {"secret": PULL_SECRET, "registry": f"http://{bystander.host_port}/admin/any"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'<span class="badge ok">pass</span> secret argocd/ghcr-pull-secret has credentials for '
        f"{bystander.host_port}, and {bystander.host_port} accepted them" in html
    )
    assert {request.path for request, _ in bystander.log} == {"/v2/"}

    client.force_login(bob)
    log = client.get("/actions/", {"kind": "check_credentials"}).content.decode()
    assert (
        "Check registry credentials" in log and "argocd/ghcr-pull-secret" in log and "alice" in log
    )


def test_an_operator_naming_another_host_gets_400_and_it_is_logged(client, alice, kube, bystander):
    response = api_check(
        client,
        alice,
        {
            "secret": "secret:argocd/ghcr-pull-secret#.dockerconfigjson",
            "registry": "http://127.0.0.1:8197",
        },
    )
    assert response.status_code == 400
    assert "Nothing was sent" in response.json()["detail"]
    assert bystander.log == []

    (item,) = client.get(
        "/api/actions",
        {"kind": "check_credentials"},
        HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user=alice, name='log')[1]}",
    ).json()["items"]
    assert (item["by"], item["target"], item["status"]) == (
        "alice",
        "argocd/ghcr-pull-secret",
        "refused",
    )
    assert item["message"] == response.json()["detail"]


def test_the_page_says_why_an_unnamed_host_is_refused(client, alice, kube, bystander):
    client.force_login(alice)
    response = client.post(
        "/updater/credentials/", {"secret": PULL_SECRET, "registry": "evil.example:443"}
    )
    assert response.status_code == 400
    assert "only, not evil.example:443. Nothing was sent." in response.content.decode()
    assert bystander.log == []


def test_the_api_answers_with_the_outcome_and_the_action(client, alice, kube, bystander):
    response = api_check(client, alice, {"secret": PULL_SECRET, "registry": bystander.host_port})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and f"{bystander.host_port} accepted them" in body["reason"]
    assert body["action"]["kind"] == "check_credentials" and body["action"]["by"] == "alice"
    assert Action.objects.get(pk=body["action"]["id"]).status == Action.Status.SUCCEEDED
    assert "hunter2" not in response.content.decode()
