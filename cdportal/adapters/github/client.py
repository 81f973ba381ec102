"""The PyGithub client cdportal uses (its errors: ``cdportal.adapters.github.errors``). The
token comes from settings (GITHUB_TOKEN / GITHUB_TOKEN_FILE) and never appears in a message, a log or a page.
"""

from __future__ import annotations

from django.conf import settings
from github import Auth, Github

USER_AGENT = "cdportal"


def client(
    *,
    base_url: str | None = None,
    token: str | None = None,
    timeout: float = 15,
    pause: bool = True,
) -> Github:
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
