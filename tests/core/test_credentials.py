"""Credential references in the Image Updater's forms: one parser for every place that reads one."""

from __future__ import annotations

import pytest

from cdportal.core.credentials import (
    CredentialReference,
    CredentialReferenceError,
    parse_credential_reference,
    shape,
)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (
            "ghcr.io=pullsecret:argocd/ghcr",
            CredentialReference(
                "pullsecret",
                namespace="argocd",
                name="ghcr",
                field=".dockerconfigjson",
                registry="ghcr.io",
            ),
        ),
        ("ENV:GHCR", CredentialReference("env", variable="GHCR")),
        (
            "secret:argocd/registry#creds",
            CredentialReference("secret", namespace="argocd", name="registry", field="creds"),
        ),
        ("ext:/usr/local/bin/creds", CredentialReference("ext", script="/usr/local/bin/creds")),
    ],
)
def test_credential_sources(value, parsed):
    assert parse_credential_reference(value) == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ghcr-secret", "invalid credential spec: ghcr-secret"),
        ("vault:x", "unknown credential source: vault"),
        ("secret:argocd/x", "invalid secret definition: argocd/x"),
        ("pullsecret:x", "invalid secret definition: x"),
        ("env:a:b", "invalid credential spec: env:a:b"),
    ],
)
def test_bad_credential_sources(value, message):
    with pytest.raises(CredentialReferenceError, match=message):
        parse_credential_reference(value)


def test_a_registry_setting_needs_the_registry_prefix():
    with pytest.raises(CredentialReferenceError, match="invalid credential spec: env:GHCR"):
        parse_credential_reference("env:GHCR", require_registry=True)
    assert (
        parse_credential_reference("ghcr.io=env:GHCR", require_registry=True).registry == "ghcr.io"
    )


@pytest.mark.parametrize(
    "value",
    [
        "pullsecret:argocd/ghcr-pull",
        "secret:argocd/registry#creds",
        "env:GHCR_PULL",
        "ghcr.io=pullsecret:argocd/ghcr",
        "ext:/bin/creds",
    ],
)
def test_a_reference_reads_back_as_written(value):
    assert str(parse_credential_reference(value)) == value


def test_a_malformed_reference_is_shown_by_its_shape_only():
    assert shape("ci:ghp_S3cret") == "ci:…"
    assert shape("ghp_S3cret") == "…"
