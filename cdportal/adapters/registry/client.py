"""An OCI Distribution client: tags, manifests and image creation times, as cheaply as possible.

Reference: the OCI Distribution spec (https://github.com/opencontainers/distribution-spec,
spec.md: "Listing Tags", "Pulling manifests") and Docker's token authentication
(https://distribution.github.io/distribution/spec/auth/token/). ghcr.io, Docker Hub and the
Distribution registry all speak it.

Plain httpx with a thin layer rather than oras-py: oras-py is built on requests, refetches a
token per call, and offers neither conditional tag listing, Link-header pagination with absolute
and relative URLs, Retry-After handling nor a per-registry rate limit — which is most of what
this module is for.

What it does:

- Auth: a request goes out anonymously until the registry answers 401. A `Bearer` challenge
  sends the client to the token service it names (`realm?service=…&scope=repository:NAME:pull`,
  with Basic credentials when configured, anonymously otherwise, as ghcr.io wants for public
  images); tokens are cached per scope until shortly before they expire, and once a registry has
  challenged, the client fetches tokens up front instead of collecting a 401 per repository. A
  `Basic` challenge is answered with the configured credentials.
- Tags: `GET /v2/NAME/tags/list?n=…`, following `Link: <…>; rel="next"` (relative or absolute,
  same origin only) until there is none. `list_tags(…, etag=…)` asks conditionally: a 304 costs
  one request and no body.
- Manifests: always with the four manifest media types in `Accept` (with fewer, the Distribution
  registry answers 404 for OCI content or serves a schema1 conversion with another digest).
  A tag is resolved with HEAD (Docker Hub counts only GETs as pulls); a digest already seen is
  answered from the cache, because what a digest names never changes. An index yields its
  platforms; the created time comes from the config blob (for an index, from its linux/amd64
  image, else its first).
- Failures: timeouts, refused connections, 5xx and 429 are retried with exponential backoff;
  `Retry-After` is obeyed (and pauses every client of that registry in this process) unless it
  asks for longer than `max_wait`, which fails at once with the wait in the error. All requests
  to a registry share one rate limit (`max_rps`).

Errors are `RegistryError`s (typed in ``cdportal.adapters.registry.errors``) and name the registry, the repository and what
went wrong; credentials and tokens appear in no message, repr or log line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple, Self
from urllib.parse import urljoin, urlsplit

import httpx

from cdportal.adapters.registry.errors import RegistryError, answered
from cdportal.core.credentials import (
    CredentialReference,
    CredentialReferenceError,
    parse_credential_reference,
    shape,
)

log = logging.getLogger(__name__)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_TYPES)

PAGE_SIZE = 1000  # tags per page asked for; registries may send fewer (and then a Link)
MAX_PAGES = 1000
TOKEN_MARGIN = 10.0  # seconds before expiry a cached token is renewed
DEFAULT_TOKEN_LIFETIME = 60.0  # the token spec's default for a missing expires_in
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_BODY = 8 * 1024 * 1024  # manifests and config blobs are kilobytes; refuse anything huge

DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


# --- credentials ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:  # never the password, in tracebacks or logs
        return f"Credentials(username={self.username!r}, password=***)"

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


CREDENTIAL_FORMS = "env:VAR, pullsecret:NAMESPACE/NAME or secret:NAMESPACE/NAME#FIELD"


def _registry_reference(reference: str) -> CredentialReference:
    """The reference (core.credentials parses it) when the registry client can be given it:
    no `<registry>=` prefix (REGISTRY_CREDENTIALS names the host) and no `ext:` script."""
    try:
        ref = parse_credential_reference(reference.strip())
    except CredentialReferenceError:
        ref = None
    if ref is None or ref.registry or ref.kind == "ext":
        raise ValueError(
            f"registry credentials must be {CREDENTIAL_FORMS}, got {shape(reference)!r}"
        )
    return ref


def check_credentials_reference(reference: str) -> str:
    """The reference itself, when it has one of the Image Updater's forms; ValueError otherwise.
    Resolves nothing (settings use this to fail at start)."""
    _registry_reference(reference)
    return reference.strip()


def parse_credentials(reference: str, environ=os.environ) -> Credentials:
    """Credentials from an Argo CD Image Updater reference.

    `env:VAR` is resolved now: VAR holds `USERNAME:PASSWORD` (for ghcr.io any user name and a
    token). `pullsecret:NS/NAME` (a dockerconfigjson secret) and `secret:NS/NAME#FIELD` are read
    from Kubernetes, which needs the Kubernetes adapter. Messages name the variable or secret,
    never its value."""
    try:
        ref = _registry_reference(reference)
    except ValueError as e:
        raise RegistryError(str(e), permanent=True) from None
    if ref.kind == "env":
        var = ref.variable
        value = environ.get(var)
        if not value:
            raise RegistryError(f"registry credentials env:{var}: {var} is not set", permanent=True)
        username, sep, password = value.strip().partition(":")
        if not sep or not username or not password:
            raise RegistryError(
                f"registry credentials env:{var}: {var} must hold USERNAME:PASSWORD", permanent=True
            )
        return Credentials(username, password)
    raise RegistryError(
        f"registry credentials {reference.strip()} need the Kubernetes adapter "
        "(not configured); use env:VAR for now",
        permanent=True,
    )


# --- results ------------------------------------------------------------------------------------


class Platform(NamedTuple):
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in self if part)


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    platforms: tuple[Platform, ...]
    config_digest: str | None
    created: datetime | None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True)
class TagList:
    tags: list[str] | None  # None: not modified since `etag`
    etag: str  # the first page's validator ("" when the registry sends none)
    pages: int

    @property
    def not_modified(self) -> bool:
        return self.tags is None


@dataclass(frozen=True)
class _Config:
    created: datetime | None
    platform: Platform | None


class DigestCache:
    """Manifests and configs by digest: content-addressed, so never stale. Bounded (LRU)."""

    def __init__(self, maxsize: int = 20_000):
        self.maxsize = maxsize
        self._items: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


# --- rate limit ---------------------------------------------------------------------------------


class _RateLimiter:
    """A token bucket shared by every client of one registry in this process; a Retry-After
    pauses them all."""

    def __init__(self, rate: float | None):
        self.rate = rate
        self.tokens = max(rate or 1.0, 1.0)
        self.updated = time.monotonic()
        self.not_before = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                delay = self.not_before - now
                if delay <= 0 and not self.rate:
                    return
                if delay <= 0:
                    burst = max(self.rate, 1.0)
                    self.tokens = min(burst, self.tokens + (now - self.updated) * self.rate)
                    self.updated = now
                    if self.tokens >= 1:
                        self.tokens -= 1
                        return
                    delay = (1 - self.tokens) / self.rate
            time.sleep(delay)

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.not_before = max(self.not_before, time.monotonic() + seconds)


_LIMITERS: dict[tuple[str, float | None], _RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _limiter(origin: str, rate: float | None) -> _RateLimiter:
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault((origin, rate), _RateLimiter(rate))


# --- auth ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Challenge:
    scheme: str  # bearer, basic
    params: dict

    def describe(self) -> str:
        realm = self.params.get("realm", "")
        return f"{self.scheme.capitalize()} realm {realm!r}" if realm else self.scheme.capitalize()


_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _parse_challenge(header: str) -> _Challenge | None:
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m[1].lower(): (m[2] if m[2] is not None else m[3]) for m in _PARAM_RE.finditer(rest)}
    return _Challenge(scheme.lower(), params)


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float  # monotonic


# --- the client ---------------------------------------------------------------------------------


class RegistryClient:
    """One registry. Thread-safe enough for one poller; keep it around: its caches are the
    point (tokens per scope, manifests and configs per digest)."""

    def __init__(
        self,
        registry_host: str,
        *,
        credentials: Credentials | str | None = None,
        timeout: float = 10.0,
        max_rps: float | None = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        cache: DigestCache | None = None,
        page_size: int = PAGE_SIZE,
    ):
        """registry_host: `ghcr.io`, `HOST:PORT` (http for loopback hosts) or a base URL.
        credentials: Credentials, or a reference (`env:VAR`, …) resolved now."""
        self.base_url = _base_url(registry_host)
        self.host = urlsplit(self.base_url).netloc
        if isinstance(credentials, str):
            credentials = parse_credentials(credentials)
        self.credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.page_size = page_size
        self.cache = cache if cache is not None else DigestCache()
        self.requests = 0  # every HTTP request sent, token requests included
        self.token_requests = 0
        self._limiter = _limiter(self.base_url, max_rps or None)
        self._challenge: _Challenge | None = None
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=timeout, headers={"User-Agent": "cdportal-registry-client"}
        )

    def __repr__(self) -> str:
        who = self.credentials.username if self.credentials else "anonymous"
        return f"RegistryClient({self.base_url!r}, {who})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- tags ---

    def tags(self, repository: str) -> list[str]:
        """Every tag of the repository, in the registry's order, across all pages."""
        return self.list_tags(repository).tags or []

    def list_tags(self, repository: str, *, etag: str = "") -> TagList:
        """The tags; with `etag` (from an earlier TagList) the first page is asked for
        conditionally and a 304 returns `tags=None`."""
        _check_repository(repository)
        url = f"{self.base_url}/v2/{repository}/tags/list?n={self.page_size}"
        what = f"the tags of {self.host}/{repository}"
        tags: list[str] = []
        seen: set[str] = set()
        first_etag, pages = "", 0
        while url:
            if url in seen or pages >= MAX_PAGES:
                raise RegistryError(f"{what}: the registry's Link headers loop ({url})")
            seen.add(url)
            headers = {"Accept": "application/json"}
            if etag and pages == 0:
                headers["If-None-Match"] = etag
            response = self._request("GET", url, repository=repository, what=what, headers=headers)
            pages += 1
            if response.status_code == 304 and pages == 1:
                return TagList(None, etag, 1)
            self._raise_for(response, what, repository=repository)
            if pages == 1:
                first_etag = response.headers.get("ETag", "")
            body = _json(response, what)
            page = body.get("tags") or [] if isinstance(body, dict) else None
            if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                raise RegistryError(
                    f"{what}: the registry answered something other than a tag list"
                )
            tags.extend(page)
            url = self._next_link(response, url, what)
        return TagList(list(dict.fromkeys(tags)), first_etag, pages)

    def _next_link(self, response: httpx.Response, current: str, what: str) -> str:
        for link in response.headers.get_list("Link", split_commas=True):
            target, _, params = link.partition(";")
            if re.search(r'rel\s*=\s*"?next"?', params) and target.strip().startswith("<"):
                url = urljoin(current, target.strip()[1:-1].strip())
                if _origin(url) != _origin(self.base_url):
                    # Our credentials go with every request; they must not leave for another host.
                    raise RegistryError(
                        f"{what}: the next page is on another host ({_origin(url)})"
                    )
                return url
        return ""

    # --- manifests ---

    def manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest a tag or digest names: its digest, media type, platforms, config and the
        image's created time. A digest seen before costs no request; a tag costs one HEAD when
        its digest is known, HEAD + GETs (manifest, config, and for an index one child) when not."""
        _check_repository(repository)
        if _is_digest(reference):
            return self._manifest_by_digest(repository, reference)
        digest = self.resolve(repository, reference)
        if not digest:
            # Some registries answer HEAD without the digest: read the manifest by tag instead.
            what = f"{self.host}/{repository}:{reference}"
            return self._fetch_manifest(repository, reference, what)
        return self._manifest_by_digest(repository, digest, tag=reference)

    def resolve(self, repository: str, tag: str) -> str:
        """The digest a tag points at now: one HEAD ("" when the registry does not say)."""
        _check_repository(repository)
        what = f"{self.host}/{repository}:{tag}"
        response = self._request(
            "HEAD",
            self._manifest_url(repository, tag),
            repository=repository,
            what=what,
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        self._raise_for(response, what, repository=repository, reference=tag)
        digest = response.headers.get("Docker-Content-Digest", "")
        return digest if _is_digest(digest) else ""

    def _manifest_by_digest(self, repository: str, digest: str, *, tag: str = "") -> Manifest:
        cached = self.cache.get(f"manifest:{digest}")
        if cached is not None:
            return cached
        what = f"{self.host}/{repository}{':' + tag if tag else ''}@{digest}"
        return self._fetch_manifest(repository, digest, what)

    def _fetch_manifest(self, repository: str, reference: str, what: str) -> Manifest:
        body, media_type, digest = self._get_manifest(repository, reference, what)
        if media_type in INDEX_TYPES:
            entries = [m for m in body.get("manifests") or [] if isinstance(m, dict)]
            images = [m for m in entries if not _is_attestation(m) and m.get("digest")]
            platforms = tuple(_platform(m.get("platform") or {}) for m in images)
            chosen = _representative(images)
            if chosen is None:
                manifest = Manifest(digest, media_type, platforms, None, None)
            else:
                child = self._manifest_by_digest(repository, chosen["digest"])
                manifest = Manifest(
                    digest, media_type, platforms, child.config_digest, child.created
                )
        else:
            config_digest = (body.get("config") or {}).get("digest")
            if not _is_digest(config_digest or ""):
                raise RegistryError(f"{what}: the manifest names no config blob")
            config = self._config(repository, config_digest)
            platforms = (config.platform,) if config.platform else ()
            manifest = Manifest(digest, media_type, platforms, config_digest, config.created)
        self.cache.put(f"manifest:{digest}", manifest)
        return manifest

    def _get_manifest(self, repository: str, reference: str, what: str) -> tuple[dict, str, str]:
        response = self._request(
            "GET",
            self._manifest_url(repository, reference),
            repository=repository,
            what=what,
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        self._raise_for(response, what, repository=repository, reference=reference)
        raw = _content(response, what)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        expected = (
            reference
            if _is_digest(reference)
            else response.headers.get("Docker-Content-Digest", "")
        )
        if expected.startswith("sha256:") and expected != digest:
            raise RegistryError(
                f"{what}: the manifest's content does not match its digest {expected}"
            )
        if expected and not expected.startswith("sha256:"):
            digest = expected  # another algorithm (sha512): trust the registry's digest
        body = _json_bytes(raw, what)
        if not isinstance(body, dict):
            raise RegistryError(f"{what}: the manifest is not a JSON object")
        media_type = (
            body.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0].strip()
        )
        if media_type not in MANIFEST_TYPES:
            raise RegistryError(
                f"{what}: unsupported manifest media type {media_type!r} "
                "(OCI or Docker v2 manifests and indexes only)",
                permanent=True,
            )
        return body, media_type, digest

    def _config(self, repository: str, digest: str) -> _Config:
        cached = self.cache.get(f"config:{digest}")
        if cached is not None:
            return cached
        what = f"the config blob {digest} of {self.host}/{repository}"
        # Blobs may live elsewhere (ghcr.io redirects to a CDN); httpx drops the Authorization
        # header on a redirect to another origin.
        response = self._request(
            "GET",
            f"{self.base_url}/v2/{repository}/blobs/{digest}",
            repository=repository,
            what=what,
            follow_redirects=True,
        )
        self._raise_for(response, what, repository=repository, reference=digest)
        raw = _content(response, what)
        if digest.startswith("sha256:") and "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
            raise RegistryError(f"{what}: the blob's content does not match its digest")
        body = _json_bytes(raw, what)
        body = body if isinstance(body, dict) else {}
        platform = None
        if body.get("os") or body.get("architecture"):
            platform = Platform(
                str(body.get("os") or ""),
                str(body.get("architecture") or ""),
                str(body.get("variant") or ""),
            )
        config = _Config(parse_timestamp(body.get("created")), platform)
        self.cache.put(f"config:{digest}", config)
        return config

    def _manifest_url(self, repository: str, reference: str) -> str:
        return f"{self.base_url}/v2/{repository}/manifests/{reference}"

    # --- requests ---

    def _request(
        self,
        method: str,
        url: str,
        *,
        repository: str,
        what: str,
        headers: dict | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """One logical request: auth as the registry asks, retries as it allows."""
        scope = f"repository:{repository}:pull"
        renewed = False
        while True:
            auth = self._authorization(scope)
            response = self._send(
                method,
                url,
                what=what,
                follow_redirects=follow_redirects,
                headers={**(headers or {}), **auth},
            )
            if response.status_code != 401 or renewed:
                return response
            challenge = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is None or not self._answer(challenge, scope, sent=auth):
                return response
            renewed = True

    def _authorization(self, scope: str) -> dict:
        challenge = self._challenge
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            return {"Authorization": self.credentials.basic()} if self.credentials else {}
        token = self._token(scope)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _answer(self, challenge: _Challenge, scope: str, *, sent: dict) -> bool:
        """Learn from a 401; True when asking again with other credentials can help."""
        self._challenge = challenge
        if challenge.scheme == "basic":
            return self.credentials is not None and not sent
        if challenge.scheme != "bearer" or not challenge.params.get("realm"):
            return False
        with self._lock:
            self._tokens.pop(scope, None)  # expired or revoked: ask for a new one
        return True

    def _token(self, scope: str) -> str:
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and cached.expires > time.monotonic():
                return cached.value
        realm = self._challenge.params["realm"]
        service = self._challenge.params.get("service")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryError(
                f"{self.host} names a token service that is not http(s): {realm!r}", permanent=True
            )
        if (
            self.credentials
            and urlsplit(realm).scheme == "http"
            and urlsplit(self.base_url).scheme == "https"
        ):
            raise RegistryError(
                f"{self.host} asks for credentials to be sent to {realm} over plain http; refused",
                permanent=True,
            )
        params = {"scope": scope, **({"service": service} if service else {})}
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        what = f"a token for {scope} from {realm}"
        self.token_requests += 1
        response = self._send("GET", realm, what=what, params=params, headers=headers)
        if response.status_code in (401, 403):
            who = (
                f"the credentials of {self.credentials.username!r}"
                if self.credentials
                else ("anonymous access (no credentials are configured for this registry)")
            )
            raise answered(
                f"the token service {realm} refused {who} for {scope} ({response.status_code})",
                permanent=True,
                status=response.status_code,
            )
        if response.status_code != 200:
            raise answered(
                f"{what}: the token service answered {response.status_code}",
                status=response.status_code,
            )
        body = _json(response, what)
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{what}: the token service answered without a token")
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, (int, float)) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        # Renewed a little early; a short-lived token is kept for half its life.
        keep = max(float(lifetime) - TOKEN_MARGIN, float(lifetime) / 2)
        with self._lock:
            self._tokens[scope] = _Token(token, time.monotonic() + keep)
        return token

    def _send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: dict | None = None,
        params: dict | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """One HTTP request under the registry's rate limit, retried on timeouts, connection
        failures, 5xx and 429 with exponential backoff or as long as Retry-After says."""
        attempt = 0
        while True:
            self._limiter.wait()
            self.requests += 1
            try:
                response = self._http.request(
                    method, url, headers=headers, params=params, follow_redirects=follow_redirects
                )
            except httpx.TimeoutException:
                problem = f"{self.host} did not answer within {self.timeout:g} s"
                response = None
            except httpx.TransportError as e:
                problem = f"cannot reach {self.host} ({type(e).__name__})"
                response = None
            if response is not None and response.status_code not in RETRY_STATUSES:
                return response
            wait = self.backoff * 2**attempt
            if response is not None:
                retry_after = _retry_after(response)
                status = response.status_code
                problem = (
                    f"{self.host} is rate limiting (429)"
                    if status == 429
                    else f"{self.host} answered {status}"
                )
                if retry_after is not None:
                    if retry_after > self.max_wait:
                        raise answered(
                            f"{what}: {problem}, retry after {retry_after:g} s",
                            status=status,
                            retry_after=retry_after,
                        )
                    wait = retry_after
                    self._limiter.pause(retry_after)
            if attempt >= self.retries:
                tries = f"{attempt + 1} attempts" if attempt else "1 attempt"
                status = response.status_code if response is not None else None
                retry_after = _retry_after(response) if response is not None else None
                raise answered(
                    f"{what}: {problem} ({tries})", status=status, retry_after=retry_after
                )
            log.info("registry %s: %s, retrying in %.1f s", self.host, problem, wait)
            time.sleep(wait)
            attempt += 1

    def _raise_for(
        self, response: httpx.Response, what: str, *, repository: str, reference: str = ""
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        codes, message = _errors(response)
        if status == 401:
            header = response.headers.get("WWW-Authenticate", "")
            challenge = _parse_challenge(header) or self._challenge
            realm = f" ({challenge.describe()})" if challenge else ""
            error = challenge.params.get("error") if challenge else None
            if self.credentials is None:
                hint = "no credentials are configured for this registry"
            elif error == "insufficient_scope":
                hint = f"{self.credentials.username!r} may not pull it"
            else:
                hint = f"the credentials of {self.credentials.username!r} were not accepted"
            if error == "insufficient_scope":
                hint = f"insufficient_scope: {hint}"
            raise answered(
                f"{what}: {self.host} answered 401 Unauthorized{realm}; {hint}",
                permanent=True,
                status=401,
            )
        if status == 403:
            raise answered(
                f"{what}: {self.host} answered 403 Forbidden{_detail(message)}",
                permanent=True,
                status=403,
            )
        if status == 404:
            if "NAME_UNKNOWN" in codes or not reference:
                text = f"repository {repository} not found on {self.host}"
            elif _is_digest(reference):
                text = f"{reference} not found in {self.host}/{repository}"
            else:
                text = f"tag {reference} not found in {self.host}/{repository}"
            raise answered(text + _detail(message), permanent=True, status=404)
        raise answered(
            f"{what}: {self.host} answered {status}{_detail(message)}",
            permanent=400 <= status < 500,
            status=status,
        )


# --- helpers ------------------------------------------------------------------------------------


def _base_url(registry_host: str) -> str:
    """'ghcr.io' -> https://ghcr.io; loopback hosts speak plain http (as docker assumes);
    a full URL is kept as given."""
    value = registry_host.strip().rstrip("/")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
            raise ValueError(
                f"registry URL must be http(s)://HOST[:PORT] without credentials, got {value!r}"
            )
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
    if not value or "/" in value or "@" in value:
        raise ValueError(f"registry host must be HOST[:PORT], got {value!r}")
    if value in ("docker.io", "index.docker.io"):
        value = "registry-1.docker.io"
    hostname = urlsplit(f"//{value}").hostname or ""
    scheme = "http" if hostname in LOOPBACK else "https"
    return f"{scheme}://{value}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


_REPOSITORY_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def _check_repository(repository: str) -> None:
    if not _REPOSITORY_RE.match(repository) or len(repository) > 255:
        raise RegistryError(
            f"{repository!r} is not a repository name (a lowercase path, e.g. owner/name)",
            permanent=True,
        )


def _is_digest(value: str) -> bool:
    return bool(DIGEST_RE.match(value or ""))


def _is_attestation(entry: dict) -> bool:
    """buildx attaches provenance as an index entry for platform unknown/unknown."""
    annotations = entry.get("annotations") or {}
    if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    platform = entry.get("platform") or {}
    return platform.get("os") == "unknown" and platform.get("architecture") == "unknown"


def _platform(platform: dict) -> Platform:
    return Platform(
        str(platform.get("os") or ""),
        str(platform.get("architecture") or ""),
        str(platform.get("variant") or ""),
    )


def _representative(entries: list[dict]) -> dict | None:
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return entry
    return entries[0] if entries else None


def parse_timestamp(value) -> datetime | None:
    """RFC 3339 as registries write it (nanoseconds, Z) -> an aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())  # Python reads microseconds at most
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _content(response: httpx.Response, what: str) -> bytes:
    raw = response.content
    if len(raw) > MAX_BODY:
        raise RegistryError(f"{what}: {len(raw)} bytes is too large for a manifest or config")
    return raw


def _json(response: httpx.Response, what: str):
    return _json_bytes(_content(response, what), what)


def _json_bytes(raw: bytes, what: str):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{what}: the registry answered something other than JSON") from None


def _errors(response: httpx.Response) -> tuple[set[str], str]:
    """The Distribution error codes and the first message of an error body."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return set(), ""
    codes = {str(e.get("code")) for e in errors if isinstance(e, dict)}
    messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    return codes, messages[0][:200] if messages else ""


def _detail(message: str) -> str:
    return f" ({message})" if message else ""


__all__ = [
    "ACCEPT_MANIFESTS",
    "MANIFEST_TYPES",
    "Credentials",
    "DigestCache",
    "Manifest",
    "Platform",
    "RegistryClient",
    "TagList",
    "check_credentials_reference",
    "parse_credentials",
    "parse_timestamp",
]
