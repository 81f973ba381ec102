"""The registry credentials check as an operator action: it talks only to registries the pull
secret (or REGISTRY_CREDENTIALS) names, only at /v2/, and every attempt past the permission check
is in the action log. Against the Kubernetes API emulator, a real token-mode Distribution
registry, and a bystander HTTP server on 127.0.0.1 that must receive nothing."""

from __future__ import annotations

import base64

import pytest
from helpers import pull_secret
from kube_stub import Kube
from registry_fixtures import PASSWORD, USER

from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Action

pytest_plugins = ["registry_fixtures"]
pytestmark = pytest.mark.django_db
PULL_SECRET = "pullsecret:argocd/ghcr-pull-secret"


@pytest.fixture
def kube():
    k = Kube()
    yield k
    k.close()


def check(kube, by, secret=PULL_SECRET, registry=""):
    return updater_actions.check_credentials(
        by=by, secret=secret, registry=registry, api_client=kube.api_client
    )


def opaque(name, field, value):
    return {
        "metadata": {"name": name, "namespace": "argocd"},
        "type": "Opaque",
        "data": {field: base64.b64encode(value.encode()).decode()},
    }


def test_it_checks_the_registry_the_pull_secret_names(kube, alice, token_registry):
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {token_registry.host: (USER, PASSWORD)})
    )

    action = check(kube, alice)

    assert action.status == Action.Status.SUCCEEDED, action.message
    assert action.kind == Action.Kind.CHECK_CREDENTIALS and action.by_name == "alice"
    assert action.target == "argocd/ghcr-pull-secret"
    assert action.parameters == {"secret": PULL_SECRET, "registry": token_registry.host}
    assert f"{token_registry.host} accepted them" in action.message
    assert PASSWORD not in action.message


def test_wrong_credentials_fail_the_check_in_the_registrys_words(kube, alice, token_registry):
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {token_registry.host: (USER, "wrong")})
    )

    action = check(kube, alice, registry=token_registry.host)

    assert action.status == Action.Status.FAILED and "refused" in action.message
    assert "wrong" not in action.message


def test_it_refuses_a_registry_the_secret_does_not_name_and_sends_nothing(kube, alice, bystander):
    kube.seed_object("v1/secrets", pull_secret("ghcr-pull-secret", {"ghcr.io": ("ci", "hunter2")}))

    with pytest.raises(ActionRefused) as refused:
        check(kube, alice, registry=f"http://{bystander.host_port}")

    assert refused.value.status == 400
    assert str(refused.value) == (
        f"secret argocd/ghcr-pull-secret has entries for ghcr.io only, "
        f"not {bystander.host_port}. Nothing was sent."
    )
    assert bystander.log == []
    (action,) = Action.objects.all()
    assert (action.kind, action.by_name, action.status) == (
        Action.Kind.CHECK_CREDENTIALS,
        "alice",
        "refused",
    )
    assert action.message == str(refused.value)


def test_the_reported_request_sends_the_secret_nowhere(kube, alice, bystander):
    """Issue 11: a secret: reference to the dockerconfigjson field and a URL of one's choosing."""
    kube.seed_object("v1/secrets", pull_secret("ghcr-pull-secret", {"ghcr.io": ("ci", "hunter2")}))

    with pytest.raises(ActionRefused) as refused:
        check(
            kube,
            alice,
            secret="secret:argocd/ghcr-pull-secret#.dockerconfigjson",
            registry=f"http://{bystander.host_port}",
        )

    assert refused.value.status == 400
    assert (
        "REGISTRY_CREDENTIALS names secret:argocd/ghcr-pull-secret#.dockerconfigjson for no registry"
        in str(refused.value)
    )
    assert bystander.log == []
    assert Action.objects.get().status == Action.Status.REFUSED


def test_a_path_in_the_registry_value_is_never_requested(kube, alice, bystander):
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {bystander.host_port: ("ci", "hunter2")})
    )

    action = check(kube, alice, registry=f"http://{bystander.host_port}/admin/any")

    assert action.status == Action.Status.SUCCEEDED, action.message
    paths = [request.path for request, _ in bystander.log]
    assert paths and set(paths) == {"/v2/"}
    assert action.parameters["registry"] == bystander.host_port


def test_a_secret_field_goes_only_to_the_registries_configured_for_it(
    kube, alice, bystander, settings
):
    reference = "secret:argocd/ci-token#token"
    settings.REGISTRY_CREDENTIALS = {bystander.host_port: reference, "ghcr.io": "env:GHCR"}
    kube.seed_object("v1/secrets", opaque("ci-token", "token", "ci:hunter2"))

    with pytest.raises(ActionRefused, match=f"names {reference} for {bystander.host_port} only"):
        check(kube, alice, secret=reference, registry="ghcr.io")
    assert bystander.log == []

    action = check(kube, alice, secret=reference)
    assert action.status == Action.Status.SUCCEEDED, action.message
    assert {request.path for request, _ in bystander.log} == {"/v2/"}


def test_a_dockerconfigjson_is_never_sent_as_a_password(kube, alice, bystander, settings):
    reference = "secret:argocd/ghcr-pull-secret#.dockerconfigjson"
    settings.REGISTRY_CREDENTIALS = {bystander.host_port: reference}
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {bystander.host_port: ("ci", "hunter2")})
    )

    action = check(kube, alice, secret=reference)

    assert action.status == Action.Status.FAILED
    assert "holds a dockerconfigjson: use pullsecret:argocd/ghcr-pull-secret" in action.message
    assert bystander.log == []


def test_it_asks_which_registry_when_the_secret_names_several(kube, alice, bystander):
    kube.seed_object(
        "v1/secrets",
        pull_secret("ghcr-pull-secret", {"ghcr.io": ("a", "b"), "quay.io": ("c", "d")}),
    )

    with pytest.raises(ActionRefused, match="name one of ghcr.io, quay.io"):
        check(kube, alice)


def test_it_forbids_viewers_before_reading_anything(kube, bob, bystander):
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {bystander.host_port: ("ci", "hunter2")})
    )

    with pytest.raises(ActionRefused) as refused:
        check(kube, bob, registry=bystander.host_port)

    assert refused.value.status == 403
    assert "pipeline.check_registry_credentials" in str(refused.value)
    assert bystander.log == []


def test_the_command_checks_as_the_operator_it_names(
    kube, alice, bob, bystander, settings, tmp_path
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.KUBECONFIG, settings.KUBE_CONTEXT = kube.kubeconfig(tmp_path), ""
    kube.seed_object(
        "v1/secrets", pull_secret("ghcr-pull-secret", {bystander.host_port: ("ci", "hunter2")})
    )

    with pytest.raises(CommandError, match="pipeline.check_registry_credentials"):
        call_command("updater", "check-credentials", "--user", "bob", "--secret", PULL_SECRET)
    assert bystander.log == []

    out = StringIO()
    call_command(
        "updater", "check-credentials", "--user", "alice", "--secret", PULL_SECRET, stdout=out
    )
    assert out.getvalue().startswith(
        f"pass: secret argocd/ghcr-pull-secret has credentials for {bystander.host_port}"
    )
    assert [(a.by_name, a.status) for a in Action.objects.order_by("pk")] == [
        ("bob", Action.Status.REFUSED),
        ("alice", Action.Status.SUCCEEDED),
    ]
