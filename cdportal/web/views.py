"""HTML pages. Each renders the same named partials the websocket pushes (see live.broadcast)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from cdportal.pipeline import queries
from cdportal.pipeline.models import Application, Release
from cdportal.pipeline.roles import roles_of


def _page(request, template: str, context: dict):
    return render(request, template, {**context, "roles": roles_of(request.user)})


@require_GET
def overview(request):
    return _page(request, "web/overview.html", queries.overview_context())


@require_GET
def release(request, pk: int):
    try:
        obj = queries.release(pk)
    except Release.DoesNotExist:
        raise Http404("No such release") from None
    return _page(request, "web/release.html", queries.release_context(obj))


@require_GET
def application(request, namespace: str, name: str):
    app = get_object_or_404(Application, namespace=namespace, name=name)
    return _page(request, "web/application.html", queries.application_context(app))


@login_not_required
@require_GET
def healthz(request):
    """Liveness and readiness for probes: the process answers and the database does too."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as e:  # any database failure makes the pod unready
        return JsonResponse({"status": "error", "database": type(e).__name__}, status=503)
    return JsonResponse({"status": "ok"})
