"""GitHub objects → pipeline events, checked on GitHub's own webhook examples.

The payloads are tests/fixtures/github/webhooks: examples/ are @octokit/webhooks-examples 7.6.1
verbatim, handmade/ are made from them where GitHub publishes none (Release Please PRs, a semver
tag, container packages) and validated here against @octokit/webhooks-schemas 7.6.1.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from cdportal.adapters.github.events import (
    from_container_package,
    from_pull_request,
    from_push,
    from_release,
    from_tag,
    from_webhook,
    from_workflow_job,
    from_workflow_run,
)
from cdportal.core.events import parse_event

FIXTURES = Path(__file__).parents[2] / "fixtures" / "github"
WEBHOOKS = FIXTURES / "webhooks"
PAYLOADS = sorted(str(p.relative_to(WEBHOOKS)) for p in WEBHOOKS.rglob("*.json"))
# The examples' workflows, named as a deployment would: by file or by name.
BUILDS = {"test.yml", "syntax.yml", "CodeQL", "Test", "Env Test"}

HELLO = "Codertocat/Hello-World"
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
DIGEST = "sha256:" + "6f1d8e0a" * 8

# Every payload that reports something, and the ids of what it reports.
EXPECTED = {
    "examples/push/04-push.json": [f"{HELLO}@{SHA}"],
    "examples/push/05-push.json": [f"{HELLO}@{SHA}"],
    **{
        f"examples/release/{name}.json": [f"{HELLO}/release/17372790"]
        for name in (
            "00-published",
            "01-created",
            "02-created",
            "03-created",
            "06-edited",
            "07-edited",
            "08-prereleased",
            "09-prereleased",
            "10-published",
            "11-published",
            "12-released",
        )
    },
    "examples/workflow_run/00-completed.json": [f"{HELLO}/run/1589141559/1/queued/None"],
    "examples/workflow_run/01-completed.json": [
        "octo-org/octo-repo/run/289782451/1/completed/success"
    ],
    "examples/workflow_run/02-completed.json": [
        "octo-org/octo-repo/run/289782451/1/completed/success"
    ],
    "examples/workflow_run/03-requested.json": ["octo-org/octo-repo/run/289782451/1/queued/None"],
    "examples/workflow_run/04-requested.json": [
        "octo-org/octo-repo/run/289782451/1/completed/action_required"
    ],
    "examples/workflow_job/01-completed.json": [f"{HELLO}/job/289782451/1/completed/failure/12"],
    "examples/workflow_job/02-completed.json": [f"{HELLO}/job/289782451/1/completed/success/8"],
    "examples/workflow_job/03-in_progress.json": [f"{HELLO}/job/289782451/1/in_progress/None/0"],
    "examples/workflow_job/04-in_progress.json": [
        "wolfy1339/github-events-schemas/job/14541957942/1/in_progress/None/2"
    ],
    "examples/workflow_job/05-queued.json": [f"{HELLO}/job/289782451/1/queued/None/0"],
    "examples/workflow_job/06-queued.json": [
        "lineville/elastic-machines-testing/job/12877621891/1/waiting/None/0"
    ],
    "examples/workflow_job/07-waiting.json": [
        "lineville/elastic-machines-testing/job/12877621891/1/waiting/None/0"
    ],
    "handmade/pull_request/release-please-opened.json": [f"{HELLO}/pull/2/open/0.3.0"],
    "handmade/pull_request/release-please-labeled.json": [f"{HELLO}/pull/2/open/0.3.0"],
    "handmade/pull_request/release-please-synchronize.json": [f"{HELLO}/pull/2/open/0.4.0"],
    "handmade/pull_request/release-please-merged.json": [f"{HELLO}/pull/2/merged/0.4.0"],
    "handmade/pull_request/release-please-closed.json": [f"{HELLO}/pull/5/closed/1.2.4"],
    "handmade/pull_request/release-please-component.json": [f"{HELLO}/pull/3/open/1.3.0"],
    "handmade/create/tag-v0.3.0.json": [f"{HELLO}/tag/v0.3.0"],
    "handmade/push/tag-v0.3.0.json": [f"{HELLO}/tag/v0.3.0@{SHA}"],
    "handmade/registry_package/container-published.json": [
        f"ghcr.io/codertocat/hello-world:0.0.1@{DIGEST}"
    ],
    "handmade/registry_package/container-updated.json": [
        f"ghcr.io/codertocat/hello-world:latest@{DIGEST}"
    ],
    "handmade/package/container-published.json": [
        "ghcr.io/codertocat/hello-world-worker:v0.3.0@sha256:" + "9a4e3c21" * 8
    ],
}
# Every payload that reports nothing, and why.
NOTHING = {
    "examples/create/*": "the tag simple-tag names no version",
    "examples/push/0[0-3]-push.json": "the tag simple-tag, pushed or deleted",
    "examples/push/06-push.json": "the tag simple-tag deleted",
    "examples/release/0[45]-deleted.json": "a deleted release",
    "examples/pull_request/*": "ordinary pull requests, not Release Please's",
    "examples/workflow_job/00-in_progress.json": "a job that names no workflow, of a run not seen",
    "examples/package/*": "npm packages",
    "examples/ping/*": "not a pipeline fact",
    "examples/delete/*": "not handled",
    "handmade/pull_request/release-please-grouped.json": "a grouped Release PR names no version",
    "handmade/registry_package/container-untagged.json": "a platform manifest without a tag",
}


def load(relative: str) -> dict:
    return json.loads((WEBHOOKS / relative).read_text())


def event_of(relative: str) -> str:
    return Path(relative).parent.name


def events_of(relative: str, **options) -> list[dict]:
    return from_webhook(
        event_of(relative), load(relative), build_workflows=options.get("builds", BUILDS)
    )


def only(events: list[dict]) -> dict:
    assert len(events) == 1, events
    return events[0]


# --- every fixture --------------------------------------------------------------------------


def test_every_fixture_is_accounted_for():
    assert len(PAYLOADS) > 80
    for relative in PAYLOADS:
        reasons = [why for pattern, why in NOTHING.items() if fnmatch.fnmatch(relative, pattern)]
        assert (relative in EXPECTED) != bool(reasons), relative


@pytest.mark.parametrize("relative", PAYLOADS)
def test_each_payload_gives_its_events_and_they_are_valid(relative):
    events = events_of(relative)
    assert [e["source_id"] for e in events] == EXPECTED.get(relative, [])
    for data in events:
        event = parse_event(data)
        assert event.source == "github"
        assert event.occurred_at.tzinfo is not None


def test_the_fixtures_stay_small():
    size = sum(p.stat().st_size for p in FIXTURES.rglob("*.json"))
    assert size < 2_000_000


# --- the handmade payloads follow GitHub's schema -------------------------------------------


def _extract_module():
    spec = importlib.util.spec_from_file_location("extract", FIXTURES / "extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCHEMA_ROOTS = _extract_module().SCHEMA_ROOTS


def validator(definition: str) -> jsonschema.Draft7Validator:
    schema = json.loads((FIXTURES / "webhooks-schema.json").read_text())
    return jsonschema.Draft7Validator({**schema, "$ref": f"#/definitions/{definition}"})


def test_every_handmade_payload_has_a_schema():
    handmade = {p for p in PAYLOADS if p.startswith("handmade/")}
    assert handmade == {f"handmade/{path}" for path in SCHEMA_ROOTS}


@pytest.mark.parametrize("path", sorted(SCHEMA_ROOTS))
def test_handmade_payloads_match_githubs_schema(path):
    errors = list(validator(SCHEMA_ROOTS[path]).iter_errors(load(f"handmade/{path}")))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


def test_the_schema_does_reject_a_wrong_package():
    payload = load("handmade/registry_package/container-published.json")
    payload["registry_package"]["package_type"] = "oci"
    del payload["registry_package"]["package_version"]["installation_command"]
    assert len(list(validator("registry_package$published").iter_errors(payload))) >= 2


# --- releases and tags -------------------------------------------------------------------------


def test_a_published_release_is_a_release():
    event = only(events_of("examples/release/00-published.json"))
    assert event == {
        "kind": "release",
        "source": "github",
        "source_id": f"{HELLO}/release/17372790",
        "occurred_at": "2019-05-15T15:20:53Z",
        "repository": HELLO,
        "component": "",
        "version": "0.0.1",
        "tag": "0.0.1",
        "url": f"https://github.com/{HELLO}/releases/tag/0.0.1",
        "sha": "",
        "changelog": "",  # target_commitish is "master", not a sha
    }


def test_a_release_keeps_its_notes_its_sha_and_its_component():
    release = load("examples/release/00-published.json")["release"]
    release.update(tag_name="controller-v1.2.3", target_commitish=SHA, body="## 1.2.3\n\n* fix")
    event = only(from_release(HELLO, release))
    assert (event["component"], event["version"], event["sha"], event["changelog"]) == (
        "controller",
        "1.2.3",
        SHA,
        "## 1.2.3\n\n* fix",
    )


@pytest.mark.parametrize(
    "change", [{"draft": True}, {"tag_name": "nightly"}, {"tag_name": "team/v1.2.3"}]
)
def test_drafts_and_tags_without_a_version_are_no_release(change):
    release = {**load("examples/release/00-published.json")["release"], **change}
    assert from_release(HELLO, release) == []


def test_a_tag_with_a_version_is_a_release_without_notes():
    event = only(from_tag(HELLO, "v0.3.0", SHA, "2019-05-15T15:20:41Z"))
    assert (event["kind"], event["version"], event["tag"], event["sha"], event["changelog"]) == (
        "release",
        "0.3.0",
        "v0.3.0",
        SHA,
        "",
    )
    assert from_tag(HELLO, "simple-tag", SHA, "2019-05-15T15:20:41Z") == []
    assert only(from_tag(HELLO, "v0.3.0", "not-a-sha", "2019-05-15T15:20:41Z"))["sha"] == ""


def test_a_tag_created_and_then_pushed_are_two_facts():
    """`create` says the tag exists, `push` says which commit it points at: one id for both
    made the push a duplicate, and the release never learnt its commit."""
    created = only(events_of("handmade/create/tag-v0.3.0.json"))
    pushed = only(events_of("handmade/push/tag-v0.3.0.json"))
    assert created["source_id"] == f"{HELLO}/tag/v0.3.0"
    assert pushed["source_id"] == f"{HELLO}/tag/v0.3.0@{SHA}"
    assert pushed["sha"] == SHA  # the commit the push names; `create` knows no sha
    assert created["sha"] == ""
    pushed_at = load("handmade/push/tag-v0.3.0.json")["repository"]["pushed_at"]  # epoch seconds
    assert pushed["occurred_at"] == datetime.fromtimestamp(pushed_at, UTC).isoformat()


def test_a_branch_created_is_nothing():
    payload = {**load("handmade/create/tag-v0.3.0.json"), "ref_type": "branch"}
    assert from_webhook("create", payload, build_workflows=BUILDS) == []


# --- Release PRs -------------------------------------------------------------------------------


def test_release_pleases_pr_is_a_release_pr():
    event = only(events_of("handmade/pull_request/release-please-opened.json"))
    assert event["kind"] == "release_pr"
    assert (
        event["number"],
        event["state"],
        event["version"],
        event["title"],
        event["component"],
    ) == (2, "open", "0.3.0", "chore: release 0.3.0", "")
    assert event["url"] == f"https://github.com/{HELLO}/pull/2"
    assert "### Features" in event["changelog"]
    assert event["occurred_at"] == "2019-05-15T15:20:33Z"  # when the PR was opened


def test_the_same_proposal_seen_twice_is_one_fact_and_a_new_version_another():
    opened = only(events_of("handmade/pull_request/release-please-opened.json"))
    labeled = only(events_of("handmade/pull_request/release-please-labeled.json"))
    updated = only(events_of("handmade/pull_request/release-please-synchronize.json"))
    assert opened["source_id"] == labeled["source_id"]
    assert updated["source_id"] != opened["source_id"]
    assert updated["version"] == "0.4.0"


def test_a_merged_release_pr_is_merged_and_a_closed_one_closed():
    merged = only(events_of("handmade/pull_request/release-please-merged.json"))
    assert (merged["state"], merged["occurred_at"]) == ("merged", "2019-05-15T15:21:18Z")
    closed = only(events_of("handmade/pull_request/release-please-closed.json"))
    assert closed["state"] == "closed"


def test_the_rest_apis_pull_request_has_no_merged_flag_but_a_merge_time():
    pr = copy.deepcopy(load("handmade/pull_request/release-please-merged.json")["pull_request"])
    del pr["merged"]
    assert only(from_pull_request(HELLO, pr))["state"] == "merged"


@pytest.mark.parametrize(
    "title, version, component",
    [
        ("chore: release 0.3.0", "0.3.0", ""),
        ("chore(main): release 1.2.4", "1.2.4", ""),
        ("chore(main): release my-svc 1.3.0", "1.3.0", "my-svc"),
        ("chore(main): release v2.0.0-rc.1", "2.0.0-rc.1", ""),
    ],
)
def test_the_version_comes_from_the_title(title, version, component):
    pr = {
        **load("examples/pull_request/12-opened.json")["pull_request"],
        "title": title,
        "labels": [{"name": "autorelease: pending"}],
    }
    event = only(from_pull_request(HELLO, pr))
    assert (event["version"], event["component"]) == (version, component)


def test_the_component_comes_from_the_branch_first():
    event = only(events_of("handmade/pull_request/release-please-component.json"))
    assert (event["version"], event["component"]) == ("1.3.0", "my-svc")


@pytest.mark.parametrize("title", ["chore: release main", "chore: release master", ""])
def test_a_grouped_release_pr_gives_nothing_and_no_error(title):
    pr = {
        **load("handmade/pull_request/release-please-grouped.json")["pull_request"],
        "title": title,
    }
    assert from_pull_request(HELLO, pr) == []


def test_a_release_pr_is_known_by_its_label_or_its_branch():
    pr = load("examples/pull_request/12-opened.json")["pull_request"]
    pr = {**pr, "title": "chore: release 0.3.0"}
    assert from_pull_request(HELLO, pr) == []  # an ordinary PR, whatever its title
    tagged = {**pr, "labels": [{"name": "autorelease: tagged"}]}
    assert only(from_pull_request(HELLO, tagged))["version"] == "0.3.0"
    branch = {**pr, "head": {**pr["head"], "ref": "release-please--branches--main"}}
    assert only(from_pull_request(HELLO, branch))["version"] == "0.3.0"


# --- commits -----------------------------------------------------------------------------------


def test_a_push_to_the_default_branch_is_its_commits():
    event = only(events_of("examples/push/04-push.json"))
    assert event == {
        "kind": "commit",
        "source": "github",
        "source_id": f"{HELLO}@{SHA}",
        "occurred_at": "2019-05-15T15:19:25Z",
        "repository": HELLO,
        "sha": SHA,
        "message": "Initial commit",
        "author": "Codertocat",
        "url": f"https://github.com/{HELLO}/commit/{SHA}",
    }


def test_pushes_elsewhere_are_nothing():
    payload = load("examples/push/04-push.json")
    assert from_push(HELLO, {**payload, "ref": "refs/heads/feature"}) == []
    assert from_push(HELLO, {**payload, "deleted": True}) == []
    assert from_push(HELLO, load("handmade/push/tag-v0.3.0.json")) == []  # tags: see from_tag


def test_a_push_takes_rest_shaped_commits_too():
    payload = load("examples/push/04-push.json")
    rest = {
        "sha": SHA,
        "html_url": f"https://github.com/{HELLO}/commit/{SHA}",
        "commit": {
            "message": "feat: greet",
            "author": {"name": "Mona", "date": "2026-11-28T10:00:00Z"},
        },
    }
    event = only(from_push(HELLO, {**payload, "commits": [rest]}))
    assert (event["message"], event["author"], event["occurred_at"]) == (
        "feat: greet",
        "Mona",
        "2026-11-28T10:00:00Z",
    )


# --- builds ------------------------------------------------------------------------------------


def test_runs_of_other_workflows_are_nothing():
    for relative in PAYLOADS:
        if event_of(relative) == "workflow_run":
            assert events_of(relative, builds={"binaries-release.yaml"}) == []


def test_a_completed_run_is_a_build():
    event = only(events_of("examples/workflow_run/01-completed.json"))
    assert {
        k: event[k]
        for k in (
            "repository",
            "run_id",
            "workflow",
            "status",
            "conclusion",
            "head_sha",
            "version",
            "url",
            "occurred_at",
        )
    } == {
        "repository": "octo-org/octo-repo",
        "run_id": 289782451,
        "workflow": "test",
        "status": "completed",
        "conclusion": "success",
        "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "version": None,
        "url": "https://github.com/octo-org/octo-repo/actions/runs/289782451",
        "occurred_at": "2020-10-05T16:33:49Z",
    }


def test_a_run_is_matched_by_file_or_by_name():
    run = load("examples/workflow_run/01-completed.json")["workflow_run"]
    assert from_workflow_run("o/r", run, workflows={"test.yml"})
    assert from_workflow_run("o/r", {**run, "name": "Build"}, workflows={"Build"})
    assert from_workflow_run(
        "o/r", {**run, "path": ".github/workflows/test.yml@refs/heads/main"}, workflows={"test.yml"}
    )
    assert from_workflow_run("o/r", run, workflows={"other.yml"}) == []
    assert from_workflow_run("o/r", run, workflows=()) == []


def test_a_run_reports_no_conclusion_before_it_completes():
    run = load("examples/workflow_run/01-completed.json")["workflow_run"]
    event = only(from_workflow_run("o/r", {**run, "status": "in_progress"}, workflows={"test.yml"}))
    assert (event["status"], event["conclusion"]) == ("in_progress", None)
    waiting = only(from_workflow_run("o/r", {**run, "status": "waiting"}, workflows={"test.yml"}))
    assert waiting["status"] == "queued"


def test_each_status_and_attempt_of_a_run_is_a_new_fact():
    run = load("examples/workflow_run/01-completed.json")["workflow_run"]
    ids = {
        only(from_workflow_run("o/r", {**run, **change}, workflows={"test.yml"}))["source_id"]
        for change in ({}, {"status": "in_progress"}, {"run_attempt": 2}, {"conclusion": "failure"})
    }
    assert len(ids) == 4


@pytest.mark.parametrize(
    "change, version, component",
    [
        ({"head_branch": "v1.2.3"}, "1.2.3", ""),
        ({"head_branch": "controller-v1.2.3"}, "1.2.3", "controller"),
        ({"event": "workflow_dispatch", "display_title": "Build v0.3.0"}, "0.3.0", ""),
        ({"inputs": {"version": "0.4.0"}}, "0.4.0", ""),
        (
            {"event": "push", "display_title": "chore(main): release 9.9.9"},
            None,
            "",
        ),  # a commit message
        ({"head_branch": "main"}, None, ""),
    ],
)
def test_the_version_a_build_is_for(change, version, component):
    run = {**load("examples/workflow_run/01-completed.json")["workflow_run"], **change}
    event = only(from_workflow_run("o/r", run, workflows={"test.yml"}))
    assert (event["version"], event["component"]) == (version, component)


def test_a_job_is_a_build_carrying_that_job_and_its_steps():
    event = only(events_of("examples/workflow_job/04-in_progress.json"))
    assert (event["run_id"], event["workflow"], event["status"]) == (
        5373506832,
        "Test",
        "in_progress",
    )
    assert (
        event["url"] == "https://github.com/wolfy1339/github-events-schemas/actions/runs/5373506832"
    )
    [job] = event["jobs"]
    assert (job["id"], job["name"], job["status"]) == (
        14541957942,
        "Do examples need to be regenerated?",
        "in_progress",
    )
    assert [(s["number"], s["status"]) for s in job["steps"]][:4] == [
        (1, "completed"),
        (2, "completed"),
        (3, "in_progress"),
        (4, "queued"),
    ]
    parse_event(event)


def test_a_job_never_completes_its_run():
    done = only(events_of("examples/workflow_job/01-completed.json"))
    assert (done["status"], done["jobs"][0]["status"], done["jobs"][0]["conclusion"]) == (
        "in_progress",
        "completed",
        "failure",
    )
    waiting = only(events_of("examples/workflow_job/07-waiting.json"))
    assert (waiting["status"], waiting["jobs"][0]["status"]) == ("queued", "waiting")


def test_each_completed_step_is_a_new_fact():
    job = load("examples/workflow_job/04-in_progress.json")["workflow_job"]
    before = only(from_workflow_job("o/r", job, workflow="Test"))
    steps = copy.deepcopy(job["steps"])
    steps[2].update(status="completed", conclusion="success")
    after = only(from_workflow_job("o/r", {**job, "steps": steps}, workflow="Test"))
    assert before["source_id"] != after["source_id"]
    assert only(from_workflow_job("o/r", job, workflow="Test"))["source_id"] == before["source_id"]


def test_a_job_of_a_run_known_as_a_build_is_taken_whatever_its_workflow_is_called():
    payload = load("examples/workflow_job/00-in_progress.json")  # no workflow_name at all
    run_id = payload["workflow_job"]["run_id"]
    assert from_webhook("workflow_job", payload, build_workflows={"binaries-release.yaml"}) == []
    event = only(
        from_webhook(
            "workflow_job",
            payload,
            build_workflows={"binaries-release.yaml"},
            known_runs={run_id: "Binaries release"},
        )
    )
    assert (event["run_id"], event["workflow"]) == (run_id, "Binaries release")


# --- container images --------------------------------------------------------------------------


def test_a_container_version_published_is_an_image_push():
    event = only(events_of("handmade/registry_package/container-published.json"))
    assert event == {
        "kind": "image_push",
        "source": "github",
        "source_id": f"ghcr.io/codertocat/hello-world:0.0.1@{DIGEST}",
        "occurred_at": "2019-05-15T15:23:05Z",
        "image": "ghcr.io/codertocat/hello-world",
        "tag": "0.0.1",
        "digest": DIGEST,
    }


def test_the_package_event_names_images_in_lower_case():
    event = only(events_of("handmade/package/container-published.json"))
    assert (event["image"], event["tag"]) == ("ghcr.io/codertocat/hello-world-worker", "v0.3.0")
    payload = load("handmade/package/container-published.json")
    payload["package"]["package_type"] = "container"  # as some deliveries spell it
    assert only(from_container_package(payload))["image"] == "ghcr.io/codertocat/hello-world-worker"


def test_a_rest_package_version_gives_one_push_per_tag():
    payload = load("handmade/registry_package/container-published.json")
    version = payload["registry_package"]["package_version"]
    version["container_metadata"] = None
    version["metadata"] = {"package_type": "container", "container": {"tags": ["0.0.1", "latest"]}}
    events = from_container_package(payload)
    assert [(e["tag"], e["digest"]) for e in events] == [("0.0.1", DIGEST), ("latest", DIGEST)]


def test_packages_that_are_no_container_images_are_nothing():
    assert from_container_package(load("examples/package/01-published.json")) == []
    payload = load("handmade/registry_package/container-published.json")
    assert (
        from_webhook("registry_package", {**payload, "action": "deleted"}, build_workflows=BUILDS)
        == []
    )
    payload["registry_package"]["package_version"]["container_metadata"]["tag"]["digest"] = ""
    payload["registry_package"]["package_version"]["name"] = "0.0.1"
    payload["registry_package"]["package_version"]["version"] = "0.0.1"
    assert from_container_package(payload) == []  # no digest to name


# --- the dispatcher ----------------------------------------------------------------------------


def test_unknown_events_are_nothing():
    assert from_webhook("issues", {"action": "opened"}, build_workflows=BUILDS) == []
    assert from_webhook("ping", load("examples/ping/00-ping.json"), build_workflows=BUILDS) == []


def test_very_long_ids_stay_unique_and_fit():
    payload = load("handmade/registry_package/container-published.json")
    version = payload["registry_package"]["package_version"]
    payload["registry_package"]["name"] = "a" * 150
    version["container_metadata"]["tag"]["name"] = "t" * 100
    first = only(from_container_package(payload))
    version["container_metadata"]["tag"]["name"] = "t" * 99 + "u"
    second = only(from_container_package(payload))
    assert len(first["source_id"]) <= 200
    assert first["source_id"] != second["source_id"]
    assert only(from_container_package(payload))["source_id"] == second["source_id"]
    parse_event(first)
