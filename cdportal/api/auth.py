"""Who calls the API: a logged-in session (with its CSRF token) or a bearer API token."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from cdportal.api.models import ApiToken, hash_token

LAST_USED_PRECISION = timedelta(minutes=1)


class BearerToken(HttpBearer):
    """`Authorization: Bearer cdp_…` for scripts and sources; the browser uses its session."""

    def authenticate(self, request, token: str):
        row = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        # A write per call would serialize every ingest on this row; a minute's precision will do.
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class BrowserSession(SessionAuth):
    """Django's session, CSRF-checked on unsafe methods. ninja checks CSRF before it looks at
    the cookie; a caller with no session cookie at all gets a plain 401 instead of a CSRF 403."""

    def _get_key(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        return super().authenticate(request, key) if key else None


# Anything that is neither gets 401.
AUTH = [BearerToken(), BrowserSession()]
