"""The Redis channel layer with a bounded connection pool whose callers wait instead of failing.

channels-redis builds each host's pool with redis-py's ``ConnectionPool.from_url``: without a
``max_connections`` it opens one connection per concurrent call, and with one it raises
``MaxConnectionsError`` as soon as the limit is reached — a thousand tabs closing at once then
make a thousand ``group_discard`` calls and most of them fail. redis-py's
``BlockingConnectionPool`` has the same limit but makes the extra callers wait (up to its
``timeout``) for a connection to come back. Sizing: docs/operations.md.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(BaseRedisChannelLayer):
    """channels-redis with ``hosts`` entries ``{"address": url, "max_connections": n,
    "timeout": seconds to wait for a free connection, **connection options}``."""

    def create_pool(self, index):
        host = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(host.pop("address"), **host)
