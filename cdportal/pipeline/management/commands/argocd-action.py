"""`python manage.py argocd-action sync|refresh|terminate --app NS/NAME [--user NAME] [--prune]
[--revision R] [--yes]`

An operator's force sync, hard refresh or terminate through cdportal, recorded in its action log
like a click on the application page (Kubernetes client from KUBECONFIG/KUBE_CONTEXT, or the
pod's service account). It states what it will do and asks first, unless --yes. Exit status 0
when the API server accepted it (a sync stays running in the action log until Argo CD's operation
ends, as the watcher sees it), 1 when it failed there, 2 when refused (permission, an operation
in progress, the app changed since it was read, unknown app).
"""

from __future__ import annotations

import getpass

from django.core.management.base import CommandError

from cdportal.pipeline import argo_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.management.acting import REFUSED, ActionCommand, acting_user
from cdportal.pipeline.models import Action, Application

KINDS = {
    "sync": Action.Kind.FORCE_SYNC,
    "refresh": Action.Kind.HARD_REFRESH,
    "terminate": Action.Kind.TERMINATE,
}


class Command(ActionCommand):
    help = "Force sync, hard refresh or terminate the operation of an Argo CD Application."

    def add_arguments(self, parser):
        parser.add_argument("verb", choices=sorted(KINDS))
        parser.add_argument("--app", required=True, help="NAMESPACE/NAME of the Application")
        parser.add_argument(
            "--user", default=None, help="The cdportal operator acting (default: $USER)"
        )
        parser.add_argument(
            "--prune", action="store_true", help="sync: delete resources no longer in git"
        )
        parser.add_argument(
            "--revision", default=None, help="sync: this revision instead of the target revision"
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation")

    def handle(self, *args, verb, app, user, prune, revision, yes, **options):
        by = acting_user(user or getpass.getuser(), role="an operator")
        namespace, _, name = app.partition("/")
        row = Application.objects.filter(namespace=namespace, name=name).first()
        if row is None:
            raise CommandError(
                f"cdportal knows no application {app!r} (NAMESPACE/NAME)", returncode=REFUSED
            )
        if not yes:
            what = argo_actions.describe(KINDS[verb], row, by=by, prune=prune, revision=revision)
            if input(f"{what[0].upper()}{what[1:]}? [y/N] ").strip().lower() not in ("y", "yes"):
                raise CommandError("nothing done", returncode=1)
        try:
            if verb == "sync":
                action = argo_actions.force_sync(app=row, by=by, prune=prune, revision=revision)
            elif verb == "refresh":
                action = argo_actions.hard_refresh(app=row, by=by)
            else:
                action = argo_actions.terminate(app=row, by=by)
        except ActionRefused as e:
            raise CommandError(str(e), returncode=REFUSED) from None
        self.stdout.write(
            f"{action.get_kind_display()}: {action.get_status_display().lower()}: {action.message}"
        )
        if action.status == Action.Status.FAILED:
            raise CommandError("the Kubernetes API did not accept it (see above)", returncode=1)
