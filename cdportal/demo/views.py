"""The demo's own page (/demo/, only when `manage.py demo` runs the server): the stage the demo
breaks on purpose, and a control for operators to break another one or heal it.

The control writes the demo's break file (DEMO_BREAK_FILE, cdportal.demo.breaks): the simulator
reads it before its next release, so the break shows on that release's page. Two POSTs: the
first says what will happen, the second (with `confirm`) does it. It changes only the demo's
simulated parts, so it is logged, not recorded as an Action.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cdportal.demo import breaks
from cdportal.pipeline.argo_actions import SYNC_PERMISSION
from cdportal.pipeline.models import Release

log = logging.getLogger(__name__)


def _switch() -> breaks.Switch:
    if not settings.DEMO_BREAK_FILE:
        raise Http404("Not running as the demo")
    return breaks.Switch(settings.DEMO_BREAK_FILE)


@require_GET
@login_required
def demo_page(request):
    return _page(request, _switch())


@require_POST
@permission_required(SYNC_PERMISSION, raise_exception=True)  # an operator's control
def set_break(request):
    switch = _switch()
    try:
        code = breaks.check(request.POST.get("code", ""))
    except ValueError as e:
        return _page(request, switch, error=str(e), status=400)
    if request.POST.get("confirm") != "yes":
        return _page(request, switch, review=code)
    switch.set(code)
    log.warning("demo: %s set the break to %r", request.user.get_username(), code or "healed")
    return _page(request, switch, done=code or "healed")


def _page(request, switch: breaks.Switch, *, status: int = 200, **context):
    current = switch.current()
    latest = Release.objects.order_by("-pk").first()
    return render(
        request,
        "web/demo.html",
        {
            "breaks": breaks.BREAKS,
            "current": current,
            "current_description": breaks.BREAKS.get(current, ""),
            "target": breaks.TARGET,
            "latest": latest,
            "review_description": breaks.BREAKS.get(context.get("review") or "", ""),
            **context,
        },
        status=status,
    )
