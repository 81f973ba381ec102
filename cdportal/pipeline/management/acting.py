"""Who a management command acts as: the action log records a cdportal user, as for the pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cdportal.pipeline import publish

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


class ActionCommand(BaseCommand):
    """A command that performs one action: its Action's last state reaches open pages before
    the process exits (the publisher sends after commit, from a queue this flush drains)."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        finally:
            publish.flush()


class ReleaseCommand(ActionCommand):
    """An action on a release: `--version` names the release, replacing Django's own option."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)
