"""The errors every outside system's answers map to; messages never carry secrets.

Each system's adapter has one module that maps its answers (HTTP status, exception class, exit
code) to these types, keeping the server's own words in the message. Callers decide by type —
never by reading the message — and show the message as it is:

- `Unauthorized` — the credentials are missing, wrong or expired (HTTP 401): fix the token.
- `Forbidden` — the credentials are good but not allowed this call (HTTP 403: an RBAC verb, a
  token scope, a protected branch): grant it.
- `NotFound` — the object is not there (HTTP 404), or the system is not installed.
- `Conflict` — the object changed meanwhile or is busy (HTTP 409: a stale resourceVersion, an
  operation already running, a tag that exists).
- `RateLimited` — too many calls; `reset_at` says when the budget returns, when the server said.
- `Unavailable` — no answer, a timeout or a server error (5xx): retrying later may help.
- `Invalid` — the server refused the request's content (HTTP 400/422).
"""

from __future__ import annotations

import json
from datetime import datetime


class AdapterError(Exception):
    """Base of every outside system's error. `permanent`: retrying the same call cannot help."""

    permanent = False

    def __init__(self, message: str, *, permanent: bool | None = None, status: int | None = None):
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent
        self.status = status  # the system's own status code, when it gave one


class Unauthorized(AdapterError):
    permanent = True


class Forbidden(AdapterError):
    permanent = True


class NotFound(AdapterError):
    permanent = True


class Conflict(AdapterError):
    pass


class RateLimited(AdapterError):
    def __init__(
        self, message: str, *, reset_at: datetime | None = None, status: int | None = None
    ):
        super().__init__(message, status=status)
        self.reset_at = reset_at


class Unavailable(AdapterError):
    pass


class Invalid(AdapterError):
    permanent = True


def for_status(status: int | None) -> type[AdapterError]:
    """The error type of an HTTP status (RateLimited is the caller's to tell: GitHub answers a
    spent budget with 403 or 429 and its own headers)."""
    return {
        400: Invalid,
        401: Unauthorized,
        403: Forbidden,
        404: NotFound,
        409: Conflict,
        410: NotFound,
        422: Invalid,
        429: RateLimited,
    }.get(status or 0, Unavailable if status is None or status >= 500 else AdapterError)


def kubernetes_reason(body, limit: int = 500) -> str:
    """The `message` of a Kubernetes Status body (why a write was forbidden or invalid: object
    names, field paths, the account and verb — never credentials), '' when there is none."""
    try:
        message = json.loads(body or "").get("message") or ""
    except (ValueError, AttributeError, TypeError):
        return ""
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
