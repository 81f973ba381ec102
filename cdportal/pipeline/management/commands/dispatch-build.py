"""`python manage.py dispatch-build --repository O/N --version X.Y.Z [--user NAME] [--yes]`

Run the build workflow (version=X.Y.Z) for a release that is already tagged, when the dispatch
after the tag failed; recorded in the action log like a click on the release page. It states what
it will do and asks first, unless --yes. Exit status 0 when GitHub accepted it, 1 when GitHub
refused, 2 when cdportal refused before calling GitHub (no role, no such release, no tag yet).
"""

from __future__ import annotations

import getpass

from django.conf import settings
from django.core.management.base import CommandError

from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.management.acting import REFUSED, ReleaseCommand, acting_user
from cdportal.pipeline.models import Action, Release


class Command(ReleaseCommand):
    help = "Run the build workflow for a release's existing tag vX.Y.Z."

    def add_arguments(self, parser):
        parser.add_argument("--repository", required=True, help="OWNER/NAME")
        parser.add_argument("--version", required=True, help="X.Y.Z, without the leading v")
        parser.add_argument(
            "--component", default=None, help="The component (default: the only one, or the root)"
        )
        parser.add_argument(
            "--user", default=None, help="The cdportal releaser acting (default: $USER)"
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation")

    def handle(self, *args, repository, version, component, user, yes, **options):
        by = acting_user(user or getpass.getuser(), role="a releaser")
        if not by.has_perm(release_actions.PERMISSION):
            raise CommandError(
                f"{by.get_username()} may not run builds: it needs the releaser role",
                returncode=REFUSED,
            )
        releases = Release.objects.filter(
            component__repository__full_name=repository, version=version
        )
        if component is not None:
            releases = releases.filter(component__name=component)
        release = releases.first() if releases.count() == 1 else None
        if release is None:
            raise CommandError(
                f"no single release {version} of {repository}"
                + ("" if releases.count() == 0 else ": name it with --component"),
                returncode=REFUSED,
            )
        if not yes:
            answer = input(
                f"Run {settings.GITHUB_BUILD_WORKFLOW} with version={version} "
                f"for tag {release.tag or '(none yet)'} in {repository}? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("nothing done", returncode=1)
        try:
            action = release_actions.dispatch_build(release=release, by=by)
        except ActionRefused as e:
            raise CommandError(str(e), returncode=REFUSED) from None
        self.stdout.write(
            f"{action.get_kind_display()}: {action.get_status_display().lower()}: {action.message}"
        )
        if action.status != Action.Status.SUCCEEDED:
            raise CommandError("GitHub did not accept it (see above)", returncode=1)
