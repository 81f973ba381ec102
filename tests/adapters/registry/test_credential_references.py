"""One parser for credential references: start-up, the registry client, the credentials check and
the image list read the same string alike (core/credentials.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from cdportal.adapters.kubernetes import updater
from cdportal.adapters.registry.client import parse_credentials
from cdportal.adapters.registry.errors import RegistryError
from cdportal.core.credentials import parse_credential_reference
from cdportal.core.image_list import pull_secret_source
from cdportal.core.tag_policy import ImagePolicy
from cdportal.env import env_registry_credentials


@pytest.mark.parametrize(
    "reference", ["PULLSECRET:argocd/ghcr-pull", "Secret:argocd/registry#creds"]
)
def test_a_secret_reference_is_accepted_alike_everywhere(reference):
    # Formerly the image list (the Image Updater's own reading: the type in any case) took these,
    # while start-up (REGISTRY_CREDENTIALS) and the credentials check refused them.
    parsed = parse_credential_reference(reference)
    assert env_registry_credentials("RC", {"RC": f"ghcr.io={reference}"}) == {"ghcr.io": reference}
    field = parsed.field if parsed.kind == "secret" else None
    assert updater.parse_reference(reference) == (parsed.namespace, parsed.name, field)
    assert "error" not in pull_secret_source(ImagePolicy(pull_secret=reference))
    # The registry client reads it as a reference too; what it lacks is a way to read the Secret.
    with pytest.raises(RegistryError, match=r"need the Kubernetes adapter"):
        parse_credentials(reference)


def test_an_env_reference_is_read_alike_at_start_up_and_at_the_first_scan():
    # Formerly start-up refused a variable name the Image Updater (and the image list) accepts.
    assert env_registry_credentials("RC", {"RC": "ghcr.io=env:ghcr-pull"}) == {
        "ghcr.io": "env:ghcr-pull"
    }
    assert parse_credentials("env:ghcr-pull", environ={"ghcr-pull": "bot:token"}).username == "bot"
    assert "error" not in pull_secret_source(ImagePolicy(pull_secret="env:ghcr-pull"))


@pytest.mark.parametrize("reference", ["secret:argocd/x", "pullsecret:x", "vault:x", "env:a:b"])
def test_a_malformed_reference_is_refused_alike_everywhere(reference):
    with pytest.raises(ImproperlyConfigured):
        env_registry_credentials("RC", {"RC": f"ghcr.io={reference}"})
    with pytest.raises(RegistryError, match="registry credentials must be"):
        parse_credentials(reference)
    with pytest.raises(ValueError, match="the pull secret reference must be"):
        updater.parse_reference(reference)
    assert "error" in pull_secret_source(ImagePolicy(pull_secret=reference))
