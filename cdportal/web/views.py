"""HTML pages. Each renders the same named partials the websocket pushes (see live.broadcast)."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from cdportal.pipeline import automation, queries, versions
from cdportal.pipeline import explain as explainer
from cdportal.pipeline.attention import problems
from cdportal.pipeline.models import Application, Component, Release
from cdportal.pipeline.roles import roles_of
from cdportal.web.forms import ActionFilter, ApplicationFilter, DiffForm, HistoryFilter


def _page(request, template: str, context: dict, *, status: int = 200):
    return render(request, template, {**context, "roles": roles_of(request.user)}, status=status)


@require_GET
def overview(request):
    context = queries.overview_context()
    context.update(
        problems=problems(context["releases"]),
        automation=automation.health(),
        **queries.sources_context(),
    )
    return _page(request, "web/overview.html", context)


@require_GET
def release(request, pk: int):
    try:
        obj = queries.release(pk)
    except Release.DoesNotExist:
        raise Http404("No such release") from None
    context = {**queries.release_context(obj), **explainer.panel_context(obj)}
    return _page(request, "web/release.html", context)


@require_GET
def applications(request):
    """Every application that exists now, a page at a time, with filters."""
    form = ApplicationFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = " ".join(e for errs in form.errors.values() for e in errs)
        found = queries.applications().none()
    else:
        errors = ""
        found = queries.applications(**(form.lookups() if form.is_bound else {}))
    page = Paginator(found, queries.APPLICATIONS_PAGE).get_page(request.GET.get("page"))
    return _page(
        request,
        "web/applications.html",
        {"form": form, "page": page, "errors": errors, "query": _without_page(request)},
        status=400 if errors else 200,
    )


def _without_page(request) -> str:
    """The page's query string but its page number: what the other pages' links start from."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def application(request, namespace: str, name: str):
    app = get_object_or_404(Application, namespace=namespace, name=name)
    context = {**queries.application_context(app), "version_rows": versions.rows([app])}
    return _page(request, "web/application.html", context)


@require_GET
def versions_page(request):
    """The version truth table for every application: drift at a glance."""
    return _page(request, "web/versions.html", {"version_rows": versions.rows()})


@require_GET
def component(request, pk: int):
    """The next release of one component, as Release Please would open it now."""
    obj = get_object_or_404(Component.objects.select_related("repository"), pk=pk)
    return _page(request, "web/component.html", {"component": obj})


def _history(request):
    form = HistoryFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        return (
            form,
            Release.objects.none(),
            " ".join(e for errors in form.errors.values() for e in errors),
        )
    filters = form.cleaned_data if form.is_bound else {}
    return form, queries.shipped(**_scope(filters)), ""


def _scope(filters: dict) -> dict:
    """The history filter's cleaned values as `queries.shipped()` and `stage_stats()` take them."""
    return {
        "component": filters.get("component") and filters["component"].pk,
        "since": filters.get("since"),
        "until": filters.get("until"),
        "type": filters.get("type") or None,
    }


@require_GET
def history(request):
    form, releases, errors = _history(request)
    filters = {**(form.cleaned_data if form.is_bound and not errors else {})}
    if filters.get("component"):
        filters["component"] = filters["component"].pk
    page = Paginator(releases.prefetch_related("commits"), queries.HISTORY_PAGE).get_page(
        request.GET.get("page")
    )
    shown = list(page)
    return _page(
        request,
        "web/history.html",
        {
            "page": page,
            "query": _without_page(request),
            "releases": shown,
            "pickers": _pickers(shown),
            "durations": queries.stage_stats(**_scope(form.cleaned_data if form.is_bound else {}))
            if not errors
            else [],
            "components": Component.objects.select_related("repository"),
            "filters": filters,
            "type_commits": bool(filters.get("type")),
            "errors": errors,
        },
    )


def _pickers(releases) -> list[tuple]:
    """The compare pickers, one per component (two releases of one component are compared)."""
    by_component: dict[int, tuple] = {}
    for release in releases:
        by_component.setdefault(release.component_id, (release.component, []))[1].append(release)
    return sorted(by_component.values(), key=lambda p: (p[0].display_name, p[0].pk))


@require_GET
def action_log(request):
    """Every on-call and release action, as recorded before the call and finished with its outcome."""
    form = ActionFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        found, errors = [], " ".join(e for errs in form.errors.values() for e in errs)
    else:
        filters = form.cleaned_data if form.is_bound else {}
        chosen = {k: v for k, v in filters.items() if v}
        found, errors = list(queries.actions(**chosen)[: queries.ACTION_LOG_LIMIT]), ""
    # Unfiltered, the page follows the log live (filtered ones would need their own groups).
    live = not request.GET
    return _page(
        request,
        "web/actions.html",
        {
            "form": form,
            "actions": found,
            "errors": errors,
            "limit": queries.ACTION_LOG_LIMIT,
            "live": live,
        },
        status=400 if errors else 200,
    )


@require_GET
def history_markdown(request):
    form, releases, errors = _history(request)
    if errors:
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        queries.as_markdown(releases), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="CHANGELOG-excerpt.md"'
    return response


@require_GET
def history_diff(request):
    form = DiffForm(request.GET)
    if not form.is_valid():
        message = " ".join(e for errors in form.errors.values() for e in errors)
        return _page(
            request,
            "web/history.html",
            {
                "releases": [],
                "components": Component.objects.all(),
                "filters": {},
                "errors": message,
            },
        )
    older, newer = form.cleaned_data["older"], form.cleaned_data["newer"]
    if (older.released_at, older.pk) > (newer.released_at, newer.pk):
        older, newer = newer, older
    releases = queries.between(older, newer)
    skipped = queries.not_shipped_between(older, newer)
    commits = [c for r in releases for c in r.commits.all()]
    return _page(
        request,
        "web/history_diff.html",
        {
            "component": older.component,
            "not_shipped": skipped,
            "older": older,
            "newer": newer,
            "releases": releases,
            "commits": commits,
            "by_type": Counter(c.type for c in commits).most_common(),
            "markdown": queries.as_markdown([*releases, *skipped]),
            "filters": {},
        },
    )


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


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a user name and address have too many failed logins
    (settings.AXES_LOCKOUT_CALLABLE): the login page again, saying why and for how long."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    form = AuthenticationForm(
        request, initial={"username": (credentials or {}).get("username", "")}
    )
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_out": True,
            "lockout_minutes": minutes,
            "next": request.POST.get("next", "")
            if request.method == "POST"
            else request.GET.get("next", ""),
        },
        status=429,
    )
