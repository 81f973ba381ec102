"""GitHub objects as normalized pipeline events: one set of functions for webhooks and polling.

Each function takes what GitHub sends — a webhook payload, or the same object as the REST API
returns it (a release, a pull request, a workflow run or job, a package version) — and returns
zero or more event dicts for ``cdportal.pipeline.ingest`` (source ``github``). An object that
says nothing the pipeline tracks gives ``[]``; nothing here raises on a shape GitHub documents.

Every ``source_id`` is derived from the *fact* (a release id, a sha, a run id with its status),
never from the delivery, so a webhook and the poller reporting the same fact — or GitHub
redelivering a webhook — are stored once. A fact that changes (a run completes, the Release PR
proposes another version) gets a new id.

Pure Python, no Django, no network. References:
https://docs.github.com/en/webhooks/webhook-events-and-payloads (payloads, per event and action)
https://docs.github.com/en/rest/releases, /pulls, /actions/workflow-runs, /actions/workflow-jobs,
/packages (the REST shapes the poller passes in).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from cdportal.core.events import BUILD_CONCLUSIONS, version_of_tag

SOURCE = "github"
SOURCE_ID_MAX = 200  # PipelineEvent.source_id

# Release Please's markers (release-please 17: DEFAULT_LABELS, branch-name.ts).
RELEASE_PR_LABELS = frozenset({"autorelease: pending", "autorelease: tagged"})
RELEASE_PR_BRANCH = "release-please--"
COMPONENT_BRANCH = "--components--"

# The patterns cdportal.core.events enforces, checked here so a tag the pipeline cannot name
# is skipped instead of failing the whole delivery.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_COMPONENT = re.compile(r"[A-Za-z0-9_./-]{0,100}")
_SHA = re.compile(r"[0-9a-f]{7,64}")
_DIGEST = re.compile(r"[a-z0-9]+:[0-9a-f]{32,128}")

RUN_STATUSES = {
    "queued": "queued",
    "requested": "queued",
    "waiting": "queued",
    "pending": "queued",
    "in_progress": "in_progress",
    "completed": "completed",
}
DISPATCH_EVENTS = frozenset({"workflow_dispatch", "repository_dispatch"})


# --- releases and tags -------------------------------------------------------------------------


def from_release(repo: str, release: dict) -> list[dict]:
    """A published (non-draft) release whose tag names a version → one `release` event."""
    tag = release.get("tag_name") or ""
    version = _tag_version(tag)
    if release.get("draft") or version is None:
        return []
    commitish = release.get("target_commitish") or ""
    return [
        {
            "kind": "release",
            "source": SOURCE,
            "source_id": _fit(f"{repo}/release/{release['id']}"),
            "occurred_at": _when(release.get("published_at") or release.get("created_at")),
            "repository": repo,
            "component": _tag_component(tag),
            "version": version,
            "tag": tag,
            "url": _url(release.get("html_url")),
            "sha": commitish if _SHA.fullmatch(commitish) else "",
            "changelog": release.get("body") or "",
        }
    ]


def from_tag(repo: str, tag: str, sha: str | None, occurred_at: str) -> list[dict]:
    """A tag that names a version → a `release` event with no changelog ("released (tag)"):
    Release Please tags before it publishes, and hand-made tags may never get a release.

    The tag existing (a `create` delivery names no commit) and the tag pointing at `sha` (its
    `push` delivery, the poller's tags list) are two facts with two ids: the second is what gives
    the release its commit, and the builds dispatched for it name only that (`head_sha`)."""
    version = _tag_version(tag)
    if version is None:
        return []
    sha = sha if sha and _SHA.fullmatch(sha) else ""
    return [
        {
            "kind": "release",
            "source": SOURCE,
            "source_id": _fit(f"{repo}/tag/{tag}" + (f"@{sha}" if sha else "")),
            "occurred_at": _when(occurred_at),
            "repository": repo,
            "component": _tag_component(tag),
            "version": version,
            "tag": tag,
            "url": "",
            "sha": sha,
            "changelog": "",
        }
    ]


def _tag_version(tag: str) -> str | None:
    return version_of_tag(tag) if _TAG.fullmatch(tag or "") else None


def _tag_component(tag: str) -> str:
    """'controller-v0.3.0' → 'controller' (Release Please's `${component}-v${version}`)."""
    if "-v" not in tag:
        return ""
    component = tag.rsplit("-v", 1)[0]
    return component if _COMPONENT.fullmatch(component) else ""


# --- Release PRs -------------------------------------------------------------------------------


def from_pull_request(repo: str, pr: dict) -> list[dict]:
    """Release Please's Release PR → a `release_pr` event for the version its title proposes.

    The id holds number, state and version: the proposal moving to another version, or the PR
    being merged, is a new fact, and so is a merged PR relabelled `autorelease: tagged`; the same
    proposal seen again (synchronize, a poll) is not.
    A grouped PR ("chore: release main") names no version and gives nothing.
    """
    if not _is_release_pr(pr):
        return []
    title = (pr.get("title") or "").strip()
    version = _title_version(title)
    if version is None:
        return []
    number = pr["number"]
    labels = sorted(
        {
            str(label.get("name"))[:100]
            for label in pr.get("labels") or []
            if isinstance(label, dict) and label.get("name")
        }
    )[:50]
    if pr.get("merged") or pr.get("merged_at"):  # the REST list has merged_at, not merged
        state, when = "merged", pr.get("merged_at") or pr.get("closed_at")
    elif pr.get("state") == "closed":
        state, when = "closed", pr.get("closed_at")
    else:
        state, when = "open", pr.get("created_at")
    # Release Please relabelling a merged PR `autorelease: tagged` is a new fact too.
    tagged = "/tagged" if state == "merged" and "autorelease: tagged" in labels else ""
    return [
        {
            "kind": "release_pr",
            "source": SOURCE,
            "source_id": _fit(f"{repo}/pull/{number}/{state}/{version}{tagged}"),
            "occurred_at": _when(when or pr.get("updated_at")),
            "repository": repo,
            "component": _pr_component(pr, title),
            "number": number,
            "title": title[:200],
            "version": version,
            "state": state,
            "url": _url(pr.get("html_url")),
            "changelog": (pr.get("body") or "")[:20_000],
            "labels": labels,
        }
    ]


def _is_release_pr(pr: dict) -> bool:
    labels = {label.get("name") for label in pr.get("labels") or [] if isinstance(label, dict)}
    return bool(labels & RELEASE_PR_LABELS) or _head_ref(pr).startswith(RELEASE_PR_BRANCH)


def _head_ref(pr: dict) -> str:
    return (pr.get("head") or {}).get("ref") or ""


def _title_version(title: str) -> str | None:
    """The version at the end of a title: 'chore(main): release my-svc 1.3.0' → '1.3.0'."""
    words = title.split()
    return version_of_tag(words[-1]) if words else None


def _pr_component(pr: dict, title: str) -> str:
    """The branch's component (release-please--branches--main--components--my-svc), else the
    word before the version in the title ('release my-svc 1.3.0'), else none."""
    ref = _head_ref(pr)
    if COMPONENT_BRANCH in ref:
        component = ref.rsplit(COMPONENT_BRANCH, 1)[1]
    else:
        match = re.search(r"\brelease\s+(\S+)\s+\S+$", title)
        component = match.group(1) if match else ""
    return component if _COMPONENT.fullmatch(component) else ""


# --- commits -----------------------------------------------------------------------------------


def from_push(repo: str, payload: dict) -> list[dict]:
    """A push to the default branch → one `commit` event per commit it brought.

    Tag pushes, other branches and branch deletions give nothing (tags: see `from_webhook`).
    """
    default = (payload.get("repository") or {}).get("default_branch") or ""
    if not default or payload.get("ref") != f"refs/heads/{default}" or payload.get("deleted"):
        return []
    return [event for commit in payload.get("commits") or [] for event in _commit(repo, commit)]


def from_commit(repo: str, commit: dict) -> list[dict]:
    """A commit as the REST API lists it (GET /repos/{o}/{r}/commits) → a `commit` event."""
    return _commit(repo, commit)


def is_release_tag(name: str) -> bool:
    """Does this tag name a version (`v1.2.3`, `controller-v1.2.3`)?"""
    return _tag_version(name) is not None


def _commit(repo: str, commit: dict) -> list[dict]:
    if "commit" in commit:  # REST: {sha, html_url, commit: {message, author, committer}}
        inner = commit["commit"] or {}
        sha, message, url = commit.get("sha"), inner.get("message"), commit.get("html_url")
        author = inner.get("author") or {}
        timestamp = (inner.get("committer") or {}).get("date") or author.get("date")
    else:  # webhook: {id, message, timestamp, url, author: {name, email, username}}
        sha, message, url = commit.get("id"), commit.get("message"), commit.get("url")
        author = commit.get("author") or {}
        timestamp = commit.get("timestamp")
    if not isinstance(sha, str) or not _SHA.fullmatch(sha) or not timestamp:
        return []
    return [
        {
            "kind": "commit",
            "source": SOURCE,
            "source_id": _fit(f"{repo}@{sha}"),
            "occurred_at": _when(timestamp),
            "repository": repo,
            "sha": sha,
            "message": (message or "")[:20_000],
            "author": (author.get("name") or "")[:200],
            "url": _url(url),
        }
    ]


# --- builds ------------------------------------------------------------------------------------


def from_workflow_run(repo: str, run: dict, *, workflows: Collection[str]) -> list[dict]:
    """A run of a build workflow → a `build` event; runs of other workflows give nothing.

    `workflows` holds workflow file names (binaries-release.yaml) or workflow names.
    """
    name = run.get("name") or ""
    file = _workflow_file(run.get("path") or "")
    if not workflows or not ({name, file} - {""}) & set(workflows):
        return []
    status = RUN_STATUSES.get(run.get("status") or "", "queued")
    conclusion = run.get("conclusion") if status == "completed" else None
    conclusion = conclusion if conclusion in BUILD_CONCLUSIONS else None
    attempt = run.get("run_attempt") or 1
    version, component = _build_version(run)
    return [
        {
            "kind": "build",
            "source": SOURCE,
            "source_id": _fit(f"{repo}/run/{run['id']}/{attempt}/{status}/{conclusion}"),
            "occurred_at": _when(run.get("updated_at") or run.get("created_at")),
            "repository": repo,
            "component": component,
            "run_id": run["id"],
            "workflow": (name or file or "workflow")[:200],
            "status": status,
            "conclusion": conclusion,
            "head_sha": _sha_or_empty(run.get("head_sha")),
            "version": version,
            "url": _url(run.get("html_url")),
        }
    ]


def from_workflow_job(repo: str, job: dict, *, workflow: str) -> list[dict]:
    """A job of a build run, with its steps → a `build` event for the run carrying that job.

    A job never says the run is done (other jobs may still run): the run is `queued` while this
    job waits, else `in_progress`; the workflow_run event reports completion. Each advance (a
    status, a conclusion, one more completed step) is a new fact.
    """
    raw_status = job.get("status") or "queued"
    status = "queued" if RUN_STATUSES.get(raw_status, "queued") == "queued" else "in_progress"
    steps = [_step(s) for s in job.get("steps") or []]
    done = sum(1 for s in steps if s["status"] == "completed")
    conclusion = job.get("conclusion")
    version, component = _build_version(job)
    attempt = job.get("run_attempt") or 1
    return [
        {
            "kind": "build",
            "source": SOURCE,
            "source_id": _fit(f"{repo}/job/{job['id']}/{attempt}/{raw_status}/{conclusion}/{done}"),
            "occurred_at": _when(
                job.get("completed_at") or job.get("started_at") or job.get("created_at")
            ),
            "repository": repo,
            "component": component,
            "run_id": job["run_id"],
            "workflow": (workflow or job.get("workflow_name") or "workflow")[:200],
            "status": status,
            "head_sha": _sha_or_empty(job.get("head_sha")),
            "version": version,
            "url": _run_url(repo, job),
            "jobs": [
                {
                    "id": job["id"],
                    "name": (job.get("name") or "")[:300],
                    "status": raw_status[:20],
                    "conclusion": conclusion[:20] if conclusion else None,
                    "started_at": job.get("started_at"),
                    "completed_at": job.get("completed_at"),
                    "url": _url(job.get("html_url")),
                    "steps": steps,
                }
            ],
        }
    ]


def _step(step: dict) -> dict:
    return {
        "number": step.get("number") or 0,
        "name": (step.get("name") or "")[:300],
        "status": (step.get("status") or "queued")[:20],
        "conclusion": step["conclusion"][:20] if step.get("conclusion") else None,
        "started_at": step.get("started_at"),
        "completed_at": step.get("completed_at"),
    }


def _workflow_file(path: str) -> str:
    """'.github/workflows/build.yaml@refs/heads/main' → 'build.yaml'."""
    return posixpath.basename(path.split("@", 1)[0])


def _build_version(run: dict) -> tuple[str | None, str]:
    """The version a build is for, when it says so reliably: a tag as its head branch (a run
    triggered by pushing v1.2.3), a `version`/`tag` input, or the run name of a dispatched run
    ("Build v1.2.3"). Commit-message titles of push runs are not trusted."""
    candidates = [run.get("head_branch") or ""]
    inputs = run.get("inputs") if isinstance(run.get("inputs"), dict) else {}
    candidates += [str(inputs.get(key) or "") for key in ("version", "tag")]
    if run.get("event") in DISPATCH_EVENTS:
        words = (run.get("display_title") or "").split()
        candidates += words[-1:]
    for candidate in candidates:
        version = _tag_version(candidate)
        if version:
            return version, _tag_component(candidate)
    return None, ""


def _run_url(repo: str, job: dict) -> str:
    """The run's page: the job's page up to /actions/runs/<id>, or built on the job's host."""
    html = job.get("html_url") or ""
    match = re.match(r"(https?://[^/]+)/", html)
    origin = match.group(1) if match else "https://github.com"
    return f"{origin}/{repo}/actions/runs/{job['run_id']}"


# --- container images --------------------------------------------------------------------------


def from_container_package(payload: dict) -> list[dict]:
    """A container version published to ghcr.io → one `image_push` per tag it carries.

    Takes a `package` or `registry_package` webhook payload (or {"package": {..., package_version:
    <REST package version>}}). Untagged versions (a platform manifest of a multi-arch image),
    versions without a digest and non-container packages give nothing.
    """
    package = payload.get("registry_package") or payload.get("package") or {}
    if str(package.get("package_type") or "").lower() != "container":
        return []
    version = package.get("package_version") or {}
    owner = ((package.get("owner") or {}).get("login") or package.get("namespace") or "").lower()
    name = (package.get("name") or "").lower()
    if not owner or not name or "/" in owner:
        return []
    image = f"ghcr.io/{owner}/{name}"
    container = version.get("container_metadata") or {}
    tag_info = container.get("tag") or {}
    digest = tag_info.get("digest") or next(
        (v for v in (version.get("name"), version.get("version")) if v and _DIGEST.fullmatch(v)), ""
    )
    if not _DIGEST.fullmatch(digest or ""):
        return []
    occurred = _when(
        version.get("updated_at") or version.get("created_at") or package.get("updated_at")
    )
    return [
        {
            "kind": "image_push",
            "source": SOURCE,
            "source_id": _fit(f"{image}:{tag}@{digest}"),
            "occurred_at": occurred,
            "image": image,
            "tag": tag,
            "digest": digest,
        }
        for tag in _container_tags(version, tag_info)
    ]


def _container_tags(version: dict, tag_info: dict) -> list[str]:
    # Webhooks: container_metadata.tag.name (one tag per delivery). REST package versions:
    # metadata.container.tags (every tag of the digest).
    tags = [tag_info.get("name") or ""]
    metadata = version.get("metadata")
    if isinstance(metadata, dict):
        tags += (metadata.get("container") or {}).get("tags") or []
    return list(dict.fromkeys(t for t in tags if isinstance(t, str) and _TAG.fullmatch(t)))


# --- the webhook dispatcher --------------------------------------------------------------------

WEBHOOK_EVENTS = (
    "push",
    "pull_request",
    "release",
    "create",
    "workflow_run",
    "workflow_job",
    "package",
    "registry_package",
)
RELEASE_ACTIONS = frozenset({"published", "released", "created", "prereleased", "edited"})
PACKAGE_ACTIONS = frozenset({"published", "updated"})


def from_webhook(
    event: str,
    payload: dict,
    *,
    build_workflows: Collection[str],
    known_runs: Mapping[int, str] | None = None,
) -> list[dict]:
    """The events a webhook delivery (X-GitHub-Event `event`, parsed body) reports.

    `build_workflows` name the build workflows (file names or names). A workflow_job event does
    not name its workflow file, only (lately) its name: its job is taken when that name is a
    build workflow or when its run is in `known_runs` (run id → workflow name of the runs already
    recorded as builds: GitHub reports a run as requested before its jobs start).
    Unknown events and actions give [].
    """
    repo = (payload.get("repository") or {}).get("full_name") or ""
    action = payload.get("action") or ""
    if event == "push":
        if (payload.get("ref") or "").startswith("refs/tags/"):
            return _pushed_tag(repo, payload)
        return from_push(repo, payload)
    if event == "pull_request":
        return from_pull_request(repo, payload["pull_request"])
    if event == "release":
        return from_release(repo, payload["release"]) if action in RELEASE_ACTIONS else []
    if event == "create":
        if payload.get("ref_type") != "tag":
            return []
        return from_tag(repo, payload["ref"], None, _pushed_at(payload))
    if event == "workflow_run":
        workflow = payload.get("workflow") or {}
        run = payload["workflow_run"]
        # Webhook runs may lack `path`/`name`; the payload's `workflow` object has them.
        run = {
            **run,
            "path": run.get("path") or workflow.get("path") or "",
            "name": run.get("name") or workflow.get("name") or "",
        }
        return from_workflow_run(repo, run, workflows=build_workflows)
    if event == "workflow_job":
        job = payload["workflow_job"]
        name = job.get("workflow_name") or ""
        known = (known_runs or {}).get(job.get("run_id"))
        if known or (name and name in build_workflows):
            return from_workflow_job(repo, job, workflow=known or name)
        return []
    if event in ("package", "registry_package"):
        return from_container_package(payload) if action in PACKAGE_ACTIONS else []
    return []


def _pushed_tag(repo: str, payload: dict) -> list[dict]:
    """A new tag pushed: its commit (head_commit; `after` is the tag object of an annotated
    tag), a fact after the `create` event that named none (see `from_tag`).
    The time is the push's (repository.pushed_at), not the commit's."""
    if not payload.get("created") or payload.get("deleted"):
        return []
    tag = payload["ref"].removeprefix("refs/tags/")
    head = payload.get("head_commit") or {}
    return from_tag(repo, tag, head.get("id"), _pushed_at(payload))


def _pushed_at(payload: dict) -> str:
    repository = payload.get("repository") or {}
    return _when(repository.get("pushed_at") or repository.get("updated_at"))


# --- small helpers -----------------------------------------------------------------------------


def _when(value: Any) -> str:
    """An ISO 8601 time: GitHub sends strings, and epoch seconds in push payloads."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC).isoformat()
    if isinstance(value, str) and value:
        return value
    return datetime.now(UTC).isoformat()


def _url(value: Any) -> str:
    ok = isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 500
    return value if ok else ""


def _sha_or_empty(value: Any) -> str:
    return value if isinstance(value, str) and _SHA.fullmatch(value) else ""


def _fit(source_id: str) -> str:
    """Ids longer than PipelineEvent allows keep their start and end a hash of the whole, so
    they stay unique and the same for the same fact."""
    if len(source_id) <= SOURCE_ID_MAX:
        return source_id
    digest = hashlib.sha256(source_id.encode()).hexdigest()
    return f"{source_id[: SOURCE_ID_MAX - 65]}#{digest}"


__all__ = [
    "SOURCE",
    "WEBHOOK_EVENTS",
    "from_container_package",
    "from_pull_request",
    "from_push",
    "from_release",
    "from_tag",
    "from_webhook",
    "from_workflow_job",
    "from_workflow_run",
]
