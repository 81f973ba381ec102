"""The demo's simulated GitHub over real HTTP: cdportal's own GitHub adapters (PyGithub) call
it, its git repository holds what they made, and its webhooks — caught on the way, then handed
to cdportal's webhook endpoint exactly as they came — pass cdportal's signature check."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from helpers import wait_for

from cdportal.adapters.github import writes
from cdportal.adapters.github.client import client
from cdportal.adapters.github.errors import Invalid, RefExists, Unauthorized, UnexpectedInputs
from cdportal.adapters.github.repo import GitHubRepo
from cdportal.api import deliveries as delivery_queue
from cdportal.demo.github import GitHub
from cdportal.demo.gitrepo import DemoRepository
from cdportal.demo.hooks import Hooks
from cdportal.pipeline.models import BuildRun, Release, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

REPO = "5dlabs/cto"
SECRET = "demo-webhook-secret"
TOKEN = "ghp_demo_token"
START = datetime.now(UTC) - timedelta(hours=1)


class Receiver:
    """Where the stand-in delivers: keeps each POST (headers and body) as it arrived."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self) -> list[tuple[str, dict]]:
        return [(h["X-GitHub-Event"], json.loads(body)) for h, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def github(tmp_path, settings, receiver):
    repo = DemoRepository(tmp_path / "cto")
    repo.create("0.2.50", at=START)
    hooks = Hooks(receiver.url, SECRET)
    stand_in = GitHub(repo, hooks, token=TOKEN, speed=20)
    settings.GITHUB_API_URL = stand_in.start()
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_PAUSE = False
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_BUILD_WORKFLOW = "binaries-release.yaml"
    settings.GITHUB_RELEASE_WORKFLOW = "release-please.yaml"
    yield stand_in
    stand_in.close()
    hooks.close()


def deliver_to_cdportal(client, receiver: Receiver) -> list[WebhookDelivery]:
    """Hand every caught delivery, headers and body untouched, to POST /api/webhooks/github."""
    for headers, body in receiver.received:
        answer = client.post(
            "/api/webhooks/github",
            data=body,
            content_type="application/json",
            headers={k: v for k, v in headers.items() if k.lower().startswith("x-")},
        )
        assert answer.status_code == 202, answer.content
    delivery_queue.process_pending()  # acknowledged after one insert, processed behind
    return list(WebhookDelivery.objects.order_by("pk"))


def git(github: GitHub, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=github.repo.path, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_manual_tag_is_an_annotated_tag_in_git_and_reported_by_signed_webhooks(
    github, receiver, client
):
    head = writes.default_head(REPO)
    assert head == ("main", github.repo.head())

    writes.create_annotated_tag(
        REPO, "v0.3.0", "Release v0.3.0", writes.full_sha(REPO, head.sha[:7])
    )

    assert git(github, "cat-file", "-t", "v0.3.0") == "tag"
    assert git(github, "rev-parse", "v0.3.0^{commit}") == head.sha
    assert "Release v0.3.0" in git(github, "cat-file", "-p", "v0.3.0")
    assert github.hooks.drain()
    assert [e for e, _ in receiver.events()] == ["create", "push"]
    deliveries = deliver_to_cdportal(client, receiver)
    assert [d.status for d in deliveries] == ["ingested", "ingested"]
    assert Release.objects.get(version="0.3.0").sha == head.sha


def test_a_tag_that_exists_is_refused_as_github_refuses_it(github):
    head = writes.default_head(REPO)
    with pytest.raises(RefExists):
        writes.create_annotated_tag(REPO, "v0.2.50", "again", head.sha)


def test_a_wrong_token_gets_bad_credentials(github, settings):
    settings.GITHUB_TOKEN = "ghp_someone_else"
    with pytest.raises(Unauthorized):
        writes.default_head(REPO)


def test_a_dispatched_build_appears_runs_and_completes(github, receiver, client):
    head = writes.default_head(REPO)
    writes.create_annotated_tag(REPO, "v0.3.0", "Release v0.3.0", head.sha)
    writes.dispatch_workflow(REPO, "binaries-release.yaml", ref="main", inputs={"version": "0.3.0"})

    runs = GitHubRepo(REPO).workflow_runs
    run = wait_for(lambda: runs("binaries-release.yaml"), timeout=5)[0]
    assert (run["event"], run["head_sha"]) == ("workflow_dispatch", github.repo.head())
    wait_for(lambda: runs("binaries-release.yaml")[0]["status"] == "completed", timeout=10)
    assert runs("binaries-release.yaml")[0]["conclusion"] == "success"
    jobs = GitHubRepo(REPO).jobs(run["id"])
    assert jobs[0]["conclusion"] == "success" and jobs[0]["steps"]

    assert github.hooks.drain()
    actions = [(e, p["action"]) for e, p in receiver.events() if e == "workflow_run"]
    assert actions == [
        ("workflow_run", "requested"),
        ("workflow_run", "in_progress"),
        ("workflow_run", "completed"),
    ]
    deliveries = deliver_to_cdportal(client, receiver)
    assert {d.status for d in deliveries} == {"ingested"}
    build = BuildRun.objects.get(run_id=run["id"])
    assert (build.status, build.conclusion) == ("completed", "success")
    assert (build.version, build.release.version) == ("0.3.0", "0.3.0")


def test_inputs_the_workflow_does_not_declare_are_refused(github):
    with pytest.raises(UnexpectedInputs):
        writes.dispatch_workflow(REPO, "release-please.yaml", ref="main", inputs={"version": "1"})


def test_a_release_please_run_opens_the_release_pr_for_what_landed(github, receiver, client):
    github.push("feat(controller): add task retry logic", author="ana-dev", at=START)
    github.push("fix(heal): resolve alert deduplication bug", author="ana-dev", at=START)

    writes.dispatch_workflow(REPO, "release-please.yaml", ref="main", inputs={})

    prs = wait_for(lambda: GitHubRepo(REPO).release_pull_requests(), timeout=5)
    assert prs[0]["title"] == "chore: release 0.2.51"
    assert "add task retry logic" in prs[0]["body"]
    assert github.hooks.drain()
    deliver_to_cdportal(client, receiver)
    assert Release.objects.get(pr_number=prs[0]["number"]).version == "0.2.51"


def test_the_release_cycle_leaves_git_as_release_please_leaves_it(github):
    github.push("feat(pm): sync priorities from Linear", author="pm-bot", at=START)
    github.release_please(at=START)
    merged = github.merge("0.2.51", at=START)
    tagged = github.publish("0.2.51", "notes", at=START)

    assert tagged == merged == github.repo.head()
    assert json.loads(github.repo.read(".release-please-manifest.json")) == {".": "0.2.51"}
    assert "## [0.2.51]" in github.repo.read("CHANGELOG.md")
    assert GitHubRepo(REPO).releases()[0]["tag_name"] == "v0.2.51"
    closed = GitHubRepo(REPO).merged_pull_requests(START - timedelta(minutes=1))
    assert [c["sha"] for c in GitHubRepo(REPO).pull_request_commits(closed[0]["number"])] == [
        merged
    ]
    assert github.plan(at=START).next_version is None  # nothing new since the release


def test_lists_are_paged_with_githubs_link_header(github):
    for n in range(35):
        github.repo.create_ref(f"refs/tags/v0.1.{n}", github.repo.head())
    headers = {"Authorization": f"token {TOKEN}"}
    first = httpx.get(f"{github.url}/repos/{REPO}/tags?per_page=30", headers=headers)
    assert len(first.json()) == 30
    assert first.links["next"]["url"] == f"{github.url}/repos/{REPO}/tags?per_page=30&page=2"
    second = httpx.get(first.links["next"]["url"], headers=headers)
    assert len(second.json()) == 6 and "next" not in second.links
    # PyGithub (30 a page by default) follows the Link header to the second page.
    assert len(list(client(pause=False).get_repo(REPO).get_tags())) == 36


def test_a_tag_name_git_cannot_hold_is_refused_with_422(github):
    head = writes.default_head(REPO)
    with pytest.raises(Invalid):
        writes.create_annotated_tag(REPO, "v1..0", "bad", head.sha)
