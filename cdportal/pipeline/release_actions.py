"""Releasers' actions on GitHub: a manual tag (the seed's "Manual Release"), the build it can
start, and a re-run of Release Please. Each goes through `perform` (permission, Action row before
the call, GitHub's answer after, one action per idempotency key).

The seed's manual release, done through GitHub's API instead of a clone:

    git tag -a v0.3.0 -m "Release v0.3.0" && git push origin v0.3.0
    gh workflow run binaries-release.yaml -f version=0.3.0

References: https://docs.github.com/en/rest/git/tags#create-a-tag-object (an annotated tag is a
tag object *and* a ref pointing at it), https://docs.github.com/en/rest/git/refs#create-a-reference
(422 "Reference already exists"; 422 "Repository rule violations found" under a ruleset),
https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event (204; 422
"Workflow does not have 'workflow_dispatch' trigger").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import requests
import semver
from django.conf import settings
from django.utils import timezone
from github import GithubException

from cdportal.adapters.github.client import GitHubError, client, explain
from cdportal.pipeline.actions import ActionRefused, perform
from cdportal.pipeline.models import Action, Component, Repository

log = logging.getLogger(__name__)

PERMISSION = "pipeline.create_tag"
TAG_PREFIX = "v"


class Head(NamedTuple):
    branch: str
    sha: str


# --- what the pages and the command show before anyone confirms -----------------------------


def component_of(repository: Repository) -> Component | None:
    """The component a plain `vX.Y.Z` tag releases: the root package, or the only one there is."""
    components = list(repository.components.all())
    root = next((c for c in components if c.name == ""), None)
    return root or (components[0] if len(components) == 1 else None)


def latest_version(component: Component | None) -> str | None:
    """The component's highest released version (its releases and its manifest), if any."""
    if component is None:
        return None
    versions = list(
        component.releases.filter(released_at__isnull=False).exclude(version="").values_list("version", flat=True)
    )
    versions.append(component.current_version)
    parsed = [semver.Version.parse(v) for v in versions if v and semver.Version.is_valid(v)]
    return str(max(parsed)) if parsed else None


def is_greater(version: str, latest: str | None) -> bool:
    return latest is None or semver.Version.parse(version) > semver.Version.parse(latest)


def describe_tag(*, repository: str, version: str, sha: str, dispatch_build: bool, branch: str = "") -> str:
    """Exactly what create_tag will do, for the confirmation step."""
    text = f"create annotated tag {TAG_PREFIX}{version} on {sha[:7]} in {repository}"
    if dispatch_build:
        text += f", then run {settings.GITHUB_BUILD_WORKFLOW} with version={version}"
        text += f" (on {branch})" if branch else " (on the default branch)"
    return text


def default_head(repository: str) -> Head:
    """The default branch and its head commit, as GitHub has them now. Raises GitHubError."""
    with _answer(f"reading the default branch of {repository}"):
        return _head(_repo(repository))


def dispatch_of(action: Action) -> Action | None:
    """The build dispatched after a manual tag, if one was asked for."""
    return Action.objects.filter(kind=Action.Kind.DISPATCH_WORKFLOW, parameters__tag_action=action.pk).first()


# --- the verbs ------------------------------------------------------------------------------


def create_tag(
    *,
    repository: str,
    version: str,
    sha: str | None,
    by,
    message: str | None = None,
    dispatch_build: bool = False,
    allow_not_greater: bool = False,
    idempotency_key: str = "",
) -> Action:
    """Create the annotated tag vX.Y.Z on `sha` (default: the head of the default branch) and,
    when asked, run the build workflow with version=X.Y.Z. The tag's Action is returned; the
    build's is a second Action (see dispatch_of), so each outcome stands on its own."""
    _allowed(by)
    earlier = _earlier(by, idempotency_key)
    if earlier is not None:  # a double click: before validation, which the first click changed
        return earlier
    repo_row = _known(repository)
    version = valid_version(version)
    sha = valid_sha(sha)
    component = component_of(repo_row)
    latest = latest_version(component)
    not_greater = not is_greater(version, latest)
    if not_greater and not allow_not_greater:
        raise ActionRefused(
            f"{version} is not greater than the latest release of {repository} ({latest}); "
            "confirm explicitly to tag it anyway"
        )
    tag = f"{TAG_PREFIX}{version}"
    text = message.strip() if message and message.strip() else f"Release {tag}"
    found: dict[str, str] = {}
    ran = []

    def call() -> str:
        ran.append(True)
        gh_repo = _repo(repository)
        if sha is None:
            with _answer(f"reading the default branch of {repository}"):
                found["branch"], found["commit"] = _head(gh_repo)
        elif len(sha) < 40:  # the Git Data API wants the full object name
            with _answer(f"looking up commit {sha} in {repository}"):
                # complete(): a lazy Commit would answer .sha from its own URL, unresolved
                found["commit"] = gh_repo.get_commit(sha).complete().sha
        else:
            found["commit"] = sha
        commit = found["commit"]
        with _answer(f"creating tag {tag} in {repository}", _tag_refusal(repository, tag, commit)):
            tag_object = gh_repo.create_git_tag(tag, text, commit, "commit")
            gh_repo.create_git_ref(f"refs/tags/{tag}", tag_object.sha)
        _observe_tag(repo_row, component, version, tag, commit)
        return f"created annotated tag {tag} on {commit[:7]} in {repository}"

    action = perform(
        kind=Action.Kind.CREATE_TAG,
        target=f"{repository}:{tag}",
        by=by,
        permission=PERMISSION,
        parameters={
            "repository": repository, "version": version, "tag": tag, "sha": sha, "message": text,
            "dispatch_build": dispatch_build, "not_greater_than": latest if not_greater else None,
        },
        call=call,
        idempotency_key=idempotency_key,
    )
    if not ran:  # another request with this key got there first and did the work
        return action
    if "commit" in found:
        _note(action, commit=found["commit"])
    if dispatch_build and action.status == Action.Status.SUCCEEDED:
        _dispatch(
            repository=repository, workflow=settings.GITHUB_BUILD_WORKFLOW, inputs={"version": version},
            by=by, branch=found.get("branch"), tag_action=action,
            idempotency_key=f"{idempotency_key}:dispatch" if idempotency_key else "",
        )
    return action


def rerun_release_please(*, repository: str, by, idempotency_key: str = "") -> Action:
    """Run the Release Please workflow on the default branch now (when it opened no Release PR)."""
    _allowed(by)
    _known(repository)
    return _dispatch(
        repository=repository, workflow=settings.GITHUB_RELEASE_WORKFLOW, inputs={}, by=by,
        idempotency_key=idempotency_key,
    )


def _dispatch(*, repository: str, workflow: str, inputs: dict, by, idempotency_key: str,
              branch: str | None = None, tag_action: Action | None = None) -> Action:
    ref: dict[str, str] = {}

    def call() -> str:
        gh_repo = _repo(repository)
        ref["branch"] = branch or _default_branch(gh_repo, repository)
        with _answer(f"running {workflow} in {repository}", _dispatch_refusal(repository, workflow, inputs)):
            accepted = gh_repo.get_workflow(workflow).create_dispatch(ref["branch"], inputs, throw=True)
        if accepted is not True:  # throw=False answers False for any refusal; guard the default
            raise GitHubError(f"GitHub did not accept running {workflow} in {repository}")
        shown = ", ".join(f"{k}={v}" for k, v in inputs.items())
        return (f"GitHub accepted running {workflow} on {ref['branch']}"
                f"{' with ' + shown if shown else ''} in {repository}; the run appears in a moment")

    parameters = {"repository": repository, "workflow": workflow, "inputs": inputs, "ref": branch}
    if tag_action is not None:
        parameters["tag_action"] = tag_action.pk
    action = perform(
        kind=Action.Kind.DISPATCH_WORKFLOW, target=f"{repository}:{workflow}", by=by, permission=PERMISSION,
        parameters=parameters, call=call, idempotency_key=idempotency_key,
    )
    if ref and not branch:
        _note(action, ref=ref["branch"])
    return action


# --- checks before anything is recorded -----------------------------------------------------


def _allowed(by) -> None:
    if not by.has_perm(PERMISSION):
        raise ActionRefused(f"{by.get_username()} may not do this: it needs the {PERMISSION} permission",
                            status=403)


def _earlier(by, idempotency_key: str) -> Action | None:
    if not idempotency_key:
        return None
    if len(idempotency_key) > 90:  # the build's Action takes the key + ":dispatch" (100 at most)
        raise ActionRefused("an idempotency key has at most 90 characters")
    return Action.objects.filter(by_name=by.get_username(), idempotency_key=idempotency_key).first()


def _known(repository: str) -> Repository:
    row = Repository.objects.filter(full_name=repository).first()
    if row is None:
        raise ActionRefused(f"cdportal does not follow a repository named {repository!r}", status=404)
    return row


def valid_version(version: str) -> str:
    version = (version or "").strip()
    if version[:1] in ("v", "V") and semver.Version.is_valid(version[1:]):
        raise ActionRefused(f"write the version without the leading v: {version[1:]} (the tag will be {version})")
    if not semver.Version.is_valid(version):
        raise ActionRefused(f"{version!r} is not a semantic version (X.Y.Z, e.g. 0.3.0)")
    if semver.Version.parse(version).build:
        raise ActionRefused(f"{version} carries build metadata (+…), which a release tag does not")
    return version


def valid_sha(sha: str | None) -> str | None:
    sha = (sha or "").strip().lower()
    if not sha:
        return None
    if not (7 <= len(sha) <= 40 and all(c in "0123456789abcdef" for c in sha)):
        raise ActionRefused(f"{sha!r} is not a commit sha (7 to 40 hex digits)")
    return sha


# --- GitHub ---------------------------------------------------------------------------------


def _repo(repository: str):
    # Lazy: no request until one is needed, and the write paths are exactly /repos/{o}/{r}/….
    return _client().withLazy(True).get_repo(repository)


def _client():
    # PyGithub pauses between requests (1 s between writes) as GitHub asks of API clients;
    # the tests' stand-in switches that off with GITHUB_PAUSE = False.
    return client(pause=settings.GITHUB_PAUSE)


def _head(gh_repo) -> Head:
    branch = gh_repo.default_branch
    return Head(branch, gh_repo.get_branch(branch).commit.sha)


def _default_branch(gh_repo, repository: str) -> str:
    with _answer(f"reading the default branch of {repository}"):
        return gh_repo.default_branch


@contextmanager
def _answer(doing: str, refusal=None) -> Iterator[None]:
    """GitHub's refusals and an unreachable GitHub as GitHubError (the Action's message).
    `refusal(status, said)` may word a known refusal better than `explain` does."""
    try:
        yield
    except GithubException as e:
        better = refusal(e.status, _said(e)) if refusal else None
        raise (GitHubError(better, status=e.status, permanent=True) if better else explain(e, doing=doing)) from None
    except requests.RequestException as e:
        raise GitHubError(f"{doing}: could not reach GitHub ({type(e).__name__})") from None


def _said(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    return " ".join(str(data.get("message", "")).split())[:300]


def _tag_refusal(repository: str, tag: str, commit: str):
    def word(status: int, said: str) -> str | None:
        lowered = said.lower()
        if status == 422 and "already exists" in lowered:
            return f"tag {tag} already exists in {repository}: pick another version, or delete the tag on GitHub first"
        if status == 422 and ("rule" in lowered or "protect" in lowered):
            return (f"tag {tag} is protected in {repository}: a ruleset or tag protection rule keeps this "
                    f"token from creating it (GitHub: {said})")
        if status == 422 and "object does not exist" in lowered:
            return f"commit {commit[:7]} does not exist in {repository}"
        if status == 403:
            return (f"GitHub refused to create tag {tag} in {repository} (403{': ' + said if said else ''}): "
                    "the token needs contents: write, or a rule protects the tag")
        return None

    return word


def _dispatch_refusal(repository: str, workflow: str, inputs: dict):
    def word(status: int, said: str) -> str | None:
        lowered = said.lower()
        if status == 422 and "workflow_dispatch" in lowered:
            wanted = f" (with {', '.join(f'a {k!r} input' for k in inputs)})" if inputs else ""
            return (f"{workflow} in {repository} has no workflow_dispatch trigger, so GitHub cannot run it "
                    f"on request: add `workflow_dispatch:`{wanted} under `on:` in .github/workflows/{workflow}")
        if status == 422 and "unexpected inputs" in lowered:
            return f"{workflow} in {repository} does not declare the inputs cdportal sends (GitHub: {said})"
        if status == 404:
            return f"no workflow {workflow} in {repository} (404): check the workflow file name in cdportal's settings"
        return None

    return word


# --- after GitHub's answer ------------------------------------------------------------------


def _observe_tag(repo_row: Repository, component: Component | None, version: str, tag: str, commit: str) -> None:
    """Record the tag as the release's tag stage now, under the id the webhook normalizer gives a
    created tag, so the webhook that follows is a duplicate instead of a second observation."""
    from cdportal.pipeline.ingest import ingest

    base = repo_row.url or f"https://github.com/{repo_row.full_name}"
    try:
        ingest({
            "kind": "release", "source": "github", "source_id": f"{repo_row.full_name}/tag/{tag}",
            "occurred_at": timezone.now(), "repository": repo_row.full_name,
            "component": component.name if component else "", "version": version, "tag": tag,
            "sha": commit, "url": f"{base}/releases/tag/{tag}",
        })
    except Exception:  # the tag exists on GitHub either way; the webhook or the poller catches up
        log.exception("recording tag %s of %s failed", tag, repo_row.full_name)


def _note(action: Action, **values) -> None:
    """Add what the call learned (the commit, the branch) to the action's parameters."""
    action.parameters = {**action.parameters, **values}
    Action.objects.filter(pk=action.pk).update(parameters=action.parameters)
