"""Operators' actions on one application: force sync, hard refresh, terminate. Every action is
two POSTs, as on the manual release page: the first states exactly what will happen and carries
a fresh idempotency key, the second does it (a double click, or a second tab, is one action).
The buttons live in the application page's Actions card, outside its live partials."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from cdportal.pipeline import argo_actions as actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Action, Application
from cdportal.pipeline.roles import roles_of

VERBS = {
    "sync": (Action.Kind.FORCE_SYNC, actions.SYNC_PERMISSION),
    "refresh": (Action.Kind.HARD_REFRESH, actions.REFRESH_PERMISSION),
    "terminate": (Action.Kind.TERMINATE, actions.SYNC_PERMISSION),
}


class SyncForm(forms.Form):
    prune = forms.BooleanField(required=False)
    revision = forms.CharField(max_length=200, required=False)


class ConfirmForm(SyncForm):
    idempotency_key = forms.CharField(max_length=90)


@require_POST
def review(request, namespace: str, name: str, verb: str):
    app, kind = _allowed(request, namespace, name, verb)
    form = SyncForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"prune": False, "revision": ""}
    return _page(
        request,
        app,
        verb,
        kind,
        step="confirm",
        confirm={**data, "idempotency_key": uuid.uuid4().hex},
    )


@require_POST
def act(request, namespace: str, name: str, verb: str):
    app, kind = _allowed(
        request, namespace, name, verb, check=False
    )  # the action checks and records
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _page(
            request,
            app,
            verb,
            kind,
            step="confirm",
            status=400,
            confirm={"prune": False, "revision": "", "idempotency_key": uuid.uuid4().hex},
            error="The confirmation was incomplete; confirm again.",
        )
    data = form.cleaned_data
    key = data["idempotency_key"]
    try:
        if verb == "sync":
            action = actions.force_sync(
                app=app,
                by=request.user,
                prune=data["prune"],
                revision=data["revision"] or None,
                idempotency_key=key,
            )
        elif verb == "refresh":
            action = actions.hard_refresh(app=app, by=request.user, idempotency_key=key)
        else:
            action = actions.terminate(app=app, by=request.user, idempotency_key=key)
    except ActionRefused as e:
        return _page(
            request,
            app,
            verb,
            kind,
            step="done",
            action=getattr(e, "action", None),
            error=str(e),
            confirm=data,
            offer_terminate=e.why == actions.OPERATION_RUNNING,
            status=e.status,
        )
    return _page(request, app, verb, kind, step="done", action=action, confirm=data)


def _allowed(request, namespace: str, name: str, verb: str, *, check: bool = True):
    if verb not in VERBS:
        raise Http404("no such action")
    kind, permission = VERBS[verb]
    if check and not request.user.has_perm(permission):
        raise PermissionDenied(f"it needs the {permission} permission")
    return get_object_or_404(Application, namespace=namespace, name=name), kind


def _page(request, app: Application, verb: str, kind: str, *, status: int = 200, **context):
    confirm = context.get("confirm") or {}
    summary = actions.describe(
        kind,
        app,
        by=request.user,
        prune=confirm.get("prune", False),
        revision=confirm.get("revision") or None,
    )
    return render(
        request,
        "web/argo_action.html",
        {
            "app": app,
            "verb": verb,
            "kind_label": Action.Kind(kind).label,
            "summary": summary,
            "roles": roles_of(request.user),
            **context,
        },
        status=status,
    )
