"""A real Distribution registry (Debian's `docker-registry`) for the tests, and what goes with it.

- ``start_registry(tmp, mode=…)``: `docker-registry serve cfg.yml` on a free 127.0.0.1 port, in
  one of three modes: "anonymous", "htpasswd" (bcrypt, user ci / s3cret) or "token" (a token
  issuer in this process: http.server + PyJWT + cryptography, as docs/testing.md §1
  describes). Optionally with notifications to a URL, carrying a bearer token.
- ``TokenIssuer``: signs the registry's JWTs. ``ci`` may pull and push anything; anonymous
  callers get pull on ``public/*`` only (as ghcr.io does for public packages) and no actions
  elsewhere. It counts the tokens it hands out.
- ``Pusher``: pushes images (OCI or Docker v2), multi-arch indexes and manifest lists over the
  registry API with plain httpx — no Docker daemon here.
- ``CountingProxy``: an HTTP proxy in front of a registry that counts the requests it forwards,
  so a test can count what reached the registry rather than trust the client's own count.
- Fixtures: ``anonymous_registry``, ``htpasswd_registry``, ``token_registry`` (session-scoped),
  ``notifying_registry`` (per test, notifying cdportal's real webhook view served by
  pytest-django's live server; the test gets transactional database access).

A machine without /usr/bin/docker-registry skips these tests; CI fails them (tests/helpers.py).

Test modules load it with `pytest_plugins = ["registry_fixtures"]` and import its helpers, so it
is imported before pytest registers it: PYTEST_DONT_REWRITE (its asserts stay plain asserts).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from helpers import require

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "ci", "s3cret"
SERVICE = "cdportal-registry"
ISSUER = "cdportal-test-issuer"
WEBHOOK_TOKEN = "test-webhook-token"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_registry() -> None:
    require(
        "docker-registry",
        os.path.exists(REGISTRY_BIN),
        f"{REGISTRY_BIN} (apt-get install docker-registry) is the real registry these tests use",
    )


# --- the token issuer ----------------------------------------------------------------------------


class TokenIssuer:
    """`GET /token?service=…&scope=…` as Docker's token spec has it, signing with an x5c chain
    the registry trusts through its rootcertbundle."""

    def __init__(self, directory: Path, *, expires_in: int = 300):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.expires_in = expires_in
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = directory / "token.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        self.issued: list[tuple[str, tuple[str, ...]]] = []  # (user or "", scopes)
        self.refused = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.realm = f"{self.url}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rights(self, user: str, repository: str) -> set[str]:
        if user == USER:
            return {"pull", "push", "delete"}
        return {"pull"} if repository.startswith("public/") else set()

    def token(self, user: str, scopes: list[str]) -> str:
        import jwt

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = (
                sorted(set(actions.split(",")) & self.rights(user, name))
                if kind == "repository"
                else []
            )
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user,
            "aud": SERVICE,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self.key, "RS256", headers={"x5c": [self._x5c]})

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                user = ""
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    given = base64.b64decode(header[6:]).decode(errors="replace")
                    if given != f"{USER}:{PASSWORD}":
                        issuer.refused += 1
                        return self._send(
                            401,
                            {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                        )
                    user = USER
                scopes = query.get("scope", [])
                issuer.issued.append((user, tuple(scopes)))
                token = issuer.token(user, scopes)
                self._send(
                    200,
                    {
                        "token": token,
                        "access_token": token,
                        "expires_in": issuer.expires_in,
                        "issued_at": datetime.now(UTC).isoformat(),
                    },
                )

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


# --- the registry ------------------------------------------------------------------------------


@dataclass
class Registry:
    mode: str  # anonymous, htpasswd, token
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen
    directory: Path
    issuer: TokenIssuer | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def image(self, repository: str) -> str:
        return f"{self.host}/{repository}"

    @property
    def credentials(self) -> tuple[str, str] | None:
        return None if self.mode == "anonymous" else (USER, PASSWORD)

    def log(self) -> str:
        path = self.directory / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.issuer is not None:
            self.issuer.close()


def start_registry(
    directory: Path,
    *,
    mode: str = "anonymous",
    notify_url: str | None = None,
    notify_token: str = WEBHOOK_TOKEN,
    token_expires_in: int = 300,
) -> Registry:
    require_registry()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only"},
    }
    issuer = None
    if mode == "htpasswd":
        htpasswd = shutil.which("htpasswd")
        require(
            "htpasswd",
            htpasswd is not None,
            "apache2-utils writes the registry's bcrypt htpasswd file",
        )
        entry = subprocess.run(
            [htpasswd, "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
        )
        (directory / "htpasswd").write_text(entry.stdout)
        config["auth"] = {
            "htpasswd": {"realm": "cdportal-test", "path": str(directory / "htpasswd")}
        }
    elif mode == "token":
        issuer = TokenIssuer(directory, expires_in=token_expires_in)
        config["auth"] = {
            "token": {
                "realm": issuer.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(issuer.cert_path),
            }
        }
    elif mode != "anonymous":
        raise ValueError(mode)
    if notify_url:
        config["notifications"] = {
            "events": {"includereferences": True},
            "endpoints": [
                {
                    "name": "cdportal",
                    "url": notify_url,
                    "timeout": "2s",
                    "threshold": 3,
                    "backoff": "1s",
                    "headers": {"Authorization": [f"Bearer {notify_token}"]},
                    "ignoredmediatypes": ["application/octet-stream"],
                }
            ],
        }
    config_path = directory / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    with open(directory / "registry.log", "wb") as log:
        process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
        )
    registry = Registry(mode, f"http://127.0.0.1:{port}", process, directory, issuer)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            registry.stop()
            pytest.fail(f"docker-registry exited with {process.returncode}:\n{registry.log()}")
        try:
            if httpx.get(f"{registry.url}/v2/", timeout=1).status_code in (200, 401):
                return registry
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    registry.stop()
    pytest.fail(f"docker-registry did not answer /v2/ within 15 s:\n{registry.log()}")


# --- pushing over the registry API ---------------------------------------------------------------


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pusher:
    """Pushes as CI does: ci / s3cret where the registry wants credentials."""

    registry: Registry
    credentials: tuple[str, str] | None = (USER, PASSWORD)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    tokens: dict[str, str] = field(default_factory=dict)
    last_manifest: bytes = b""  # the body of the manifest pushed last
    _challenge: str = ""  # the registry's WWW-Authenticate, once it asked

    def close(self) -> None:
        self.client.close()

    def image(
        self,
        repository: str,
        tag: str | None,
        *,
        created: str = "2026-11-03T10:00:00Z",
        os_name: str = "linux",
        arch: str = "amd64",
        variant: str = "",
        docker: bool = False,
        content: str | None = None,
    ) -> str:
        """One single-platform image; pushed by digest when tag is None. Its manifest digest."""
        layer_tar = _tar(
            {"hello.txt": (content or f"{repository} {tag} {arch}{variant}\n").encode()}
        )
        layer = gzip.compress(layer_tar, mtime=0)
        config = {
            "created": created,
            "architecture": arch,
            "os": os_name,
            "config": {
                "Labels": {"org.opencontainers.image.source": "https://github.com/5dlabs/cto"}
            },
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
        }
        if variant:
            config["variant"] = variant
        config_bytes = json.dumps(config, sort_keys=True).encode()
        self.blob(repository, layer)
        self.blob(repository, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": sha256(config_bytes),
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": sha256(layer),
                    "size": len(layer),
                }
            ],
        }
        return self.manifest(repository, tag, manifest)

    def index(
        self,
        repository: str,
        tag: str,
        platforms=(("linux", "amd64", ""), ("linux", "arm64", "v8")),
        *,
        created: str = "2026-11-03T10:00:00Z",
        docker: bool = False,
        attestation: bool = False,
    ) -> str:
        """A multi-arch image: each platform's manifest by digest, then the index under the tag."""
        entries = []
        for os_name, arch, variant in platforms:
            digest = self.image(
                repository,
                None,
                created=created,
                os_name=os_name,
                arch=arch,
                variant=variant,
                docker=docker,
            )
            body = self.last_manifest
            platform = {
                "architecture": arch,
                "os": os_name,
                **({"variant": variant} if variant else {}),
            }
            entries.append(
                {
                    "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": platform,
                }
            )
        if attestation:
            digest = self.image(
                repository, None, created=created, os_name="unknown", arch="unknown"
            )
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(self.last_manifest),
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": entries[0]["digest"],
                    },
                }
            )
        index = {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST if docker else OCI_INDEX,
            "manifests": entries,
        }
        return self.manifest(repository, tag, index)

    def manifest(self, repository: str, reference: str | None, manifest: dict) -> str:
        body = json.dumps(manifest, sort_keys=True).encode()
        digest = sha256(body)
        self.last_manifest = body
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference or digest}",
            repository,
            content=body,
            headers={"Content-Type": manifest["mediaType"]},
        )
        assert response.status_code == 201, f"PUT manifest: {response.status_code} {response.text}"
        assert response.headers["Docker-Content-Digest"] == digest
        return digest

    def blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        if self._request("HEAD", f"/v2/{repository}/blobs/{digest}", repository).status_code == 200:
            return digest
        started = self._request("POST", f"/v2/{repository}/blobs/uploads/", repository)
        assert started.status_code == 202, f"start upload: {started.status_code} {started.text}"
        location = started.headers["Location"]
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        done = self._request(
            "PUT",
            location,
            repository,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, f"PUT blob: {done.status_code} {done.text}"
        return digest

    def delete(self, repository: str, digest: str) -> None:
        response = self._request("DELETE", f"/v2/{repository}/manifests/{digest}", repository)
        assert response.status_code == 202, f"DELETE: {response.status_code} {response.text}"

    def _request(self, method: str, path: str, repository: str, **kwargs) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.registry.url}{path}"
        headers = dict(kwargs.pop("headers", {}))
        for attempt in range(2):
            auth = self._auth(repository)
            response = self.client.request(method, url, headers={**headers, **auth}, **kwargs)
            if response.status_code != 401 or attempt:
                return response
            self.tokens.pop(repository, None)
            self._challenge = response.headers.get("WWW-Authenticate", "")
        return response

    def _auth(self, repository: str) -> dict:
        if self.registry.mode == "anonymous" or not self._challenge:
            return {}
        if self._challenge.startswith("Basic"):
            user, password = self.credentials
            return {
                "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            }
        if repository not in self.tokens:
            answer = httpx.get(
                self.registry.issuer.realm,
                params={"service": SERVICE, "scope": f"repository:{repository}:pull,push,delete"},
                auth=self.credentials,
                timeout=10,
            )
            answer.raise_for_status()
            self.tokens[repository] = answer.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[repository]}"}


# --- counting what reaches the registry ----------------------------------------------------------

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}


class CountingProxy:
    """Forwards every request to a registry and writes down (method, path) first."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._upstream = httpx.Client(timeout=30)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for m, _ in self.requests if method in (None, m))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._upstream.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the client expects of a registry
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

            def log_message(self, *args):
                pass

            def _forward(self):
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
                upstream = proxy._upstream.request(
                    self.command, proxy.target + self.path, headers=headers, content=body
                )
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.multi_items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                data = upstream.content
                if self.command == "HEAD":
                    self.send_header("Content-Length", upstream.headers.get("Content-Length", "0"))
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        return Handler


@contextlib.contextmanager
def counting(registry: Registry):
    proxy = CountingProxy(registry.url)
    try:
        yield proxy
    finally:
        proxy.close()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def anonymous_registry(tmp_path_factory):
    registry = start_registry(tmp_path_factory.mktemp("registry-anonymous"), mode="anonymous")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory):
    registry = start_registry(tmp_path_factory.mktemp("registry-htpasswd"), mode="htpasswd")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    registry = start_registry(tmp_path_factory.mktemp("registry-token"), mode="token")
    yield registry
    registry.stop()


@pytest.fixture
def pusher():
    """pusher(registry) -> a Pusher for it (closed after the test)."""
    made: list[Pusher] = []

    def make(registry: Registry) -> Pusher:
        made.append(Pusher(registry))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.fixture
def unique():
    """A fresh repository name per call: session-scoped registries are shared by the tests."""
    return lambda prefix="team": f"{prefix}/app-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def webhook_url(live_server, transactional_db):
    """cdportal's registry webhook, served by pytest-django's live server (a thread in this
    process, on the test database: tests see what it records), with the delivery worker a web
    process runs (cdportal/api/deliveries.py) processing what it stores."""
    from cdportal.api import deliveries

    deliveries.start()
    yield f"http://127.0.0.1:{live_server.thread.port}/api/webhooks/registry"
    deliveries.stop()
    # What the view ingested is rendered for the live pages in a worker thread: let it finish
    # and close its connection, so PostgreSQL can drop the test database at the end.
    from cdportal.live import broadcast

    broadcast.flush()
    broadcast.close_connections()


@pytest.fixture
def notifying_registry(transactional_db, webhook_url, settings, tmp_path):
    """An anonymous registry notifying cdportal's real endpoint with the configured token. One
    per test, stopped before the test's data is flushed, so no event outlives its test."""
    settings.REGISTRY_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.REGISTRY_PUBLIC_HOST = ""
    registry = start_registry(tmp_path / "registry", mode="anonymous", notify_url=webhook_url)
    # A configured registry: the webhook looks up created times only at those.
    settings.REGISTRY_IMAGES = [registry.image("configured/image")]
    yield registry
    registry.stop()
