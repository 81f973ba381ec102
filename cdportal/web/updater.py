"""The Image Updater page: its Deployment's status and version, a restart for operators (two
POSTs: the first says exactly what will happen, the second does it and follows the rollout), and
a registry credentials check for operators (it sends a pull secret's credentials to a registry)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import updater
from cdportal.pipeline import updater_actions as actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import ImageUpdaterConfig
from cdportal.pipeline.roles import roles_of


class CredentialsForm(forms.Form):
    secret = forms.CharField(max_length=300, initial="pullsecret:argocd/ghcr-pull-secret")
    # Only chooses among the registries the secret (or REGISTRY_CREDENTIALS) names; blank: its only one.
    registry = forms.CharField(max_length=300, initial="ghcr.io", required=False)


class ConfirmForm(forms.Form):
    idempotency_key = forms.CharField(max_length=90)


@require_GET
@login_required
def updater_page(request):
    return _page(request)


@require_POST
@permission_required(actions.PERMISSION, raise_exception=True)
def review_restart(request):
    deployment, problem = _current()
    if deployment is None:
        return _page(request, error=problem or "No Image Updater Deployment found.", status=404)
    return _page(
        request,
        deployment=deployment,
        step="confirm",
        summary=actions.describe_restart(deployment),
        idempotency_key=uuid.uuid4().hex,
    )


@require_POST
@login_required  # the action checks the role and records a refusal
def restart(request):
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _page(request, error="The confirmation was incomplete; ask again.", status=400)
    try:
        action = actions.restart_updater(
            by=request.user, idempotency_key=form.cleaned_data["idempotency_key"], wait=False
        )
    except ActionRefused as e:
        return _page(request, error=str(e), status=e.status)
    except AdapterError as e:
        return _page(request, error=str(e), status=503)
    return _page(request, action=action)


@require_POST
@login_required  # the action checks the role and records a refusal
def check_credentials(request):
    form = CredentialsForm(request.POST)
    if not form.is_valid():
        return _page(request, credentials_form=form, status=400)
    try:
        action = actions.check_credentials(
            by=request.user,
            secret=form.cleaned_data["secret"],
            registry=form.cleaned_data["registry"],
        )
    except ActionRefused as e:
        return _page(
            request, credentials_form=form, check={"ok": False, "reason": str(e)}, status=e.status
        )
    ok = action.status == action.Status.SUCCEEDED
    return _page(request, credentials_form=form, check={"ok": ok, "reason": action.message})


def _current():
    try:
        return actions.current(), ""
    except AdapterError as e:
        return None, str(e)


def _page(request, *, status: int = 200, deployment=None, **context):
    """The page from the recorded rows (the watcher's and the actions' events); the restart
    confirmation passes the Deployment it just read. Restarts are settled by ingestion."""
    observed = updater.status(deployment) if deployment else actions.observed()
    last_restart = None
    if observed:
        key = (
            (observed["namespace"], observed["name"])
            if deployment
            else (observed.namespace, observed.name)
        )
        last_restart = context.get("action") or actions.latest_restart(*key)
    return render(
        request,
        "web/updater.html",
        {
            "status": observed,
            "problem": "",
            "last_restart": last_restart,
            "configs": ImageUpdaterConfig.objects.all(),
            "can_restart": request.user.has_perm(actions.PERMISSION),
            "roles": roles_of(request.user),
            "can_check_credentials": request.user.has_perm(actions.CHECK_PERMISSION),
            "credentials_form": CredentialsForm(),
            **context,
        },
        status=status,
    )
