"""The GitHub read side (cdportal.adapters.github.repo) against a GitHub API stand-in on 127.0.0.1
serving GitHub's documented examples; PyGithub talks to it through `base_url`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from github_stub import example, stand_in

from cdportal.adapters.github.client import client
from cdportal.adapters.github.errors import GitHubError, RateLimited
from cdportal.adapters.github.repo import GitHubRepo, is_release_pull_request

REPO = "5dlabs/cto"
TOKEN = "ghs_installation-token-for-tests"


@pytest.fixture
def github_api():
    with stand_in() as stub:
        yield stub


@pytest.fixture
def github_enterprise():
    with stand_in(prefix="/api/v3") as stub:
        yield stub


@pytest.fixture
def cto(github_api):
    return GitHubRepo(REPO, gh=client(base_url=github_api.url, token=TOKEN, pause=False))


def pr(
    number: int,
    *,
    labels=(),
    branch="feature",
    title="feat: something",
    updated="2026-11-28T10:00:00Z",
    merged=None,
    state="open",
) -> dict:
    body = example("pulls")[0]
    return {
        **body,
        "number": number,
        "title": title,
        "state": state,
        "updated_at": updated,
        "merged_at": merged,
        "labels": [{"name": name} for name in labels],
        "head": {**body["head"], "ref": branch},
    }


def test_it_lists_releases_as_github_sent_them_in_one_request(github_api, cto):
    github_api.serve(f"/repos/{REPO}/releases", github_api.example("releases"))

    releases = cto.releases()

    assert releases == github_api.example("releases")
    assert releases[0]["tag_name"] == "v1.0.0"
    # One request: list items are not "completed" one by one (PyGithub's GitRelease would be).
    assert github_api.asked() == [f"GET /repos/{REPO}/releases?per_page=100"]
    [request] = github_api.requests
    assert request.headers["Authorization"] == f"token {TOKEN}"
    assert request.headers["User-Agent"] == "cdportal"


def test_it_lists_tags_with_their_commits(github_api, cto):
    github_api.serve(f"/repos/{REPO}/tags", github_api.example("tags"))

    [tag] = cto.tags(limit=10)

    assert (tag["name"], tag["commit"]["sha"]) == (
        "v0.1",
        "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc",
    )
    assert github_api.asked() == [f"GET /repos/{REPO}/tags?per_page=10"]


def test_it_finds_release_please_prs_by_label_or_branch(github_api, cto):
    github_api.serve(
        f"/repos/{REPO}/pulls",
        [
            pr(7, labels=["autorelease: pending"], title="chore(main): release 0.3.0"),
            pr(6, labels=["bug"]),
            pr(
                5,
                branch="release-please--branches--main--components--controller",
                title="chore: release controller 1.2.0",
            ),
            pr(4, labels=["autorelease: tagged"], state="closed", merged="2026-11-27T09:00:00Z"),
        ],
    )

    found = cto.release_pull_requests("all")
    titled = cto.release_pull_requests(
        "all", title_pattern="chore${scope}: release${component} ${version}"
    )

    assert [p["number"] for p in found] == [7, 5, 4]
    assert [p["number"] for p in titled] == [7, 5]  # #4's title is no Release PR title
    assert (
        github_api.asked()
        == [f"GET /repos/{REPO}/pulls?direction=desc&per_page=100&sort=updated&state=all"] * 2
    )
    # GitHub's example PR: label "bug", branch new-topic.
    assert not is_release_pull_request(example("pulls")[0])


def test_it_lists_prs_merged_since_and_their_commits(github_api, cto):
    github_api.serve(
        f"/repos/{REPO}/pulls",
        [
            pr(9, state="closed", updated="2026-11-28T12:00:00Z", merged="2026-11-28T11:59:00Z"),
            pr(8, state="closed", updated="2026-11-28T11:00:00Z", merged=None),  # closed unmerged
            # merged before `since`, updated after it
            pr(7, state="closed", updated="2026-11-28T10:30:00Z", merged="2026-11-27T08:00:00Z"),
            pr(6, state="closed", updated="2026-11-27T10:00:00Z", merged="2026-11-27T09:00:00Z"),
        ],
    )
    github_api.serve(f"/repos/{REPO}/pulls/9/commits", github_api.example("pull-commits"))

    merged = cto.merged_pull_requests(datetime(2026, 11, 28, tzinfo=UTC))
    commits = cto.pull_request_commits(9)

    assert [p["number"] for p in merged] == [9]
    assert [c["sha"] for c in commits] == ["6dcb09b5b57875f334f61aebed695e2e4193db5e"]
    assert github_api.asked() == [
        f"GET /repos/{REPO}/pulls?direction=desc&per_page=100&sort=updated&state=closed",
        f"GET /repos/{REPO}/pulls/9/commits?per_page=100",
    ]


def test_it_lists_workflow_runs_and_their_jobs_with_steps(github_api, cto):
    github_api.serve(
        f"/repos/{REPO}/actions/workflows/binaries-release.yaml/runs",
        github_api.example("workflow-runs"),
    )
    github_api.serve(f"/repos/{REPO}/actions/runs/30433642/jobs", github_api.example("jobs"))

    [run] = cto.workflow_runs("binaries-release.yaml", branch="main")
    [job] = cto.jobs(run["id"])

    assert (run["id"], run["status"]) == (30433642, "queued")
    assert run["head_sha"] == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert run["html_url"] == "https://github.com/octo-org/octo-repo/actions/runs/30433642"
    assert (job["name"], job["conclusion"]) == ("build", "success")
    assert [s["name"] for s in job["steps"]][:2] == ["Set up job", "Run actions/checkout@v2"]
    assert github_api.asked() == [
        f"GET /repos/{REPO}/actions/workflows/binaries-release.yaml/runs?branch=main&per_page=30",
        f"GET /repos/{REPO}/actions/runs/30433642/jobs?filter=latest&per_page=100",
    ]


def test_it_reads_the_default_branch_and_its_head(github_api, cto):
    github_api.serve(f"/repos/{REPO}", github_api.example("repo"))
    github_api.serve(f"/repos/{REPO}/branches/main", github_api.example("branch"))

    assert cto.default_branch() == "master"  # GitHub's example repository
    assert cto.head("main") == "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"
    assert github_api.asked() == [f"GET /repos/{REPO}", f"GET /repos/{REPO}/branches/main"]


def test_it_talks_to_github_enterprise_below_api_v3(github_enterprise):
    github_enterprise.serve(f"/repos/{REPO}/releases", github_enterprise.example("releases"))
    repo = GitHubRepo(REPO, gh=client(base_url=github_enterprise.url, token=TOKEN, pause=False))

    repo.releases()
    repo.get_conditional(f"/repos/{REPO}/releases")

    assert [r.path for r in github_enterprise.requests] == [f"/api/v3/repos/{REPO}/releases"] * 2


def test_it_uses_the_configured_api_url_and_token(github_api, settings):
    settings.GITHUB_API_URL = github_api.url
    settings.GITHUB_TOKEN = TOKEN
    github_api.serve(f"/repos/{REPO}/tags", [])

    GitHubRepo(REPO, gh=client(pause=False)).tags()

    assert github_api.requests[0].headers["Authorization"] == f"token {TOKEN}"


# --- conditional requests --------------------------------------------------------------------


def test_a_conditional_get_is_answered_304_while_nothing_changed(github_api, cto):
    path = f"/repos/{REPO}/releases"
    github_api.serve(path, github_api.example("releases"))

    first = cto.get_conditional(path, params={"per_page": 30})
    second = cto.get_conditional(path, params={"per_page": 30}, etag=first.etag)

    assert (first.status, first.data[0]["id"]) == (200, 1)
    assert first.etag.startswith('W/"')
    assert (second.status, second.data) == (304, None)
    # 304s are free
    assert second.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert "If-None-Match" not in github_api.requests[0].headers
    assert github_api.requests[1].headers["If-None-Match"] == first.etag
    assert github_api.requests[1].headers["Authorization"] == f"token {TOKEN}"
    assert github_api.asked() == [f"GET {path}?per_page=30"] * 2


def test_a_changed_resource_is_answered_200_with_a_new_etag(github_api, cto):
    path = f"/repos/{REPO}/tags"
    github_api.serve(path, [])
    first = cto.get_conditional(path)
    github_api.serve(path, github_api.example("tags"))

    second = cto.get_conditional(
        path, etag=first.etag, last_modified="Sat, 28 Nov 2026 10:00:00 GMT"
    )

    assert second.status == 200 and second.etag != first.etag
    assert second.data[0]["name"] == "v0.1"
    assert github_api.requests[1].headers["If-Modified-Since"] == "Sat, 28 Nov 2026 10:00:00 GMT"


# --- errors ----------------------------------------------------------------------------------


def test_a_missing_repository_is_a_permanent_error_without_the_token(github_api, cto):
    with pytest.raises(GitHubError) as caught:
        cto.releases()
    assert caught.value.status == 404 and caught.value.permanent
    assert "not found on GitHub (404)" in str(caught.value)
    assert TOKEN not in str(caught.value)

    with pytest.raises(GitHubError) as caught:
        cto.get_conditional(f"/repos/{REPO}/releases")
    assert caught.value.status == 404 and caught.value.permanent


def test_a_secondary_limit_says_when_to_come_back(github_api, cto):
    github_api.limit_next(429, retry_after=90)

    with pytest.raises(RateLimited) as caught:
        cto.get_conditional(f"/repos/{REPO}/releases")

    assert (caught.value.status, caught.value.retry_after, caught.value.permanent) == (
        429,
        90,
        False,
    )
    assert "retry after 90 s" in str(caught.value)


def test_a_secondary_limit_answered_403_is_not_mistaken_for_a_refusal(github_api, cto):
    github_api.limit_next(403)

    with pytest.raises(RateLimited) as caught:
        cto.tags()

    assert (caught.value.status, caught.value.retry_after, caught.value.permanent) == (
        403,
        None,
        False,
    )


def test_a_spent_budget_says_when_it_resets(github_api, cto):
    github_api.limit_next(403, spent=True)

    with pytest.raises(RateLimited) as caught:
        cto.get_conditional(f"/repos/{REPO}/tags")

    assert caught.value.remaining == 0
    assert caught.value.reset == datetime.fromtimestamp(github_api.reset, UTC)


def test_an_unreachable_github_is_a_transient_error():
    repo = GitHubRepo(
        REPO, gh=client(base_url="http://127.0.0.1:9", token=TOKEN, pause=False, timeout=2)
    )

    with pytest.raises(GitHubError) as caught:
        repo.get_conditional(f"/repos/{REPO}/releases")

    assert not caught.value.permanent
    assert "could not reach GitHub" in str(caught.value) and TOKEN not in str(caught.value)


def test_the_token_never_reaches_the_logs(github_api, cto, caplog):
    github_api.serve(f"/repos/{REPO}/releases", [])
    with caplog.at_level(logging.DEBUG):
        cto.releases()
        cto.get_conditional(f"/repos/{REPO}/releases")
        with pytest.raises(GitHubError):
            cto.tags()

    assert caplog.records  # PyGithub logs each request at DEBUG, the token masked
    assert TOKEN not in caplog.text
