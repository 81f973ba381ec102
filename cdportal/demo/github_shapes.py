"""GitHub's JSON for the simulated GitHub's objects: REST answers and webhook payloads.

The fields are those GitHub documents and cdportal reads (tests/fixtures/github/api/*.json are
GitHub's own examples of each); API URLs point at the stand-in, page URLs at github.com.
References: https://docs.github.com/en/rest (repos, commits, git/tags, git/refs, releases, pulls,
actions) and https://docs.github.com/en/webhooks/webhook-events-and-payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cdportal.demo.gitrepo import BRANCH, CommitData
from cdportal.demo.workflows import Workflow

OWNER, NAME = "5dlabs", "cto"
FULL_NAME = f"{OWNER}/{NAME}"
HTML = f"https://github.com/{FULL_NAME}"
REPOSITORY_ID = 812_345_678
RELEASE_PR_LABEL = "autorelease: pending"
RELEASED_LABEL = "autorelease: tagged"
RELEASE_PR_BRANCH = f"release-please--branches--{BRANCH}"


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str) -> dict:
    return {"login": login, "id": abs(hash(login)) % 10**8, "type": "User"}


@dataclass
class PullRequest:
    number: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    head_sha: str
    state: str = "open"
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=lambda: [RELEASE_PR_LABEL])
    commits: list[str] = field(default_factory=list)  # shas, oldest first


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    body: str
    created_at: datetime


@dataclass
class Run:
    id: int
    workflow: Workflow
    event: str  # push (a tag push started it), workflow_dispatch
    head_branch: str
    head_sha: str
    display_title: str
    created_at: datetime
    updated_at: datetime
    run_number: int
    inputs: dict[str, str] = field(default_factory=dict)
    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def job_id(self) -> int:
        return self.id * 10 + 1


class Shapes:
    """The JSON of each object, with API URLs under `api` (the stand-in's root)."""

    def __init__(self, api: str):
        self.api = api
        self.repo_api = f"{api}/repos/{FULL_NAME}"

    def repository(self, *, pushed_at: datetime) -> dict:
        return {
            "id": REPOSITORY_ID,
            "node_id": "R_kgDOdemo",
            "name": NAME,
            "full_name": FULL_NAME,
            "private": False,
            "owner": {**user(OWNER), "type": "Organization"},
            "html_url": HTML,
            "url": self.repo_api,
            "default_branch": BRANCH,
            "master_branch": BRANCH,
            "pushed_at": iso(pushed_at),
            "updated_at": iso(pushed_at),
            "visibility": "public",
        }

    def git_commit(self, c: CommitData) -> dict:
        person = {"name": c.author, "email": c.email, "date": iso(c.date)}
        return {
            "url": f"{self.repo_api}/git/commits/{c.sha}",
            "author": person,
            "committer": {**person, "name": "GitHub", "email": "noreply@github.com"},
            "message": c.message,
            "tree": {"sha": c.tree, "url": f"{self.repo_api}/git/trees/{c.tree}"},
            "comment_count": 0,
        }

    def commit(self, c: CommitData) -> dict:
        """GET /commits/{sha}, /commits, /pulls/{n}/commits, a branch's `commit`."""
        return {
            "sha": c.sha,
            "node_id": f"C_{c.sha[:12]}",
            "commit": self.git_commit(c),
            "url": f"{self.repo_api}/commits/{c.sha}",
            "html_url": f"{HTML}/commit/{c.sha}",
            "author": user(c.author),
            "committer": user("web-flow"),
            "parents": [
                {"sha": p, "url": f"{self.repo_api}/commits/{p}", "html_url": f"{HTML}/commit/{p}"}
                for p in c.parents
            ],
        }

    def branch(self, name: str, head: CommitData) -> dict:
        return {
            "name": name,
            "commit": self.commit(head),
            "_links": {"self": f"{self.repo_api}/branches/{name}", "html": f"{HTML}/tree/{name}"},
            "protected": True,
        }

    def tag(self, name: str, sha: str) -> dict:
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.repo_api}/commits/{sha}"},
            "zipball_url": f"{self.repo_api}/zipball/refs/tags/{name}",
            "tarball_url": f"{self.repo_api}/tarball/refs/tags/{name}",
            "node_id": f"REF_{name}",
        }

    def tag_object(self, sha: str, name: str, message: str, commit: str, tagger: dict) -> dict:
        return {
            "node_id": f"TAG_{sha[:12]}",
            "sha": sha,
            "url": f"{self.repo_api}/git/tags/{sha}",
            "tag": name,
            "message": message,
            "tagger": tagger,
            "object": {
                "type": "commit",
                "sha": commit,
                "url": f"{self.repo_api}/git/commits/{commit}",
            },
            "verification": {"verified": False, "reason": "unsigned", "signature": None},
        }

    def ref(self, ref: str, sha: str, kind: str) -> dict:
        return {
            "ref": ref,
            "node_id": f"REF_{ref}",
            "url": f"{self.repo_api}/git/{ref}",
            "object": {"type": kind, "sha": sha, "url": f"{self.repo_api}/git/{kind}s/{sha}"},
        }

    def release(self, r: Release) -> dict:
        return {
            "url": f"{self.repo_api}/releases/{r.id}",
            "html_url": f"{HTML}/releases/tag/{r.tag_name}",
            "id": r.id,
            "node_id": f"RE_{r.id}",
            "tag_name": r.tag_name,
            "target_commitish": r.target_commitish,
            "name": r.tag_name,
            "body": r.body,
            "draft": False,
            "prerelease": False,
            "created_at": iso(r.created_at),
            "published_at": iso(r.created_at),
            "author": user("release-please[bot]"),
            "assets": [],
            "tarball_url": f"{self.repo_api}/tarball/{r.tag_name}",
            "zipball_url": f"{self.repo_api}/zipball/{r.tag_name}",
        }

    def pull(self, pr: PullRequest) -> dict:
        when = {
            k: iso(v) if v else None
            for k, v in (
                ("created_at", pr.created_at),
                ("updated_at", pr.updated_at),
                ("closed_at", pr.closed_at),
                ("merged_at", pr.merged_at),
            )
        }
        return {
            "url": f"{self.repo_api}/pulls/{pr.number}",
            "id": 1_900_000_000 + pr.number,
            "node_id": f"PR_{pr.number}",
            "html_url": f"{HTML}/pull/{pr.number}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": user("release-please[bot]"),
            "body": pr.body,
            "labels": [self.label(n) for n in pr.labels],
            **when,
            "merged": pr.merged_at is not None,
            "merge_commit_sha": pr.merge_commit_sha,
            "draft": False,
            "head": {
                "label": f"{OWNER}:{RELEASE_PR_BRANCH}",
                "ref": RELEASE_PR_BRANCH,
                "sha": pr.head_sha,
            },
            "base": {"label": f"{OWNER}:{BRANCH}", "ref": BRANCH},
            "commits_url": f"{self.repo_api}/pulls/{pr.number}/commits",
        }

    def run(self, run: Run) -> dict:
        w = run.workflow
        return {
            "id": run.id,
            "name": w.name,
            "node_id": f"WFR_{run.id}",
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": w.path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": w.id,
            "url": f"{self.repo_api}/actions/runs/{run.id}",
            "html_url": f"{HTML}/actions/runs/{run.id}",
            "jobs_url": f"{self.repo_api}/actions/runs/{run.id}/jobs",
            "workflow_url": f"{self.repo_api}/actions/workflows/{w.id}",
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "run_started_at": iso(run.started_at or run.created_at),
            "run_attempt": 1,
            "pull_requests": [],
        }

    def label(self, name: str) -> dict:
        return {"id": abs(hash(name)) % 10**8, "name": name, "color": "ededed"}

    def job(self, run: Run) -> dict:
        started = run.started_at
        done = run.status == "completed"
        steps = []
        for number, name in enumerate(run.workflow.steps, 1):
            step_done = done or (run.status == "in_progress" and number == 1)
            failed = done and run.conclusion == "failure" and number == len(run.workflow.steps) - 1
            status = "completed" if step_done else ("in_progress" if started else "queued")
            if done and run.conclusion == "failure" and number == len(run.workflow.steps):
                status, step_done = "completed", True
            steps.append(
                {
                    "name": name,
                    "number": number,
                    "status": status,
                    "conclusion": ("failure" if failed else "success") if step_done else None,
                    "started_at": iso(started) if started else None,
                    "completed_at": iso(run.completed_at or run.updated_at) if step_done else None,
                }
            )
        return {
            "id": run.job_id,
            "run_id": run.id,
            "workflow_name": run.workflow.name,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "run_url": f"{self.repo_api}/actions/runs/{run.id}",
            "url": f"{self.repo_api}/actions/jobs/{run.job_id}",
            "html_url": f"{HTML}/actions/runs/{run.id}/job/{run.job_id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "created_at": iso(run.created_at),
            "started_at": iso(started) if started else None,
            "completed_at": iso(run.completed_at) if run.completed_at else None,
            "name": run.workflow.file.removesuffix(".yaml"),
            "steps": steps,
            "labels": ["ubuntu-latest"],
            "run_attempt": 1,
        }

    def workflow(self, w: Workflow) -> dict:
        return {
            "id": w.id,
            "node_id": f"W_{w.id}",
            "name": w.name,
            "path": w.path,
            "state": "active",
            "url": f"{self.repo_api}/actions/workflows/{w.id}",
            "html_url": f"{HTML}/blob/{BRANCH}/{w.path}",
        }

    # --- webhook payloads -------------------------------------------------------------------

    def push(
        self, ref: str, before: str, after: str, commits: list[CommitData], *, pushed_at: datetime
    ) -> dict:
        created = before == "0" * 40
        pushed = [self.push_commit(c) for c in commits]
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "created": created,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{HTML}/compare/{before[:12]}...{after[:12]}",
            "commits": [] if ref.startswith("refs/tags/") else pushed,
            "head_commit": pushed[-1] if pushed else None,
            **self._envelope(pushed_at),
            "pusher": {"name": "release-please[bot]", "email": None},
        }

    def push_commit(self, c: CommitData) -> dict:
        return {
            "id": c.sha,
            "tree_id": c.tree,
            "distinct": True,
            "message": c.message,
            "timestamp": iso(c.date),
            "url": f"{HTML}/commit/{c.sha}",
            "author": {"name": c.author, "email": c.email, "username": c.author},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [],
            "removed": [],
            "modified": [],
        }

    def create_tag(self, tag: str, *, pushed_at: datetime) -> dict:
        return {
            "ref": tag,
            "ref_type": "tag",
            "master_branch": BRANCH,
            "description": None,
            "pusher_type": "user",
            **self._envelope(pushed_at),
        }

    def envelope(self, action: str, *, at: datetime, **objects: Any) -> dict:
        return {"action": action, **objects, **self._envelope(at)}

    def _envelope(self, at: datetime) -> dict:
        return {
            "repository": self.repository(pushed_at=at),
            "organization": {"login": OWNER, "id": 90_000_001},
            "sender": user("release-please[bot]"),
        }
