"""`python manage.py updater status | restart --user NAME [--yes] | check-credentials --user NAME
--secret REF [--registry HOST]` — the seed's `kubectl rollout restart deployment
argocd-image-updater` and the GHCR credentials check, through the same actions as the page and
the API."""

from __future__ import annotations

import json
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import updater
from cdportal.pipeline import updater_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.management.acting import ActionCommand, acting_user

BAD_INPUT = 2


class Command(ActionCommand):
    help = "The Argo CD Image Updater: status, restart (waits for the rollout), credentials check."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("status")
        restart = sub.add_parser("restart")
        restart.add_argument("--user", required=True, help="The operator doing it (recorded)")
        restart.add_argument("--yes", action="store_true", help="Do not ask for confirmation")
        check = sub.add_parser("check-credentials")
        check.add_argument("--user", required=True, help="The operator doing it (recorded)")
        check.add_argument(
            "--secret", required=True, help="pullsecret:NS/NAME or secret:NS/NAME#FIELD"
        )
        check.add_argument(
            "--registry",
            default="",
            help="One the secret names, e.g. ghcr.io (default: its only one)",
        )

    def handle(self, *args, verb, **options):
        try:
            getattr(self, verb.replace("-", "_"))(**options)
        except AdapterError as e:
            raise CommandError(str(e)) from None

    def status(self, **options):
        deployment = updater_actions.current()
        if deployment is None:
            raise CommandError("no Image Updater Deployment found", returncode=BAD_INPUT)
        observed = updater.status(deployment)
        for action in updater_actions.settle_restarts(
            observed
        ):  # restarts nobody followed to the end
            self.stderr.write(f"restart {action.pk} by {action.by_name} ended: {action.message}")
        self.stdout.write(json.dumps(observed, indent=2, default=str))

    def restart(self, *, user, yes, **options):
        try:
            by = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {user!r}", returncode=BAD_INPUT) from None
        deployment = updater_actions.current()
        if deployment is None:
            raise CommandError("no Image Updater Deployment found", returncode=BAD_INPUT)
        summary = updater_actions.describe_restart(deployment)
        if not yes and input(f"{summary}\nProceed? [y/N] ").strip().lower() not in ("y", "yes"):
            raise CommandError("not confirmed; nothing done", returncode=BAD_INPUT)
        try:
            action = updater_actions.restart_updater(by=by, idempotency_key=uuid.uuid4().hex)
        except ActionRefused as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        self.stdout.write(f"{action.get_status_display()}: {action.message}")
        if action.status != action.Status.SUCCEEDED:
            raise CommandError("the restart did not complete")

    def check_credentials(self, *, user, secret, registry, **options):
        by = acting_user(user, role="operator")
        try:
            action = updater_actions.check_credentials(by=by, secret=secret, registry=registry)
        except ActionRefused as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        ok = action.status == action.Status.SUCCEEDED
        self.stdout.write(f"{'pass' if ok else 'fail'}: {action.message}")
        if not ok:
            raise CommandError("the credentials check failed")
