"""The GitHub poller against a GitHub API stand-in on 127.0.0.1 serving GitHub's documented
examples: what it asks (paths, query strings, conditional and auth headers), what it records,
and how it waits when GitHub says so."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone as dj_timezone
from github_stub import example, stand_in

from cdportal.adapters.github import events as github_events
from cdportal.adapters.github.client import client
from cdportal.adapters.github.poller import next_due, poll, poll_all
from cdportal.adapters.github.repo import GitHubRepo
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import BuildRun, PipelineEvent, PollState, Release
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

ROOT = Path(__file__).resolve().parents[3]
REPO = "5dlabs/cto"
TOKEN = "ghs_installation-token-for-tests"
RUN_ID = 30433642
RELEASES = f"/repos/{REPO}/releases"
RUNS = f"/repos/{REPO}/actions/workflows/binaries-release.yaml/runs"
JOBS = f"/repos/{REPO}/actions/runs/{RUN_ID}/jobs"

pytestmark = pytest.mark.django_db


@pytest.fixture
def github(settings):
    """GitHub as cdportal is configured to reach it, holding 5dlabs/cto."""
    with stand_in() as stub:
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_TOKEN = TOKEN
        settings.GITHUB_REPOSITORIES = [REPO]
        settings.GITHUB_BUILD_WORKFLOW = "binaries-release.yaml"
        stub.repository(
            REPO, pulls=[release_pr(), *example("pulls")], runs=runs(status="completed")
        )
        yield stub


@pytest.fixture
def now():
    return dj_timezone.now()


def release_pr(*, version: str = "1.1.0") -> dict:
    pr = example("pulls")[0]
    return {
        **pr,
        "number": 12,
        "title": f"chore(main): release {version}",
        "merged_at": None,
        "closed_at": None,
        "state": "open",
        "labels": [{"name": "autorelease: pending"}],
        "head": {**pr["head"], "ref": "release-please--branches--main"},
    }


def runs(*, status: str, conclusion: str | None = None) -> dict:
    body = example("workflow-runs")
    run = body["workflow_runs"][0]
    run.update(
        name="binaries-release",
        path=".github/workflows/binaries-release.yaml@main",
        status=status,
        conclusion=conclusion if status == "completed" else None,
        head_branch="v1.0.0",
        updated_at="2026-11-28T10:05:00Z",
    )
    return body


def jobs(*, status: str = "in_progress", steps_done: int = 1) -> dict:
    body = example("jobs")
    job = body["jobs"][0]
    job.update(
        run_id=RUN_ID, status=status, conclusion="success" if status == "completed" else None
    )
    for step in job["steps"][steps_done:]:
        step.update(status="queued", conclusion=None, completed_at=None)
    return body


def new_release() -> dict:
    release = {
        **example("releases")[0],
        "id": 2,
        "tag_name": "v1.1.0",
        "name": "v1.1.0",
        "body": "## 1.1.0\n\n* add task retry logic",
        "published_at": "2026-11-28T10:30:00Z",
    }
    return release


def steps() -> list[str]:
    """The statuses of the first steps of the build's job, as recorded."""
    return [step["status"] for step in BuildRun.objects.get().jobs[0]["steps"]][:3]


def conditional(request) -> str | None:
    return request.headers.get("If-None-Match")


# --- what it asks and records ----------------------------------------------------------------


def test_the_first_poll_reads_every_list_once_and_records_what_it_shows(github, now):
    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert github.asked() == [
        f"GET /repos/{REPO}/releases?per_page=30",
        f"GET /repos/{REPO}/pulls?direction=desc&per_page=30&sort=updated&state=all",
        f"GET /repos/{REPO}/tags?per_page=100",
        f"GET /repos/{REPO}/commits?per_page=30",
        f"GET {RUNS}?per_page=20",
    ]
    assert all(r.headers["Authorization"] == f"token {TOKEN}" for r in github.requests)
    assert not any(conditional(r) for r in github.requests)
    # v1.0.0 published, the Release PR for 1.1.0, the commit on the default branch, the build
    # run (GitHub's tag v0.1 and its "bug" PR are nothing the pipeline tracks).
    assert sorted(PipelineEvent.objects.values_list("source_id", flat=True)) == [
        f"{REPO}/pull/12/open/1.1.0",
        f"{REPO}/release/1",
        f"{REPO}/run/{RUN_ID}/1/completed/None",
        f"{REPO}@6dcb09b5b57875f334f61aebed695e2e4193db5e",
    ]
    assert (report.requests, report.not_modified, report.events, report.status) == (5, 0, 4, "ok")


def test_an_idle_second_poll_is_answered_by_304s_only(github, now):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    etags = [response.headers["ETag"] for _, response in github.server.log]
    recorded = PipelineEvent.objects.count()
    github.forget()

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))

    assert [conditional(r) for r in github.requests] == etags
    assert github.statuses == [304, 304, 304, 304, 304]
    assert (report.requests, report.not_modified, report.events, report.status) == (
        5,
        5,
        0,
        "not_modified",
    )
    assert PipelineEvent.objects.count() == recorded
    state = PollState.objects.get(source="github", key=REPO)
    assert (state.requests, state.not_modified) == (10, 5)
    assert str(report).startswith(
        f"{REPO}: 5 requests, 5 not modified (304), 0 events recorded; budget 4995/5000 left"
    )


def test_a_new_release_is_one_event_and_the_same_release_by_webhook_is_a_duplicate(github, now):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    github.serve(RELEASES, [new_release(), *example("releases", api=github.url)])
    github.forget()

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))

    assert github.statuses == [200, 304, 304, 304, 304]
    assert (report.events, report.duplicates) == (1, 0)
    event = PipelineEvent.objects.get(source_id=f"{REPO}/release/2")
    assert (event.kind, event.payload["version"], event.payload["tag"]) == (
        "release",
        "1.1.0",
        "v1.1.0",
    )
    webhook = {"action": "published", "release": new_release(), "repository": example("repo")}
    [again] = github_events.from_release(REPO, webhook["release"])
    assert ingest(again).created is False
    assert PipelineEvent.objects.filter(kind="release").count() == 2


def test_a_release_the_webhook_recorded_first_is_not_recorded_again_by_the_poller(github, now):
    [first] = github_events.from_release(REPO, example("releases")[0])
    assert ingest(first).created

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert (report.events, report.duplicates) == (3, 1)
    assert PipelineEvent.objects.filter(source_id=f"{REPO}/release/1").count() == 1


def test_it_follows_the_jobs_of_a_run_under_way_until_it_completes(github, now):
    github.serve(RUNS, runs(status="in_progress"))
    github.serve(JOBS, jobs(steps_done=1))

    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    assert github.asked()[-1] == f"GET {JOBS}?filter=latest&per_page=100"
    assert steps() == ["completed", "queued", "queued"]

    github.serve(JOBS, jobs(steps_done=3))
    github.forget()
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))
    # The runs list did not change (304), the jobs did.
    assert github.statuses == [304, 304, 304, 304, 304, 200]
    assert steps() == ["completed", "completed", "completed"]

    github.serve(RUNS, runs(status="completed", conclusion="success"))
    github.serve(JOBS, jobs(status="completed", steps_done=99))
    github.forget()
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=2))
    assert github.statuses == [304, 304, 304, 304, 200, 200]  # one last look at the jobs
    run = BuildRun.objects.get()
    assert (run.status, run.conclusion, run.jobs[0]["conclusion"]) == (
        "completed",
        "success",
        "success",
    )

    github.forget()
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=3))
    assert github.asked()[-1] == f"GET {RUNS}?per_page=20"  # the run is done: no more jobs requests
    assert not PollState.objects.filter(key=f"{REPO}:jobs:{RUN_ID}").exists()


def test_a_restarted_poller_resumes_from_the_database_with_conditional_requests(github, now):
    github.serve(RUNS, runs(status="in_progress"))
    github.serve(JOBS, jobs())
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    github.forget()

    # A new process: a new client and poller objects; only the database remembers.
    api = GitHubRepo(REPO, gh=client(base_url=github.url, token=TOKEN, pause=False))
    report = poll(
        REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1), api=api
    )

    assert all(conditional(r) for r in github.requests)
    assert github.asked()[-1] == f"GET {JOBS}?filter=latest&per_page=100"  # still following the run
    assert github.statuses == [304] * 6
    assert (report.requests, report.not_modified, report.events) == (6, 6, 0)


# --- budget and back-off ---------------------------------------------------------------------


def test_it_stores_the_rate_limit_github_reports(github, now):
    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    state = PollState.objects.get(source="github", key=REPO)
    reset = datetime.fromtimestamp(github.reset, UTC)
    assert (state.rate_limit, state.rate_remaining, state.rate_reset) == (5000, 4995, reset)
    assert (state.polled_at, state.changed_at, state.status, state.next_poll_at) == (
        now,
        now,
        "ok",
        None,
    )
    assert report.budget == (5000, 4995, reset)
    releases = PollState.objects.get(source="github", key=f"{REPO}:releases")
    assert releases.etag == github.server.log[0][1].headers["ETag"]
    assert list(releases.cursor["seen"]) == ["1"]


def test_a_secondary_limit_with_retry_after_defers_the_repository(github, now):
    github.limit_next(429, retry_after=120)

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert (report.status, report.requests) == ("rate_limited", 1)
    assert report.next_poll_at == now + timedelta(seconds=120)
    assert "retry after 120 s" in report.detail
    state = PollState.objects.get(source="github", key=REPO)
    assert (state.status, state.next_poll_at) == ("rate_limited", now + timedelta(seconds=120))

    github.forget()
    skipped = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(seconds=60))
    assert skipped.status == "skipped" and github.requests == []
    assert str(skipped).startswith(f"{REPO}: skipped until ")

    again = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(seconds=121))
    assert again.status == "ok" and len(github.requests) == 5


def test_secondary_limits_in_a_row_back_off_exponentially(github, now):
    waits = []
    moment = now
    for _ in range(3):
        github.limit_next(403)  # no Retry-After: a minute, then doubling
        report = poll(REPO, sink=LocalSink(), store=PollStates(), now=moment)
        waits.append((report.next_poll_at - moment).total_seconds())
        moment = report.next_poll_at

    assert waits == [60, 120, 240]
    assert poll(REPO, sink=LocalSink(), store=PollStates(), now=moment).status == "ok"
    assert PollState.objects.get(source="github", key=REPO).cursor["strikes"] == 0


def test_a_spent_budget_waits_for_the_reset(github, now):
    github.limit_next(403, spent=True)

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    reset = datetime.fromtimestamp(github.reset, UTC)
    assert report.status == "rate_limited"
    assert report.next_poll_at == now + timedelta(seconds=(reset - now).total_seconds() + 1)
    assert PollState.objects.get(source="github", key=REPO).rate_remaining == 0


def test_it_stops_short_of_a_spent_budget(github, now):
    github.remaining = 60  # the reserve is 100 of 5000

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    reset = datetime.fromtimestamp(github.reset, UTC)
    assert (report.requests, report.status, report.next_poll_at) == (1, "rate_limited", reset)
    assert "59 of 5000 requests left" in report.detail


def test_one_rate_limited_repository_defers_the_others(github, now):
    github.repository("5dlabs/other")
    github.limit_next(429, retry_after=30)

    reports = poll_all(
        now, sink=LocalSink(), store=PollStates(), repositories=[REPO, "5dlabs/other"]
    )

    assert [r.status for r in reports] == ["rate_limited", "skipped"]
    assert len(github.requests) == 1
    other = PollState.objects.get(source="github", key="5dlabs/other")
    assert other.next_poll_at == now + timedelta(seconds=30)
    assert next_due(
        [REPO, "5dlabs/other"], store=PollStates(), now=now, interval=10
    ) == now + timedelta(seconds=30)
    assert next_due(
        [REPO, "5dlabs/other"], store=PollStates(), now=now, interval=60
    ) == now + timedelta(seconds=60)


def test_a_missing_workflow_is_reported_and_the_rest_still_polled(github, now):
    github.resources.pop(RUNS)

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert report.status == "error" and "not found on GitHub (404)" in report.detail
    assert report.requests == 5 and report.events == 3
    assert TOKEN not in report.detail
    runs_state = PollState.objects.get(source="github", key=f"{REPO}:runs:binaries-release.yaml")
    assert runs_state.status == "error"


def test_a_refused_token_is_reported_without_the_token(github, now):
    github.fail_next(401, "Bad credentials")

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert report.status == "error" and "refused the token (401)" in report.detail
    assert TOKEN not in report.detail
    assert all(TOKEN not in s.detail for s in PollState.objects.all())


# --- the command -----------------------------------------------------------------------------


def test_the_command_prints_one_line_per_repository(github):
    out = StringIO()
    call_command("poll-github", "--once", stdout=out)
    call_command("poll-github", "--repository", REPO, stdout=out)

    first, second = out.getvalue().splitlines()
    assert first.startswith(f"{REPO}: 5 requests, 0 not modified (304), 4 events recorded; ")
    assert second.startswith(f"{REPO}: 5 requests, 5 not modified (304), 0 events recorded; ")
    assert "budget 4995/5000 left, resets " in second


def test_the_command_refuses_a_malformed_repository(github):
    with pytest.raises(CommandError) as caught:
        call_command("poll-github", "--repository", "not-a-repo", stdout=StringIO())
    assert caught.value.returncode == 2


def test_the_command_refuses_once_and_watch_together():
    result = subprocess.run(
        [sys.executable, "manage.py", "poll-github", "--once", "--watch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def test_the_command_needs_a_repository(github, settings):
    settings.GITHUB_REPOSITORIES = []
    with pytest.raises(CommandError) as caught:
        call_command("poll-github", stdout=StringIO())
    assert caught.value.returncode == 2


# --- commits (stage 1 when a push webhook was missed) --------------------------------------------


def rest_commit(sha: str, message: str, when: str) -> dict:
    return {
        "sha": sha,
        "html_url": f"https://github.com/{REPO}/commit/{sha}",
        "commit": {
            "message": message,
            "author": {"name": "Ana", "date": when},
            "committer": {"name": "GitHub", "date": when},
        },
    }


def test_commits_above_the_latest_release_tag_are_recorded_and_the_released_ones_are_not(
    github, now
):
    released, older = "a" * 40, "b" * 40
    github.serve(f"/repos/{REPO}/tags", [{"name": "v1.0.0", "commit": {"sha": released}}])
    github.serve(
        f"/repos/{REPO}/commits",
        [
            rest_commit("c" * 40, "feat: search", "2026-11-28T10:05:00Z"),
            rest_commit(released, "chore(main): release 1.0.0", "2026-11-28T10:00:00Z"),
            rest_commit(older, "fix: shipped in 1.0.0", "2026-11-28T09:00:00Z"),
        ],
    )
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    assert list(
        PipelineEvent.objects.filter(kind="commit").values_list("source_id", flat=True)
    ) == [f"{REPO}@{'c' * 40}"]

    # a new commit lands; the tags list answers 304, the release commit is still remembered
    github.serve(
        f"/repos/{REPO}/commits",
        [
            rest_commit("d" * 40, "fix: typo", "2026-11-28T10:10:00Z"),
            rest_commit("c" * 40, "feat: search", "2026-11-28T10:05:00Z"),
            rest_commit(released, "chore(main): release 1.0.0", "2026-11-28T10:00:00Z"),
            rest_commit(older, "fix: shipped in 1.0.0", "2026-11-28T09:00:00Z"),
        ],
    )
    github.forget()
    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))
    assert report.events == 1
    assert sorted(
        PipelineEvent.objects.filter(kind="commit").values_list("source_id", flat=True)
    ) == [f"{REPO}@{'c' * 40}", f"{REPO}@{'d' * 40}"]


# --- the first poll of a repository with a history ---------------------------------------------

OLD_TAG_SHA = "8" * 40


def history_release(patch: int) -> dict:
    """v0.2.<patch>, published <patch> hours after 2026-10-01T00:00Z, with its changelog."""
    return {
        **example("releases")[0],
        "id": 1000 + patch,
        "tag_name": f"v0.2.{patch}",
        "name": f"v0.2.{patch}",
        "target_commitish": "main",
        "body": f"## [0.2.{patch}](https://github.com/{REPO}/compare/v0.2.{patch - 1}...v0.2.{patch})",
        "created_at": f"2026-10-{1 + patch // 24:02d}T{patch % 24:02d}:00:00Z",
        "published_at": f"2026-10-{1 + patch // 24:02d}T{patch % 24:02d}:00:30Z",
    }


def history_tag(name: str, sha: str) -> dict:
    return {**example("tags")[0], "name": name, "commit": {"sha": sha, "url": ""}}


@pytest.fixture
def cto_history(github):
    """5dlabs/cto with 42 releases (v0.2.9 … v0.2.50, newest first: two pages of 30), an older
    tag v0.2.8 that never got a release, and the open Release PR #4475 for 0.2.51. GitHub lists
    tags by name, so v0.2.9 comes first."""
    releases = [history_release(patch) for patch in range(50, 8, -1)]
    tags = [history_tag(r["tag_name"], f"{r['id']:040x}") for r in releases]
    tags.append(history_tag("v0.2.8", OLD_TAG_SHA))
    github.serve(RELEASES, releases)
    github.serve(f"/repos/{REPO}/tags", sorted(tags, key=lambda t: t["name"], reverse=True))
    github.serve(
        f"/repos/{REPO}/git/commits/{OLD_TAG_SHA}",
        {
            "sha": OLD_TAG_SHA,
            "message": "chore(main): release 0.2.8",
            "author": {"name": "Ana", "email": "ana@example.com", "date": "2026-09-30T08:00:00Z"},
            "committer": {
                "name": "GitHub",
                "email": "noreply@github.com",
                "date": "2026-09-30T09:00:00Z",
            },
        },
    )
    pr = release_pr(version="0.2.51")
    github.serve(f"/repos/{REPO}/pulls", [{**pr, "number": 4475}])
    return releases


def test_the_first_poll_reads_every_page_of_releases_with_their_dates_and_changelogs(
    github, cto_history, now
):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    assert github.asked()[:2] == [
        f"GET {RELEASES}?per_page=30",
        f"GET {RELEASES}?page=2&per_page=30",
    ]
    shipped = {r.version: r for r in Release.objects.filter(released_at__isnull=False)}
    assert len(shipped) == 43  # 42 releases and the bare tag v0.2.8
    for listed in cto_history:
        release = shipped[listed["tag_name"][1:]]
        assert release.released_at == datetime.fromisoformat(listed["published_at"])
        assert release.changelog == listed["body"]
        assert release.sha == f"{listed['id']:040x}"  # the tag's commit
        assert release.pr_number is None
    bare = shipped["0.2.8"]
    assert (bare.released_at, bare.sha) == (datetime(2026, 9, 30, 9, tzinfo=UTC), OLD_TAG_SHA)
    assert not Release.objects.filter(released_at__date=now.date()).exists()


def test_an_older_tag_never_takes_over_the_open_release_prs_release(github, cto_history, now):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)

    proposed = Release.objects.get(pr_number=4475)
    assert (proposed.version, proposed.released_at, proposed.state) == ("0.2.51", None, "pr_open")
    assert Release.objects.get(version="0.2.9").pr_number is None
    assert Release.objects.count() == 44


def test_an_idle_poll_of_a_paginated_list_asks_each_page_conditionally(github, cto_history, now):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    github.forget()

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))

    assert github.asked()[:2] == [
        f"GET {RELEASES}?per_page=30",
        f"GET {RELEASES}?page=2&per_page=30",
    ]
    assert all(conditional(r) for r in github.requests)
    assert set(github.statuses) == {304}
    assert (report.requests, report.not_modified, report.events) == (6, 6, 0)


def test_a_release_published_later_is_read_and_moves_older_ones_to_page_two(
    github, cto_history, now
):
    poll(REPO, sink=LocalSink(), store=PollStates(), now=now)
    github.serve(RELEASES, [history_release(51), *cto_history])
    github.forget()

    report = poll(REPO, sink=LocalSink(), store=PollStates(), now=now + timedelta(minutes=1))

    assert github.statuses[:2] == [200, 200]  # both pages moved
    assert (report.events, report.duplicates) == (1, 0)  # v0.2.21 moved pages; it is not new
    release = Release.objects.get(version="0.2.51")
    assert (release.pr_number, release.released_at) == (
        4475,
        datetime(2026, 10, 3, 3, 0, 30, tzinfo=UTC),
    )
