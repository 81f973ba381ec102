"""Django middleware for every answer cdportal gives (pages and API alike)."""

from __future__ import annotations

import re

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase, JsonResponse
from django.utils.cache import patch_cache_control

# C0 controls (NUL included) and DEL. A NUL reaching a query makes PostgreSQL raise ("A string
# literal cannot contain NUL (0x00) characters") and the request a 500; none of these is part of
# a namespace, an application, an owner or a repository name.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(get_response):
    """Requests whose path no URL of cdportal can name, refused before any view runs."""

    def middleware(request):
        found = CONTROL.search(request.path_info)
        if found is None:
            return get_response(request)
        detail = f"the path contains the control character U+{ord(found.group()):04X}"
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=400)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")

    return middleware


def private_no_store(get_response):
    """Pages and API answers carry pipeline data for one logged-in person: no shared cache may
    keep them, and the browser keeps no copy on disk (the back button after logging out shows
    nothing). A view that sets its own Cache-Control keeps it. Static files never get here:
    WhiteNoise answers them first."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


class ContentSecurityPolicy(CSPMiddleware):
    """settings.CONTENT_SECURITY_POLICY, plus this host's websocket URLs in connect-src: 'self'
    covers ws:// and wss:// only in browsers that implement CSP Level 3."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Django's own debug pages (DEBUG only) are styled and scripted inline.
        if settings.DEBUG and response.status_code in (404, 500):
            response._csp_exempt = True
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:  # the answer is already the 400 for it
            return parts
        sockets = [f"ws://{host}", f"wss://{host}"]
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), *sockets]
        parts.update = update
        return parts


def client_address(request: HttpRequest) -> str:
    """The address django-axes counts failed logins against: REMOTE_ADDR, which
    cdportal/edge.py has already taken from X-Forwarded-For when a trusted proxy sent it."""
    return request.META.get("REMOTE_ADDR", "")
