from __future__ import annotations

from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from cdportal.api.models import ApiToken, hash_token


class BearerToken(HttpBearer):
    """`Authorization: Bearer cdp_…` for scripts and sources; the browser uses its session."""

    def authenticate(self, request, token: str):
        row = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = row.user
        return row.user


# Session (with CSRF on unsafe methods) or bearer token; anything else gets 401.
AUTH = [django_auth, BearerToken()]
