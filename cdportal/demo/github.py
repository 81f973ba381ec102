"""The simulated GitHub behind `make demo`: 5dlabs/cto's REST API on 127.0.0.1, backed by a
real git repository (cdportal.demo.gitrepo), sending signed webhooks (cdportal.demo.hooks).

It holds what GitHub holds for the repository — its commits and tags (in git), the Release PR,
the releases, the workflows and their runs — and answers the calls cdportal makes with PyGithub
(cdportal.adapters.github: writes.py for the releasers' actions, repo.py for the poller) in
GitHub's shapes (cdportal.demo.github_shapes), with `Link` pagination. Every change is reported
as GitHub reports it, as a webhook to the server: a push, the Release PR opened, edited and
merged, a tag created and pushed, a release published, a workflow run requested, in progress and
completed (with its job).

Two sides change it. The simulator's GitHub half (cdportal.demo.github_feed) lands commits,
proposes and merges the Release PR, releases and runs the build. cdportal's buttons call the
API: a manual tag (`POST /git/tags` + `POST /git/refs`), a build dispatch (the run is queued,
runs and succeeds) and a Release Please dispatch (the run reads the repository as Release Please
does — cdportal's own planner — and opens or updates the Release PR).

Only the standard library's http.server: the stand-in is part of the demo, not of the tests.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import semver

from cdportal.adapters.git.release_source import snapshot
from cdportal.adapters.git.repository import GitRepository
from cdportal.core.conventional import Repo
from cdportal.core.plan import PackagePlan, plan
from cdportal.demo import workflows
from cdportal.demo.github_shapes import (
    FULL_NAME,
    NAME,
    OWNER,
    RELEASE_PR_LABEL,
    RELEASED_LABEL,
    PullRequest,
    Release,
    Run,
    Shapes,
)
from cdportal.demo.gitrepo import BOT, BRANCH, DemoRepository, GitError
from cdportal.demo.hooks import Hooks

log = logging.getLogger(__name__)

ZERO = "0" * 40
DOCS = "https://docs.github.com/rest"
FIRST_PR = 4400
FIRST_DISPATCHED_RUN = 20_000_000_000


def _now() -> datetime:
    return datetime.now(UTC)


class GitHubError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class GitHub:
    """The repository's GitHub side. `token`: the one token the API accepts; `speed` scales
    how long a dispatched run takes (queued 1 s, running 3 s at speed 1)."""

    def __init__(
        self,
        repo: DemoRepository,
        hooks: Hooks,
        *,
        token: str,
        speed: float = 1.0,
        clock: Callable[[], datetime] = _now,
    ):
        self.repo, self.hooks, self.token = repo, hooks, token
        self.speed, self.clock = speed, clock
        self.lock = repo.lock
        self.pulls: dict[int, PullRequest] = {}
        self.releases: list[Release] = []  # newest first
        self.runs: dict[int, Run] = {}
        self.pushed_at = clock()
        self.on_push: Callable[[], None] | None = None  # called after each push
        self._next_pr = FIRST_PR
        self._next_run = FIRST_DISPATCHED_RUN
        self._timers: list[threading.Timer] = []
        self._closed = False
        self.server: ThreadingHTTPServer | None = None
        self.shapes = Shapes("http://127.0.0.1")

    # --- serving ------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free port of 127.0.0.1; returns the API root (GITHUB_API_URL)."""
        stand_in = self

        class Handler(_Handler):
            github = stand_in

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.shapes = Shapes(self.url)
        threading.Thread(target=self.server.serve_forever, name="github-api", daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # --- the simulator's side: what the team and Release Please do ----------------------------

    def push(self, message: str, *, author: str, at: datetime | None = None) -> str:
        """A commit lands on main (a merged pull request); returns its sha."""
        at = at or self.clock()
        with self.lock:
            before = self.repo.head()
            sha = self.repo.commit(
                message, at=at, author=(author, f"{author}@users.noreply.github.com")
            )
            self._pushed(f"refs/heads/{BRANCH}", before, sha, at)
        return sha

    def propose(self, title: str, body: str, *, at: datetime | None = None) -> PullRequest:
        """Release Please opens the Release PR, or updates the open one."""
        at = at or self.clock()
        with self.lock:
            pr = self.open_release_pr()
            head = self.repo.head()
            if pr is None:
                pr = PullRequest(self._next_pr, title, body, at, at, head)
                self._next_pr += 1
                self.pulls[pr.number] = pr
                action = "opened"
            elif (pr.title, pr.body) == (title, body):
                return pr
            else:
                pr.title, pr.body, pr.updated_at, pr.head_sha = title, body, at, head
                action = "edited"
            self._pull_request(action, pr, at)
            return pr

    def merge(self, version: str, *, at: datetime | None = None) -> str:
        """The Release PR for `version` is merged: Release Please's release commit lands on main
        (squashed, titled after the PR); returns its sha."""
        at = at or self.clock()
        with self.lock:
            pr = self.open_release_pr()
            number = pr.number if pr is not None else self._next_pr
            entry = pr.body if pr is not None else f"## {version}"
            before = self.repo.head()
            sha = self.repo.release(
                version, entry, title=f"chore: release {version} (#{number})", at=at
            )
            if pr is not None:
                pr.state, pr.merged_at, pr.closed_at, pr.updated_at = "closed", at, at, at
                pr.merge_commit_sha, pr.commits = sha, [sha]
            self._pushed(f"refs/heads/{BRANCH}", before, sha, at)
            if pr is not None:
                self._pull_request("closed", pr, at)
        return sha

    def publish(
        self, version: str, body: str, *, at: datetime | None = None, commit: str | None = None
    ) -> str:
        """Release Please tags the release commit v`version` (unless someone already did) and
        publishes the GitHub release; returns the tagged commit. `commit`: the Release PR's
        merge commit, when others landed after it (the head otherwise)."""
        at = at or self.clock()
        tag = f"v{version}"
        with self.lock:
            tagged = self.repo.resolve(f"refs/tags/{tag}")
            if tagged is not None:
                commit = tagged
            else:
                commit = commit or self.repo.head()
                obj = self.repo.tag(tag, f"Release {tag}", commit, at=at)
                self._tag_created(tag, obj, commit, at)
            release = Release(self._release_id(), tag, commit, body, at)
            self.releases.insert(0, release)
            for pr in self.pulls.values():
                if pr.merge_commit_sha == commit and RELEASED_LABEL not in pr.labels:
                    # As Release Please does: add `tagged`, then remove `pending`; GitHub
                    # reports each label change.
                    pr.labels = [*pr.labels, RELEASED_LABEL]
                    self._pull_request("labeled", pr, at, label=RELEASED_LABEL)
                    if RELEASE_PR_LABEL in pr.labels:
                        pr.labels = [x for x in pr.labels if x != RELEASE_PR_LABEL]
                        self._pull_request("unlabeled", pr, at, label=RELEASE_PR_LABEL)
            self.hooks.send(
                "release",
                self.shapes.envelope("published", at=at, release=self.shapes.release(release)),
            )
        return commit

    def start_run(
        self,
        workflow: workflows.Workflow,
        *,
        event: str,
        ref: str,
        head_sha: str,
        title: str,
        run_id: int | None = None,
        inputs: dict | None = None,
        at: datetime | None = None,
    ) -> Run:
        """A run of `workflow` is requested (queued)."""
        at = at or self.clock()
        with self.lock:
            if run_id is None:
                self._next_run += 1
                run_id = self._next_run
            number = 1 + sum(1 for r in self.runs.values() if r.workflow == workflow)
            run = Run(run_id, workflow, event, ref, head_sha, title, at, at, number, inputs or {})
            self.runs[run_id] = run
            self._run_changed(run, "requested")
            return run

    def advance(
        self, run_id: int, status: str, conclusion: str | None = None, *, at: datetime | None = None
    ) -> Run:
        """A run starts (`in_progress`) or ends (`completed` with its conclusion)."""
        at = at or self.clock()
        with self.lock:
            run = self.runs[run_id]
            run.status, run.conclusion, run.updated_at = status, conclusion, at
            if status == "in_progress":
                run.started_at = at
            if status == "completed":
                run.started_at, run.completed_at = run.started_at or at, at
            self._run_changed(run, status)
            return run

    def plan(self, *, at: datetime | None = None) -> PackagePlan:
        """The next release as Release Please would propose it now: cdportal's planner (which
        plans as Release Please does) on the repository."""
        at = at or self.clock()
        with self.lock:
            snap = snapshot(GitRepository(self.repo.path))
            planned = plan(snap.config, snap.history, repo=Repo(OWNER, NAME), date=at.date())
            return planned.packages[0]

    def release_please(self, *, at: datetime | None = None) -> PullRequest | None:
        """What a Release Please run does: open or update the Release PR when there is a
        release to propose."""
        at = at or self.clock()
        with self.lock:
            package = self.plan(at=at)
            if package.next_version is None or package.pr_title is None:
                return None
            return self.propose(package.pr_title, package.changelog or "", at=at)

    def latest_version(self) -> str | None:
        """The highest version tagged vX.Y.Z."""
        versions = [
            semver.Version.parse(name[1:])
            for name, _ in self.repo.tags()
            if name.startswith("v") and semver.Version.is_valid(name[1:])
        ]
        return str(max(versions)) if versions else None

    def open_release_pr(self) -> PullRequest | None:
        return next((p for p in self.pulls.values() if p.state == "open"), None)

    # --- cdportal's side: the API's writes ------------------------------------------------------

    def create_tag_object(self, body: dict) -> dict:
        tag, message, commit = body.get("tag"), body.get("message"), body.get("object")
        if not (isinstance(tag, str) and isinstance(message, str) and isinstance(commit, str)):
            raise GitHubError(422, "Invalid request: tag, message and object are required")
        with self.lock:
            if len(commit) != 40 or self.repo.resolve(commit) != commit:
                raise GitHubError(422, "Object does not exist")
            tagger = {"name": BOT[0], "email": BOT[1], "date": _iso(self.clock())}
            sha = self.repo.tag_object(tag, message, commit, at=self.clock())
            return self.shapes.tag_object(sha, tag, message, commit, tagger)

    def create_ref(self, body: dict) -> dict:
        ref, sha = body.get("ref"), body.get("sha")
        if not (isinstance(ref, str) and ref.startswith("refs/") and isinstance(sha, str)):
            raise GitHubError(422, "Invalid request: ref and sha are required")
        if ref.count("/") < 2:
            raise GitHubError(
                422, "Reference name must contain at least three slash-separated components"
            )
        at = self.clock()
        with self.lock:
            if self.repo.ref(ref) is not None:
                raise GitHubError(422, "Reference already exists")
            if len(sha) != 40 or not self.repo.exists(sha):
                raise GitHubError(422, "Object does not exist")
            try:
                self.repo.create_ref(ref, sha)
            except GitError:
                raise GitHubError(422, "Reference already exists") from None
            kind = "tag" if self.repo.resolve(sha) != sha else "commit"
            if ref.startswith("refs/tags/"):
                self._tag_created(ref.removeprefix("refs/tags/"), sha, self.repo.resolve(sha), at)
            return self.shapes.ref(ref, sha, kind)

    def dispatch(self, file_or_id: str, body: dict) -> None:
        """`POST …/dispatches`: the run is queued now, starts and ends on timers."""
        workflow = workflows.named(file_or_id)
        if workflow is None:
            raise GitHubError(404, "Not Found")
        ref, inputs = body.get("ref"), body.get("inputs") or {}
        if not isinstance(ref, str) or not isinstance(inputs, dict):
            raise GitHubError(422, "Invalid request: ref is required")
        unexpected = sorted(set(inputs) - set(workflow.inputs))
        if unexpected:
            raise GitHubError(422, f"Unexpected inputs provided: {json.dumps(unexpected)}")
        missing = [name for name in workflow.inputs if not inputs.get(name)]
        if missing:
            raise GitHubError(422, f"Required input '{missing[0]}' not provided")
        with self.lock:
            head = self.repo.resolve(ref)
            if head is None:
                raise GitHubError(422, f"No ref found for: {ref}")
            version = inputs.get("version", "")
            title = f"{workflow.name} v{version}" if version else workflow.name
            run = self.start_run(
                workflow,
                event="workflow_dispatch",
                ref=ref,
                head_sha=head,
                title=title,
                inputs={k: str(v) for k, v in inputs.items()},
            )
        self._later(1.0, lambda: self.advance(run.id, "in_progress"))
        if workflow == workflows.RELEASE_PLEASE:
            self._later(2.0, self.release_please)
        self._later(4.0, lambda: self.advance(run.id, "completed", "success"))

    # --- what GitHub reports ------------------------------------------------------------------

    def _pushed(self, ref: str, before: str, after: str, at: datetime) -> None:
        commits = [
            self.repo.commit_data(sha) for sha in reversed(self.repo.log(after, since=before))
        ]
        self.pushed_at = at
        self.hooks.send("push", self.shapes.push(ref, before, after, commits, pushed_at=at))
        if self.on_push is not None:
            self.on_push()

    def _tag_created(self, tag: str, obj: str, commit: str, at: datetime) -> None:
        """GitHub reports a new tag twice: `create` (no commit) and a `push` of the tag ref."""
        self.pushed_at = at
        self.hooks.send("create", self.shapes.create_tag(tag, pushed_at=at))
        head = self.repo.commit_data(commit)
        self.hooks.send(
            "push", self.shapes.push(f"refs/tags/{tag}", ZERO, obj, [head], pushed_at=at)
        )
        if self.on_push is not None:
            self.on_push()

    def _pull_request(
        self, action: str, pr: PullRequest, at: datetime, *, label: str | None = None
    ) -> None:
        fields = {"label": self.shapes.label(label)} if label else {}
        payload = self.shapes.envelope(
            action, at=at, number=pr.number, pull_request=self.shapes.pull(pr), **fields
        )
        self.hooks.send("pull_request", payload)

    def _run_changed(self, run: Run, action: str) -> None:
        workflow = self.shapes.workflow(run.workflow)
        run_json = self.shapes.run(run)
        self.hooks.send(
            "workflow_run",
            self.shapes.envelope(
                action, at=run.updated_at, workflow_run=run_json, workflow=workflow
            ),
        )
        job_action = "queued" if action == "requested" else action
        self.hooks.send(
            "workflow_job",
            self.shapes.envelope(job_action, at=run.updated_at, workflow_job=self.shapes.job(run)),
        )

    def _release_id(self) -> int:
        return 180_000_000 + len(self.releases)

    def _later(self, seconds: float, work: Callable[[], object]) -> None:
        def run() -> None:
            if self._closed:
                return
            try:
                work()
            except Exception:
                log.exception("simulated GitHub: a scheduled step failed")

        timer = threading.Timer(seconds / self.speed, run)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    # --- the API's reads ----------------------------------------------------------------------

    def get(self, path: str, query: dict) -> object:
        """The JSON at `path` below /repos/5dlabs/cto (lists whole: the handler pages them)."""
        with self.lock:
            for pattern, answer in self._reads():
                match = re.fullmatch(pattern, path)
                if match:
                    return answer(query, *match.groups())
        raise GitHubError(404, "Not Found")

    def _reads(self):
        return (
            (r"", lambda q: self.shapes.repository(pushed_at=self.pushed_at)),
            (r"/branches/([^/]+)", self._branch),
            (r"/commits", self._commits),
            (r"/commits/([^/]+)", self._commit),
            (r"/git/ref/(.+)", self._ref),
            (r"/tags", lambda q: [self.shapes.tag(n, s) for n, s in reversed(self.repo.tags())]),
            (r"/releases", lambda q: [self.shapes.release(r) for r in self.releases]),
            (r"/releases/latest", self._latest_release),
            (r"/pulls", self._pulls),
            (r"/pulls/(\d+)", lambda q, n: self.shapes.pull(self._pull(n))),
            (r"/pulls/(\d+)/commits", self._pull_commits),
            (r"/actions/workflows", lambda q: self._listing("workflows", self._workflows())),
            (r"/actions/workflows/([^/]+)", self._workflow),
            (r"/actions/workflows/([^/]+)/runs", self._workflow_runs),
            (r"/actions/runs", lambda q: self._runs(q, None)),
            (r"/actions/runs/(\d+)", lambda q, i: self.shapes.run(self._run(i))),
            (r"/actions/runs/(\d+)/jobs", self._jobs),
        )

    def _branch(self, query, name):
        if name != BRANCH:
            raise GitHubError(404, "Branch not found")
        return self.shapes.branch(name, self.repo.commit_data(self.repo.head()))

    def _commits(self, query):
        shas = self.repo.log(query.get("sha") or "HEAD")
        return [self.shapes.commit(self.repo.commit_data(s)) for s in shas]

    def _commit(self, query, rev):
        sha = self.repo.resolve(rev) if re.fullmatch(r"[0-9a-f]{4,40}|v[0-9.]+|main", rev) else None
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {rev}")
        return self.shapes.commit(self.repo.commit_data(sha))

    def _ref(self, query, ref):
        sha = self.repo.ref(f"refs/{ref}")
        if sha is None:
            raise GitHubError(404, "Not Found")
        kind = "tag" if ref.startswith("tags/") and self.repo.resolve(sha) != sha else "commit"
        return self.shapes.ref(f"refs/{ref}", sha, kind)

    def _latest_release(self, query):
        if not self.releases:
            raise GitHubError(404, "Not Found")
        return self.shapes.release(self.releases[0])

    def _pulls(self, query):
        state = query.get("state", "open")
        pulls = sorted(self.pulls.values(), key=lambda p: p.updated_at, reverse=True)
        return [self.shapes.pull(p) for p in pulls if state == "all" or p.state == state]

    def _pull(self, number) -> PullRequest:
        pr = self.pulls.get(int(number))
        if pr is None:
            raise GitHubError(404, "Not Found")
        return pr

    def _pull_commits(self, query, number):
        pr = self._pull(number)
        return [self.shapes.commit(self.repo.commit_data(s)) for s in pr.commits]

    def _workflows(self) -> list[dict]:
        return [self.shapes.workflow(w) for w in workflows.ALL]

    def _workflow(self, query, name):
        workflow = workflows.named(name)
        if workflow is None:
            raise GitHubError(404, "Not Found")
        return self.shapes.workflow(workflow)

    def _workflow_runs(self, query, name):
        workflow = workflows.named(name)
        if workflow is None:
            raise GitHubError(404, "Not Found")
        return self._runs(query, workflow)

    def _runs(self, query, workflow):
        runs = sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        runs = [r for r in runs if workflow is None or r.workflow == workflow]
        for key in ("status", "event", "head_sha", "branch"):
            if query.get(key):
                field = "head_branch" if key == "branch" else key
                runs = [r for r in runs if query[key] in (getattr(r, field), r.conclusion)]
        return self._listing("workflow_runs", [self.shapes.run(r) for r in runs])

    def _run(self, run_id) -> Run:
        run = self.runs.get(int(run_id))
        if run is None:
            raise GitHubError(404, "Not Found")
        return run

    def _jobs(self, query, run_id):
        return self._listing("jobs", [self.shapes.job(self._run(run_id))])

    @staticmethod
    def _listing(key: str, items: list) -> dict:
        return {"total_count": len(items), key: items}

    def write(self, method: str, path: str, body: dict) -> tuple[int, object]:
        """The API's writes: (status, JSON or None)."""
        if method == "POST" and path == "/git/tags":
            return 201, self.create_tag_object(body)
        if method == "POST" and path == "/git/refs":
            return 201, self.create_ref(body)
        match = re.fullmatch(r"/actions/workflows/([^/]+)/dispatches", path)
        if method == "POST" and match:
            self.dispatch(match[1], body)
            return 204, None
        raise GitHubError(404, "Not Found")


class _Handler(BaseHTTPRequestHandler):
    """HTTP for GitHub: the token checked, JSON in and out, lists paged with `Link`."""

    github: GitHub
    server_version = "GitHub.com"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def log_message(self, format: str, *args) -> None:  # one line per request is noise
        log.debug("github stand-in: " + format, *args)

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        if auth.removeprefix("token ").removeprefix("Bearer ").strip() != self.github.token:
            self._json(401, {"message": "Bad credentials", "documentation_url": DOCS})
            return
        prefix = f"/repos/{FULL_NAME}"
        if url.path != prefix and not url.path.startswith(prefix + "/"):
            self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            return
        path = url.path.removeprefix(prefix)
        try:
            if method == "GET":
                self._page(url.path, query, self.github.get(path, query))
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise GitHubError(400, "Problems parsing JSON") from None
            status, answer = self.github.write(method, path, body if isinstance(body, dict) else {})
            self._json(status, answer)
        except GitError as e:  # what git refused (a tag name it cannot hold): GitHub's 422
            log.info("github stand-in: %s", e)
            self._error(422, "Invalid request")
        except GitHubError as e:
            self._error(e.status, str(e))

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"message": message, "documentation_url": DOCS, "status": str(status)})

    def _page(self, path: str, query: dict, data: object) -> None:
        """One page of a list (or of a `{"total_count", "<items>": [...]}` body), with GitHub's
        Link header (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
        key = None
        if isinstance(data, dict) and "total_count" in data:
            key = next(k for k, v in data.items() if isinstance(v, list))
        items = data if isinstance(data, list) else data.get(key) if key else None
        if items is None:
            self._json(200, data)
            return
        per_page = max(1, min(_int(query.get("per_page"), 30), 100))
        page = max(_int(query.get("page"), 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        others = {k: v for k, v in query.items() if k != "page"}

        def link(number: int, rel: str) -> str:
            return f'<{self.github.url}{path}?{urlencode({**others, "page": number})}>; rel="{rel}"'

        rels = []
        if page > 1:
            rels += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            rels += [link(page + 1, "next"), link(last, "last")]
        body = chunk if key is None else {**data, key: chunk}
        self._json(200, body, {"Link": ", ".join(rels)} if rels else {})

    def _json(self, status: int, body: object, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
