"""Read cdportal's configuration from the environment, once, and fail loudly.

Every setting cdportal understands is listed in ``KNOWN``; the README's configuration table is
written from the same list. A value that cannot be parsed, or an environment variable that is
one letter away from a known name (``DATABSE_URL``), stops the process at start with a message
that names the variable — a misconfigured dashboard that silently falls back to SQLite is worse
than one that does not start.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

from cdportal.adapters.registry.client import check_credentials_reference

# name -> one-line description (README "Configuration" mirrors this table).
KNOWN: dict[str, str] = {
    "DEBUG": "true/false. Development mode: detailed errors, no SECRET_KEY required. Default false.",
    "SECRET_KEY": "Django's signing key. Required when DEBUG is false. SECRET_KEY_FILE reads it from a file.",
    "ALLOWED_HOSTS": "Comma-separated host names the server answers to. Default 127.0.0.1,localhost.",
    "CSRF_TRUSTED_ORIGINS": "Comma-separated origins (https://cd.example.com) allowed to POST and open websockets.",
    "DATABASE_URL": "postgres://user:pass@host:5432/db or sqlite:///path. Default: SQLite in the checkout.",
    "REDIS_URL": "redis://host:6379/0 for the Channels layer (channels-redis). Default: in-memory layer (one process).",
    "REDIS_MAX_CONNECTIONS": "Most Redis connections one process opens for the Channels layer (it uses two per event loop). Default 8.",
    "DATABASE_POOL_MIN_SIZE": "PostgreSQL connections one process keeps open in its pool. Default 2.",
    "DATABASE_POOL_MAX_SIZE": "Most PostgreSQL connections one process opens; more requests wait for one. Default 10.",
    "DATABASE_POOL_TIMEOUT": "Seconds a request waits for a pooled PostgreSQL connection before it fails. Default 10.",
    "TIME_ZONE": "IANA zone used to display times. Default UTC.",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR. Default INFO.",
    "LIVE_COALESCE_MS": "Window in which a browser's live updates are merged into one push. Default 150.",
    "SESSION_COOKIE_AGE": "Seconds a login lasts. Default 1209600 (two weeks).",
    "SECURE_COOKIES": "true/false. Send cookies over HTTPS only. Default: true with HTTPS, else the opposite of DEBUG.",
    "HTTPS": "true/false. Browsers reach cdportal over https:// (TLS ends at a proxy): plain-http requests are redirected and HSTS is sent. Default false.",
    "HSTS_SECONDS": "Strict-Transport-Security max-age sent over HTTPS (0: none). Default 31536000 (a year) when HTTPS is true, else 0.",
    "TRUSTED_PROXIES": "Comma-separated addresses or CIDRs (10.0.0.0/8) of the TLS proxies in front: only their X-Forwarded-For / X-Forwarded-Proto are believed.",
    "LOGIN_FAILURE_LIMIT": "Wrong passwords for one user name from one address before the login is locked. Default 5.",
    "LOGIN_LOCKOUT_SECONDS": "How long such a lock lasts. Default 900.",
    "MAX_REQUEST_BYTES": "Largest request body accepted (413 above it, before it is read). Default 2621440 (2.5 MiB).",
    "MAX_WEBHOOK_BYTES": "Largest body accepted on /api/webhooks/github (GitHub caps deliveries at 25 MB). Default 26214400.",
    "PORT": "Port daphne listens on in the container image. Default 8000.",
    "GITHUB_API_URL": "GitHub REST API base (GitHub Enterprise: https://HOST/api/v3). Default https://api.github.com.",
    "GITHUB_TOKEN": "Token for the GitHub API (PAT or App installation token). GITHUB_TOKEN_FILE reads it from a file.",
    "GITHUB_WEBHOOK_SECRET": "Secret GitHub signs webhook deliveries with (X-Hub-Signature-256). Also _FILE.",
    "GITHUB_REPOSITORIES": "Comma-separated OWNER/NAME list the GitHub poller watches.",
    "GITHUB_POLL_SECONDS": "Seconds between two polls of a repository (the safety net for missed webhooks). Default 60.",
    "GITHUB_RELEASE_WORKFLOW": "File name of the Release Please workflow. Default release-please.yaml.",
    "GITHUB_BUILD_WORKFLOW": "File name of the workflow that builds and pushes images. Default binaries-release.yaml.",
    "GITHUB_PAUSE": "true/false. PyGithub's pauses between requests (1 s between writes), as GitHub asks of API clients; false only for a GitHub stand-in. Default true.",
    "GIT_CACHE_DIR": "Where sync-git keeps mirrors of remote repositories and commit caches. Default .cache/git.",
    "REGISTRY_IMAGES": "Comma-separated images scan-registry watches (HOST/NAMESPACE/NAME, no tag), e.g. ghcr.io/5dlabs/controller.",
    "REGISTRY_POLL_SECONDS": "Seconds between two scans of the registry (the safety net for missed notifications). Default 120.",
    "REGISTRY_CREDENTIALS": "Comma-separated HOST=REFERENCE pairs, in the Image Updater's forms: env:VAR (VAR holds USER:PASSWORD), pullsecret:NS/NAME, secret:NS/NAME#FIELD.",
    "REGISTRY_MAX_RPS": "Requests per second cdportal sends to one registry (0: no limit). Default 10.",
    "REGISTRY_WEBHOOK_TOKEN": "Bearer token the registry sends with its notifications (Authorization header). Also _FILE.",
    "KUBECONFIG": "Path of the kubeconfig watch-argocd uses. Default: in-cluster service account in a pod, else ~/.kube/config.",
    "KUBE_CONTEXT": "kubeconfig context to use. Default: the file's current context.",
    "UPDATER_NAMESPACE": "Namespace of the Argo CD Image Updater. Default: the first of ARGOCD_NAMESPACES.",
    "UPDATER_DEPLOYMENT": "Name of its Deployment. Default: found from its pods' app.kubernetes.io/name label.",
    "UPDATER_ROLLOUT_TIMEOUT": "Seconds a restart waits for the new pod to be ready. Default 300.",
    "ATTENTION_GRACE_SECONDS": "Seconds an OutOfSync or Progressing application with auto-sync on is left out of Needs attention while there is no history of its usual sync time. Default 180.",
    "ARGOCD_NAMESPACES": "Comma-separated namespaces watch-argocd watches for Applications. Default argocd.",
    "WEBHOOK_WORKER_IN_WEB": "true/false: each web process processes stored webhook deliveries in a background thread; false when process-deliveries workers run. Default true.",
    "DEMO_BREAK_FILE": "Set by `manage.py demo` for its web server: the file its /demo/ break control writes. Unset: /demo/ answers 404.",
    "REGISTRY_PUBLIC_HOST": "Host name images of the notifying registry are known by (e.g. registry.example.com). Default: the host the push was sent to.",
}

# Secrets may come from a file instead (Kubernetes secrets mounted as files).
SECRET_FILE_SUFFIX = "_FILE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def check_for_typos(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse variables that look like a misspelt cdportal setting."""
    known = set(KNOWN) | {name + SECRET_FILE_SUFFIX for name in KNOWN}
    for name in environ:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.88)
        if close:
            raise ImproperlyConfigured(
                f"Unknown setting {name}: did you mean {close[0]}? "
                f"(cdportal reads {close[0]}; unset {name} or rename it)"
            )


def _raw(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    return value.strip() if value is not None else None


def envstr(name: str, default: str = "", environ: Mapping[str, str] = os.environ) -> str:
    value = _raw(name, environ)
    return default if value in (None, "") else value


def envbool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def envint(
    name: str, default: int, *, minimum: int = 0, environ: Mapping[str, str] = os.environ
) -> int:
    value = _raw(name, environ)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def envlist(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    value = _raw(name, environ)
    if value in (None, ""):
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def envchoice(
    name: str, default: str, choices: set[str], environ: Mapping[str, str] = os.environ
) -> str:
    value = envstr(name, default, environ)
    if value.upper() not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(sorted(choices))}, got {value!r}"
        )
    return value.upper()


def envnetworks(
    name: str, environ: Mapping[str, str] = os.environ
) -> list[IPv4Network | IPv6Network]:
    """Comma-separated addresses or CIDRs -> networks (an address is a network of one)."""
    networks = []
    for item in envlist(name, [], environ):
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} entries must be IP addresses or CIDRs, got {item!r}"
            ) from None
    return networks


def envsecret(name: str, environ: Mapping[str, str] = os.environ) -> str:
    """The value of NAME, or the contents of the file NAME_FILE points at."""
    path = _raw(name + SECRET_FILE_SUFFIX, environ)
    direct = _raw(name, environ)
    if path and direct:
        raise ImproperlyConfigured(f"Set {name} or {name}{SECRET_FILE_SUFFIX}, not both")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as e:
            # The path is not secret; the contents are never echoed.
            raise ImproperlyConfigured(
                f"{name}{SECRET_FILE_SUFFIX}: cannot read {path}: {e.strerror}"
            ) from None
    return direct or ""


def env_registry_credentials(name: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """HOST=REFERENCE pairs -> {host: reference}. References are checked for their form only
    (they name where the secret is, and are resolved when a registry is first contacted)."""
    pairs: dict[str, str] = {}
    for item in envlist(name, [], environ):
        host, sep, reference = item.partition("=")
        host = host.strip().lower()
        if not sep or not host or "/" in host:
            raise ImproperlyConfigured(
                f"{name} entries must be HOST=REFERENCE, got one for {host or '?'!r}"
            )
        try:
            pairs[host] = check_credentials_reference(reference)
        except ValueError as e:
            raise ImproperlyConfigured(f"{name} for {host}: {e}") from None
    return pairs


def env_database(name: str, default: str, environ: Mapping[str, str] = os.environ) -> dict:
    """Django's DATABASES entry. PostgreSQL goes through psycopg's connection pool, sized by
    DATABASE_POOL_MIN_SIZE / _MAX_SIZE / _TIMEOUT (docs/operations.md)."""
    import dj_database_url

    url = envsecret(name, environ) or default
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// or sqlite://, got a {scheme or 'schemeless'} URL"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as e:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {e}") from None
    if config["ENGINE"].endswith("sqlite3"):
        # Requests, the live publisher's render thread and other processes share the file:
        # WAL lets readers run beside the one writer, and writers wait for each other instead of
        # failing with "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        # The test database is a file too: in-memory SQLite's shared cache locks whole tables
        # and ignores the timeout, so concurrent readers fail instead of waiting. One per
        # process, in the temp dir: parallel test runs in one checkout do not collide.
        config["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"cdportal-test-{os.getpid()}.sqlite3")
        }
    elif not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database (…/DBNAME at the end)")
    else:
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "pool": env_database_pool(environ)}
        # A pooled connection goes back to the pool at the end of each request (Django closes
        # it), instead of staying with the thread that used it; the pool checks it on checkout.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
    return config


def env_database_pool(environ: Mapping[str, str] = os.environ) -> dict:
    """psycopg_pool.ConnectionPool's sizes, per process and database alias."""
    min_size = envint("DATABASE_POOL_MIN_SIZE", 2, environ=environ)
    max_size = envint("DATABASE_POOL_MAX_SIZE", 10, minimum=1, environ=environ)
    if min_size > max_size:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN_SIZE ({min_size}) is larger than DATABASE_POOL_MAX_SIZE ({max_size})"
        )
    timeout = envint("DATABASE_POOL_TIMEOUT", 10, minimum=1, environ=environ)
    return {"min_size": min_size, "max_size": max_size, "timeout": timeout}


def env_channel_layer(name: str, environ: Mapping[str, str] = os.environ) -> dict:
    url = envsecret(name, environ)
    if not url:
        return {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must start with redis://, rediss:// or unix://")
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name} names no host")
    database = parse_qs(parts.query).get("db", [""])[0]
    if parts.scheme != "unix":
        database = parts.path.strip("/") or database
    database = re.sub(r"[^0-9A-Za-z]", "-", database) or "0"
    return {
        # channels-redis's pub/sub layer: one publish per group message, fanned out in memory
        # by each process holding members (cdportal/live/layers.py).
        "BACKEND": "cdportal.live.layers.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": url,
                    # No socket read timeout: redis-py 8 defaults to 5 s, and a subscription
                    # idles for as long as no page changes (django/channels_redis#422).
                    "socket_timeout": None,
                    "max_connections": envint(
                        "REDIS_MAX_CONNECTIONS", 8, minimum=2, environ=environ
                    ),
                }
            ],
            # Pub/sub channels are not per Redis database: the database number in the prefix
            # keeps two deployments (or test runs) sharing a server from hearing each other.
            "prefix": f"cdportal.db{database}.",
        },
    }


SECRET_KEY_MISSING = (
    "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is false; "
    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
)


def require_secret_key(settings) -> None:
    """Serving without a signing key would fail on the first login; fail at start instead."""
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's own complaint about an empty key
        key = ""
    if not key:
        raise ImproperlyConfigured(SECRET_KEY_MISSING)
