"""Releasers' actions on GitHub: a manual tag (the seed's "Manual Release"), the build it can
start, a re-run of Release Please, and relabelling a merged Release PR `autorelease: tagged`. Each goes through `perform` (permission, Action row before
the call, GitHub's answer after, one action per idempotency key); the calls themselves are
``cdportal.adapters.github.writes``, and GitHub's refusals arrive typed
(``cdportal.adapters.github.errors``), so they are worded here by type, never by their text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import semver
from django.conf import settings
from django.utils import timezone

from cdportal.adapters.github import writes as github
from cdportal.adapters.github.errors import (
    Forbidden,
    GitHubError,
    MissingObject,
    NoDispatchTrigger,
    NotFound,
    RefExists,
    RuleViolation,
    UnexpectedInputs,
)
from cdportal.adapters.github.writes import Head
from cdportal.pipeline.actions import ActionRefused, perform
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Component, Repository

log = logging.getLogger(__name__)

PERMISSION = "pipeline.create_tag"
TAG_PREFIX = "v"


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
        component.releases.filter(released_at__isnull=False)
        .exclude(version="")
        .values_list("version", flat=True)
    )
    versions.append(component.current_version)
    parsed = [semver.Version.parse(v) for v in versions if v and semver.Version.is_valid(v)]
    return str(max(parsed)) if parsed else None


def is_greater(version: str, latest: str | None) -> bool:
    return latest is None or semver.Version.parse(version) > semver.Version.parse(latest)


def describe_tag(
    *, repository: str, version: str, sha: str, dispatch_build: bool, branch: str = ""
) -> str:
    """Exactly what create_tag will do, for the confirmation step."""
    text = f"create annotated tag {TAG_PREFIX}{version} on {sha[:7]} in {repository}"
    if dispatch_build:
        text += f", then run {settings.GITHUB_BUILD_WORKFLOW} with version={version}"
        text += f" (on {branch})" if branch else " (on the default branch)"
    return text


def default_head(repository: str) -> Head:
    """The default branch and its head commit, as GitHub has them now. Raises GitHubError."""
    return github.default_head(repository)


def dispatch_of(action: Action) -> Action | None:
    """The build dispatched after a manual tag, if one was asked for."""
    return Action.objects.filter(
        kind=Action.Kind.DISPATCH_WORKFLOW, parameters__tag_action=action.pk
    ).first()


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
    asked = _TagRequest(repository, version, sha, message, allow_not_greater, dispatch_build)
    action = perform(
        kind=Action.Kind.CREATE_TAG,
        target=f"{repository}:{TAG_PREFIX}{(version or '').strip()}",
        by=by,
        permission=PERMISSION,
        parameters={"repository": repository, "version": version, "sha": sha},
        prepare=lambda: asked.check(idempotency_key),
        call=asked,
        idempotency_key=idempotency_key,
    )
    if asked.tagging is not None and asked.tagging.ran:  # else a replay of an earlier request
        _after_tagging(action, asked.tagging, repository, by=by, idempotency_key=idempotency_key)
    return action


def _after_tagging(
    action: Action, tagging: _Tagging, repository: str, *, by, idempotency_key: str
) -> None:
    """Note the commit tagged and, when asked and the tag was made, dispatch the build."""
    if tagging.commit:
        _note(action, commit=tagging.commit)
    if tagging.dispatch_build and action.status == Action.Status.SUCCEEDED:
        _dispatch(
            repository=repository,
            workflow=settings.GITHUB_BUILD_WORKFLOW,
            inputs={"version": tagging.version},
            by=by,
            branch=tagging.branch,
            tag_action=action,
            idempotency_key=f"{idempotency_key}:dispatch" if idempotency_key else "",
        )


def rerun_release_please(*, repository: str, by, idempotency_key: str = "") -> Action:
    """Run the Release Please workflow on the default branch now (when it opened no Release PR)."""
    return _dispatch(
        repository=repository,
        workflow=settings.GITHUB_RELEASE_WORKFLOW,
        inputs={},
        by=by,
        idempotency_key=idempotency_key,
        check=lambda: _known(repository),
    )


def dispatch_build(*, release, by, idempotency_key: str = "") -> Action:
    """Run the build workflow for a release that is already tagged (when the dispatch after the
    tag failed): the same workflow and version input as after tagging, as its own Action."""
    repository = release.component.repository.full_name

    def tagged() -> None:
        if not release.tag or not release.version:
            raise ActionRefused(
                f"release {release.version or release.pk} of {repository} has no tag yet: "
                "create the tag first (it can run the build)",
                status=409,
            )

    return _dispatch(
        repository=repository,
        workflow=settings.GITHUB_BUILD_WORKFLOW,
        inputs={"version": release.version},
        by=by,
        idempotency_key=idempotency_key,
        release=release,
        check=tagged,
    )


PENDING_LABEL, TAGGED_LABEL = "autorelease: pending", "autorelease: tagged"


def relabel_release_pr(*, release, by, idempotency_key: str = "") -> Action:
    """Move a merged Release PR whose release is tagged from `autorelease: pending` to
    `autorelease: tagged`: while a merged Release PR stays pending, Release Please opens no
    new one (docs/explain.md). Refused (409) unless the PR is merged, still pending as last
    seen, and its release has its tag — relabelling an untagged one would make Release Please
    skip creating that release."""
    repository = release.component.repository.full_name
    number = release.pr_number
    target = f"{repository}#{number or '?'}"
    parameters = {
        "repository": repository,
        "pull_request": number,
        "release": release.pk,
        "remove": PENDING_LABEL,
        "add": TAGGED_LABEL,
    }

    def prepare() -> tuple[str, dict]:
        labels = release.pr_labels or []
        if not number or release.pr_state != "merged":
            raise ActionRefused(
                f"release {release.version or release.pk} of {repository} has no merged Release PR",
                status=409,
            )
        if not release.tag:
            raise ActionRefused(
                f"Release PR #{number} has no tag yet: create the release first (re-run Release "
                "Please or tag it by hand); relabelled now, Release Please would never tag it",
                status=409,
            )
        if TAGGED_LABEL in labels or PENDING_LABEL not in labels:
            raise ActionRefused(
                f"Release PR #{number} is not labelled {PENDING_LABEL!r} (labels: "
                f"{', '.join(labels) or 'none'})",
                status=409,
            )
        return target, parameters

    def call() -> str:
        github.relabel_pull_request(repository, number, remove=PENDING_LABEL, add=TAGGED_LABEL)
        _observe_relabel(release, repository, number)
        return f"Release PR #{number} of {repository} is now labelled {TAGGED_LABEL!r}"

    return perform(
        kind=Action.Kind.RELABEL_RELEASE_PR,
        target=target,
        by=by,
        permission=PERMISSION,
        parameters=parameters,
        prepare=prepare,
        call=call,
        idempotency_key=idempotency_key,
    )


def _observe_relabel(release, repository: str, number: int) -> None:
    """Record the new label now, under the id the GitHub normalizer gives a merged, tagged
    Release PR, so the webhook or poll that follows is a duplicate."""
    labels = sorted({*(release.pr_labels or []), TAGGED_LABEL} - {PENDING_LABEL})
    try:
        ingest(
            {
                "kind": "release_pr",
                "source": "github",
                "source_id": f"{repository}/pull/{number}/merged/{release.version}/tagged",
                "occurred_at": timezone.now(),
                "repository": repository,
                "component": release.component.name,
                "number": number,
                "title": release.pr_title or f"chore: release {release.version}",
                "version": release.version,
                "state": "merged",
                "url": release.pr_url,
                "labels": labels,
            }
        )
    except Exception:  # the label is on GitHub either way; the webhook or the poller catches up
        log.exception("recording the relabel of %s#%s failed", repository, number)


def _dispatch(
    *,
    repository: str,
    workflow: str,
    inputs: dict,
    by,
    idempotency_key: str,
    branch: str | None = None,
    tag_action: Action | None = None,
    release=None,
    check=None,
) -> Action:
    run = _Dispatch(repository, workflow, inputs, branch)
    parameters = {"repository": repository, "workflow": workflow, "inputs": inputs, "ref": branch}
    if tag_action is not None:
        parameters["tag_action"] = tag_action.pk
    if release is not None:
        parameters["release"] = release.pk
    target = f"{repository}:{workflow}"

    def prepare() -> tuple[str, dict]:
        if check is not None:
            check()
        return target, parameters

    action = perform(
        kind=Action.Kind.DISPATCH_WORKFLOW,
        target=target,
        by=by,
        permission=PERMISSION,
        parameters=parameters,
        prepare=prepare,
        call=run,
        idempotency_key=idempotency_key,
    )
    if run.ref and not branch:
        _note(action, ref=run.ref)
    return action


@dataclass
class _TagRequest:
    """A manual tag as asked for: checked in perform's `prepare` (after the permission, so a
    refusal is recorded like any attempt), then called."""

    repository: str
    version: str
    sha: str | None
    message: str | None
    allow_not_greater: bool
    dispatch_build: bool
    tagging: _Tagging | None = None

    def check(self, idempotency_key: str) -> tuple[str, dict]:
        if (
            len(idempotency_key) > 90
        ):  # the build's Action takes the key + ":dispatch" (100 at most)
            raise ActionRefused("an idempotency key has at most 90 characters")
        self.tagging = _Tagging.checked(
            self.repository,
            self.version,
            self.sha,
            self.message,
            self.allow_not_greater,
            self.dispatch_build,
        )
        return f"{self.repository}:{self.tagging.tag}", self.tagging.parameters()

    def __call__(self) -> str:
        return self.tagging()


@dataclass
class _Tagging:
    """A checked manual tag, and what calling GitHub for it learned (the commit, the branch)."""

    repo_row: Repository
    component: Component | None
    version: str
    sha: str | None
    text: str
    dispatch_build: bool
    not_greater_than: str | None
    ran: bool = False
    branch: str | None = None
    commit: str | None = None

    @classmethod
    def checked(
        cls,
        repository: str,
        version: str,
        sha: str | None,
        message: str | None,
        allow_not_greater: bool,
        dispatch_build: bool,
    ) -> _Tagging:
        repo_row = _known(repository)
        version, sha = valid_version(version), valid_sha(sha)
        component = component_of(repo_row)
        latest = latest_version(component)
        not_greater = not is_greater(version, latest)
        if not_greater and not allow_not_greater:
            raise ActionRefused(
                f"{version} is not greater than the latest release of {repository} ({latest}); "
                "confirm explicitly to tag it anyway"
            )
        text = message.strip() if message and message.strip() else f"Release {TAG_PREFIX}{version}"
        return cls(
            repo_row, component, version, sha, text, dispatch_build, latest if not_greater else None
        )

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.version}"

    def parameters(self) -> dict:
        return {
            "repository": self.repo_row.full_name,
            "version": self.version,
            "tag": self.tag,
            "sha": self.sha,
            "message": self.text,
            "dispatch_build": self.dispatch_build,
            "not_greater_than": self.not_greater_than,
        }

    def __call__(self) -> str:
        self.ran = True
        repository = self.repo_row.full_name
        if self.sha is None:
            self.branch, self.commit = github.default_head(repository)
        else:
            self.commit = github.full_sha(repository, self.sha)
        try:
            github.create_annotated_tag(repository, self.tag, self.text, self.commit)
        except GitHubError as e:
            raise _tag_refused(e, repository, self.tag, self.commit) from None
        _observe_tag(self.repo_row, self.component, self.version, self.tag, self.commit)
        return f"created annotated tag {self.tag} on {self.commit[:7]} in {repository}"


@dataclass
class _Dispatch:
    repository: str
    workflow: str
    inputs: dict
    branch: str | None
    ref: str | None = None

    def __call__(self) -> str:
        self.ref = self.branch or github.default_branch(self.repository)
        try:
            github.dispatch_workflow(
                self.repository, self.workflow, ref=self.ref, inputs=self.inputs
            )
        except GitHubError as e:
            raise _dispatch_refused(e, self.repository, self.workflow, self.inputs) from None
        shown = ", ".join(f"{k}={v}" for k, v in self.inputs.items())
        return (
            f"GitHub accepted running {self.workflow} on {self.ref}"
            f"{' with ' + shown if shown else ''} in {self.repository}; the run appears in a moment"
        )


# --- checks before anything is recorded -----------------------------------------------------


def _known(repository: str) -> Repository:
    row = Repository.objects.filter(full_name=repository).first()
    if row is None:
        raise ActionRefused(
            f"cdportal does not follow a repository named {repository!r}", status=404
        )
    return row


def valid_version(version: str) -> str:
    version = (version or "").strip()
    if version[:1] in ("v", "V") and semver.Version.is_valid(version[1:]):
        raise ActionRefused(
            f"write the version without the leading v: {version[1:]} (the tag will be {version})"
        )
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


# --- GitHub's refusals, worded for the person who asked ----------------------------------------


def _tag_refused(error: GitHubError, repository: str, tag: str, commit: str) -> GitHubError:
    said = error.said
    if isinstance(error, RefExists):
        text = f"tag {tag} already exists in {repository}: pick another version, or delete the tag on GitHub first"
    elif isinstance(error, RuleViolation):
        text = (
            f"tag {tag} is protected in {repository}: a ruleset or tag protection rule keeps this "
            f"token from creating it (GitHub: {said})"
        )
    elif isinstance(error, MissingObject):
        text = f"commit {commit[:7]} does not exist in {repository}"
    elif isinstance(error, Forbidden):
        text = (
            f"GitHub refused to create tag {tag} in {repository} (403{': ' + said if said else ''}): "
            "the token needs contents: write, or a rule protects the tag"
        )
    else:  # a rate limit, a bad token, an unreachable GitHub: its own sentence says it
        return error
    return type(error)(text, status=error.status, permanent=True)


def _dispatch_refused(
    error: GitHubError, repository: str, workflow: str, inputs: dict
) -> GitHubError:
    if isinstance(error, NoDispatchTrigger):
        wanted = f" (with {', '.join(f'a {k!r} input' for k in inputs)})" if inputs else ""
        text = (
            f"{workflow} in {repository} has no workflow_dispatch trigger, so GitHub cannot run it "
            f"on request: add `workflow_dispatch:`{wanted} under `on:` in .github/workflows/{workflow}"
        )
    elif isinstance(error, UnexpectedInputs):
        text = f"{workflow} in {repository} does not declare the inputs cdportal sends (GitHub: {error.said})"
    elif isinstance(error, NotFound):
        text = f"no workflow {workflow} in {repository} (404): check the workflow file name in cdportal's settings"
    else:
        return error
    return type(error)(text, status=error.status, permanent=True)


# --- after GitHub's answer ------------------------------------------------------------------


def _observe_tag(
    repo_row: Repository, component: Component | None, version: str, tag: str, commit: str
) -> None:
    """Record the tag as the release's tag stage now, under the id the webhook normalizer gives a
    created tag, so the webhook that follows is a duplicate instead of a second observation."""
    base = repo_row.url or f"https://github.com/{repo_row.full_name}"
    try:
        ingest(
            {
                "kind": "release",
                "source": "github",
                "source_id": f"{repo_row.full_name}/tag/{tag}",
                "occurred_at": timezone.now(),
                "repository": repo_row.full_name,
                "component": component.name if component else "",
                "version": version,
                "tag": tag,
                "sha": commit,
                "url": f"{base}/releases/tag/{tag}",
            }
        )
    except Exception:  # the tag exists on GitHub either way; the webhook or the poller catches up
        log.exception("recording tag %s of %s failed", tag, repo_row.full_name)


def _note(action: Action, **values) -> None:
    """Add what the call learned (the commit, the branch) to the action's parameters."""
    action.parameters = {**action.parameters, **values}
    Action.objects.filter(pk=action.pk).update(parameters=action.parameters)
