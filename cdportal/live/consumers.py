"""One websocket per tab. Read-only: the server pushes out-of-band fragments, htmx swaps them."""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from cdportal.live import broadcast

# A close code outside the ones the htmx ws extension retries (1006, 1011, 1012, 1013): the
# client stops reconnecting and tells the person to log in again.
SESSION_EXPIRED = 4401
SESSION_RECHECK_SECONDS = 60
CONNECTED = '<span id="live-status" class="live on" hx-swap-oob="true" title="Live updates">live</span>'


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        # Accept, then close with our own code: a refused handshake looks like a network
        # failure (1006) to the browser, which would retry forever.
        await self.accept()
        if not await self._session_valid():
            await self.close(code=SESSION_EXPIRED)
            return
        self.groups_joined = self._groups()
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.pending: dict[str, str] = {}
        self.flush_task: asyncio.Task | None = None
        self.checked_at = time.monotonic()
        await self.send(text_data=CONNECTED)

    def _groups(self) -> list[str]:
        kwargs = self.scope["url_route"]["kwargs"]
        if "release" in kwargs:
            return [broadcast.release_group(int(kwargs["release"]))]
        if "application" in kwargs:
            return [broadcast.application_group(int(kwargs["application"]))]
        return [broadcast.OVERVIEW]

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        task = getattr(self, "flush_task", None)
        if task is not None:
            task.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        """The page sends nothing we act on (htmx may send form values); ignore it."""

    async def live_fragment(self, message):
        # Coalesce: within the window, a fragment replaces any older copy of itself, so a burst
        # of events for one release reaches the browser as one swap.
        self.pending[message["id"]] = message["html"]
        if self.flush_task is None:
            self.flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self):
        await asyncio.sleep(settings.LIVE_COALESCE_MS / 1000)
        self.flush_task = None
        if time.monotonic() - self.checked_at > SESSION_RECHECK_SECONDS:
            self.checked_at = time.monotonic()
            if not await self._session_valid():
                await self.close(code=SESSION_EXPIRED)
                return
        html, self.pending = "".join(self.pending.values()), {}
        if html:
            await self.send(text_data=html)

    async def _session_valid(self) -> bool:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return False
        session = self.scope.get("session")
        return await database_sync_to_async(_session_alive)(session)


def _session_alive(session) -> bool:
    if session is None or session.session_key is None:
        return False
    # Logged out elsewhere, or expired: the row is gone or past its expiry.
    return session.exists(session.session_key) and session.get_expiry_age() > 0
