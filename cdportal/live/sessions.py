"""The database session store (SESSION_ENGINE), remembering when the row it loaded expires.

A live socket needs its login's expiry at connect. Channels' AuthMiddleware has just loaded the
session row to find the user; keeping that row's ``expire_date`` spares every socket a second
read of the same row (cdportal/live/consumers.py).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    expires_at = None  # the loaded row's expire_date; None until a row was loaded

    def _get_session_from_db(self):
        return self._remember(super()._get_session_from_db())

    async def _aget_session_from_db(self):
        return self._remember(await super()._aget_session_from_db())

    def _remember(self, row):
        self.expires_at = row.expire_date if row is not None else None
        return row
