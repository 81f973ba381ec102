#!/usr/bin/env python
"""Live-update latency and ingestion throughput of cdportal, measured end to end.

What is measured
----------------
A real daphne server (``python -m daphne cdportal.asgi:application``) runs against a throwaway
SQLite database and the Redis channel layer. N websocket clients (one per simulated browser
tab, all sharing one logged-in session) subscribe to ``/ws/live/overview/``. Then:

1. Latency: M commit events are ingested one at a time through ``POST /api/events`` (bearer
   token of a ``source`` user). Each event's message carries a unique marker; t0 is taken right
   before the POST, and every client records when it first receives a frame containing that
   marker (the overview's "Recent events" fragment). The next event is sent only once every
   client got the previous one (or the per-event timeout passed). Reported: p50/p95/p99/max of
   the latency over all (event, client) pairs, p50/p95 of the slowest client per event, and the
   duration of the ingest call itself.
2. Throughput: K more events are posted as fast as possible, first by one sequential poster,
   then by 8 concurrent posters. Reported: ingest calls completed per second, how long until
   every client had seen every event, and the frames each client received per event posted
   (below 1 frame per event = fragments were coalesced in the consumer's window).

The client timestamps are taken in this process, which shares the machine's CPUs with daphne:
the report prints both processes' CPU use so the reader can tell who was the bottleneck.
No figure is asserted; the script exits non-zero only when the setup fails. Before measuring,
an empty event (``{}``, answered 422) checks that a bearer token alone is accepted; where the API
still wants a CSRF cookie+header pair too (fixed in 90d28bf), the script adds one and says so.

Running it
----------
    make bench                                    # python benchmarks/live_latency.py
    python benchmarks/live_latency.py --clients 20 --events 20
    python benchmarks/live_latency.py --coalesce-ms 150   # production default window

Options: --clients N (200), --events M (200), --throughput-events K (200), --coalesce-ms
(LIVE_COALESCE_MS for the server, default 0), --redis URL (redis://127.0.0.1:6379/15),
--port (a free port), --timeout seconds per event (10), --commits-per-release (10: every 10
commits start a new component and release, so the release being re-rendered stays small),
--keep (keep the temp dir with the database and daphne's log).

The default run (200 clients, 200 + 2x200 events) takes about 2 minutes on 2 cores.

Redis: use a database of its own (the default is DB 15). Keys of the channel layer (``asgi:*``)
in that database are deleted before and after the run, unless it is DB 0, which is never
touched; nothing else is flushed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import connect as ws_connect

ROOT = Path(__file__).resolve().parent.parent
# Settings cdportal reads from the environment (cdportal/env.py KNOWN): the benchmark sets the
# ones it needs and drops the rest, so a developer's shell cannot leak into the measurement.
CDPORTAL_SETTINGS = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "TIME_ZONE",
    "LOG_LEVEL",
    "LIVE_COALESCE_MS",
    "SESSION_COOKIE_AGE",
    "SECURE_COOKIES",
    "PORT",
)
CONCURRENT_POSTERS = 8
WARMUP_EVENTS = 3
REPOSITORY = "bench/live-latency"
WS_PATH = "/ws/live/overview/"
LIVE_FRAME = b'id="live-status"'


class SetupError(Exception):
    """The benchmark could not be set up: exit non-zero with this message."""


# --- measurement state ---------------------------------------------------------------------


@dataclass
class Waiter:
    """One event in flight: how many clients still have to see it."""

    remaining: int
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Tracker:
    def __init__(self, run_id: str):
        self.run_id = run_id
        self.marker_re = re.compile(rb"bm" + run_id.encode() + rb"x(\d{6})")
        self.waiters: dict[int, Waiter] = {}
        self.last_frame_at = time.perf_counter()

    def marker(self, n: int) -> str:
        return f"bm{self.run_id}x{n:06d}"

    def expect(self, n: int, clients: int) -> Waiter:
        waiter = self.waiters[n] = Waiter(clients)
        return waiter


class Client:
    def __init__(self, index: int, tracker: Tracker):
        self.index = index
        self.tracker = tracker
        self.ws = None
        self.frames = 0
        self.bytes = 0
        self.seen: dict[int, float] = {}
        self.live = asyncio.Event()
        self.ended = asyncio.Event()
        self.close_code: int | None = None
        self.error: str | None = None
        self.task: asyncio.Task | None = None

    async def connect(self, url: str, origin: str, cookie: str) -> None:
        self.ws = await ws_connect(
            url,
            origin=origin,
            additional_headers={"Cookie": cookie},
            proxy=None,
            open_timeout=60,
            ping_interval=None,
            max_size=None,
            max_queue=None,
            close_timeout=2,
        )
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        tracker = self.tracker
        try:
            while True:
                data = await self.ws.recv(decode=False)
                now = time.perf_counter()
                tracker.last_frame_at = now
                self.frames += 1
                self.bytes += len(data)
                if not self.live.is_set() and LIVE_FRAME in data:
                    self.live.set()
                for raw in set(tracker.marker_re.findall(data)):
                    n = int(raw)
                    if n in self.seen:
                        continue
                    self.seen[n] = now
                    waiter = tracker.waiters.get(n)
                    if waiter is not None:
                        waiter.remaining -= 1
                        if waiter.remaining <= 0:
                            waiter.done.set()
        except Exception as e:  # ConnectionClosed included: the reason is reported
            self.close_code = getattr(self.ws, "close_code", None)
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.ended.set()

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


# --- helpers ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:8.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU use of daphne and of this process (the clients) over a phase."""

    def __init__(self, daphne_pid: int):
        self.pid = daphne_pid
        self.wall = time.perf_counter()
        self.server = proc_cpu_seconds(daphne_pid)
        self.me = time.process_time()

    def report(self) -> str:
        wall = time.perf_counter() - self.wall
        server = proc_cpu_seconds(self.pid)
        me = time.process_time() - self.me
        parts = []
        if server is not None and self.server is not None:
            parts.append(f"daphne {100 * (server - self.server) / wall:.0f}% of a core")
        parts.append(f"bench clients {100 * me / wall:.0f}% of a core")
        return ", ".join(parts) + f" (over {wall:.1f}s, {os.cpu_count()} cores)"


def commit_event(tracker: Tracker, n: int, per_release: int) -> bytes:
    """Commit n. Every `per_release` commits go to a new component, hence a new release: the
    release a commit lands in is re-rendered with all its commits, so one ever-growing release
    would make each event slower than the last (see the report's notes)."""
    marker = tracker.marker(n)
    return json.dumps(
        {
            "kind": "commit",
            "source": "bench",
            "source_id": f"commit-{marker}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "repository": REPOSITORY,
            "component": f"c{tracker.run_id}-{n // per_release}" if per_release else "",
            "sha": hashlib.sha1(marker.encode()).hexdigest(),
            "message": f"perf: live benchmark {marker}\n\nOne of the benchmark's commits.",
            "author": "bench",
        }
    ).encode()


def manage(env: dict, *args: str) -> str:
    cmd = [sys.executable, str(ROOT / "manage.py"), *args]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SetupError(
            f"manage.py {' '.join(args[:2])} failed ({result.returncode}):\n"
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def redis_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def clean_channel_layer(url: str) -> int:
    """Delete the channel layer's keys (asgi:*) in the benchmark's own Redis database."""
    import redis

    if redis_db(url) == 0:
        return 0
    r = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(r.scan_iter(match="asgi:*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i : i + 500])
        return len(keys)
    finally:
        r.close()


def check_redis(url: str) -> None:
    import redis

    r = redis.Redis.from_url(url, socket_timeout=5)
    try:
        r.ping()
    except Exception as e:
        raise SetupError(f"Redis at {url} is not reachable: {e}") from None
    finally:
        r.close()


def group_size(url: str, group: str = "overview") -> int | None:
    import redis

    r = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return r.zcard(f"asgi:group:{group}")
    except Exception:
        return None
    finally:
        r.close()


def load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- phases ----------------------------------------------------------------------------------


class Bench:
    def __init__(
        self, args, tracker: Tracker, http: httpx.AsyncClient, token: str, clients: list[Client]
    ):
        self.args = args
        self.tracker = tracker
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.clients = clients
        self.next_n = 0
        self.http_errors: list[str] = []

    async def check_bearer_only(self) -> None:
        """A real source sends only its bearer token. If the API refuses that for want of a CSRF
        pair (session auth tried first), carry a CSRF cookie + header like the browser tests do."""
        r = await self.http.post("/api/events", content=b"{}", headers=self.headers)
        if r.status_code == 403 and "CSRF" in r.text:
            await self.http.get("/login/")
            csrf = self.http.cookies.get("csrftoken")
            if not csrf or "sessionid" in self.http.cookies:
                raise SetupError(
                    "bearer-only POST /api/events is refused (CSRF) and no CSRF cookie to work around it"
                )
            self.headers["X-CSRFToken"] = csrf
            print(
                "  NOTE: POST /api/events with only a bearer token -> 403 'CSRF check Failed' (app bug, "
                "cdportal/api/auth.py AUTH order); posting with a CSRF cookie+header as a workaround"
            )
        elif r.status_code not in (400, 422):
            raise SetupError(f"probe POST /api/events answered {r.status_code}: {r.text[:200]}")

    def allocate(self) -> int:
        n = self.next_n
        self.next_n += 1
        return n

    async def post(self, n: int) -> bool:
        try:
            body = commit_event(self.tracker, n, self.args.commits_per_release)
            r = await self.http.post("/api/events", content=body, headers=self.headers)
        except httpx.HTTPError as e:
            self.http_errors.append(f"{type(e).__name__}: {e}")
            return False
        if r.status_code != 201:
            self.http_errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
            return False
        return True

    async def one_by_one(self, count: int) -> dict:
        """Post `count` events, each only after every client saw the previous one."""
        per_pair, slowest, fastest, post_times = [], [], [], []
        before_reply = 0  # pairs whose fragment arrived before the ingest call returned
        missed = failed = 0
        for _ in range(count):
            n = self.allocate()
            waiter = self.tracker.expect(n, len(self.clients))
            t0 = time.perf_counter()
            ok = await self.post(n)
            post_times.append(time.perf_counter() - t0)
            replied = post_times[-1]
            if not ok:
                failed += 1
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter.done.wait(), self.args.timeout)
            latencies = [c.seen[n] - t0 for c in self.clients if n in c.seen]
            missed += len(self.clients) - len(latencies)
            per_pair.extend(latencies)
            before_reply += sum(1 for lat in latencies if lat < replied)
            if len(latencies) == len(self.clients):
                slowest.append(max(latencies))
                fastest.append(min(latencies))
        return {
            "pairs": per_pair,
            "slowest": slowest,
            "fastest": fastest,
            "post": post_times,
            "missed": missed,
            "failed": failed,
            "before_reply": before_reply,
        }

    async def flood(self, count: int, posters: int) -> dict:
        """Post `count` events as fast as `posters` concurrent posters can."""
        numbers = [self.allocate() for _ in range(count)]
        for n in numbers:
            self.tracker.expect(n, len(self.clients))
        queue = list(reversed(numbers))
        frames_before = [c.frames for c in self.clients]
        done = failed = 0

        async def poster():
            nonlocal done, failed
            while queue:
                n = queue.pop()
                if await self.post(n):
                    done += 1
                else:
                    failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(posters)))
        posted = time.perf_counter() - start
        # Drain: until every client saw every event, nothing arrived for 5 s, or the deadline.
        deadline = time.perf_counter() + max(30.0, self.args.timeout * 3)
        while time.perf_counter() < deadline:
            if all(self.tracker.waiters[n].remaining <= 0 for n in numbers):
                break
            if time.perf_counter() - self.tracker.last_frame_at > 5:
                break
            await asyncio.sleep(0.02)
        seen_all = [
            max((c.seen[n] for n in numbers if n in c.seen), default=math.nan) for c in self.clients
        ]
        complete = sum(1 for c in self.clients if all(n in c.seen for n in numbers))
        visible = [sum(1 for n in numbers if n in c.seen) for c in self.clients]
        frames = [c.frames - before for c, before in zip(self.clients, frames_before)]
        drained = max(seen_all) - start if complete == len(self.clients) else math.nan
        return {
            "posted": done,
            "failed": failed,
            "seconds": posted,
            "drained": drained,
            "complete": complete,
            "visible": visible,
            "frames": frames,
            "count": count,
        }


# --- reporting -----------------------------------------------------------------------------


def report_latency(args, result: dict, frames: list[int], cpu: str) -> None:
    pairs, slowest, post = result["pairs"], result["slowest"], result["post"]
    n_clients = args.clients
    print(
        f"\nLatency: {args.events} events one at a time, ingest call -> fragment at each of {n_clients} clients"
    )
    print(
        f"  (event, client) pairs measured: {len(pairs)}   missed (timeout {args.timeout:g}s): "
        f"{result['missed']}   failed ingest calls: {result['failed']}"
    )
    print("                                 p50      p95      p99      max   (ms)")
    print(
        f"  per client (all pairs)    {ms(percentile(pairs, 50))} {ms(percentile(pairs, 95))} "
        f"{ms(percentile(pairs, 99))} {ms(max(pairs) if pairs else math.nan)}"
    )
    print(
        f"  slowest client per event  {ms(percentile(slowest, 50))} {ms(percentile(slowest, 95))} "
        f"{ms(percentile(slowest, 99))} {ms(max(slowest) if slowest else math.nan)}"
    )
    fastest = result["fastest"]
    print(
        f"  fastest client per event  {ms(percentile(fastest, 50))} {ms(percentile(fastest, 95))} "
        f"{ms(percentile(fastest, 99))} {ms(max(fastest) if fastest else math.nan)}"
    )
    print(
        f"  ingest call (POST->201)   {ms(percentile(post, 50))} {ms(percentile(post, 95))} "
        f"{ms(percentile(post, 99))} {ms(max(post) if post else math.nan)}"
    )
    if pairs:
        early = 100 * result["before_reply"] / len(pairs)
        why = " (the broadcast runs inside the ingest request)" if early >= 50 else ""
        print(f"  fragment arrived before the ingest call returned: {early:.0f}% of pairs{why}")
    if len(slowest) >= 10:
        fifths = [slowest[i * len(slowest) // 5 : (i + 1) * len(slowest) // 5] for i in range(5)]
        print(
            "  slowest-client p50 by fifth of the run (ms): "
            + " / ".join(f"{percentile(f, 50) * 1000:.0f}" for f in fifths)
        )
    if frames:
        print(
            f"  frames per client: {statistics.median(frames):g} median (min {min(frames)}, max {max(frames)}) "
            f"for {args.events} events = {statistics.median(frames) / max(args.events, 1):.2f} frames/event"
        )
    print(f"  CPU: {cpu}")


def report_flood(label: str, posters: int, result: dict, n_clients: int, cpu: str) -> None:
    count = result["count"]
    rate = result["posted"] / result["seconds"] if result["seconds"] > 0 else math.nan
    frames = result["frames"]
    med_frames = statistics.median(frames) if frames else 0
    print(f"\nThroughput, {label} ({posters} poster{'s' if posters > 1 else ''}): {count} events")
    print(
        f"  ingest calls: {result['posted']} ok, {result['failed']} failed in {result['seconds']:.2f}s "
        f"= {rate:.1f} events/s"
    )
    if math.isnan(result["drained"]):
        print(
            f"  delivery: {result['complete']}/{n_clients} clients saw every event "
            f"(seen per client: min {min(result['visible'])}, median {statistics.median(result['visible']):g})"
        )
    else:
        print(
            f"  delivery: every client saw every event {result['drained']:.2f}s after the first post "
            f"= {count / result['drained']:.1f} events/s end to end"
        )
    print(
        f"  frames per client: {med_frames:g} median (min {min(frames)}, max {max(frames)}) for {count} events "
        f"= {med_frames / max(count, 1):.2f} frames/event"
    )
    print(f"  CPU: {cpu}")


# --- main ----------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clients", type=int, default=200, help="websocket clients (default 200)")
    p.add_argument(
        "--events", type=int, default=200, help="events for the latency phase (default 200)"
    )
    p.add_argument(
        "--throughput-events", type=int, default=200, help="events per throughput run (default 200)"
    )
    p.add_argument(
        "--redis", default="redis://127.0.0.1:6379/15", help="channel layer Redis (default DB 15)"
    )
    p.add_argument(
        "--coalesce-ms", type=int, default=0, help="LIVE_COALESCE_MS for the server (default 0)"
    )
    p.add_argument("--port", type=int, default=0, help="daphne port (default: a free one)")
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for each event (default 10)"
    )
    p.add_argument(
        "--commits-per-release",
        type=int,
        default=10,
        help="commits per release before the next component starts one (default 10; 0: all in one)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, daphne.log)")
    args = p.parse_args(argv)
    if (
        args.clients < 1
        or args.events < 1
        or min(args.throughput_events, args.coalesce_ms, args.commits_per_release) < 0
    ):
        p.error(
            "--clients and --events must be >= 1; --throughput-events, --coalesce-ms, "
            "--commits-per-release >= 0"
        )
    return args


async def login(base: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as c:
        r = await c.get("/login/")
        if r.status_code != 200:
            raise SetupError(f"GET /login/ answered {r.status_code}")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text)
        csrf = match.group(1) if match else c.cookies.get("csrftoken")
        if not csrf:
            raise SetupError("GET /login/ gave no CSRF token")
        r = await c.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": csrf,
                "username": username,
                "password": password,
                "next": "/",
            },
        )
        session = c.cookies.get("sessionid")
        if r.status_code != 302 or not session:
            raise SetupError(
                f"login failed: POST /login/ answered {r.status_code}, sessionid={bool(session)}"
            )
        return session


async def wait_healthy(base: str, daphne: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=2) as c:
        while time.monotonic() < deadline:
            if daphne.poll() is not None:
                raise SetupError(f"daphne exited with {daphne.returncode}:\n{log_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                r = await c.get("/healthz")
                if r.status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SetupError(f"daphne did not answer /healthz within {timeout:g}s:\n{log_tail(log)}")


async def open_clients(
    n: int, tracker: Tracker, url: str, origin: str, cookie: str
) -> list[Client]:
    clients = [Client(i, tracker) for i in range(n)]
    gate = asyncio.Semaphore(50)

    async def one(c: Client):
        async with gate:
            await c.connect(url, origin, cookie)

    results = await asyncio.gather(*(one(c) for c in clients), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for c in clients:
            await c.close()
        raise SetupError(f"{len(failures)}/{n} websocket connections failed, e.g. {failures[0]!r}")
    return clients


async def wait_live(clients: list[Client], timeout: float = 60) -> None:
    waits = [asyncio.ensure_future(c.live.wait()) for c in clients]
    done, pending = await asyncio.wait(waits, timeout=timeout)
    for w in pending:
        w.cancel()
    if pending:
        closed = [c for c in clients if not c.live.is_set() and c.ended.is_set()]
        why = (
            f"; e.g. closed with code {closed[0].close_code} ({closed[0].error})" if closed else ""
        )
        raise SetupError(
            f"{len(pending)}/{len(clients)} clients got no 'live' frame within {timeout:g}s{why}"
        )


async def run(
    args, base: str, daphne: subprocess.Popen, log: Path, password: str, token: str, cleanup: list
) -> None:
    await wait_healthy(base, daphne, log)
    print(f"  daphne pid {daphne.pid} healthy at {base}")
    session = await login(base, "bench", password)
    print("  logged in as 'bench' (one session cookie shared by every client)")

    tracker = Tracker(secrets.token_hex(3))
    port = urlsplit(base).port
    t = time.perf_counter()
    clients = await open_clients(
        args.clients, tracker, f"ws://127.0.0.1:{port}{WS_PATH}", base, f"sessionid={session}"
    )
    cleanup.append(clients)
    await wait_live(clients)
    extensions = clients[0].ws.response.headers.get("Sec-WebSocket-Extensions") or "none"
    print(
        f"  {len(clients)} websocket clients live in {time.perf_counter() - t:.2f}s "
        f"(overview group size in Redis: {group_size(args.redis)}; ws extensions: {extensions})"
    )

    limits = httpx.Limits(
        max_connections=CONCURRENT_POSTERS, max_keepalive_connections=CONCURRENT_POSTERS
    )
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60, limits=limits) as http:
        bench = Bench(args, tracker, http, token, clients)
        await bench.check_bearer_only()
        warm = await bench.one_by_one(WARMUP_EVENTS)  # templates, connections, caches
        if warm["failed"] == WARMUP_EVENTS:
            raise SetupError(f"ingesting events fails: {bench.http_errors[:1]}")
        if warm["missed"] == WARMUP_EVENTS * len(clients):
            raise SetupError(
                "events are ingested but no client receives them (see daphne.log)\n" + log_tail(log)
            )

        print("\n== Results ==")
        frames_before = [c.frames for c in clients]
        cpu = CpuMeter(daphne.pid)
        latency = await bench.one_by_one(args.events)
        frames = [c.frames - b for c, b in zip(clients, frames_before)]
        report_latency(args, latency, frames, cpu.report())

        if args.throughput_events:
            for label, posters in (("sequential", 1), ("concurrent", CONCURRENT_POSTERS)):
                cpu = CpuMeter(daphne.pid)
                result = await bench.flood(args.throughput_events, posters)
                report_flood(label, posters, result, len(clients), cpu.report())

        print(f"\nLoad average at the end: {load_average()}")
        if bench.http_errors:
            print(f"\nIngest errors: {len(bench.http_errors)}, e.g. {bench.http_errors[0]}")
    dropped = [c for c in clients if c.ended.is_set()]
    if dropped:
        print(
            f"\nWebsockets closed by the server during the run: {len(dropped)}, e.g. code "
            f"{dropped[0].close_code} ({dropped[0].error})"
        )


def main(argv=None) -> int:
    args = parse_args(argv)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="cdportal-bench-"))
    log = workdir / "daphne.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in CDPORTAL_SETTINGS and k.removesuffix("_FILE") not in CDPORTAL_SETTINGS
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        REDIS_URL=args.redis,
        LIVE_COALESCE_MS=str(args.coalesce_ms),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    daphne = None
    cleanup: list = []
    status = 0
    print("cdportal live-update benchmark")
    print(
        f"  clients={args.clients} events={args.events} throughput-events={args.throughput_events} "
        f"coalesce={args.coalesce_ms}ms commits/release={args.commits_per_release or 'all'}"
    )
    print(f"  redis={args.redis} port={port} DEBUG=true SQLite, one daphne process")
    print(f"  workdir {workdir}")
    print(
        f"  machine: {os.cpu_count()} cores, load average {load_average()} (other processes skew the figures)"
    )
    loop = None
    try:
        check_redis(args.redis)
        stale = clean_channel_layer(args.redis)
        if stale:
            print(f"  removed {stale} stale channel-layer keys from {args.redis}")
        t = time.perf_counter()
        manage(env, "migrate", "--noinput")
        password = secrets.token_urlsafe(16)
        manage(env, "create_user", "bench", "--password", password, "--role", "viewer")
        manage(env, "create_user", "bench-source", "--role", "source")
        token = (
            manage(env, "create_api_token", "bench-source", "--name", "bench")
            .strip()
            .splitlines()[-1]
        )
        print(f"  migrated, users and API token created in {time.perf_counter() - t:.1f}s")

        with open(log, "wb") as out:
            daphne = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "cdportal.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.new_event_loop()
        loop.run_until_complete(run(args, base, daphne, log, password, token, cleanup))
    except SetupError as e:
        print(f"\nSETUP FAILED: {e}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        status = 130
    finally:
        if loop is not None:
            for clients in cleanup:
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.gather(*(c.close() for c in clients)))
            with contextlib.suppress(BaseException):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        if daphne is not None and daphne.poll() is None:
            daphne.send_signal(signal.SIGTERM)
            try:
                daphne.wait(10)
            except subprocess.TimeoutExpired:
                daphne.kill()
                daphne.wait(5)
        if daphne is not None:
            problems = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if ("Traceback" in line or " ERROR " in line or " WARNING " in line)
                # the probe's expected 422 (or 403, see check_bearer_only)
                and not (("Forbidden" in line or "Unprocessable" in line) and "/api/events" in line)
            ]
            if problems:
                print(
                    f"\ndaphne.log: {len(problems)} warning/error lines, first: {problems[0][:300]}"
                )
        with contextlib.suppress(Exception):
            clean_channel_layer(args.redis)
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
