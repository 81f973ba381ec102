"""`python manage.py create-tag --repository O/N --version X.Y.Z [--sha SHA] [--dispatch-build]
[--allow-not-greater] [--user NAME] [--yes]`

The seed's manual release (`git tag -a v0.3.0 … && git push`, `gh workflow run binaries-release.yaml
-f version=0.3.0`) through cdportal, recorded in its action log like a click on the page. It
states what it will do and asks first, unless --yes. Exit status 0 when everything asked for
succeeded, 1 when GitHub refused part of it, 2 when cdportal refused before calling GitHub.
"""

from __future__ import annotations

import getpass

from django.core.management.base import CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.management.acting import REFUSED, ReleaseCommand, acting_user
from cdportal.pipeline.models import Action, Repository


class Command(ReleaseCommand):
    help = "Create the annotated tag vX.Y.Z on GitHub and optionally run the build workflow."

    def add_arguments(self, parser):
        parser.add_argument("--repository", required=True, help="OWNER/NAME")
        parser.add_argument("--version", required=True, help="X.Y.Z, without the leading v")
        parser.add_argument(
            "--sha", help="The commit to tag (default: the head of the default branch)"
        )
        parser.add_argument("--message", help='The tag message (default: "Release vX.Y.Z")')
        parser.add_argument(
            "--dispatch-build", action="store_true", help="Then run the build workflow"
        )
        parser.add_argument(
            "--allow-not-greater",
            action="store_true",
            help="Tag even when the version is not greater than the latest release",
        )
        parser.add_argument(
            "--user", default=None, help="The cdportal releaser acting (default: $USER)"
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation")

    def handle(
        self,
        *args,
        repository,
        version,
        sha,
        message,
        dispatch_build,
        allow_not_greater,
        user,
        yes,
        **options,
    ):
        by = acting_user(user or getpass.getuser(), role="a releaser")
        if not by.has_perm(release_actions.PERMISSION):
            raise CommandError(
                f"{by.get_username()} may not create tags: it needs the releaser role",
                returncode=REFUSED,
            )
        try:
            if not yes:
                release_actions.valid_version(version)
                sha = self._confirm(
                    repository, version, release_actions.valid_sha(sha), dispatch_build
                )
            action = release_actions.create_tag(
                repository=repository,
                version=version,
                sha=sha,
                by=by,
                message=message,
                dispatch_build=dispatch_build,
                allow_not_greater=allow_not_greater,
            )
        except ActionRefused as e:
            raise CommandError(str(e), returncode=REFUSED) from None
        outcomes = [action] + [a for a in [release_actions.dispatch_of(action)] if a]
        for a in outcomes:
            self.stdout.write(
                f"{a.get_kind_display()}: {a.get_status_display().lower()}: {a.message}"
            )
        if any(a.status != Action.Status.SUCCEEDED for a in outcomes):
            raise CommandError("not everything succeeded (see above)", returncode=1)

    def _confirm(self, repository: str, version: str, sha: str | None, dispatch_build: bool) -> str:
        """Say exactly what will happen, on which commit, and ask. Returns the commit named."""
        branch = ""
        if not sha or dispatch_build:
            try:
                head = release_actions.default_head(repository)
            except AdapterError as e:
                raise CommandError(str(e), returncode=1) from None
            sha, branch = sha or head.sha, head.branch
        what = release_actions.describe_tag(
            repository=repository,
            version=version,
            sha=sha,
            dispatch_build=dispatch_build,
            branch=branch,
        )
        row = Repository.objects.filter(full_name=repository).first()
        latest = release_actions.latest_version(row and release_actions.component_of(row))
        if not release_actions.is_greater(version, latest):
            self.stdout.write(f"Note: {version} is not greater than the latest release ({latest}).")
        answer = input(f"{what[0].upper()}{what[1:]}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CommandError("nothing done", returncode=1)
        return sha
