#!/usr/bin/env python
"""Webhook acknowledgements: cdportal's GitHub webhook against a minimal receiver, side by side.

What is measured
----------------
Signed GitHub `release` deliveries (the `release.published` example, each with its own release
id, tag and delivery id, so every one is a new fact) are POSTed by 1, 8 and 32 concurrent
senders for `--seconds` each to:

1. cdportal: daphne serving `cdportal.asgi:application` in the production configuration
   (DEBUG off, a SECRET_KEY, GITHUB_WEBHOOK_SECRET, LOG_LEVEL=WARNING, Redis when `--redis-url`
   is given) on a scratch PostgreSQL database, its delivery worker running in the same process;
2. the floor: a minimal receiver in the same PostgreSQL server (aiohttp + psycopg, the HMAC
   check, two inserts in one transaction, a pool of 8 connections; MINIMAL_RECEIVER below).

The senders are one asyncio process (httpx) on the same machine, for both servers.

Printed per server and concurrency: acknowledgements per second, p50 and p99 of the time to the
answer, errors; then cdportal's figures as ratios of the floor's (acks/s: cdportal / floor;
p99: cdportal / floor), and for cdportal how long after the last answer every delivery had
been processed (its worker runs behind). No figure is asserted.

`--cdportal-root` serves another checkout (e.g. an export of main, to compare before and
after); the database is dropped and created again for each server.

Running it
----------
    python benchmarks/webhook_ack.py --database-url postgres://postgres@127.0.0.1:5432/bench
    python benchmarks/webhook_ack.py --database-url … --redis-url redis://127.0.0.1:6379/6 \\
        --cdportal-root /tmp/main-export
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-webhook-secret"
PAYLOAD = ROOT / "tests/fixtures/github/webhooks/examples/release/00-published.json"
CONCURRENCY = (1, 8, 32)

MINIMAL_RECEIVER = r"""
import hashlib, hmac, json, os, sys
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

SECRET = os.environ["SECRET"].encode()

async def webhook(request):
    body = await request.read()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return web.json_response({"detail": "bad signature"}, status=401)
    payload = json.loads(body)
    async with request.app["pool"].connection() as conn:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO delivery (delivery_id, event, payload) VALUES (%s, %s, %s)",
                [request.headers["X-GitHub-Delivery"], request.headers["X-GitHub-Event"], body.decode()],
            )
            await conn.execute(
                "INSERT INTO event (source_id, kind) VALUES (%s, %s)",
                [str(payload["release"]["id"]), "release"],
            )
    return web.json_response({"status": "received"}, status=202)

async def start(app):
    app["pool"] = AsyncConnectionPool(os.environ["DSN"], min_size=8, max_size=8, open=False)
    await app["pool"].open()
    async with app["pool"].connection() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS delivery (id bigserial PRIMARY KEY, "
                           "delivery_id text UNIQUE, event text, payload jsonb)")
        await conn.execute("CREATE TABLE IF NOT EXISTS event (id bigserial PRIMARY KEY, "
                           "source_id text UNIQUE, kind text)")

async def stop(app):
    await app["pool"].close()

app = web.Application()
app.router.add_post("/api/webhooks/github", webhook)
app.router.add_get("/healthz", lambda r: web.Response(text="ok"))
app.on_startup.append(start)
app.on_cleanup.append(stop)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"the server did not answer within 60 s:\n{log.read_text()[-3000:]}")


def start_cdportal(root: Path, database_url: str, redis_url: str, tmp: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key-benchmark-only",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        GITHUB_WEBHOOK_SECRET=SECRET,
        LOG_LEVEL="WARNING",
        DATABASE_URL=database_url,
        PYTHONPATH=str(root),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if os.environ.get("WEBHOOK_WORKER_IN_WEB"):
        env["WEBHOOK_WORKER_IN_WEB"] = os.environ["WEBHOOK_WORKER_IN_WEB"]
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=root, env=env, check=True)
    port = free_port()
    log = tmp / "cdportal.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                python,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "cdportal.asgi:application",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_up(proc, url, log)
    return proc, url


def start_minimal(database_url: str, tmp: Path):
    script = tmp / "minimal_receiver.py"
    script.write_text(MINIMAL_RECEIVER)
    port = free_port()
    log = tmp / "minimal.log"
    env = {
        **os.environ,
        "SECRET": SECRET,
        "DSN": database_url.replace("postgres://", "postgresql://", 1),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    wait_up(proc, url, log)
    return proc, url


def delivery(template: dict, n: int) -> tuple[bytes, dict]:
    payload = json.loads(json.dumps(template))
    release = payload["release"]
    release["id"] = 10_000_000 + n
    release["tag_name"] = f"v9.{n // 1000}.{n % 1000}"
    release["name"] = release["tag_name"]
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "release",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256="
        + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "User-Agent": "GitHub-Hookshot/benchmark",
    }
    return body, headers


async def load(
    url: str, senders: int, seconds: float, start_n: int
) -> tuple[list[float], int, int]:
    import httpx

    template = json.loads(PAYLOAD.read_text())
    latencies: list[float] = []
    errors = 0
    counter = start_n
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def sender():
            nonlocal errors, counter
            while time.monotonic() < deadline:
                counter += 1
                body, headers = delivery(template, counter)
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"{url}/api/webhooks/github", content=body, headers=headers
                    )
                    ok = response.status_code in (200, 202)
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, errors, counter


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pending(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(
            "SELECT count(*) FROM pipeline_webhookdelivery WHERE status = 'received'"
        ).fetchone()[0]


def run(name: str, url: str, seconds: float, database_url: str | None) -> dict[int, tuple]:
    results = {}
    n = 0
    asyncio.run(load(url, 1, 1.0, 5_000_000))  # warm up: imports, connections
    for senders in CONCURRENCY:
        started = time.monotonic()
        latencies, errors, n = asyncio.run(load(url, senders, seconds, n))
        elapsed = time.monotonic() - started
        drained = ""
        if database_url and os.environ.get("WEBHOOK_WORKER_IN_WEB") != "false":
            while pending(database_url):
                time.sleep(0.05)
            drained = f", all processed {time.monotonic() - started - elapsed:5.2f} s after"
        rate = len(latencies) / elapsed
        results[senders] = (rate, p(latencies, 0.5), p(latencies, 0.99))
        print(
            f"  {name:10} {senders:3} senders: {rate:7.1f} acks/s  p50 {p(latencies, 0.5) * 1000:7.1f} ms"
            f"  p99 {p(latencies, 0.99) * 1000:7.1f} ms  errors {errors}{drained}",
            flush=True,
        )
        time.sleep(1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument(
        "--redis-url", default="", help="Channels layer for cdportal (default: in-memory)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per concurrency level")
    parser.add_argument("--cdportal-root", type=Path, default=ROOT, help="the checkout to serve")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"signed release deliveries, {args.seconds:.0f} s per level, {args.cdportal_root}")
        recreate(args.database_url)
        proc, url = start_minimal(args.database_url, tmp)
        try:
            floor = run("minimal", url, args.seconds, None)
        finally:
            proc.terminate()
            proc.wait(10)
        recreate(args.database_url)
        proc, url = start_cdportal(args.cdportal_root, args.database_url, args.redis_url, tmp)
        try:
            mine = run("cdportal", url, args.seconds, args.database_url)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print("cdportal / minimal receiver:")
    for senders in CONCURRENCY:
        rate, _, p99 = mine[senders]
        floor_rate, _, floor_p99 = floor[senders]
        print(
            f"  {senders:3} senders: acks/s {rate / floor_rate:5.2f}x ({rate:.0f} vs {floor_rate:.0f}),"
            f"  p99 {p99 / floor_p99:5.2f}x ({p99 * 1000:.0f} vs {floor_p99 * 1000:.0f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
