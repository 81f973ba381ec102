"""One websocket per tab. Read-only: the server pushes out-of-band fragments, htmx swaps them."""

from __future__ import annotations

import asyncio
import logging
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from cdportal.live import broadcast

log = logging.getLogger(__name__)

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
    """Its tasks (the coalescing flush, the session watch) never outlive the socket: they are
    cancelled on disconnect, and again when the consumer ends for any other reason."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups_joined: list[str] = []
        self.pending: dict[str, str] = {}
        self.flush_task: asyncio.Task | None = None
        self.session_task: asyncio.Task | None = None
        self.sent_at = 0.0
        self.ended = False

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Ended without a disconnect message (the server cancelled it): clean up here.
            self._stop_tasks()
            if self.groups_joined:
                await self._leave_groups()

    async def dispatch(self, message):
        # AsyncConsumer.dispatch first awaits aclose_old_connections() for every message: a hop
        # to the one sync thread per message and per socket, so one broadcast to a thousand
        # tabs queued a thousand hops behind each other. These handlers reach the database
        # only through database_sync_to_async, which closes stale connections itself before
        # and after (channels/db.py); everything else they do stays on the event loop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        # The base class does the same minus its aclose_old_connections() hop (see dispatch).
        await self.disconnect(message.get("code"))
        raise StopConsumer()

    async def connect(self):
        # Accept, then close with our own code: a refused handshake looks like a network
        # failure (1006) to the browser, which would retry forever.
        broadcast.serving_on(asyncio.get_running_loop())
        await self.accept()
        expires_in = self._loaded_session_expires_in()
        if expires_in is None:  # none, expired, or a session store that does not tell
            expires_in = await self._session_expires_in()
        if expires_in is None:
            await self.close(code=SESSION_EXPIRED)
            return
        groups = [
            *self._page_groups(),
            broadcast.session_group(self.scope["session"].session_key),
        ]
        for group in groups:
            self.groups_joined.append(group)  # before the call: disconnect leaves it either way
            await self.channel_layer.group_add(group, self.channel_name)
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
        # Tasks first: leaving a group can fail (Redis away), and must not keep them running.
        self._stop_tasks()
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        groups, self.groups_joined = self.groups_joined, []
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                # Redis' pub/sub layer keeps members in this process: an entry whose channel
                # is gone gets nothing and goes with the process; the in-memory layer expires it.
                log.warning("could not leave live group %s", group, exc_info=True)

    def _stop_tasks(self) -> None:
        self.ended = True
        for task in (self.flush_task, self.session_task):
            if task is not None:
                task.cancel()
        self.flush_task = self.session_task = None
        self.pending = {}

    async def receive(self, text_data=None, bytes_data=None):
        """The page sends nothing we act on (htmx may send form values); ignore it."""

    async def live_fragments(self, message):
        # Coalesce: a fragment replaces any copy of itself still waiting, so a burst of events
        # for one release reaches the browser as one swap. The first update after a quiet spell
        # goes out at once; later ones wait for the rest of the window.
        if self.ended:
            return
        for key, html in message["fragments"].items():
            # Newest last: a fragment sent again follows those it may depend on (the order of
            # the overview's releases follows their cards, broadcast.py).
            self.pending.pop(key, None)
            self.pending[key] = html
        if self.flush_task is None:
            window = settings.LIVE_COALESCE_MS / 1000
            wait = self.sent_at + window - time.monotonic()
            if wait <= 0:  # at once, without a task per tab per update
                await self._flush_after(0)
            else:
                self.flush_task = asyncio.create_task(self._flush_after(wait))

    async def session_ended(self, message):
        """The person logged out (cdportal.live.broadcast.end_session)."""
        await self.close(code=SESSION_EXPIRED)

    async def _flush_after(self, seconds: float):
        if seconds > 0:
            await asyncio.sleep(seconds)
        self.flush_task = None
        html, self.pending = "".join(self.pending.values()), {}
        if html and not self.ended:
            self.sent_at = time.monotonic()
            await self.send(text_data=html)

    async def _watch_session(self, expires_in: float):
        """Close at expiry or once the session row is gone (logged out elsewhere, deleted by
        an admin); meanwhile renew the group memberships, which the in-memory layer expires
        after a day (for Redis' pub/sub layer a renewal is a no-op in this process)."""
        while True:
            await asyncio.sleep(min(expires_in, SESSION_RECHECK_SECONDS))
            remaining = await self._session_expires_in()
            if remaining is None:
                await self.close(code=SESSION_EXPIRED)
                return
            for group in self.groups_joined:
                await self.channel_layer.group_add(group, self.channel_name)
            expires_in = max(remaining, 1)

    def _loaded_session_expires_in(self) -> float | None:
        """At connect: the expiry of the session row the auth middleware just loaded
        (cdportal/live/sessions.py), without reading it again."""
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None:
            return None
        expires = getattr(session, "expires_at", None)
        if expires is None:
            return None
        left = (expires - timezone.now()).total_seconds()
        return left if left > 0 else None

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
