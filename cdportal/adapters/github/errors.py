"""GitHub's answers as cdportal's typed errors (`cdportal.adapters.errors`), in one place.

Every GitHub call — the poller's reads, the manual release's writes — maps a failure here, so a
spent budget reads as a rate limit wherever it happens: GitHub answers it with 403, the status of
a missing permission, and only its headers and words tell the two apart. Messages keep GitHub's
own words and never the token (it travels in a header).

Reference: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
("Exceeding the rate limit": 403/429, `x-ratelimit-remaining: 0`, `retry-after`) and the status
codes each REST endpoint lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import requests
from github import GithubException
from github.Requester import Requester

from cdportal.adapters import errors


class GitHubError(errors.AdapterError):
    """Anything GitHub answered or failed to answer; the typed ones below say which. `said`:
    GitHub's own words, for a caller that words the refusal its own way."""

    said = ""


class Unauthorized(GitHubError, errors.Unauthorized):
    pass


class Forbidden(GitHubError, errors.Forbidden):
    pass


class NotFound(GitHubError, errors.NotFound):
    pass


class Conflict(GitHubError, errors.Conflict):
    pass


class Invalid(GitHubError, errors.Invalid):
    pass


class Unavailable(GitHubError, errors.Unavailable):
    pass


# The refusals a manual release meets, told apart here by GitHub's words so that callers decide
# by type (docs.github.com/en/rest/git/refs#create-a-reference and
# /rest/actions/workflows#create-a-workflow-dispatch-event answer them all with 422).


class RefExists(Conflict):
    """422 "Reference already exists"."""


class RuleViolation(Forbidden):
    """422 "Repository rule violations found": a ruleset or tag protection refuses the ref."""


class MissingObject(NotFound):
    """422 "Object does not exist": the commit a tag should point at is not there."""


class NoDispatchTrigger(Invalid):
    """422 "Workflow does not have 'workflow_dispatch' trigger"."""


class UnexpectedInputs(Invalid):
    """422 "Unexpected inputs provided": the workflow does not declare an input sent."""


_REFUSALS_422 = (
    ("already exists", RefExists),
    ("rule", RuleViolation),
    ("protect", RuleViolation),
    ("object does not exist", MissingObject),
    ("workflow_dispatch", NoDispatchTrigger),
    ("unexpected inputs", UnexpectedInputs),
)


class RateLimited(GitHubError, errors.RateLimited):
    """GitHub's primary or secondary rate limit answered (403/429). Never permanent: it says when
    to come back (``retry_after`` seconds, or ``reset_at`` when the hourly budget is spent)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after: float | None = None,
        reset: datetime | None = None,
        remaining: int | None = None,
        limit: int | None = None,
    ):
        errors.AdapterError.__init__(self, message, status=status, permanent=False)
        self.reset_at = reset
        self.retry_after = retry_after
        self.remaining = remaining
        self.limit = limit

    @property
    def reset(self) -> datetime | None:
        return self.reset_at


class Budget(NamedTuple):
    """The X-RateLimit-* headers of one response (all None when GitHub sent none: GHE with rate
    limiting off)."""

    limit: int | None
    remaining: int | None
    reset: datetime | None

    @classmethod
    def of(cls, headers: Mapping[str, Any]) -> Budget:
        reset = _int(headers.get("x-ratelimit-reset"))
        return cls(
            _int(headers.get("x-ratelimit-limit")),
            _int(headers.get("x-ratelimit-remaining")),
            datetime.fromtimestamp(reset, UTC) if reset is not None else None,
        )


# 409 is permanent for GitHub: an empty repository answers its commits list with it.
_TYPES: dict[int, type[GitHubError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: NotFound,
    409: Conflict,
    400: Invalid,
    422: Invalid,
}


def failure(error: GithubException, *, doing: str) -> GitHubError:
    """A GithubException in cdportal's terms: its type from the status (a rate limit before
    anything else), its message a sentence a person can act on, with GitHub's words."""
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    if is_rate_limited(error.status, headers, error.data):
        return _rate_limited(error, headers, doing=doing)
    status, detail = error.status, said(error)
    suffix = f": {detail}" if detail else ""
    if status == 401:
        text = f"{doing}: GitHub refused the token (401); check GITHUB_TOKEN"
    elif status == 403:
        text = f"{doing}: GitHub says the token may not do this (403){suffix}"
    elif status == 404:
        text = f"{doing}: not found on GitHub (404){suffix}"
    elif status == 409:
        text = f"{doing}: conflict (409){suffix}"
    elif status == 422:
        text = f"{doing}: GitHub rejected it (422){suffix}"
    else:
        text = f"{doing}: GitHub answered {status}{suffix}"
    kind = _TYPES.get(status, Unavailable if status is None or status >= 500 else GitHubError)
    if status == 422:
        lowered = detail.lower()
        kind = next((refusal for words, refusal in _REFUSALS_422 if words in lowered), kind)
    mapped = kind(text, status=status, permanent=status in (401, 403, 404, 409, 422))
    mapped.said = detail
    return mapped


def unreachable(error: requests.RequestException, *, doing: str) -> Unavailable:
    # The exception's text may hold the URL but never the token: it travels in a header.
    return Unavailable(f"{doing}: could not reach GitHub ({type(error).__name__})")


def is_rate_limited(status: int, headers: Mapping[str, Any], data: Any) -> bool:
    """GitHub answers a spent primary budget with 403/429 and `x-ratelimit-remaining: 0`, and a
    secondary limit with 403/429, usually with `retry-after`, and a message saying so."""
    if status not in (403, 429):
        return False
    if status == 429 or "retry-after" in headers:
        return True
    if str(headers.get("x-ratelimit-remaining")) == "0":
        return True
    message = str(data.get("message", "")) if isinstance(data, Mapping) else ""
    return Requester.isRateLimitError(message) or "rate limit" in message.lower()


def said(error: GithubException) -> str:
    """GitHub's own words: the body's message and its errors' messages, on one line."""
    data = error.data if isinstance(error.data, dict) else {}
    parts = [" ".join(str(data.get("message", "")).split())]
    for item in data.get("errors", []) or []:
        if isinstance(item, dict) and item.get("message"):
            parts.append(str(item["message"]))
        elif isinstance(item, str):
            parts.append(item)
    return "; ".join(p for p in parts if p)[:300]


def _rate_limited(error: GithubException, headers: Mapping[str, Any], *, doing: str) -> RateLimited:
    budget = Budget.of(headers)
    retry_after = _int(headers.get("retry-after"))
    words = said(error)
    message = f"{doing}: GitHub's rate limit answered {error.status}" + (
        f" ({words})" if words else ""
    )
    if retry_after is not None:
        message += f"; retry after {retry_after} s"
    if budget.remaining == 0 and budget.reset:
        message += f"; the budget resets at {budget.reset:%Y-%m-%d %H:%M:%S}Z"
    return RateLimited(
        message,
        status=error.status,
        retry_after=retry_after,
        reset=budget.reset,
        remaining=budget.remaining,
        limit=budget.limit,
    )


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
