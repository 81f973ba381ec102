"""`manage.py create_api_token USER`: a new bearer token for a user (printed once)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cdportal.api.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API bearer token for a user (replaces that user's token of the same name)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="default", help="Label for the token (default: default)"
        )

    def handle(self, *args, username, name, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}") from None
        _, token = ApiToken.issue(user=user, name=name)
        self.stdout.write(token)
