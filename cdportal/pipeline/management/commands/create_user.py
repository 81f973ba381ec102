"""`manage.py create_user NAME --role ROLE`: a local user with one of cdportal's roles."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from cdportal.pipeline.roles import ROLE_PERMISSIONS


class Command(BaseCommand):
    help = "Create or update a user and set its roles (viewer, operator, releaser, source)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--password", help="Set this password (omit to leave it unchanged / unusable)"
        )
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=sorted(ROLE_PERMISSIONS),
            help="Repeat for several roles; replaces the user's current roles",
        )
        parser.add_argument("--staff", action="store_true", help="May open the admin")

    def handle(self, *args, username, password, role, staff, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.is_staff = user.is_staff or staff
        user.save()
        groups = list(Group.objects.filter(name__in=role))
        if len(groups) != len(set(role)):
            raise CommandError("Roles are missing; run `python manage.py migrate` first")
        user.groups.set(groups)
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {username} with roles: {', '.join(sorted(role)) or 'viewer'}")
