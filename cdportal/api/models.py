"""API tokens: stored hashed, shown once, each acting as one user (and so with that user's role)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "cdp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for scripts and sources (the simulator). Only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="apitoken_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"

    @classmethod
    def issue(cls, *, user, name: str) -> tuple[ApiToken, str]:
        """Create (or replace) the user's token called `name`; the plain token is returned once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row, _ = cls.objects.update_or_create(
            user=user,
            name=name,
            defaults={"token_hash": hash_token(token), "created_at": timezone.now()},
        )
        return row, token
