"""A GitHub REST API stand-in on 127.0.0.1 (pytest-httpserver), serving GitHub's own examples.

The bodies are the examples of GitHub's OpenAPI description (`@octokit/openapi`, extracted into
tests/fixtures/github/api/ by extract_openapi.py), with their API URLs pointing here. On top of
them the stand-in behaves as GitHub does where cdportal depends on it:

- every answer carries an `ETag` (of its body) and `X-RateLimit-Limit/Remaining/Reset/Used`;
- a GET whose `If-None-Match` matches the current ETag gets `304 Not Modified`, with no body,
  and does not spend the budget (GitHub: "a 304 … does not count against your primary rate
  limit" when the request is authorized);
- `limit_next()` queues rate-limit answers (403/429, `Retry-After`, a spent budget) and
  `fail_next()` any other error;
- a list (or a `{"total_count", "<items>": [...]}` body) is served a page at a time, `per_page`
  (default 30, at most 100) from `page`, with GitHub's `Link` header (`rel="next"`, `"last"`,
  `"first"`, `"prev"`) naming the other pages with the same query;
- an unknown path gets GitHub's `404 {"message": "Not Found"}`.

Tests then assert what cdportal sent: `requests` (werkzeug requests, in order). A test module
makes its fixture from `stand_in()`:

    @pytest.fixture
    def github_api():
        with stand_in() as stub:
            yield stub
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github" / "api"
PLACEHOLDER = "{{api}}"
DOCS = "https://docs.github.com/rest"
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again. If you reach out to GitHub Support for help, please include the "
    "request ID 1234:5678."
)


def example(name: str, *, api: str = "https://api.github.com") -> Any:
    """The body of fixtures/github/api/<name>.json, its API URLs pointing at `api`."""
    text = (FIXTURES / f"{name}.json").read_text().replace(PLACEHOLDER, api)
    return json.loads(text)["body"]


# Shas in GitHub's documented examples: the head of main in the branch example, and a tag object.
EXAMPLE_HEAD = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"
EXAMPLE_TAG_OBJECT = "940bd336248efae0f9ee5bc7b2d5c985887b16ac"


def example_for(name: str, api: str, repo: str) -> Any:
    """A documented example with its API URLs on the stand-in and its repository renamed."""
    text = (
        (FIXTURES / f"{name}.json")
        .read_text()
        .replace(PLACEHOLDER, api)
        .replace("octocat/Hello-World", repo)
    )
    return json.loads(text)["body"]


def serve_repository(httpserver, settings, repo: str) -> str:
    """Point cdportal at the stand-in and serve `repo`'s documented repository and branch
    examples (default branch main). Returns the API root."""
    api = httpserver.url_for("").rstrip("/")
    settings.GITHUB_API_URL = api
    settings.GITHUB_TOKEN = "test-token"
    settings.GITHUB_PAUSE = False
    settings.GITHUB_BUILD_WORKFLOW = "binaries-release.yaml"
    settings.GITHUB_RELEASE_WORKFLOW = "release-please.yaml"
    path = f"/repos/{repo}"
    # The repository example's default branch is master; the branch example is main.
    httpserver.expect_request(path, method="GET").respond_with_json(
        {**example_for("repo", api, repo), "default_branch": "main"}
    )
    httpserver.expect_request(f"{path}/branches/main", method="GET").respond_with_json(
        example_for("branch", api, repo)
    )
    return api


class GitHubStub:
    def __init__(self, server: HTTPServer, *, prefix: str = ""):
        self.server = server
        self.prefix = prefix  # "/api/v3": GitHub Enterprise's layout
        self.url = server.url_for(prefix).rstrip("/")  # what PyGithub gets as base_url
        self.resources: dict[str, Any] = {}
        self.limit = 5000
        self.remaining = 5000
        self.reset = int(time.time()) + 3600
        self.queued: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        server.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    # --- what to serve ----------------------------------------------------------------------

    def example(self, name: str) -> Any:
        return example(name, api=self.url)

    def serve(self, path: str, body: Any) -> Any:
        """Serve `body` at `path` (below the API root) from now on; a new body gets a new ETag."""
        self.resources[path] = copy.deepcopy(body)
        return body

    def repository(
        self,
        repo: str,
        *,
        releases=None,
        pulls=None,
        tags=None,
        runs=None,
        commits=None,
        workflow: str = "binaries-release.yaml",
    ) -> None:
        """OWNER/NAME's lists as the poller reads them, GitHub's examples unless given."""
        base = f"/repos/{repo}"
        self.serve(base, self.example("repo"))
        self.serve(f"{base}/releases", self.example("releases") if releases is None else releases)
        self.serve(f"{base}/pulls", self.example("pulls") if pulls is None else pulls)
        self.serve(f"{base}/tags", self.example("tags") if tags is None else tags)
        # GET /commits lists the same commit objects as a pull request's commits
        self.serve(f"{base}/commits", self.example("pull-commits") if commits is None else commits)
        self.serve(
            f"{base}/actions/workflows/{workflow}/runs",
            {"total_count": 0, "workflow_runs": []} if runs is None else runs,
        )

    def limit_next(
        self,
        status: int = 429,
        *,
        retry_after: int | None = None,
        spent: bool = False,
        message: str = SECONDARY_LIMIT,
    ) -> None:
        """The next request gets a rate-limit answer: a secondary limit (with `Retry-After` when
        given), or with `spent` the primary one (403, remaining 0, GitHub's message)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if spent:
            message = "API rate limit exceeded for installation ID 1."
        body = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }
        self.queued.append((status, headers, {"spent": spent, "body": body}))

    def fail_next(self, status: int, message: str) -> None:
        """The next request gets `status` with GitHub's error body."""
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        self.queued.append((status, {}, {"spent": False, "body": body}))

    # --- what was asked ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.server.log]

    @property
    def statuses(self) -> list[int]:
        return [response.status_code for _, response in self.server.log]

    def asked(self) -> list[str]:
        """'GET /repos/x/y/releases?per_page=30' for each request, the API prefix removed (PyGithub
        sends query parameters in alphabetical order)."""
        return [
            f"{r.method} {r.path.removeprefix(self.prefix)}"
            + (f"?{r.query_string.decode()}" if r.query_string else "")
            for r in self.requests
        ]

    def forget(self) -> None:
        """Clear the request log (the served resources stay)."""
        self.server.log.clear()

    # --- the handler ------------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        if self.queued:
            status, headers, limit = self.queued.pop(0)
            if limit["spent"]:
                self.remaining = 0
            return self._json(status, limit["body"], headers, spend=False)
        path = request.path.removeprefix(self.prefix)
        if path not in self.resources:
            return self._json(
                404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
            )
        resource, links = _page(self.resources[path], request, self.server.url_for(request.path))
        body = json.dumps(resource)
        etag = 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:40] + '"'
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            return Response(status=304, headers={"ETag": etag, **self._rate()})
        return self._json(200, body, {"ETag": etag, **({"Link": links} if links else {})})

    def _json(
        self, status: int, body: Any, headers: dict[str, str] | None = None, *, spend: bool = True
    ) -> Response:
        if spend and self.remaining:
            self.remaining -= 1
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(
            text,
            status=status,
            content_type="application/json; charset=utf-8",
            headers={**self._rate(), **(headers or {})},
        )

    def _rate(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.limit - self.remaining),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }


def _page(resource: Any, request: Request, url: str) -> tuple[Any, str]:
    """One page of a list resource and its Link header, as GitHub paginates
    (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
    key = None
    if isinstance(resource, dict) and "total_count" in resource:
        key = next((k for k, v in resource.items() if isinstance(v, list)), None)
    items = resource if isinstance(resource, list) else resource.get(key) if key else None
    if items is None:
        return resource, ""
    per_page = min(int(request.args.get("per_page", 30)), 100)
    page = max(int(request.args.get("page", 1)), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    query = {k: v for k, v in request.args.items() if k != "page"}

    def link(number: int, rel: str) -> str:
        return f'<{url}?{urlencode({**query, "page": number})}>; rel="{rel}"'

    rels = []
    if page > 1:
        rels += [link(page - 1, "prev")]
    if page < last:
        rels += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        rels += [link(1, "first")]
    return (chunk if key is None else {**resource, key: chunk}), ", ".join(rels)


_server: HTTPServer | None = None


@contextmanager
def stand_in(*, prefix: str = "") -> Iterator[GitHubStub]:
    """GitHub at http://127.0.0.1:PORT (`prefix="/api/v3"`: GitHub Enterprise Server's layout).
    One server serves the session, started on first use; each stand-in starts empty."""
    global _server
    if _server is None:
        _server = HTTPServer(host="127.0.0.1", port=0)
        _server.start()
        atexit.register(_server.stop)
    _server.clear()
    try:
        yield GitHubStub(_server, prefix=prefix)
    finally:
        _server.clear()
