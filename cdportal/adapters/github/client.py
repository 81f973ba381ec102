"""The PyGithub client cdportal uses, and GitHub's errors in cdportal's terms.

Reference: https://docs.github.com/en/rest (status codes per endpoint). The token comes from
settings (GITHUB_TOKEN / GITHUB_TOKEN_FILE) and never appears in a message, a log or a page.
"""

from __future__ import annotations

from django.conf import settings
from github import Auth, Github, GithubException

from cdportal.adapters.errors import AdapterError

USER_AGENT = "cdportal"


class GitHubError(AdapterError):
    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message, permanent=permanent)
        self.status = status


def client(*, base_url: str | None = None, token: str | None = None, timeout: float = 15,
           pause: bool = True) -> Github:
    """A PyGithub client for GITHUB_API_URL (GitHub Enterprise: https://HOST/api/v3).
    `pause=False` drops PyGithub's courtesy sleeps between requests (tests)."""
    token = token if token is not None else settings.GITHUB_TOKEN
    options = {} if pause else {"seconds_between_requests": 0, "seconds_between_writes": 0}
    return Github(
        base_url=base_url or settings.GITHUB_API_URL,
        auth=Auth.Token(token) if token else None,
        timeout=timeout,
        user_agent=USER_AGENT,
        retry=None,
        **options,
    )


def explain(error: GithubException, *, doing: str) -> GitHubError:
    """A GithubException as a sentence a person can act on."""
    status = error.status
    detail = _message(error)
    if status == 401:
        text = f"{doing}: GitHub refused the token (401); check GITHUB_TOKEN"
    elif status == 403:
        text = f"{doing}: GitHub says the token may not do this (403){': ' + detail if detail else ''}"
    elif status == 404:
        text = f"{doing}: not found on GitHub (404){': ' + detail if detail else ''}"
    elif status == 409:
        text = f"{doing}: conflict (409){': ' + detail if detail else ''}"
    elif status == 422:
        text = f"{doing}: GitHub rejected it (422){': ' + detail if detail else ''}"
    else:
        text = f"{doing}: GitHub answered {status}{': ' + detail if detail else ''}"
    return GitHubError(text, status=status, permanent=status in (401, 403, 404, 409, 422))


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    parts = [str(data.get("message", "")).strip()]
    for item in data.get("errors", []) or []:
        if isinstance(item, dict) and item.get("message"):
            parts.append(str(item["message"]))
        elif isinstance(item, str):
            parts.append(item)
    return "; ".join(p for p in parts if p)[:300]
