#!/usr/bin/env python
"""A 200 MB anonymous POST against daphne: what the server's memory does with and without the limit.

What is measured
----------------
A daphne process serving cdportal in production configuration (DEBUG off) on a throwaway
SQLite database receives one POST of N MiB (default 200) to /api/events, twice, each on a fresh
server:

1. limited: MAX_REQUEST_BYTES at its default; cdportal.edge.BodyLimit answers 413 from the
   announced length and never reads the body;
2. unlimited: MAX_REQUEST_BYTES raised past N, so Django reads the body (and answers 401: the
   POST carries no token).

Printed per run: the answer, the server's resident memory (VmRSS) before, right after the
answer, and 10 s later. daphne receives the whole body and queues it for the application before
the application runs in both cases; what differs is whether anything keeps it once the request
ends. The figures depend on the allocator (glibc returns freed memory to the system when it
can), which is why they are printed here and asserted by no test.

Running it
----------
    python benchmarks/body_limit.py            # 200 MiB
    python benchmarks/body_limit.py --mib 50
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
from live_server import manage, server_env, start_daphne, stop, wait_healthy  # noqa: E402


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def one_run(label: str, mib: int, max_request_bytes: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(Path(tmp))
        env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50))
        if max_request_bytes is not None:
            env["MAX_REQUEST_BYTES"] = str(max_request_bytes)
        manage(env, ["migrate", "--noinput", "-v", "0"])
        proc, url, _, log_path = start_daphne(env, Path(tmp))
        try:
            wait_healthy(proc, url, log_path)
            httpx.get(f"{url}/healthz")
            before = rss_mib(proc.pid)
            chunk = b"x" * (1024 * 1024)
            response = httpx.post(
                f"{url}/api/events",
                content=(chunk for _ in range(mib)),
                timeout=120,
                headers={
                    "Content-Length": str(mib * len(chunk)),
                    "Content-Type": "application/json",
                },
            )
            after = rss_mib(proc.pid)
            for _ in range(40):  # daphne drops finished requests once a second
                httpx.get(f"{url}/healthz")
                time.sleep(0.25)
            later = rss_mib(proc.pid)
        finally:
            stop(proc)
    print(
        f"{label:<10} answer {response.status_code}  RSS before {before:7.1f} MiB  "
        f"right after {after:7.1f} MiB (+{after - before:.1f})  10 s later {later:7.1f} MiB "
        f"(+{later - before:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args()
    print(f"one POST of {args.mib} MiB to /api/events on daphne, production configuration")
    one_run("limited", args.mib, None)
    one_run("unlimited", args.mib, (args.mib + 1) * 1024 * 1024)


if __name__ == "__main__":
    main()
