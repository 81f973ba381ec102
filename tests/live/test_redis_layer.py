"""The Redis channel layer carries fragments between processes (the ingesting one and daphne)."""

import os

import pytest
from channels_redis.core import RedisChannelLayer
from helpers import reachable, require

from cdportal.live.broadcast import MESSAGE_TYPE, OVERVIEW, send_fragments

URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"


@pytest.fixture
def layer():
    require("Redis", reachable("127.0.0.1", 6379), "nothing answers on 127.0.0.1:6379")
    return RedisChannelLayer(hosts=[URL])


async def test_a_group_message_crosses_the_redis_layer(layer, settings):
    channel = await layer.new_channel()
    await layer.group_add(OVERVIEW, channel)
    try:
        other_process = RedisChannelLayer(hosts=[URL])
        sent = {"type": MESSAGE_TYPE, "fragments": {"events": "<p>hi</p>"}}
        await other_process.group_send(OVERVIEW, sent)
        assert await layer.receive(channel) == sent
    finally:
        await layer.group_discard(OVERVIEW, channel)
        await layer.flush()


async def test_send_fragments_uses_the_configured_layer(layer, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [URL]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    channel = await layer.new_channel()
    await layer.group_add("release-7", channel)
    try:
        await send_fragments({"release-7": {"release-7-header": "<section/>"}})
        assert (await layer.receive(channel))["fragments"] == {"release-7-header": "<section/>"}
    finally:
        channel_layers.backends.clear()
        await layer.flush()
