"""The explainer's walk, from plain snapshots: each code, where the walk stops, and the ETA."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cdportal.core.explain import (
    CODES,
    AppState,
    Build,
    PolicyAnswer,
    PullRequest,
    RegistryAnswer,
    SkippedCommit,
    Snapshot,
    UpdaterState,
    explain,
)
from cdportal.core.stages import Stage
from cdportal.core.updater_logs import cycles, go_duration_seconds

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IMAGE = "ghcr.io/5dlabs/controller"


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def pending(**changes) -> Snapshot:
    """Commits merged, nothing else yet."""
    base = Snapshot(
        now=NOW,
        version="",
        tag="",
        times={Stage.MERGED: ago(60)},
        commit_count=2,
        releasable=True,
    )
    return replace(base, **changes)


MERGED_PR = PullRequest(100, "merged", ("autorelease: tagged",), "https://x/pull/100", "0.3.0")
POLICY = PolicyAnswer(configured=True, source="annotations", image=IMAGE, picks="v0.3.0")
APP = AppState(
    key="argocd/cto-controller",
    auto_sync=True,
    sync_status="Synced",
    health_status="Healthy",
    parameter="v0.2.9",
    running_tag="v0.2.9",
)


def released(**changes) -> Snapshot:
    """v0.3.0 tagged, built and pushed; the application still on v0.2.9."""
    base = Snapshot(
        now=NOW,
        version="0.3.0",
        tag="v0.3.0",
        times={
            Stage.MERGED: ago(60),
            Stage.RELEASE_PR: ago(50),
            Stage.RELEASED: ago(30),
            Stage.BUILT: ago(20),
        },
        commit_count=2,
        pr=MERGED_PR,
        builds=(Build(7, "binaries-release", "completed", "success", started_at=ago(29)),),
        image=IMAGE,
        registry=RegistryAnswer(True, "sha256:" + "a" * 64),
        policy=POLICY,
        updater=UpdaterState(seen=True, name="argocd/argocd-image-updater", replicas_ready=1),
        app=APP,
    )
    return replace(base, **changes)


def written(**app) -> Snapshot:
    """The updater chose and wrote v0.3.0; Argo CD's side is what `app` says."""
    times = {
        **released().times,
        Stage.DETECTED: ago(10),
        Stage.PARAMETER_UPDATED: ago(9),
    }
    state = replace(APP, **{"parameter": "v0.3.0", "sync_status": "OutOfSync", **app})
    return released(times=times, app=state)


def outcome(snapshot: Snapshot) -> tuple[str, int, str]:
    found = explain(snapshot)
    return found.verdict, int(found.stage), found.code


SKIPPED = (SkippedCommit("abcdef1234", "update readme", "not a conventional commit"),)

CASES = {
    "commits_skipped": (
        pending(commit_count=0, releasable=False, skipped=SKIPPED),
        ("blocked", 1, "commits_skipped"),
        "Release Please skips",
    ),
    "no_release_pr": (pending(), ("blocked", 2, "no_release_pr"), "No Release PR"),
    "release_pr_label_pending": (
        pending(
            blocking_prs=(
                PullRequest(99, "merged", ("autorelease: pending",), "", "0.2.9", "v0.2.9"),
            )
        ),
        ("blocked", 2, "release_pr_label_pending"),
        "still labelled `autorelease: pending`",
    ),
    "no_build": (
        released(builds=(), times={**released().times, Stage.BUILT: None}, registry=None),
        ("blocked", 4, "no_build"),
        "GITHUB_TOKEN",
    ),
    "build_failed": (
        released(
            times={**released().times, Stage.BUILT: None},
            builds=(
                Build(
                    7,
                    "binaries-release",
                    "completed",
                    "failure",
                    failing_job="build",
                    failing_step="Push image",
                ),
            ),
        ),
        ("blocked", 4, "build_failed"),
        "step 'Push image'",
    ),
    "build_running": (
        released(
            times={**released().times, Stage.BUILT: None},
            builds=(Build(7, "binaries-release", "in_progress", started_at=ago(3)),),
        ),
        ("on_its_way", 4, "build_running"),
        "in progress",
    ),
    "tag_not_in_registry": (
        released(
            times={**released().times, Stage.BUILT: None},
            registry=RegistryAnswer(False, error="404 manifest unknown"),
        ),
        ("blocked", 4, "tag_not_in_registry"),
        "is not in the registry",
    ),
    "tag_rejected_by_policy": (
        released(
            policy=replace(
                POLICY, picks="v0.2.9", rejected_reason="does not match allow-tags ^v0\\.2\\."
            )
        ),
        ("blocked", 5, "tag_rejected_by_policy"),
        "allow-tags",
    ),
    "updater_not_running": (
        released(updater=UpdaterState(seen=True, name="argocd/u", replicas_ready=0)),
        ("blocked", 5, "updater_not_running"),
        "0/1 pods ready",
    ),
    "updater_not_configured": (
        released(
            policy=PolicyAnswer(
                configured=False,
                why_not_configured="annotations without an ImageUpdater using them",
            )
        ),
        ("blocked", 5, "updater_not_configured"),
        "not configured",
    ),
    "updater_registry_auth": (
        released(
            updater=UpdaterState(
                seen=True,
                name="u",
                replicas_ready=1,
                errors=("Could not get tags from registry: unauthorized",),
            )
        ),
        ("blocked", 5, "updater_registry_auth"),
        "cannot read",
    ),
    "updater_waiting": (
        released(),
        ("on_its_way", 5, "updater_waiting"),
        "next check",
    ),
    "parameter_not_written": (
        released(times={**released().times, Stage.DETECTED: ago(30)}),
        ("blocked", 6, "parameter_not_written"),
        "still says v0.2.9",
    ),
    "auto_sync_off": (
        written(auto_sync=False),
        ("blocked", 7, "auto_sync_off"),
        "auto-sync is off",
    ),
    "sync_window": (
        written(
            operation_phase="Running", operation_message="Sync operation blocked by sync window"
        ),
        ("blocked", 7, "sync_window"),
        "sync window",
    ),
    "sync_failed": (
        written(operation_phase="Failed", operation_message="one or more objects failed to apply"),
        ("blocked", 7, "sync_failed"),
        "does not retry",
    ),
    "syncing": (written(), ("on_its_way", 7, "syncing"), "OutOfSync"),
    "degraded": (
        written(
            sync_status="Synced",
            health_status="Degraded",
            health_message='Deployment "controller" exceeded its progress deadline',
        ),
        ("blocked", 7, "degraded"),
        "exceeded its progress deadline",
    ),
    "live": (
        written(sync_status="Synced", running_tag="v0.3.0", live_images=(f"{IMAGE}:v0.3.0",)),
        ("live", 7, "live"),
        "runs in",
    ),
}


def test_every_code_has_a_case():
    assert sorted(CASES) == sorted(CODES)


@pytest.mark.parametrize("code", CODES)
def test_each_situation_gets_its_code_stage_and_a_message_naming_the_cause(code):
    snapshot, expected, words = CASES[code]
    found = explain(snapshot)
    assert (found.verdict, int(found.stage), found.code) == expected
    assert words in found.message
    assert found.checks[-1].code == code  # the walk stops at the blocker


def test_the_walk_passes_every_earlier_check_and_stops_at_the_first_blocker():
    found = explain(CASES["sync_failed"][0])
    statuses = [c.status for c in found.checks]
    assert statuses[:-1] == ["pass"] * (len(statuses) - 1) and statuses[-1] == "fail"
    assert [c.stage for c in found.checks] == sorted(c.stage for c in found.checks)
    assert found.to_json()["checks"][-1]["code"] == "sync_failed"


def test_the_updater_eta_is_its_last_check_plus_its_interval():
    snapshot = released(
        updater=UpdaterState(
            seen=True,
            name="u",
            replicas_ready=1,
            interval=timedelta(seconds=15),
            last_check_at=NOW - timedelta(seconds=5),
        )
    )
    assert explain(snapshot).eta == NOW + timedelta(seconds=10)
    assert explain(snapshot).to_json()["eta"] == (NOW + timedelta(seconds=10)).isoformat()


def test_argocd_eta_is_the_next_reconciliation():
    snapshot = written(reconciled_at=NOW - timedelta(seconds=60))
    assert explain(snapshot).eta == NOW + timedelta(seconds=120)


def test_a_fix_that_cdportal_can_do_names_its_action():
    assert explain(CASES["no_build"][0]).blocker.action == "dispatch_build"
    assert explain(CASES["sync_failed"][0]).blocker.action == "force_sync"
    blocked = explain(CASES["release_pr_label_pending"][0]).blocker
    assert (blocked.action, blocked.action_target) == ("relabel", 99)


def test_a_build_that_only_just_could_start_is_waited_for():
    snapshot = released(
        builds=(),
        registry=None,
        times={**released().times, Stage.RELEASED: ago(1), Stage.BUILT: None},
    )
    assert outcome(snapshot) == ("on_its_way", 4, "no_build")


def test_an_open_release_pr_waits_for_its_merge():
    snapshot = pending(pr=PullRequest(5, "open", ("autorelease: pending",)), version="0.3.0")
    assert outcome(snapshot) == ("on_its_way", 3, "release_pr_label_pending")


def test_a_merged_release_pr_without_a_tag_is_blocked_at_the_tag():
    snapshot = pending(pr=PullRequest(5, "merged", ("autorelease: pending",)), version="0.3.0")
    assert outcome(snapshot) == ("blocked", 3, "release_pr_label_pending")


# --- the updater's log ---------------------------------------------------------------------

LOG = [
    'time="2026-12-01T11:00:00Z" level=info msg="starting" interval="15s"',
    'time="2026-12-01T11:58:00Z" level=info msg="Starting image update cycle, considering 1 application(s) for update"',
    'time="2026-12-01T11:58:01Z" level=error msg="Could not get tags from registry: unauthorized" '
    "application=argocd/cto-controller image_name=5dlabs/controller image_registry=ghcr.io",
    'time="2026-12-01T11:58:02Z" level=info msg="Processing results: applications=1 images_considered=1 '
    'images_skipped=0 images_updated=0 errors=1"',
    'time="2026-12-01T11:58:15Z" level=info msg="Starting image update cycle, considering 1 application(s) for update"',
]


def test_a_log_tail_gives_the_interval_the_last_cycle_and_its_errors():
    found = cycles(LOG)
    assert found.interval_seconds == 15
    assert found.last_cycle_at == datetime(2026, 12, 1, 11, 58, 2, tzinfo=UTC)
    assert [e.image for e in found.errors] == ["ghcr.io/5dlabs/controller"]


@pytest.mark.parametrize(
    "text,seconds", [("2m0s", 120), ("15s", 15), ("1h30m", 5400), ("", None), ("soon", None)]
)
def test_go_durations(text, seconds):
    assert go_duration_seconds(text) == seconds


def test_a_release_a_newer_one_replaced_before_it_ran_is_not_waited_for():
    snapshot = released(app=replace(APP, running_tag="v0.4.0", parameter="v0.4.0"))
    found = explain(snapshot)
    assert (found.verdict, int(found.stage), found.code) == ("blocked", 5, "tag_rejected_by_policy")
    assert "newer v0.4.0" in found.message


def test_a_release_that_ran_and_was_replaced_counts_as_live():
    times = {**written().times, Stage.SYNCED: ago(5)}
    snapshot = released(times=times, app=replace(APP, running_tag="v0.4.0", parameter="v0.4.0"))
    found = explain(snapshot)
    assert (found.verdict, found.code) == ("live", "live") and "replaced" in found.message
