"""What happens to a request before Django or Channels sees it: two small ASGI middlewares.

- ``TrustedProxies``: the client's address (and https) comes from ``X-Forwarded-For`` /
  ``X-Forwarded-Proto`` only when the direct peer is one of ``TRUSTED_PROXIES``. daphne's own
  ``--proxy-headers`` believes those headers from anyone, so any client could pick the address
  the login throttle counts failures against.
- ``BodyLimit``: a body larger than its path's limit is refused with 413 before the application
  reads it. daphne receives the whole body and queues it for the application before the
  application runs; after the 413 the middleware takes what is already queued off the queue and
  drops it, or the queue — the whole body — stays in memory for as long as daphne keeps the
  finished request (benchmarks/body_limit.py: +197 MiB ten seconds after a refused 200 MiB
  POST without the drain, +2 MiB with it). Refusing on the wire needs the same limit in the
  proxy in front (README, Security).

No Django import: cdportal/asgi.py wraps the application in both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_address

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    """All values of one header joined as one comma-separated list (RFC 9110 §5.3)."""
    values = [
        value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name
    ]
    return ",".join(values) if values else None


class TrustedProxies:
    def __init__(self, app: App, networks: Iterable[IPv4Network | IPv6Network]):
        self.app = app
        self.networks = tuple(networks)

    def trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            scope = self.resolve(scope)
        await self.app(scope, receive, send)

    def resolve(self, scope: Scope) -> Scope:
        peer = scope.get("client")
        if not peer or not self.trusted(peer[0]):
            return scope
        client = peer[0]
        # Each proxy appends the address it received from; read from the right, past our own
        # proxies: the first address they did not add themselves is the client. Anything left of
        # it was written by the client and proves nothing.
        for hop in reversed(
            [h.strip() for h in (_header(scope, b"x-forwarded-for") or "").split(",")]
        ):
            if not hop:
                continue
            try:
                ip_address(hop)
            except ValueError:
                break  # garbage: keep the last address a trusted proxy vouched for
            client = hop
            if not self.trusted(hop):
                break
        scope = {**scope, "client": [client, 0]}
        proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto
        return scope


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: App, *, default: int, per_path: Mapping[str, int] | None = None):
        self.app = app
        self.default = default
        self.per_path = dict(per_path or {})

    def limit_for(self, path: str) -> int:
        return self.per_path.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(length) > limit:
                # Answer without reading the body into anything, then drop what is queued.
                await _answer(send, 413, f"request body larger than {limit} bytes")
                await _discard_queued(receive)
                return

        # Without Content-Length (chunked), count what arrives.
        received = 0
        started = False

        async def counted_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _answer(send, 413, f"request body larger than {limit} bytes")
            await _discard_queued(receive)


async def _discard_queued(receive: Receive) -> None:
    """Take the rest of a refused body off the server's queue without keeping it: only what is
    already there (daphne queues all of it before the application runs), never waiting on a
    client that is still sending."""
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout=0.05)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"private, no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
