"""Who a management command acts as: the action log records a cdportal user, as for the pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

REFUSED = 2


def acting_user(username: str, *, role: str):
    """The active cdportal user named `username`; a CommandError (exit 2) naming `role` otherwise."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(
            f"no active cdportal user named {username!r}: pass --user NAME ({role})",
            returncode=REFUSED,
        )
    return user
