"""`python manage.py release-plan --repo PATH [--json] [--date YYYY-MM-DD] [--github OWNER/REPO]`

Prints, per package, what Release Please would do now for the repository at PATH. Exit status
0 on success, 2 on bad input (the error on stderr). Reads nothing from and writes nothing to
cdportal's database. manage.py runs it without Django (cdportal/pipeline/release_plan_cli.py);
this command is the same for call_command and `manage.py help`.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.core.release_config import ConfigError
from cdportal.pipeline import release_plan_cli

BAD_INPUT = release_plan_cli.BAD_INPUT


class Command(BaseCommand):
    help = release_plan_cli.HELP
    # A tool for scripts and CI: it needs no database, no SECRET_KEY, no server settings.
    requires_system_checks = []

    def add_arguments(self, parser):
        release_plan_cli.add_arguments(parser)

    def handle(self, *args, repo, json: bool, date: str | None, github: str | None, **options):
        try:
            out = release_plan_cli.render(repo=repo, as_json=json, day=date, github=github)
        except (ValueError, ConfigError, AdapterError) as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        self.stdout.write(out, ending="")
