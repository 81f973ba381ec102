"""One GitHub repository as cdportal reads it: releases, tags, Release Please PRs, merged PRs and
their commits, workflow runs and their jobs, and a conditional GET for the poller.

Everything comes back as the REST API's JSON objects (dicts), the same shapes webhooks carry, so
``cdportal.adapters.github.events`` turns a polled release and a delivered one into the same
event. PyGithub does the talking: the base URL (GitHub Enterprise: ``https://HOST/api/v3``), the
token, pagination and its exceptions.

Reference: https://docs.github.com/en/rest (releases, repos#list-repository-tags, pulls,
actions/workflow-runs, actions/workflow-jobs) and
https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
(conditional requests; rate-limit errors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

import requests
from github import Github, GithubException
from github.GithubObject import NonCompletableGithubObject
from github.PaginatedList import PaginatedList
from github.Requester import Requester

from cdportal.adapters.github.client import client
from cdportal.adapters.github.errors import failure, unreachable
from cdportal.adapters.github.events import RELEASE_PR_BRANCH, RELEASE_PR_LABELS

PER_PAGE = 100
BY_UPDATE = {"sort": "updated", "direction": "desc"}


class Response(NamedTuple):
    status: int  # 200, or 304 when the validators still match
    headers: dict[str, str]  # lower-case names
    data: Any  # the JSON body; None for a 304

    @property
    def etag(self) -> str:
        return self.headers.get("etag", "")

    @property
    def last_modified(self) -> str:
        return self.headers.get("last-modified", "")

    @property
    def next_url(self) -> str:
        """The next page's URL from the `Link` header ('' on the last page), as PyGithub's
        PaginatedList follows it: the answer's own query (per_page, filters) and `page`."""
        for part in self.headers.get("link", "").split(","):
            match = _LINK.fullmatch(part.strip())
            if match and match["rel"] == "next":
                return match["url"]
        return ""


# Reference: https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
_LINK = re.compile(r'<(?P<url>[^>]*)>\s*;\s*rel="(?P<rel>[^"]*)"')


class GitHubRepo:
    """OWNER/NAME on GitHub (or GitHub Enterprise), read through PyGithub."""

    def __init__(self, full_name: str, *, gh: Github | None = None):
        self.full_name = full_name
        self.gh = gh or client()
        self.path = f"/repos/{full_name}"

    # --- the repository ---------------------------------------------------------------------

    def default_branch(self) -> str:
        return self._get(self.path, doing=f"Reading {self.full_name}")["default_branch"]

    def head(self, branch: str) -> str:
        """The sha the branch points at."""
        branch_json = self._get(
            f"{self.path}/branches/{branch}", doing=f"Reading branch {branch} of {self.full_name}"
        )
        return branch_json["commit"]["sha"]

    # --- releases and tags ------------------------------------------------------------------

    def releases(self, *, limit: int | None = None) -> list[dict]:
        """Newest first, drafts included when the token may see them."""
        return self._list(
            f"{self.path}/releases", limit=limit, doing=f"Listing releases of {self.full_name}"
        )

    def tags(self, *, limit: int | None = None) -> list[dict]:
        """[{name, commit: {sha, url}, ...}] in GitHub's order (not by date)."""
        return self._list(
            f"{self.path}/tags", limit=limit, doing=f"Listing tags of {self.full_name}"
        )

    # --- pull requests ----------------------------------------------------------------------

    def release_pull_requests(
        self, state: str = "open", *, title_pattern: str | None = None, limit: int | None = 100
    ) -> list[dict]:
        """Release Please's PRs (`open`, `closed` or `all`), most recently updated first: the ones
        labelled `autorelease: pending` / `autorelease: tagged` or built on a `release-please--`
        branch; with `title_pattern` (the config's `pull-request-title-pattern`), only those
        whose title it matches."""
        matches = title_matcher(title_pattern).match if title_pattern else lambda title: True
        prs = self._iter(
            f"{self.path}/pulls",
            {"state": state, **BY_UPDATE},
            doing=f"Listing pull requests of {self.full_name}",
        )
        found = (pr for pr in prs if is_release_pull_request(pr) and matches(pr.get("title") or ""))
        return list(islice(found, limit))

    def merged_pull_requests(self, since: datetime) -> list[dict]:
        """PRs merged at or after `since`, newest update first. Closed PRs come sorted by update
        time, and merging updates a PR, so the walk stops at the first one updated before it."""
        merged = []
        prs = self._iter(
            f"{self.path}/pulls",
            {"state": "closed", **BY_UPDATE},
            doing=f"Listing merged pull requests of {self.full_name}",
        )
        for pr in prs:
            if _time(pr["updated_at"]) < since:
                break
            if pr.get("merged_at") and _time(pr["merged_at"]) >= since:
                merged.append(pr)
        return merged

    def pull_request_commits(self, number: int) -> list[dict]:
        """The PR's commits, oldest first (GitHub lists at most 250)."""
        return self._list(
            f"{self.path}/pulls/{number}/commits",
            doing=f"Listing the commits of {self.full_name}#{number}",
        )

    # --- workflow runs ----------------------------------------------------------------------

    def workflow_runs(
        self, workflow_file: str, *, limit: int | None = 30, **filters: str
    ) -> list[dict]:
        """Runs of `.github/workflows/<workflow_file>`, newest first, each with status,
        conclusion, head_sha, head_branch (the tag a tag push built), html_url and timings.
        `filters`: the API's branch, event, status, head_sha, created."""
        return self._list(
            f"{self.path}/actions/workflows/{workflow_file}/runs",
            filters,
            limit=limit,
            item="workflow_runs",
            doing=f"Listing {workflow_file} runs of {self.full_name}",
        )

    def jobs(self, run_id: int) -> list[dict]:
        """The latest attempt's jobs of a run, each with its steps."""
        return self._list(
            f"{self.path}/actions/runs/{run_id}/jobs",
            {"filter": "latest"},
            item="jobs",
            doing=f"Listing the jobs of run {run_id} of {self.full_name}",
        )

    # --- conditional requests (the poller) --------------------------------------------------

    def get_conditional(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        etag: str = "",
        last_modified: str = "",
    ) -> Response:
        """GET `path` (relative to the API root, or a page's URL from a `Link` header) with
        the validators of the last answer.

        A 304 means nothing changed and, asked with a token, costs no rate budget. PyGithub's
        ``requestJsonAndCheck`` hides the status (a 304's empty body becomes None, like a 200
        with none), so this uses ``Requester.requestJson``, which returns it: the call PyGithub's
        own ``CompletableGithubObject.update()`` makes for its conditional requests."""
        headers = {"Accept": "application/vnd.github+json"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        doing = f"Reading {path}"
        try:
            status, answer_headers, body = self.gh.requester.requestJson(
                "GET", path, parameters=dict(params or {}), headers=headers
            )
        except requests.RequestException as e:
            raise unreachable(e, doing=doing) from None
        data = _json(body) if status != 304 else None
        if status >= 400:
            raise failure(Requester.createException(status, answer_headers, data), doing=doing)
        return Response(status, answer_headers, data)

    # --- plumbing ---------------------------------------------------------------------------

    def _get(self, path: str, *, doing: str) -> dict:
        try:
            return self.gh.requester.requestJsonAndCheck("GET", path)[1]
        except GithubException as e:
            raise failure(e, doing=doing) from None
        except requests.RequestException as e:
            raise unreachable(e, doing=doing) from None

    def _iter(
        self, path: str, params: Mapping[str, Any] | None = None, *, item: str = "items", doing: str
    ) -> Iterator[dict]:
        params = {"per_page": PER_PAGE, **(params or {})}
        pages = PaginatedList(_Json, self.gh.requester, path, params, list_item=item)
        try:
            for obj in pages:
                yield obj.raw_data
        except GithubException as e:
            raise failure(e, doing=doing) from None
        except requests.RequestException as e:
            raise unreachable(e, doing=doing) from None

    def _list(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        item: str = "items",
        doing: str,
    ) -> list[dict]:
        if limit is not None:
            params = {"per_page": min(limit, PER_PAGE), **(params or {})}
        return list(islice(self._iter(path, params, item=item, doing=doing), limit))


class _Json(NonCompletableGithubObject):
    """A list item kept as GitHub sent it. PyGithub's own classes (GitRelease, PullRequest, …)
    are *completable*: reading ``raw_data`` of one that came in a list fetches it again, one
    request per item."""

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes: Any) -> None:
        pass


def is_release_pull_request(pr: Mapping[str, Any]) -> bool:
    """Labelled `autorelease: pending` / `autorelease: tagged`, or on a `release-please--`
    branch (Release Please 17: DEFAULT_LABELS, DEFAULT_RELEASE_LABELS, branch-name.ts)."""
    labels = {label.get("name") for label in pr.get("labels") or () if isinstance(label, Mapping)}
    branch = (pr.get("head") or {}).get("ref") or ""
    return bool(labels & RELEASE_PR_LABELS) or branch.startswith(RELEASE_PR_BRANCH)


def title_matcher(pattern: str) -> re.Pattern[str]:
    """A Release PR title pattern ("chore${scope}: release${component} ${version}") as the
    regular expression Release Please parses titles with (src/util/pull-request-title.ts,
    generateMatchPattern)."""
    placeholders = {
        "${scope}": r"(\((?P<branch>[\w./-]+)\))?",
        "${component}": r" ?(?P<component>@?[\w./-]*)?",
        "${version}": r"v?(?P<version>[0-9].*)",
        "${branch}": r"(?P<branch2>[\w./-]+)?",
    }
    parts = re.split(r"(\$\{(?:scope|component|version|branch)\})", pattern)
    return re.compile("^" + "".join(placeholders.get(p) or re.escape(p) for p in parts) + "$")


def _json(body: str | bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"message": str(body[:200])}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)
