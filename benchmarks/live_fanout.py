#!/usr/bin/env python
"""Live fan-out of cdportal next to its floor: a bare websocket broadcast server.

What is measured
----------------
For each tab count (200 and 1,000 by default) two servers are measured in turn, on this machine:

- **bare**: the floor — a `websockets` server in its own process that forwards each trigger
  message to every open socket (``websockets.broadcast``), nothing else;
- **cdportal** in its production configuration: one daphne process, PostgreSQL, the Redis
  channel layer, DEBUG off, the default coalescing window.

N websocket clients (one per browser tab; cdportal's share one logged-in session) open the
overview socket (``/ws/live/overview/``) and wait for its "live" frame. Then 20 commit events are
sent at 2 per second without waiting for delivery — cdportal's through ``POST /api/events`` (a
``source`` user's bearer token), the bare server's through a trigger socket. Each carries a
unique marker; t0 is taken before the send and every client records when it first receives a
frame holding that marker (cdportal: the overview's event log). Printed per server: p50/p99 of
that latency over all (event, client) pairs, lost pairs (never seen within --timeout), sockets
the server dropped, frames and bytes per client and per frame, the server's CPU; then the
ratio cdportal / bare.

After the events, cdportal's tabs are all closed at once and, once the server is quiet, the
script prints what is left: members of the ``overview`` group in Redis, PostgreSQL connections
to the benchmark's database, errors in daphne's log and daphne's CPU while no tab is open.

No figure is asserted; the script exits non-zero only when the setup fails.

Running it
----------
    python benchmarks/live_fanout.py                      # 200 and 1000 tabs, ~3 minutes
    python benchmarks/live_fanout.py --tabs 200 --events 20 --rate 2

Options: --tabs N[,N…] (200,1000), --events (20), --rate events/s (2), --timeout seconds a
pair may take before it counts as lost (15), --database-url (a PostgreSQL server; the script
creates the database named there, default ``cdportal_bench_fanout``, and drops it afterwards),
--redis (redis://127.0.0.1:6379/15; its ``asgi:*`` keys are deleted before and after, never in
DB 0), --bare-pad bytes to pad each bare message with (0), --keep (keep the temp dir and the
database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

# benchmarks/live_latency.py, beside this file: its websocket client, login and Redis helpers.
sys.path.insert(0, str(Path(__file__).resolve().parent))
ll = importlib.import_module("live_latency")

ROOT = ll.ROOT
WS_PATH = ll.WS_PATH
QUIET_SECONDS = 5.0


# --- the floor -------------------------------------------------------------------------------


def bare_server(port: int) -> None:
    """Serve the floor: every message on /trigger goes to every other socket."""
    from websockets.asyncio.server import broadcast, serve

    live = '<span id="live-status" class="live on" hx-swap-oob="true">live</span>'
    tabs: set = set()

    async def handler(ws):
        if ws.request.path == "/trigger":
            async for message in ws:
                broadcast(tabs, message)
            return
        tabs.add(ws)
        try:
            await ws.send(live)
            await ws.wait_closed()
        finally:
            tabs.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", port, ping_interval=None, max_queue=None) as server:
            await server.serve_forever()

    asyncio.run(main())


# --- one measurement -------------------------------------------------------------------------


async def deliver(args, clients, tracker, send, count: int = 0) -> dict:
    """Send `count` (args.events) events at args.rate per second; wait; collect the figures."""
    frames_before = [c.frames for c in clients]
    bytes_before = [c.bytes for c in clients]
    numbers, t0s, failed, calls = [], {}, 0, []
    start = time.perf_counter()
    for i in range(count or args.events):
        await asyncio.sleep(max(0.0, start + i / args.rate - time.perf_counter()))
        n = tracker.allocate()
        tracker.expect(n, len(clients))
        numbers.append(n)
        t0s[n] = time.perf_counter()
        if not await send(n):
            failed += 1
        calls.append(time.perf_counter() - t0s[n])
    deadline = time.perf_counter() + args.timeout
    while time.perf_counter() < deadline:
        if all(tracker.waiters[n].remaining <= 0 for n in numbers):
            break
        await asyncio.sleep(0.02)
    pairs = [c.seen[n] - t0s[n] for c in clients for n in numbers if n in c.seen]
    # The first tab to get an event: the fixed cost (ingest, render, publish) before fan-out.
    first = [
        min(c.seen[n] for c in clients if n in c.seen) - t0s[n]
        for n in numbers
        if any(n in c.seen for c in clients)
    ]
    frames = sum(c.frames - b for c, b in zip(clients, frames_before))
    sent = sum(c.bytes - b for c, b in zip(clients, bytes_before))
    return {
        "pairs": pairs,
        "first": first,
        "calls": calls,
        "lost": len(clients) * len(numbers) - len(pairs),
        "failed": failed,
        "dropped": sum(1 for c in clients if c.ended.is_set()),
        "frames": frames,
        "bytes": sent,
    }


def report(label: str, n: int, result: dict, cpu: str) -> None:
    pairs = result["pairs"]
    frames = max(result["frames"], 1)
    print(
        f"  {label:8} p50 {ll.ms(ll.percentile(pairs, 50))} ms  p99 {ll.ms(ll.percentile(pairs, 99))} ms"
        f"  max {ll.ms(max(pairs) if pairs else float('nan'))} ms  (first tab p50"
        f" {ll.ms(ll.percentile(result['first'], 50)).strip()} ms, send call p50"
        f" {ll.ms(ll.percentile(result['calls'], 50)).strip()} ms)   lost {result['lost']}"
        f"  dropped {result['dropped']}  failed sends {result['failed']}"
    )
    print(
        f"           frames/tab {result['frames'] / n:.1f}, bytes/frame {result['bytes'] / frames:.0f},"
        f" bytes/tab {result['bytes'] / n:.0f}; CPU: {cpu}"
    )


class Counter(ll.Tracker):
    def __init__(self):
        super().__init__(secrets.token_hex(3))
        self.next_n = 0

    def allocate(self) -> int:
        self.next_n += 1
        return self.next_n


async def open_tabs(n, tracker, url, origin, cookie):
    clients = await ll.open_clients(n, tracker, url, origin, cookie)
    await ll.wait_live(clients, timeout=120)
    return clients


async def close_tabs(clients) -> None:
    await asyncio.gather(*(c.close() for c in clients))


async def measure_bare(args, n: int) -> dict:
    port = ll.free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(port)], cwd=ROOT, start_new_session=True
    )
    try:
        await wait_port(port, proc)
        tracker = Counter()
        clients = await open_tabs(
            n, tracker, f"ws://127.0.0.1:{port}/", f"http://127.0.0.1:{port}", "x=1"
        )
        trigger = await ll.ws_connect(f"ws://127.0.0.1:{port}/trigger", proxy=None)
        pad = "x" * args.bare_pad

        async def send(k: int) -> bool:
            marker = tracker.marker(k)
            await trigger.send(
                f'<tr id="event-{k}" hx-swap-oob="afterbegin:#events"><td>{marker}</td>{pad}</tr>'
            )
            return True

        await deliver(args, clients, tracker, send, 3)  # warm-up
        cpu = ll.CpuMeter(proc.pid)
        result = await deliver(args, clients, tracker, send)
        report("bare", n, result, cpu.report().replace("daphne", "server"))
        await trigger.close()
        await close_tabs(clients)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


async def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ll.SetupError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.1)
    raise ll.SetupError(f"nothing listens on {port} after {timeout:g}s")


def overview_group(url: str) -> str:
    """The overview group in Redis: members of channels-redis' sorted set (its default layer),
    and processes subscribed to it (its pub/sub layer, cdportal/live/layers.py)."""
    import redis

    r = redis.Redis.from_url(url, socket_timeout=5)
    try:
        members = r.zcard("asgi:group:overview")
        prefix = f"cdportal.db{ll.redis_db(url)}."
        ((_, subscribed),) = r.pubsub_numsub(f"{prefix}__group__overview")
        connections = sum(1 for c in r.client_list() if int(c["db"]) == ll.redis_db(url)) - 1
        return (
            f"{members} members, {subscribed} subscribed processes, {connections} Redis connections"
        )
    except Exception as e:
        return f"n/a ({e})"
    finally:
        r.close()


def pg_connections(url: str) -> int | None:
    import psycopg

    name = urlsplit(url).path.strip("/")
    try:
        with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()[0]
    except psycopg.Error:
        return None


def maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def create_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.strip("/")
    try:
        with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        raise ll.SetupError(f"cannot create the database {name}: {e}") from None


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.strip("/")
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(maintenance_url(url), autocommit=True) as conn,
    ):
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def measure_cdportal(args, n: int, env: dict, workdir: Path, password: str, token: str):
    port = ll.free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / f"daphne-{n}.log"
    ll.clean_channel_layer(args.redis)
    with open(log, "wb") as out:
        daphne = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "cdportal.asgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        await ll.wait_healthy(base, daphne, log)
        session = await ll.login(base, "bench", password)
        tracker = Counter()
        clients = await open_tabs(
            n, tracker, f"ws://127.0.0.1:{port}{WS_PATH}", base, f"sessionid={session}"
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as http:

            async def send(k: int) -> bool:
                body = ll.commit_event(tracker, k, 10)
                with contextlib.suppress(httpx.HTTPError):
                    r = await http.post("/api/events", content=body, headers=headers)
                    return r.status_code == 201
                return False

            await deliver(args, clients, tracker, send, 3)  # warm-up
            cpu = ll.CpuMeter(daphne.pid)
            result = await deliver(args, clients, tracker, send)
        report("cdportal", n, result, cpu.report())
        group = overview_group(args.redis)
        pg_open = pg_connections(args.database_url)
        t = time.perf_counter()
        await close_tabs(clients)
        await asyncio.sleep(QUIET_SECONDS)
        idle = ll.CpuMeter(daphne.pid)
        await asyncio.sleep(QUIET_SECONDS)
        errors = [
            line for line in log.read_text(errors="replace").splitlines()
            if "Error" in line or "Traceback" in line
        ]  # fmt: skip
        print(
            f"           with {n} tabs open: overview group {group}, PostgreSQL"
            f" connections {pg_open}"
        )
        print(
            f"           {QUIET_SECONDS:g}s after closing all {n} tabs at once"
            f" ({time.perf_counter() - t - QUIET_SECONDS:.1f}s): overview group"
            f" {overview_group(args.redis)}, PostgreSQL connections"
            f" {pg_connections(args.database_url)}, daphne log error lines {len(errors)}"
            f"{' e.g. ' + errors[0][:160] if errors else ''}; idle {idle.report()}"
        )
        return result
    finally:
        daphne.send_signal(signal.SIGTERM)
        try:
            daphne.wait(15)
        except subprocess.TimeoutExpired:
            daphne.kill()
            daphne.wait(5)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tabs", default="200,1000", help="comma-separated tab counts (200,1000)")
    p.add_argument("--events", type=int, default=20, help="events per measurement (20)")
    p.add_argument("--rate", type=float, default=2.0, help="events per second (2)")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds before a pair is lost")
    p.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cdportal_bench_fanout"
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    p.add_argument("--bare-pad", type=int, default=0, help="bytes of padding per bare message")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.tabs = [int(t) for t in args.tabs.split(",") if t.strip()]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        bare_server(args.serve_bare)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="cdportal-fanout-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ll.CDPORTAL_SETTINGS and k.removesuffix("_FILE") not in ll.CDPORTAL_SETTINGS
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_COOKIES="false",  # plain http on loopback; production ends TLS at a proxy
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    print("cdportal live fan-out vs a bare websocket broadcast server")
    print(
        f"  tabs={args.tabs} events={args.events} at {args.rate:g}/s; cdportal: one daphne,"
        f" PostgreSQL, Redis ({args.redis}), DEBUG off, default coalescing"
    )
    print(f"  machine: {os.cpu_count()} cores, load average {ll.load_average()}")
    status = 0
    try:
        ll.check_redis(args.redis)
        create_database(args.database_url)
        ll.manage(env, "migrate", "--noinput")
        password = secrets.token_urlsafe(16)
        ll.manage(env, "create_user", "bench", "--password", password, "--role", "viewer")
        ll.manage(env, "create_user", "bench-source", "--role", "source")
        out = ll.manage(env, "create_api_token", "bench-source", "--name", "bench")
        token = out.strip().splitlines()[-1]
        for n in args.tabs:
            print(f"\n{n} tabs, {args.events} events at {args.rate:g}/s")
            bare = asyncio.run(measure_bare(args, n))
            mine = asyncio.run(measure_cdportal(args, n, env, workdir, password, token))
            p99 = ll.percentile(mine["pairs"], 99) / ll.percentile(bare["pairs"], 99)
            p50 = ll.percentile(mine["pairs"], 50) / ll.percentile(bare["pairs"], 50)
            print(f"  ratio cdportal/bare: p50 {p50:.1f}x  p99 {p99:.1f}x")
    except ll.SetupError as e:
        print(f"\nSETUP FAILED: {e}", file=sys.stderr)
        status = 2
    finally:
        with contextlib.suppress(Exception):
            ll.clean_channel_layer(args.redis)
        if args.keep:
            print(f"\nkept {workdir} and {args.database_url}")
        else:
            drop_database(args.database_url)
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
