"""A thousand tabs open the overview socket and drop it: nothing of them is left behind.

The sockets are real websockets (the `websockets` library on both ends) served in this process by
a small ASGI adapter, so the test can look at the server's own tasks afterwards; the channel layer
and the database are whatever the run is configured with (Redis and PostgreSQL under
`make test-postgres`).
"""

import asyncio
import contextlib
import os

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client
from helpers import wait_for_async
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from cdportal.asgi import application
from cdportal.live.broadcast import OVERVIEW

pytestmark = pytest.mark.django_db(transaction=True)

TABS = 1000


@pytest.fixture
def session_cookie(bob):
    client = Client()
    client.force_login(bob)
    return f"sessionid={client.cookies['sessionid'].value}"


@contextlib.asynccontextmanager
async def asgi_websocket_server(app):
    """Serve `app`'s websocket routes on a free 127.0.0.1 port, as daphne would."""

    async def handler(ws):
        request = ws.request
        path, _, query = request.path.partition("?")
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.raw_items()],
            "client": ws.remote_address[:2],
            "server": ws.local_address[:2],
            "subprotocols": [],
        }
        inbox: asyncio.Queue = asyncio.Queue()
        inbox.put_nowait({"type": "websocket.connect"})

        async def send(message):
            with contextlib.suppress(ConnectionClosed):
                if message["type"] == "websocket.send":
                    await ws.send(message.get("text") or message.get("bytes"))
                elif message["type"] == "websocket.close":
                    await ws.close(message.get("code") or 1000)

        app_task = asyncio.create_task(app(scope, inbox.get, send))
        try:
            async for data in ws:
                inbox.put_nowait({"type": "websocket.receive", "text": data})
        except ConnectionClosed:
            pass
        finally:
            inbox.put_nowait({"type": "websocket.disconnect", "code": ws.close_code or 1006})
            await asyncio.wait_for(app_task, 30)

    async with serve(handler, "127.0.0.1", 0, ping_interval=None) as server:
        yield server.sockets[0].getsockname()[1]


def consumer_tasks() -> list[asyncio.Task]:
    """Tasks of live consumers (their session watch, their coalescing flush) still running."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and "LiveConsumer" in getattr(t.get_coro(), "__qualname__", "")
    ]


async def group_members(group: str) -> tuple[int, int | None]:
    """Members of `group` in this process, and the processes Redis counts as subscribed to it
    (None without Redis)."""
    layer = get_channel_layer()
    if not hasattr(layer, "groups_with_members"):  # the in-memory layer
        return len(layer.groups.get(group, {})), None
    local = layer._get_layer()  # this event loop's (channels_redis.pubsub)
    name = local._get_group_channel_name(group)

    def subscribed():
        with redis_client() as client:
            return client.pubsub_numsub(name)[0][1]

    return len(local.groups.get(name, ())), await sync_to_async(subscribed)()


@contextlib.contextmanager
def redis_client():
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        yield client
    finally:
        client.close()


def redis_connections() -> int | None:
    """Connections to this run's Redis database."""
    if not hasattr(get_channel_layer(), "groups_with_members"):
        return None
    with redis_client() as client:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        return sum(1 for c in client.client_list() if int(c["db"]) == int(db)) - 1


def database_connections() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def test_a_thousand_dropped_tabs_leave_no_member_task_or_connection(session_cookie):
    pool = connection.settings_dict["OPTIONS"].get("pool")
    async with asgi_websocket_server(application) as port:

        async def tab():
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/live/overview/",
                origin="http://testserver",
                additional_headers={"Cookie": session_cookie, "Host": "testserver"},
                ping_interval=None,
                proxy=None,
            )
            assert 'id="live-status"' in await ws.recv()  # joined its groups, told it is live
            return ws

        gate = asyncio.Semaphore(100)

        async def opened():
            async with gate:
                return await tab()

        redis_before = await sync_to_async(redis_connections)()
        tabs = await asyncio.gather(*(opened() for _ in range(TABS)))
        members, subscribed = await group_members(OVERVIEW)
        assert members == TABS and subscribed in (1, None)  # Redis: one subscription, this process
        assert len(consumer_tasks()) == TABS  # one session watch each
        while_open = await sync_to_async(database_connections)()
        if redis_before is not None:
            # the layer's subscription and publishing connections, however many tabs
            assert await sync_to_async(redis_connections)() <= redis_before + 2

        # All at once: half close politely, half just go away (a killed browser).
        for i, ws in enumerate(tabs):
            if i % 2:
                ws.transport.abort()
        await asyncio.gather(*(ws.close() for ws in tabs[::2]))

        await wait_for_async(lambda: not consumer_tasks(), timeout=30)
        assert await group_members(OVERVIEW) in ((0, 0), (0, None))
        after = await sync_to_async(database_connections)()
    if pool:
        # One pool per process: the test's own connection and the consumers' share it.
        assert while_open <= pool["max_size"] and after <= pool["max_size"]
