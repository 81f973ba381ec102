"""Requests whose path no URL of cdportal can name, refused before any view runs."""

from __future__ import annotations

import re

from django.http import HttpResponseBadRequest, JsonResponse

# C0 controls (NUL included) and DEL. A NUL reaching a query makes PostgreSQL raise ("A string
# literal cannot contain NUL (0x00) characters") and the request a 500; none of these is part of
# a namespace, an application, an owner or a repository name.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(get_response):
    def middleware(request):
        found = CONTROL.search(request.path_info)
        if found is None:
            return get_response(request)
        detail = f"the path contains the control character U+{ord(found.group()):04X}"
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=400)
        return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")

    return middleware
