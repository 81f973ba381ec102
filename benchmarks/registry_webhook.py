#!/usr/bin/env python
"""A registry notification envelope of N pushes: how long the registry waits for its answer.

What is measured
----------------
One envelope of N image pushes (default 2,000, each a new tag; the Distribution registry's
event shape of docs/registry.md) is POSTed to `POST /api/webhooks/registry` through Django's
test client, on a throwaway SQLite database (or `--database-url`): the envelope is stored and
answered 202, then a delivery worker (cdportal/api/deliveries.py, here in this thread) ingests
it. Before deliveries were processed behind, every push was ingested before the answer (46 s
for 2,000, far past the registry's timeout).

Printed: the seconds until the answer (what counts against the registry's endpoint
timeout, 2 s in the configuration docs/testing.md §1 uses), the seconds until every push is
recorded, and the delivery's final status. No figure is asserted.

Running it
----------
    python benchmarks/registry_webhook.py                 # 2,000 pushes
    python benchmarks/registry_webhook.py --pushes 500 --database-url postgres://…/bench
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import throwaway_django  # noqa: E402  (benchmarks/, beside this file)

TOKEN = "benchmark-webhook-token"
DIGEST = "sha256:" + "ab" * 32


def envelope(pushes: int, run: str) -> bytes:
    events = [
        {
            "id": f"{run}-{n}",
            "timestamp": "2026-11-28T22:20:40.691061541Z",
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": 475,
                "digest": DIGEST,
                "length": 475,
                "repository": "5dlabs/controller",
                "tag": f"{run}-{n}",
            },
            "request": {
                "id": f"r-{n}",
                "addr": "127.0.0.1:39444",
                "host": "registry.example.com",
                "method": "PUT",
                "useragent": "push-client",
            },
            "actor": {"name": "ci"},
            "source": {"addr": "vm:5000", "instanceID": "bench"},
        }
        for n in range(pushes)
    ]
    return json.dumps({"events": events}).encode()


def measure(client, pushes: int, run: str) -> tuple[float, float, str]:
    from cdportal.api import deliveries
    from cdportal.pipeline.models import WebhookDelivery

    body = envelope(pushes, run)
    started = time.perf_counter()
    answer = client.post(
        "/api/webhooks/registry",
        data=body,
        content_type="application/vnd.docker.distribution.events.v1+json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    answered = time.perf_counter() - started
    deliveries.process_pending()
    done = time.perf_counter() - started
    delivery = WebhookDelivery.objects.get(delivery_id=f"{run}-0")
    return (
        answered,
        done,
        f"HTTP {answer.status_code} {answer.json().get('status')} → "
        f"{delivery.status}, {delivery.events_recorded} recorded",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            ALLOWED_HOSTS="testserver",
            REGISTRY_WEBHOOK_TOKEN=TOKEN,
            REGISTRY_PUBLIC_HOST="",
            REGISTRY_IMAGES="",
        )
        if args.database_url:  # a database of your own, migrated here; nothing else leaks in
            import django
            from django.core.management import call_command

            os.environ.pop("REDIS_URL", None)
            os.environ.update(
                DJANGO_SETTINGS_MODULE="cdportal.settings",
                DEBUG="true",
                LOG_LEVEL="WARNING",
                DATABASE_URL=args.database_url,
            )
            django.setup()
            call_command("migrate", verbosity=0)
        else:
            throwaway_django.setup(Path(tmp), clear=("KUBECONFIG",))
        from django.test import Client

        client = Client()
        print(
            f"one registry envelope of {args.pushes} pushes, "
            f"{os.environ.get('DATABASE_URL', '').split(':')[0]}"
        )
        measure(client, 1, run=f"warm-{time.time_ns()}")  # imports, URL resolver, connection
        answered, done, outcome = measure(client, args.pushes, run=f"bench-{time.time_ns()}")
        from cdportal.pipeline import publish

        publish.flush()
        print(f"  answered in {answered:7.2f} s, all recorded after {done:7.2f} s  ({outcome})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
