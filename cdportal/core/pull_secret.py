"""Registry pull secrets: which registries a `kubernetes.io/dockerconfigjson` Secret holds
credentials for, and the username and password it gives one of them.

Pure Python; messages name the Secret, never its content. See docs/registry.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


# --- registry pull secret ---------------------------------------------------------------------


def registry_host(value: str) -> str:
    """The registry a value names, as host[:port] the way docker keys its config: scheme and path
    dropped, lowercased, Docker Hub's aliases as docker.io."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip().lower())
    host = host.split("/", 1)[0]
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _describe(secret: dict) -> str:
    meta = _meta(secret)
    if meta.get("namespace"):
        return f"secret {meta['namespace']}/{meta.get('name', '')}"
    return f"secret {meta.get('name', '')}"


def _auths(secret: dict | None) -> tuple[dict | None, str]:
    """The dockerconfigjson's `auths`, or None and a reason that quotes no secret value."""
    if secret is None:
        return None, "the pull secret does not exist"
    what = _describe(secret)
    kind = secret.get("type")
    if kind != DOCKERCONFIGJSON:
        return None, f"{what} has type {kind!r}, expected {DOCKERCONFIGJSON!r}"
    raw = (secret.get("data") or {}).get(".dockerconfigjson")
    try:
        if raw is not None:
            config = json.loads(base64.b64decode(raw, validate=True))
        else:
            config = json.loads((secret.get("stringData") or {})[".dockerconfigjson"])
    except KeyError:
        return None, f"{what} has no .dockerconfigjson key"
    except (binascii.Error, ValueError):
        return None, f"{what}: .dockerconfigjson is not valid base64-encoded JSON"
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        return None, f"{what}: .dockerconfigjson has no auths"
    return auths, ""


def pull_secret_registries(secret: dict | None) -> tuple[list[str], str]:
    """The registries a dockerconfigjson secret has entries for (host[:port], sorted), or [] and
    a reason that quotes no secret value."""
    auths, reason = _auths(secret)
    if auths is None:
        return [], reason
    hosts = sorted({registry_host(key) for key, entry in auths.items() if isinstance(entry, dict)})
    return hosts, "" if hosts else f"{_describe(secret)}: .dockerconfigjson names no registry"


def _entry(secret: dict | None, registry: str) -> tuple[dict | None, str]:
    """The auths entry for `registry`, or None and a reason that quotes no secret value."""
    auths, reason = _auths(secret)
    if auths is None:
        return None, reason
    what = _describe(secret)
    wanted = registry_host(registry)
    for key, entry in auths.items():
        if registry_host(key) == wanted and isinstance(entry, dict):
            return entry, f"{what} has credentials for {wanted}"
    return None, f"{what} has no entry for {wanted}"


def _credentials(entry: dict) -> tuple[str, str] | None:
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        return (username, password) if sep and username and password else None
    if entry.get("username") and entry.get("password"):
        return entry["username"], entry["password"]
    return None


def check_pull_secret(secret: dict | None, registry: str) -> tuple[bool, str]:
    """(ok, reason) for a dockerconfigjson secret meant for `registry` (ghcr.io, docker.io, ...).

    The reason names the secret and registry only, never a username, password or token.
    """
    entry, reason = _entry(secret, registry)
    if entry is None:
        return False, reason
    if _credentials(entry) is None:
        wanted = registry_host(registry)
        return (
            False,
            f"{_describe(secret)} has an entry for {wanted} but no usable username and password",
        )
    return True, reason


def pull_secret_credentials(secret: dict | None, registry: str) -> tuple[str, str]:
    """(username, password) for `registry`; ValueError (without secret values) if unusable."""
    ok, reason = check_pull_secret(secret, registry)
    if not ok:
        raise ValueError(reason)
    entry, _ = _entry(secret, registry)
    credentials = _credentials(entry)
    assert credentials is not None
    return credentials
