"""Webhook deliveries are answered after one insert and processed behind, by the delivery
workers (cdportal/api/deliveries.py): in order per repository, several workers side by side on
PostgreSQL, and nothing lost when a worker dies half-way.

Threads and processes use their own database connections: they see only committed rows, so
these tests run outside a test transaction. The PostgreSQL ones run in `make test-postgres`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from helpers import reachable, require, wait_for

from cdportal.api import deliveries
from cdportal.pipeline.ingest import INGEST_LOCK
from cdportal.pipeline.models import Commit, PipelineEvent, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "It's a Secret to Everybody"
REPO_ROOT = Path(__file__).resolve().parents[2]
PUSH = json.loads(
    (REPO_ROOT / "tests/fixtures/github/webhooks/examples/push/04-push.json").read_text()
)


@pytest.fixture(autouse=True)
def configured(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    yield
    # What was ingested is rendered for the live pages in a thread: let it finish and close its
    # connection, so PostgreSQL can drop the test database at the end.
    from cdportal.live import broadcast

    broadcast.flush()
    broadcast.close_connections()


@pytest.fixture
def postgres():
    if connection.vendor == "postgresql":
        return
    if reachable("127.0.0.1", 5432):
        pytest.skip("runs in the PostgreSQL pass (make test-postgres)")
    require("PostgreSQL", False, "row locks and killed workers need PostgreSQL on 127.0.0.1:5432")


def push(repository: str, n: int, commits: int = 1) -> dict:
    """A push to `repository`'s default branch of `commits` commits, numbered from n."""
    payload = json.loads(json.dumps(PUSH))
    payload["repository"]["full_name"] = repository
    commit = payload["commits"][0]
    payload["commits"] = [
        {
            **commit,
            "id": hashlib.sha1(f"{repository}{n}.{i}".encode()).hexdigest(),
            "message": f"fix: {n}.{i}",
        }
        for i in range(commits)
    ]
    payload["head_commit"] = payload["commits"][-1]
    return payload


def deliver(client: Client, payload: dict, event: str = "push", delivery: str | None = None):
    body = json.dumps(payload).encode()
    return client.post(
        "/api/webhooks/github",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256="
            + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        },
    )


def workers(count: int):
    """`count` delivery workers in threads, as web processes or process-deliveries run them."""
    stop, wake = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=deliveries.run, kwargs={"stop": stop, "wake": wake, "poll": 0.02})
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()

    def stopped():
        stop.set()
        wake.set()
        for thread in threads:
            thread.join(30)

    return stopped


def test_a_delivery_is_answered_after_one_insert_and_processed_later():
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = deliver(client, push("octo/one", 1, commits=3))
    assert (response.status_code, response.json()["status"]) == (202, "received")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert not PipelineEvent.objects.exists()

    # The same delivery again (no test transaction here: the INSERT's conflict, in autocommit).
    again = deliver(client, push("octo/one", 1, commits=3), delivery=response.json()["delivery"])
    assert (again.status_code, again.json()["duplicate"]) == (200, True)

    assert deliveries.process_pending() == 1

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.events_recorded, delivery.queue) == (
        "ingested",
        3,
        "github:octo/one",
    )
    assert Commit.objects.count() == 3


def test_the_web_process_worker_takes_what_was_stored_before_it_started():
    client = Client()
    for n in range(3):
        deliver(client, push("octo/one", n))
    assert WebhookDelivery.objects.filter(status="received").count() == 3
    deliveries.start()
    try:
        wait_for(lambda: not WebhookDelivery.objects.filter(status="received").exists())
    finally:
        deliveries.stop()
    assert Commit.objects.count() == 3


def test_workers_process_each_repository_in_the_order_its_deliveries_came():
    """Two repositories, deliveries interleaved, three workers at once (side by side on
    PostgreSQL; on SQLite one transaction at a time): every delivery processed once, and each
    repository's events recorded in the order its deliveries were stored."""
    client = Client()
    for n in range(12):
        deliver(client, push("octo/one" if n % 3 else "octo/two", n))
    stopped = workers(3)
    try:
        wait_for(lambda: not WebhookDelivery.objects.filter(status="received").exists(), timeout=60)
    finally:
        stopped()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"ingested"}
    for repository in ("octo/one", "octo/two"):
        stored = [
            d.payload["commits"][0]["message"]
            for d in WebhookDelivery.objects.filter(queue=f"github:{repository}").order_by("pk")
        ]
        recorded = list(
            Commit.objects.filter(repository__full_name=repository)
            .order_by("pk")
            .values_list("message", flat=True)
        )
        assert recorded == stored


@pytest.mark.postgres
def test_a_claimed_delivery_holds_back_its_repository_and_nothing_else(postgres):
    client = Client()
    first, second = (deliver(client, push("octo/one", n)).json()["delivery"] for n in (1, 2))
    other = deliver(client, push("octo/two", 3)).json()["delivery"]
    claimed, release = threading.Event(), threading.Event()
    held = {}

    def hold():
        from django.db import transaction

        with transaction.atomic():
            held["delivery"] = deliveries.claim().delivery_id
            claimed.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert claimed.wait(30)
        from django.db import transaction

        with transaction.atomic():
            # The older delivery of octo/one is locked: its next one must wait; octo/two need not.
            assert deliveries.claim().delivery_id == other
    finally:
        release.set()
        holder.join(30)
    assert held["delivery"] == first
    assert WebhookDelivery.objects.get(delivery_id=second).status == "received"


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def worker_process(url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "REDIS_URL_FILE"}}
    env.update(DATABASE_URL=url, DEBUG="true", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "manage.py", "process-deliveries", "--poll", "0.05"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.postgres
def test_a_worker_killed_half_way_loses_nothing(postgres):
    """The worker claims the delivery and starts ingesting; it is killed (SIGKILL: no clean-up)
    while its transaction is open. Nothing of the delivery is written, it is `received` again,
    and the next worker processes it fully."""
    deliver(Client(), push("octo/one", 1, commits=5))
    url = database_url()
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=False) as blocker:
        # Hold the ingestion lock: the worker blocks inside its delivery's transaction.
        blocker.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])
        worker = worker_process(url)
        try:
            waiting = wait_for(
                lambda: blocker.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchall(),
                timeout=60,
            )
            [(backend,)] = waiting
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
        blocker.rollback()

        def gone() -> bool:
            # pg_stat_activity is read once per transaction: a new one for each look.
            blocker.rollback()
            return not blocker.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]
            ).fetchone()

        # The dead worker's server process ends once its lock wait does: its locks go with it.
        wait_for(gone, timeout=30)
        blocker.rollback()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.events_recorded) == ("received", 0)
    assert not PipelineEvent.objects.exists()

    again = worker_process(url)
    try:
        wait_for(lambda: WebhookDelivery.objects.filter(status="ingested").exists(), timeout=60)
    finally:
        again.send_signal(signal.SIGTERM)
        output = again.communicate(timeout=30)[0]
    assert again.returncode == 0, output
    delivery.refresh_from_db()
    assert (delivery.status, delivery.events_recorded) == ("ingested", 5)
    assert Commit.objects.count() == 5
