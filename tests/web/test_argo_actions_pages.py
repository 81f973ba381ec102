"""The Actions card on the application page, the confirmation pages and the POST flow, against
the Kubernetes API emulator reached through a kubeconfig (settings.KUBECONFIG)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from kube_stub import APPS

from cdportal.pipeline.models import Action

PAGE = "/applications/argocd/controller/"


@pytest.fixture
def kube(argocd_cluster):
    return argocd_cluster


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf(client, page=PAGE) -> str:
    client.get(page)
    return client.cookies["csrftoken"].value


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def live(kube, name):
    return kube.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], name)


def review(client, verb, page=PAGE, **fields) -> str:
    response = client.post(
        f"{page}{verb}/review/", {"csrfmiddlewaretoken": csrf(client, page), **fields}
    )
    assert response.status_code == 200, response.content.decode()
    return response.content.decode()


def confirm(client, verb, form, page=PAGE):
    return client.post(f"{page}{verb}/", {**form, "csrfmiddlewaretoken": csrf(client, page)})


def test_alice_the_operator_sees_the_action_buttons(alice, kube):
    html = browser(alice).get(PAGE).content.decode()
    assert (
        'id="app-' in html
        and "Force sync…" in html
        and "Hard refresh…" in html
        and "Terminate operation…" in html
    )


def test_bob_the_viewer_sees_no_buttons_and_cannot_post(bob, kube):
    client = browser(bob)
    assert "Force sync…" not in client.get(PAGE).content.decode()
    response = client.post(f"{PAGE}sync/review/", {"csrfmiddlewaretoken": csrf(client)})
    assert response.status_code == 403
    assert "operation" not in live(kube, "controller")


def test_the_confirmation_says_exactly_what_will_happen(alice, kube):
    html = review(browser(alice), "sync", prune="on")
    assert "patch argocd/controller: .operation.sync with prune=true" in html
    assert "initiated by alice" in html
    assert len(hidden(html)["idempotency_key"]) == 32
    assert "operation" not in live(kube, "controller")  # nothing happens before confirming


def test_confirming_syncs_and_a_double_click_is_one_action(alice, kube):
    client = browser(alice)
    form = hidden(review(client, "sync", prune="on"))

    first = confirm(client, "sync", form)
    again = confirm(client, "sync", form)

    assert first.status_code == again.status_code == 200
    assert "sync requested on argocd/controller (prune=true)" in first.content.decode()
    assert Action.objects.count() == 1
    assert live(kube, "controller")["operation"]["initiatedBy"] == {"username": "alice"}


def test_a_sync_while_an_operation_runs_is_refused_with_the_reason_and_offers_terminate(
    alice, kube
):
    page = "/applications/argocd/api-gateway/"
    client = browser(alice)
    response = confirm(client, "sync", hidden(review(client, "sync", page=page)), page=page)

    html = response.content.decode()
    assert response.status_code == 409
    assert "Another operation is already in progress" in html
    assert "Terminate the running operation…" in html
    assert Action.objects.get().status == Action.Status.REFUSED


def test_alice_terminates_api_gateways_sync(alice, kube):
    page = "/applications/argocd/api-gateway/"
    client = browser(alice)
    html = review(client, "terminate", page=page)
    assert "status.operationState.phase=Terminating" in html
    response = confirm(client, "terminate", hidden(html), page=page)
    assert response.status_code == 200
    assert live(kube, "api-gateway")["status"]["operationState"]["phase"] == "Terminating"


def test_an_unknown_verb_is_404(alice, kube):
    client = browser(alice)
    assert (
        client.post(f"{PAGE}delete/review/", {"csrfmiddlewaretoken": csrf(client)}).status_code
        == 404
    )
