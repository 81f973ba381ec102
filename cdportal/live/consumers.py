"""One websocket per tab. Read-only: the server pushes out-of-band fragments, htmx swaps them."""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from cdportal.live import broadcast

# A close code outside the ones the htmx ws extension retries (1006, 1011, 1012, 1013): the
# client stops reconnecting and tells the person to log in again.
SESSION_EXPIRED = 4401
# Besides the logout push, the session row is re-read this often (it may be deleted by an
# admin or `clearsessions`), and the groups re-joined.
SESSION_RECHECK_SECONDS = 60
CONNECTED = (
    '<span id="live-status" class="live on" hx-swap-oob="true" title="Live updates">live</span>'
)


class LiveConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        # Accept, then close with our own code: a refused handshake looks like a network
        # failure (1006) to the browser, which would retry forever.
        broadcast.serving_on(asyncio.get_running_loop())
        await self.accept()
        expires_in = await self._session_expires_in()
        if expires_in is None:
            await self.close(code=SESSION_EXPIRED)
            return
        self.groups_joined = [
            *self._page_groups(),
            broadcast.session_group(self.scope["session"].session_key),
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.pending: dict[str, str] = {}
        self.flush_task: asyncio.Task | None = None
        self.sent_at = 0.0
        self.session_task = asyncio.create_task(self._watch_session(expires_in))
        await self.send(text_data=CONNECTED)

    def _page_groups(self) -> list[str]:
        kwargs = self.scope["url_route"]["kwargs"]
        if "release" in kwargs:
            return [broadcast.release_group(int(kwargs["release"]))]
        if "application" in kwargs:
            return [broadcast.application_group(int(kwargs["application"]))]
        if "component" in kwargs:
            return [broadcast.component_group(int(kwargs["component"]))]
        if self.scope.get("path", "").startswith("/ws/live/updater/"):
            return [broadcast.UPDATER]
        if self.scope.get("path", "").startswith("/ws/live/actions/"):
            return [broadcast.ACTIONS]
        if self.scope.get("path", "").startswith("/ws/live/versions/"):
            return [broadcast.VERSIONS]
        return [broadcast.OVERVIEW]

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        for name in ("flush_task", "session_task"):
            task = getattr(self, name, None)
            if task is not None:
                task.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        """The page sends nothing we act on (htmx may send form values); ignore it."""

    async def live_fragments(self, message):
        # Coalesce: a fragment replaces any copy of itself still waiting, so a burst of events
        # for one release reaches the browser as one swap. The first update after a quiet spell
        # goes out at once; later ones wait for the rest of the window.
        self.pending.update(message["fragments"])
        if self.flush_task is None:
            window = settings.LIVE_COALESCE_MS / 1000
            wait = max(0.0, self.sent_at + window - time.monotonic())
            self.flush_task = asyncio.create_task(self._flush_after(wait))

    async def session_ended(self, message):
        """The person logged out (cdportal.live.broadcast.end_session)."""
        await self.close(code=SESSION_EXPIRED)

    async def _flush_after(self, seconds: float):
        await asyncio.sleep(seconds)
        self.flush_task = None
        html, self.pending = "".join(self.pending.values()), {}
        if html:
            self.sent_at = time.monotonic()
            await self.send(text_data=html)

    async def _watch_session(self, expires_in: float):
        """Close at expiry or once the session row is gone (logged out elsewhere, deleted by
        an admin); meanwhile renew the group memberships, which channels-redis expires."""
        while True:
            await asyncio.sleep(min(expires_in, SESSION_RECHECK_SECONDS))
            remaining = await self._session_expires_in()
            if remaining is None:
                await self.close(code=SESSION_EXPIRED)
                return
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
            expires_in = max(remaining, 1)

    async def _session_expires_in(self) -> float | None:
        """Seconds left in this socket's login session, or None when there is none."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        return await database_sync_to_async(_seconds_left)(self.scope.get("session"))


def _seconds_left(session) -> float | None:
    # Read the row (SESSION_ENGINE is the database): the session object in the scope was loaded
    # at connect and knows neither a logout elsewhere nor its own fixed expiry time.
    if session is None or not session.session_key:
        return None
    expires = (
        Session.objects.filter(session_key=session.session_key)
        .values_list("expire_date", flat=True)
        .first()
    )
    if expires is None:
        return None
    left = (expires - timezone.now()).total_seconds()
    return left if left > 0 else None
