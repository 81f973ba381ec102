"""The channel layer over Redis: publish once per process, fan out in memory.

channels-redis offers two layers. Its default (``core.RedisChannelLayer``) stores a group
message once per member channel in Redis, and each server process pulls them back one round trip
per channel: with a thousand tabs on the overview, one update cost a thousand sequential Redis
round trips before the last tab got it (benchmarks/live_fanout.py measured p99 3.4 s at 1,000
tabs against 0.13 s for a bare websocket server). Its pub/sub layer (``pubsub``) publishes a group
message once; every process with a member in the group is subscribed to it and hands the message
to its own consumers in memory. Group membership then lives in the processes holding the sockets:
a socket that goes away leaves its groups, a process that dies takes its subscriptions with it,
so a group never holds dead channels, and no expiry has to clean them up.

What it does not do (neither layer does, for our use): keep a message for a consumer that is not
connected at the time. Live fragments are sent after their change commits; a page loaded later
renders from the database.

Connections: one for subscriptions and one for publishing per process and event loop (the layer
serialises its commands per Redis host), so the pool cap (REDIS_MAX_CONNECTIONS) is a backstop.
"""

from __future__ import annotations

from collections.abc import Iterable

from channels_redis.pubsub import RedisPubSubChannelLayer


class RedisChannelLayer(RedisPubSubChannelLayer):
    _last_raw: bytes | None = None
    _last_message: dict | None = None

    def deserialize(self, message):
        """A group message reaches every member in this process as the same bytes object
        (channels_redis.pubsub hands each member's queue the one it received): decode it once,
        not once per tab. The members share the decoded dict; no consumer changes a message."""
        if message is not self._last_raw:
            self._last_message = super().deserialize(message)
            self._last_raw = message
        return self._last_message

    async def groups_with_members(self, groups: Iterable[str]) -> set[str]:
        """The groups some process has a member in now: Redis counts a group channel's
        subscribers (PUBSUB NUMSUB), one per process with members."""
        groups = list(groups)
        if not groups:
            return set()
        layer = self._get_layer()  # the per-event-loop layer (channels_redis.pubsub)
        names = {layer._get_group_channel_name(g): g for g in groups}
        found = set()
        for shard in {id(s): s for s in (layer._get_shard(n) for n in names)}.values():
            async with shard._lock:
                shard._ensure_redis()
                counts = await shard._redis.pubsub_numsub(*names)
            found |= {names[n.decode() if isinstance(n, bytes) else n] for n, c in counts if c}
        return found
