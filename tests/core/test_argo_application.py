"""Argo CD Application patches and refusals against the fixtures.

tests/fixtures/argocd/ holds Argo CD Applications and the patch bodies Argo CD's API server
expects (docs/argo-cd.md); the expected patches are compared with exact equality.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from cdportal.core.argo_application import (
    auto_sync_enabled,
    refresh_done,
    refresh_patch,
    refusal,
    sync_patch,
    terminate_patch,
    terminate_refusal,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "argocd"
ALICE = "alice@5dlabs.ai"


def load(relative: str) -> dict:
    text = (FIXTURES / relative).read_text()
    return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)


@pytest.fixture
def synced_app() -> dict:
    return load("01-controller-synced-healthy.yaml")


@pytest.fixture
def running_app() -> dict:
    return load("06-api-gateway-operation-running.yaml")


@pytest.fixture
def failed_app() -> dict:
    return load("07-billing-operation-failed.yaml")


# --- sync ---------------------------------------------------------------------------------------


def test_sync_patch_matches_the_fixture(synced_app):
    patch = sync_patch(synced_app, username=ALICE, prune=True)
    assert patch == load("patches/sync-operation.merge-patch.json")


def test_sync_patch_copies_options_and_retry_as_the_api_server_does(running_app):
    app = copy.deepcopy(running_app)
    del app["operation"]
    operation = sync_patch(app, username=ALICE, prune=True)["operation"]
    # 06 was requested by cdportal: the operation Argo CD recorded is what we would send again.
    assert operation == app["status"]["operationState"]["operation"]


def test_sync_patch_never_forces_nor_claims_to_be_automated(synced_app):
    operation = sync_patch(synced_app, username=ALICE)["operation"]
    assert operation["initiatedBy"] == {"username": ALICE}
    assert operation["sync"]["syncStrategy"] == {"hook": {}}
    assert "force" not in json.dumps(operation)
    assert operation["sync"]["prune"] is False
    assert "revision" not in operation["sync"]


def test_sync_patch_leaves_out_what_the_spec_does_not_have():
    app = load("04-controller-eu-updater-override-outofsync.yaml")
    operation = sync_patch(app, username=ALICE)["operation"]
    assert "retry" not in operation
    assert operation["sync"]["syncOptions"] == ["CreateNamespace=true"]
    assert sync_patch(app, username=ALICE)["metadata"] == {
        "resourceVersion": app["metadata"]["resourceVersion"]
    }


def test_sync_patch_takes_a_revision_when_auto_sync_is_off():
    app = load("04-controller-eu-updater-override-outofsync.yaml")
    assert not auto_sync_enabled(app)
    patch = sync_patch(app, username=ALICE, revision="0123abc")
    assert patch["operation"]["sync"]["revision"] == "0123abc"


def test_sync_patch_refuses_a_revision_that_auto_sync_would_undo(synced_app):
    assert auto_sync_enabled(synced_app)
    with pytest.raises(ValueError, match="Cannot sync to v1.2: auto-sync currently set to main"):
        sync_patch(synced_app, username=ALICE, revision="v1.2")
    assert refusal(synced_app, revision="v1.2") == (
        "Cannot sync to v1.2: auto-sync currently set to main"
    )
    assert (
        sync_patch(synced_app, username=ALICE, revision="main")["operation"]["sync"]["revision"]
        == "main"
    )


def test_auto_sync_enabled_false_counts_as_off(synced_app):
    synced_app["spec"]["syncPolicy"]["automated"]["enabled"] = False
    assert not auto_sync_enabled(synced_app)


def test_multi_source_app_rejects_a_single_revision():
    app = load("08-monitoring-multisource-synced-healthy.yaml")
    assert sync_patch(app, username=ALICE)["operation"]["sync"]["syncOptions"] == [
        "CreateNamespace=true",
        "ServerSideApply=true",
    ]
    app["spec"]["syncPolicy"].pop("automated")
    with pytest.raises(ValueError, match="multi-source"):
        sync_patch(app, username=ALICE, revision="abc")


# --- refusal ------------------------------------------------------------------------------------


def test_it_refuses_while_an_operation_runs(running_app):
    assert refusal(running_app) == (
        "Another operation is already in progress: a sync started by alice@5dlabs.ai since "
        "2026-08-22T16:03:40Z is still running (waiting for completion of hook "
        "batch/Job/api-gateway-db-migrate). A sync requested now would be silently dropped. "
        "Wait for it to finish, or terminate it first."
    )


def test_it_refuses_while_an_operation_terminates(running_app):
    running_app["status"]["operationState"]["phase"] = "Terminating"
    assert refusal(running_app) == (
        "Another operation is already in progress: it is being terminated. "
        "Wait for it to finish, then sync again."
    )


def test_it_refuses_when_an_operation_is_set_but_not_started(synced_app):
    synced_app["operation"] = sync_patch(synced_app, username="bob@5dlabs.ai")["operation"]
    reason = refusal(synced_app)
    assert reason.startswith("Another operation is already in progress: a sync requested by bob@")
    assert "terminate" in reason


def test_it_names_auto_sync_as_the_initiator(running_app):
    running_app["status"]["operationState"]["operation"]["initiatedBy"] = {"automated": True}
    assert "a sync started by auto-sync since" in refusal(running_app)


def test_it_allows_a_sync_after_a_failed_operation(failed_app, synced_app):
    assert failed_app["status"]["operationState"]["phase"] == "Failed"
    assert refusal(failed_app) is None
    assert refusal(synced_app) is None


# --- refresh and terminate ----------------------------------------------------------------------


@pytest.mark.parametrize("hard, name", [(True, "hard"), (False, "normal")])
def test_refresh_patch_matches_the_fixture(hard, name):
    assert refresh_patch(hard) == load(f"patches/refresh-{name}.merge-patch.json")


def test_refresh_is_done_when_the_annotation_is_gone_and_reconciled_at_advanced(synced_app):
    before = copy.deepcopy(synced_app)
    requested = copy.deepcopy(synced_app)
    requested["metadata"]["annotations"]["argocd.argoproj.io/refresh"] = "hard"
    assert not refresh_done(before, requested)

    reconciled = copy.deepcopy(requested)
    reconciled["status"]["reconciledAt"] = "2099-01-01T00:00:00Z"
    assert not refresh_done(before, reconciled)  # annotation still there

    del reconciled["metadata"]["annotations"]["argocd.argoproj.io/refresh"]
    assert refresh_done(before, reconciled)
    # Annotation gone but no new comparison yet: not done.
    assert not refresh_done(before, before)


def test_terminate_patch_matches_the_fixture(running_app):
    assert terminate_refusal(running_app) is None
    assert terminate_patch(running_app) == load("patches/terminate-operation.merge-patch.json")


def test_terminate_needs_an_operation(failed_app, running_app):
    assert terminate_refusal(failed_app) == (
        "Unable to terminate operation. No operation is in progress"
    )
    running_app["status"]["operationState"]["phase"] = "Terminating"
    assert terminate_refusal(running_app) == "The operation is already being terminated."
