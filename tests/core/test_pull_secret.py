"""Registry pull secrets: which registries a dockerconfigjson Secret names, and its credentials."""

from __future__ import annotations

import base64
import json

import pytest

from cdportal.core.pull_secret import (
    check_pull_secret,
    pull_secret_credentials,
    pull_secret_registries,
    registry_host,
)

# --- pull secret --------------------------------------------------------------------------------

PASSWORD = "ghp_S3cretT0kenValue1234567890abcdef"
USERNAME = "5dlabs-bot"


def secret(
    auths: dict | None = None,
    *,
    kind: str = "kubernetes.io/dockerconfigjson",
    raw: str | None = None,
) -> dict:
    if raw is None:
        raw = base64.b64encode(json.dumps({"auths": auths or {}}).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ghcr-pull", "namespace": "argocd"},
        "type": kind,
        "data": {".dockerconfigjson": raw},
    }


def auth(user: str = USERNAME, password: str = PASSWORD) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_no_secret_values(reason: str, obj: dict | None) -> None:
    assert PASSWORD not in reason
    assert USERNAME not in reason
    assert auth() not in reason
    if obj is not None:
        for value in obj.get("data", {}).values():
            assert value not in reason


@pytest.mark.parametrize(
    "key, registry",
    [
        ("ghcr.io", "ghcr.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("ghcr.io", "https://ghcr.io/"),
        ("GHCR.io", "ghcr.io/5dlabs/controller"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("docker.io", "index.docker.io"),
        ("registry-1.docker.io", "https://index.docker.io/v1/"),
    ],
)
def test_a_matching_entry_is_accepted(key, registry):
    obj = secret({key: {"auth": auth()}})
    ok, reason = check_pull_secret(obj, registry)
    assert ok, reason
    assert_no_secret_values(reason, obj)
    assert pull_secret_credentials(obj, registry) == (USERNAME, PASSWORD)


def test_username_and_password_fields_work_too():
    obj = secret({"ghcr.io": {"username": USERNAME, "password": PASSWORD}})
    assert check_pull_secret(obj, "ghcr.io") == (
        True,
        "secret argocd/ghcr-pull has credentials for ghcr.io",
    )
    assert pull_secret_credentials(obj, "ghcr.io") == (USERNAME, PASSWORD)


def test_a_password_with_colons_survives():
    obj = secret({"ghcr.io": {"auth": auth(password="a:b:c")}})
    assert pull_secret_credentials(obj, "ghcr.io") == (USERNAME, "a:b:c")


@pytest.mark.parametrize(
    "obj, expected",
    [
        (None, "the pull secret does not exist"),
        (
            secret({"ghcr.io": {"auth": auth()}}, kind="Opaque"),
            "secret argocd/ghcr-pull has type 'Opaque', expected 'kubernetes.io/dockerconfigjson'",
        ),
        (
            secret({"quay.io": {"auth": auth()}, "https://index.docker.io/v1/": {"auth": auth()}}),
            "secret argocd/ghcr-pull has no entry for ghcr.io",
        ),
        (
            secret({"ghcr.io": {"username": USERNAME}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret({"ghcr.io": {"auth": base64.b64encode(PASSWORD.encode()).decode()}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret({"ghcr.io": {"auth": PASSWORD + "!"}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret(raw=base64.b64encode(f'{{"auths": "{PASSWORD}'.encode()).decode()),
            "secret argocd/ghcr-pull: .dockerconfigjson is not valid base64-encoded JSON",
        ),
        (
            secret(raw=PASSWORD + "!"),
            "secret argocd/ghcr-pull: .dockerconfigjson is not valid base64-encoded JSON",
        ),
        (
            {**secret(), "data": {"username": base64.b64encode(PASSWORD.encode()).decode()}},
            "secret argocd/ghcr-pull has no .dockerconfigjson key",
        ),
    ],
)
def test_a_bad_secret_is_refused_without_revealing_it(obj, expected):
    ok, reason = check_pull_secret(obj, "ghcr.io")
    assert (ok, reason) == (False, expected)
    assert_no_secret_values(reason, obj)
    with pytest.raises(ValueError) as excinfo:
        pull_secret_credentials(obj, "ghcr.io")
    assert str(excinfo.value) == expected
    assert_no_secret_values(str(excinfo.value), obj)


def test_the_registries_a_pull_secret_names_are_its_auths_keys_as_hosts():
    obj = secret(
        {
            "https://index.docker.io/v1/": {"auth": auth()},
            "GHCR.io": {"auth": auth()},
            "127.0.0.1:5000": {"auth": auth()},
        }
    )
    assert pull_secret_registries(obj) == (["127.0.0.1:5000", "docker.io", "ghcr.io"], "")
    assert pull_secret_registries(secret({"ghcr.io": {"auth": auth()}}, kind="Opaque"))[0] == []
    assert pull_secret_registries(secret({})) == (
        [],
        "secret argocd/ghcr-pull: .dockerconfigjson names no registry",
    )


@pytest.mark.parametrize(
    "value, host",
    [
        ("http://127.0.0.1:8102/admin/any", "127.0.0.1:8102"),
        ("HTTPS://GHCR.io/", "ghcr.io"),
        ("index.docker.io", "docker.io"),
        ("user@evil.example", "user@evil.example"),  # not a host[:port]: matches no auths key
    ],
)
def test_registry_host_drops_scheme_and_path(value, host):
    assert registry_host(value) == host
