"""What a manual release asks of GitHub: the default branch's head, a commit's full sha, an
annotated tag, a workflow run, a Release PR's label. Each is one call (or the pair GitHub needs); failures leave as the
typed errors of ``cdportal.adapters.github.errors``.

The seed's manual release, done through GitHub's API instead of a clone:

    git tag -a v0.3.0 -m "Release v0.3.0" && git push origin v0.3.0
    gh workflow run binaries-release.yaml -f version=0.3.0

References: https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue and
#remove-a-label-from-an-issue (a pull request's labels are its issue's),
https://docs.github.com/en/rest/git/tags#create-a-tag-object (an annotated tag is a
tag object *and* a ref pointing at it), https://docs.github.com/en/rest/git/refs#create-a-reference,
https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event (204).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import requests
from django.conf import settings
from github import GithubException

from cdportal.adapters.github.client import client
from cdportal.adapters.github.errors import GitHubError, NotFound, failure, unreachable


class Head(NamedTuple):
    branch: str
    sha: str


def default_head(repository: str) -> Head:
    """The default branch and its head commit, as GitHub has them now."""
    gh_repo = _repo(repository)
    with _answer(f"reading the default branch of {repository}"):
        branch = gh_repo.default_branch
        return Head(branch, gh_repo.get_branch(branch).commit.sha)


def default_branch(repository: str) -> str:
    with _answer(f"reading the default branch of {repository}"):
        return _repo(repository).default_branch


def full_sha(repository: str, sha: str) -> str:
    """The full object name of a (possibly short) sha: the Git Data API wants it."""
    if len(sha) == 40:
        return sha
    with _answer(f"looking up commit {sha} in {repository}"):
        # complete(): a lazy Commit would answer .sha from its own URL, unresolved
        return _repo(repository).get_commit(sha).complete().sha


def create_annotated_tag(repository: str, tag: str, message: str, commit: str) -> None:
    gh_repo = _repo(repository)
    with _answer(f"creating tag {tag} in {repository}"):
        tag_object = gh_repo.create_git_tag(tag, message, commit, "commit")
        gh_repo.create_git_ref(f"refs/tags/{tag}", tag_object.sha)


def dispatch_workflow(repository: str, workflow: str, *, ref: str, inputs: dict) -> None:
    with _answer(f"running {workflow} in {repository}"):
        accepted = _repo(repository).get_workflow(workflow).create_dispatch(ref, inputs, throw=True)
    if accepted is not True:  # throw=False answers False for any refusal; guard the default
        raise GitHubError(f"GitHub did not accept running {workflow} in {repository}")


def relabel_pull_request(repository: str, number: int, *, remove: str, add: str) -> None:
    """Add label `add` to a pull request, then take `remove` off — as Release Please itself
    moves a Release PR from `autorelease: pending` to `autorelease: tagged` (add first: the PR
    never shows neither). A label already gone is not an error."""
    issue = _repo(repository).get_issue(number)
    with _answer(f"labelling pull request #{number} of {repository} {add!r}"):
        issue.add_to_labels(add)
    try:
        with _answer(f"removing label {remove!r} from pull request #{number} of {repository}"):
            issue.remove_from_labels(remove)
    except NotFound:
        pass


def _repo(repository: str):
    # Lazy: no request until one is needed, and the write paths are exactly /repos/{o}/{r}/….
    # PyGithub pauses between requests (1 s between writes) as GitHub asks of API clients;
    # the tests' stand-in switches that off with GITHUB_PAUSE = False.
    return client(pause=settings.GITHUB_PAUSE).withLazy(True).get_repo(repository)


@contextmanager
def _answer(doing: str) -> Iterator[None]:
    try:
        yield
    except GithubException as e:
        raise failure(e, doing=doing) from None
    except requests.RequestException as e:
        raise unreachable(e, doing=doing) from None
