"""Manual tags, their builds and Release Please re-runs, against a GitHub API stand-in on
127.0.0.1 (pytest-httpserver) that PyGithub talks to over real HTTP.

The stand-in serves GitHub's own examples where tests/fixtures/github/api/ has them ("Get a
repository", "Get a branch", from @octokit/openapi) and hand-written bodies shaped like the
documented ones for the writes ("Create a tag object", "Create a reference", "Create a workflow
dispatch event": 204, no body), with URLs on the stand-in (PyGithub follows them).
"""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from github_stub import EXAMPLE_HEAD, EXAMPLE_TAG_OBJECT, example_for
from helpers import REPO, at

from cdportal.pipeline import release_actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, PipelineEvent, Release

pytestmark = pytest.mark.django_db

HEAD = EXAMPLE_HEAD  # the head of main in GitHub's branch example
OTHER = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
TAG_OBJECT = EXAMPLE_TAG_OBJECT


def example(name: str, api: str) -> dict:
    return example_for(name, api, REPO)


class GitHub:
    """The endpoints a manual release calls, on the stand-in server. `calls` lists what PyGithub
    sent: (method, path, JSON body or None)."""

    def __init__(self, server, prefix: str = ""):
        self.server = server
        self.api = server.url_for(prefix).rstrip("/")  # GitHub Enterprise: …/api/v3
        self.repo = f"{prefix}/repos/{REPO}"

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def has_the_repository(self, *, default_branch: str = "main") -> GitHub:
        repository = example("repo", self.api)
        repository["default_branch"] = default_branch  # the example's is master
        branch = example("branch", self.api)  # main at 7fd1a60…, the example's head
        branch["name"] = default_branch
        self.server.expect_request(self.repo, method="GET").respond_with_json(repository)
        self.server.expect_request(
            f"{self.repo}/branches/{default_branch}", method="GET"
        ).respond_with_json(branch)
        return self

    def creates_tags(self) -> GitHub:
        def tag_object(request):
            sent = request.get_json()
            return _json(
                201,
                {
                    "node_id": "MDM6VGFnOTQwYmQzMzYyNDhlZmFlMGY5ZWU1YmM3YjJkNWM5ODU4ODdiMTZhYw==",
                    "tag": sent["tag"],
                    "sha": TAG_OBJECT,
                    "url": self.url(f"{self.repo}/git/tags/{TAG_OBJECT}"),
                    "message": sent["message"],
                    "tagger": {
                        "name": "cdportal",
                        "email": "cdportal@example.com",
                        "date": "2026-11-28T10:00:00Z",
                    },
                    "object": {
                        "type": "commit",
                        "sha": sent["object"],
                        "url": self.url(f"{self.repo}/git/commits/{sent['object']}"),
                    },
                    "verification": {
                        "verified": False,
                        "reason": "unsigned",
                        "signature": None,
                        "payload": None,
                    },
                },
            )

        def reference(request):
            sent = request.get_json()
            return _json(
                201,
                {
                    "ref": sent["ref"],
                    "node_id": "MDM6UmVmcmVmcy90YWdzL3YwLjMuMA==",
                    "url": self.url(f"{self.repo}/git/{sent['ref']}"),
                    "object": {
                        "type": "tag",
                        "sha": sent["sha"],
                        "url": self.url(f"{self.repo}/git/tags/{sent['sha']}"),
                    },
                },
            )

        self.server.expect_request(f"{self.repo}/git/tags", method="POST").respond_with_handler(
            tag_object
        )
        self.server.expect_request(f"{self.repo}/git/refs", method="POST").respond_with_handler(
            reference
        )
        return self

    def refuses(self, path: str, status: int, message: str, method: str = "POST") -> GitHub:
        self.server.expect_request(f"{self.repo}/{path}", method=method).respond_with_json(
            {
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": str(status),
            },
            status=status,
        )
        return self

    def runs(self, workflow: str) -> GitHub:
        self.server.expect_request(
            f"{self.repo}/actions/workflows/{workflow}/dispatches", method="POST"
        ).respond_with_data("", status=204)
        return self

    @property
    def calls(self) -> list[tuple[str, str, dict | None]]:
        return [(r.method, r.path, r.get_json(silent=True)) for r, _ in self.server.log]


def _json(status: int, body: dict):
    from werkzeug import Response

    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


@pytest.fixture
def github(httpserver, settings):
    # http://localhost:PORT, no path: PyGithub keeps the scheme and port, and follows the
    # stand-in's own URLs in the bodies (a different host would fail its assertion).
    settings.GITHUB_API_URL = httpserver.url_for("").rstrip("/")
    settings.GITHUB_TOKEN = "test-token"
    settings.GITHUB_PAUSE = False  # PyGithub's 1 s between writes
    settings.GITHUB_BUILD_WORKFLOW = "binaries-release.yaml"
    settings.GITHUB_RELEASE_WORKFLOW = "release-please.yaml"
    return GitHub(httpserver)


@pytest.fixture
def cto(db):
    """5dlabs/cto released 0.2.9; Release Please predicts 0.3.0."""
    ingest(
        {
            "kind": "release",
            "source": "test",
            "source_id": "rel-0.2.9",
            "occurred_at": at(0),
            "repository": REPO,
            "version": "0.2.9",
            "tag": "v0.2.9",
            "sha": "a" * 40,
        }
    )
    ingest(
        {
            "kind": "release_plan",
            "source": "git",
            "source_id": "plan-1",
            "occurred_at": at(5),
            "repository": REPO,
            "head_sha": HEAD,
            "current_version": "0.2.9",
            "next_version": "0.3.0",
            "tag": "v0.3.0",
            "changelog": "## [0.3.0]\n\n### Features\n\n* add task retry logic",
            "commit_count": 1,
            "commits": [
                {
                    "sha": HEAD,
                    "subject": "add task retry logic",
                    "type": "feat",
                    "scope": "controller",
                    "bump": "minor",
                }
            ],
        }
    )
    return REPO


TAG_CALLS = [
    (
        "POST",
        f"/repos/{REPO}/git/tags",
        {"tag": "v0.3.0", "message": "Release v0.3.0", "object": HEAD, "type": "commit"},
    ),
    ("POST", f"/repos/{REPO}/git/refs", {"ref": "refs/tags/v0.3.0", "sha": TAG_OBJECT}),
]
HEAD_CALLS = [("GET", f"/repos/{REPO}", None), ("GET", f"/repos/{REPO}/branches/main", None)]


def test_it_tags_the_head_of_the_default_branch(rita, cto, github):
    github.has_the_repository().creates_tags()
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=None, by=rita)
    assert github.calls == HEAD_CALLS + TAG_CALLS
    action.refresh_from_db()
    assert (action.kind, action.status, action.by, action.by_name) == (
        "create_tag",
        "succeeded",
        rita,
        "rita",
    )
    assert action.target == f"{REPO}:v0.3.0"
    assert action.message == f"created annotated tag v0.3.0 on 7fd1a60 in {REPO}"
    assert action.parameters == {
        "repository": REPO,
        "version": "0.3.0",
        "tag": "v0.3.0",
        "sha": None,
        "message": "Release v0.3.0",
        "dispatch_build": False,
        "not_greater_than": None,
        "commit": HEAD,
    }
    assert action.finished_at is not None


def test_the_tag_is_the_releases_tag_stage_at_once(rita, cto, github):
    github.has_the_repository().creates_tags()
    release_actions.create_tag(repository=REPO, version="0.3.0", sha=None, by=rita)
    event = PipelineEvent.objects.get(kind="release", source="github")
    assert event.source_id == f"{REPO}/tag/v0.3.0"
    release = Release.objects.get(version="0.3.0")
    assert (release.tag, release.sha, release.state) == ("v0.3.0", HEAD, "released")
    assert release.released_at is not None and event.release == release
    # The webhook for the same tag, a moment later, is a duplicate.
    late = ingest(
        {
            "kind": "release",
            "source": "github",
            "source_id": f"{REPO}/tag/v0.3.0",
            "occurred_at": at(9),
            "repository": REPO,
            "version": "0.3.0",
            "tag": "v0.3.0",
            "sha": HEAD,
        }
    )
    assert late.created is False


@pytest.mark.django_db(transaction=True)
def test_the_action_is_recorded_before_github_is_called(rita, cto, github):
    seen = []

    def tag_object(request):
        from django.db import connection

        seen.extend(Action.objects.values_list("kind", "status"))
        connection.close()
        return _json(422, {"message": "Reference already exists"})

    github.server.expect_request(f"{github.repo}/git/tags", method="POST").respond_with_handler(
        tag_object
    )
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    assert seen == [("create_tag", "running")]
    assert action.status == "failed"


def test_it_tags_the_commit_given(rita, cto, github):
    github.creates_tags()
    action = release_actions.create_tag(
        repository=REPO, version="0.3.0", sha=HEAD.upper(), by=rita, message="Hand-made 0.3.0"
    )
    assert github.calls == [
        (
            "POST",
            f"/repos/{REPO}/git/tags",
            {"tag": "v0.3.0", "message": "Hand-made 0.3.0", "object": HEAD, "type": "commit"},
        ),
        TAG_CALLS[1],
    ]
    assert action.parameters["sha"] == HEAD and action.status == "succeeded"


def test_a_short_sha_is_resolved_first(rita, cto, github):
    github.server.expect_request(f"{github.repo}/commits/7fd1a60", method="GET").respond_with_json(
        {
            "sha": HEAD,
            "url": github.url(f"{github.repo}/commits/{HEAD}"),
            "commit": {"message": "feat: x"},
        }
    )
    github.creates_tags()
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha="7fd1a60", by=rita)
    assert github.calls == [("GET", f"/repos/{REPO}/commits/7fd1a60", None)] + TAG_CALLS
    assert action.parameters["commit"] == HEAD


def test_it_runs_the_build_with_the_version_after_the_tag(rita, cto, github):
    github.has_the_repository().creates_tags().runs("binaries-release.yaml")
    action = release_actions.create_tag(
        repository=REPO,
        version="0.3.0",
        sha=None,
        by=rita,
        dispatch_build=True,
        idempotency_key="k1",
    )
    assert github.calls == HEAD_CALLS + TAG_CALLS + [
        (
            "POST",
            f"/repos/{REPO}/actions/workflows/binaries-release.yaml/dispatches",
            {"ref": "main", "inputs": {"version": "0.3.0"}},
        ),
    ]
    build = release_actions.dispatch_of(action)
    assert (build.kind, build.status, build.by_name, build.idempotency_key) == (
        "dispatch_workflow",
        "succeeded",
        "rita",
        "k1:dispatch",
    )
    assert build.parameters == {
        "repository": REPO,
        "workflow": "binaries-release.yaml",
        "inputs": {"version": "0.3.0"},
        "ref": "main",
        "tag_action": action.pk,
    }
    assert build.message == (
        f"GitHub accepted running binaries-release.yaml on main with version=0.3.0 in {REPO}; "
        "the run appears in a moment"
    )


def test_with_a_given_commit_the_build_asks_github_for_the_default_branch(rita, cto, github):
    github.has_the_repository(default_branch="trunk").creates_tags().runs("binaries-release.yaml")
    release_actions.create_tag(
        repository=REPO, version="0.3.0", sha=OTHER, by=rita, dispatch_build=True
    )
    assert [c[:2] for c in github.calls] == [
        ("POST", f"/repos/{REPO}/git/tags"),
        ("POST", f"/repos/{REPO}/git/refs"),
        ("GET", f"/repos/{REPO}"),
        ("POST", f"/repos/{REPO}/actions/workflows/binaries-release.yaml/dispatches"),
    ]
    assert github.calls[-1][2] == {"ref": "trunk", "inputs": {"version": "0.3.0"}}


def test_a_double_submit_is_one_set_of_github_calls(rita, cto, github):
    github.has_the_repository().creates_tags().runs("binaries-release.yaml")
    first = release_actions.create_tag(
        repository=REPO,
        version="0.3.0",
        sha=None,
        by=rita,
        dispatch_build=True,
        idempotency_key="same",
    )
    calls = len(github.calls)
    # The first click already released 0.3.0: the second must not be refused as "not greater".
    again = release_actions.create_tag(
        repository=REPO,
        version="0.3.0",
        sha=None,
        by=rita,
        dispatch_build=True,
        idempotency_key="same",
    )
    assert again.pk == first.pk
    assert len(github.calls) == calls == 5
    assert Action.objects.count() == 2


@pytest.mark.parametrize("person", ["bob", "alice"])
def test_viewers_and_operators_may_not_tag(person, request, cto, github):
    with pytest.raises(ActionRefused) as refused:
        release_actions.create_tag(
            repository=REPO,
            version="0.3.0",
            sha=None,
            by=request.getfixturevalue(person),
            dispatch_build=True,
        )
    assert refused.value.status == 403
    assert "pipeline.create_tag" in str(refused.value)
    assert github.calls == []
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done


@pytest.mark.parametrize("person", ["bob", "alice"])
def test_viewers_and_operators_may_not_rerun_release_please(person, request, cto, github):
    with pytest.raises(ActionRefused):
        release_actions.rerun_release_please(repository=REPO, by=request.getfixturevalue(person))
    assert github.calls == []
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done


def test_an_existing_tag_fails_the_action_clearly_and_runs_no_build(rita, cto, github):
    github.has_the_repository().runs("binaries-release.yaml")
    github.server.expect_request(f"{github.repo}/git/tags", method="POST").respond_with_json(
        {"sha": TAG_OBJECT, "tag": "v0.3.0", "object": {"sha": HEAD, "type": "commit"}}, status=201
    )
    github.refuses("git/refs", 422, "Reference already exists")
    action = release_actions.create_tag(
        repository=REPO, version="0.3.0", sha=None, by=rita, dispatch_build=True
    )
    assert action.status == "failed"
    assert action.message.startswith(f"tag v0.3.0 already exists in {REPO}")
    assert release_actions.dispatch_of(action) is None
    assert not any("dispatches" in path for _, path, _ in github.calls)
    assert not PipelineEvent.objects.filter(source="github").exists()


def test_a_protected_tag_is_said_plainly(rita, cto, github):
    # The tag object is created; the ref is refused by a ruleset.
    github.server.expect_request(f"{github.repo}/git/tags", method="POST").respond_with_json(
        {"sha": TAG_OBJECT, "tag": "v0.3.0"}, status=201
    )
    github.refuses(
        "git/refs",
        422,
        "Repository rule violations found\n\nCannot create ref due to creations being restricted.\n\n",
    )
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    assert action.status == "failed"
    assert action.message == (
        f"tag v0.3.0 is protected in {REPO}: a ruleset or tag protection rule keeps this token from creating it "
        "(GitHub: Repository rule violations found Cannot create ref due to creations being restricted.)"
    )


def test_a_token_that_may_not_write_gets_a_clear_403(rita, cto, github):
    github.refuses("git/tags", 403, "Resource not accessible by integration")
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    assert action.status == "failed"
    assert action.message == (
        f"GitHub refused to create tag v0.3.0 in {REPO} (403: Resource not accessible by "
        "integration): the token needs contents: write, or a rule protects the tag"
    )


def test_a_build_without_a_workflow_dispatch_trigger_keeps_the_tag(rita, cto, github):
    github.has_the_repository().creates_tags()
    github.refuses(
        "actions/workflows/binaries-release.yaml/dispatches",
        422,
        "Workflow does not have 'workflow_dispatch' trigger",
    )
    action = release_actions.create_tag(
        repository=REPO, version="0.3.0", sha=None, by=rita, dispatch_build=True
    )
    build = release_actions.dispatch_of(action)
    assert action.status == "succeeded"
    assert build.status == "failed"
    assert build.message == (
        f"binaries-release.yaml in {REPO} has no workflow_dispatch trigger, so GitHub cannot run it on request: "
        "add `workflow_dispatch:` (with a 'version' input) under `on:` in .github/workflows/binaries-release.yaml"
    )
    assert Release.objects.get(version="0.3.0").tag == "v0.3.0"


def test_a_version_not_greater_is_refused_unless_confirmed(rita, cto, github):
    github.creates_tags()
    for version in ("0.2.9", "0.2.1", "0.2.9-rc.1"):
        with pytest.raises(
            ActionRefused, match=r"is not greater than the latest release of 5dlabs/cto \(0.2.9\)"
        ):
            release_actions.create_tag(repository=REPO, version=version, sha=HEAD, by=rita)
    assert github.calls == []
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done
    action = release_actions.create_tag(
        repository=REPO, version="0.2.9", sha=HEAD, by=rita, allow_not_greater=True
    )
    assert action.status == "succeeded"
    assert action.parameters["not_greater_than"] == "0.2.9"


@pytest.mark.parametrize(
    "version, why",
    [
        ("v0.3.0", "without the leading v: 0.3.0"),
        ("0.3", "is not a semantic version"),
        ("latest", "is not a semantic version"),
        ("0.3.0+build.1", "build metadata"),
    ],
)
def test_it_validates_the_version_and_logs_the_refusal(rita, cto, github, version, why):
    with pytest.raises(ActionRefused, match=why.replace("+", r"\+")):
        release_actions.create_tag(repository=REPO, version=version, sha=HEAD, by=rita)
    assert set(Action.objects.values_list("status", flat=True)) == {"refused"}  # logged, not done


def test_it_refuses_a_commit_that_is_not_a_sha(rita, cto, github):
    with pytest.raises(ActionRefused, match="is not a commit sha"):
        release_actions.create_tag(repository=REPO, version="0.3.0", sha="main", by=rita)


def test_an_unknown_repository_is_refused(rita, cto, github):
    with pytest.raises(ActionRefused) as refused:
        release_actions.create_tag(repository="5dlabs/nope", version="0.3.0", sha=HEAD, by=rita)
    assert refused.value.status == 404


def test_an_unreachable_github_fails_the_action_without_raising(rita, cto, settings):
    settings.GITHUB_API_URL = "http://127.0.0.1:9"  # discard: nothing listens
    settings.GITHUB_PAUSE = False
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=None, by=rita)
    assert action.status == "failed"
    assert (
        action.message
        == f"reading the default branch of {REPO}: could not reach GitHub (ConnectionError)"
    )


def test_the_token_goes_in_the_header_and_nowhere_else(rita, cto, github):
    github.refuses("git/tags", 401, "Bad credentials")
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    request, _ = github.server.log[0]
    assert request.headers["Authorization"] == "token test-token"
    assert "test-token" not in action.message and "GITHUB_TOKEN" in action.message


def test_a_github_enterprise_url_with_a_path(rita, cto, github, settings):
    settings.GITHUB_API_URL = github.url("/api/v3")
    ghe = GitHub(github.server, prefix="/api/v3").has_the_repository().creates_tags()
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=None, by=rita)
    assert action.status == "succeeded"
    assert [path for _, path, _ in ghe.calls] == [
        f"/api/v3{path}" for _, path, _ in HEAD_CALLS + TAG_CALLS
    ]


def test_it_reruns_release_please_on_the_default_branch(rita, cto, github):
    github.has_the_repository().runs("release-please.yaml")
    action = release_actions.rerun_release_please(repository=REPO, by=rita, idempotency_key="rp-1")
    again = release_actions.rerun_release_please(repository=REPO, by=rita, idempotency_key="rp-1")
    assert again.pk == action.pk
    assert github.calls == [
        ("GET", f"/repos/{REPO}", None),
        (
            "POST",
            f"/repos/{REPO}/actions/workflows/release-please.yaml/dispatches",
            {"ref": "main", "inputs": {}},
        ),
    ]
    assert (action.kind, action.status, action.target) == (
        "dispatch_workflow",
        "succeeded",
        f"{REPO}:release-please.yaml",
    )
    assert action.parameters == {
        "repository": REPO,
        "workflow": "release-please.yaml",
        "inputs": {},
        "ref": "main",
    }


def test_release_please_without_a_workflow_dispatch_trigger(rita, cto, github):
    github.has_the_repository()
    github.refuses(
        "actions/workflows/release-please.yaml/dispatches",
        422,
        "Workflow does not have 'workflow_dispatch' trigger",
    )
    action = release_actions.rerun_release_please(repository=REPO, by=rita)
    assert action.status == "failed"
    assert action.message == (
        f"release-please.yaml in {REPO} has no workflow_dispatch trigger, so GitHub cannot run it on request: "
        "add `workflow_dispatch:` under `on:` in .github/workflows/release-please.yaml"
    )


def test_a_missing_workflow(rita, cto, github):
    github.has_the_repository()
    github.refuses("actions/workflows/release-please.yaml/dispatches", 404, "Not Found")
    action = release_actions.rerun_release_please(repository=REPO, by=rita)
    assert action.message.startswith(f"no workflow release-please.yaml in {REPO} (404)")


# --- the management command ---------------------------------------------------------------


def test_the_command_tags_after_confirmation(rita, cto, github, monkeypatch, capsys):
    github.has_the_repository().creates_tags().runs("binaries-release.yaml")
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    call_command(
        "create-tag",
        "--repository",
        REPO,
        "--version",
        "0.3.0",
        "--dispatch-build",
        "--user",
        "rita",
    )
    assert asked == [
        (
            f"Create annotated tag v0.3.0 on 7fd1a60 in {REPO}, then run binaries-release.yaml with "
            "version=0.3.0 (on main)? [y/N] "
        )
    ]
    out = capsys.readouterr().out
    assert f"Create tag: succeeded: created annotated tag v0.3.0 on 7fd1a60 in {REPO}" in out
    assert "Dispatch workflow: succeeded" in out
    # What was confirmed is what was tagged: the head read for the question, not a second read.
    assert Action.objects.get(kind="create_tag").parameters["sha"] == HEAD


def test_the_command_does_nothing_when_not_confirmed(rita, cto, github, monkeypatch):
    github.has_the_repository()
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="nothing done"):
        call_command("create-tag", "--repository", REPO, "--version", "0.3.0", "--user", "rita")
    assert Action.objects.count() == 0
    assert [m for m, _, _ in github.calls] == ["GET", "GET"]


def test_the_command_with_yes_and_a_refusal(rita, bob, cto, github):
    github.creates_tags()
    call_command(
        "create-tag",
        "--repository",
        REPO,
        "--version",
        "0.3.0",
        "--sha",
        HEAD,
        "--user",
        "rita",
        "--yes",
    )
    assert Action.objects.get().status == "succeeded"
    with pytest.raises(CommandError, match="not greater") as refused:
        call_command(
            "create-tag",
            "--repository",
            REPO,
            "--version",
            "0.3.0",
            "--sha",
            HEAD,
            "--user",
            "rita",
            "--yes",
        )
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="releaser role"):
        call_command(
            "create-tag", "--repository", REPO, "--version", "0.4.0", "--user", "bob", "--yes"
        )


SPENT = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "1796119200",
}


def test_a_spent_rate_limit_while_tagging_reads_as_a_rate_limit(rita, cto, github):
    # GitHub answers a spent budget with 403, like a missing permission; its headers tell them apart.
    github.server.expect_request(f"{github.repo}/git/tags", method="POST").respond_with_json(
        {
            "message": "API rate limit exceeded for installation ID 1.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        status=403,
        headers=SPENT,
    )
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    assert action.status == "failed"
    assert action.message == (
        f"creating tag v0.3.0 in {REPO}: GitHub's rate limit answered 403 (API rate limit "
        "exceeded for installation ID 1.); the budget resets at 2026-12-01 10:00:00Z"
    )


def test_a_secondary_rate_limit_while_tagging_says_when_to_retry(rita, cto, github):
    github.server.expect_request(f"{github.repo}/git/tags", method="POST").respond_with_json(
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        },
        status=403,
        headers={"Retry-After": "60"},
    )
    action = release_actions.create_tag(repository=REPO, version="0.3.0", sha=HEAD, by=rita)
    assert action.status == "failed"
    assert action.message == (
        f"creating tag v0.3.0 in {REPO}: GitHub's rate limit answered 403 (You have exceeded "
        "a secondary rate limit. Please wait a few minutes before you try again.); "
        "retry after 60 s"
    )
