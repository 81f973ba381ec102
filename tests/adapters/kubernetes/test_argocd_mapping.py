"""Argo CD Application objects become `application` events (no network, no database)."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cdportal.adapters.kubernetes.argocd import application_event
from cdportal.core.events import ApplicationObserved, parse_event

FIXTURES = Path(__file__).parents[2] / "fixtures" / "argocd"
APPLICATIONS = sorted(FIXTURES.glob("0*.yaml"))


def load(stem: str) -> dict:
    (path,) = FIXTURES.glob(f"{stem}*.yaml")
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", APPLICATIONS, ids=lambda p: p.stem)
def test_every_fixture_becomes_a_valid_event(path):
    obj = yaml.safe_load(path.read_text())
    event = parse_event(application_event(obj))
    assert isinstance(event, ApplicationObserved)
    meta = obj["metadata"]
    assert event.source == "kubernetes"
    assert event.source_id == f"{meta['namespace']}/{meta['name']}@{meta['resourceVersion']}"
    assert (event.namespace, event.name) == (meta["namespace"], meta["name"])


def test_every_item_of_the_list_response_becomes_a_valid_event():
    items = json.loads((FIXTURES / "application-list.json").read_text())["items"]
    events = [parse_event(application_event(item)) for item in items]
    assert len({e.source_id for e in events}) == len(items) > 0


def test_it_maps_a_synced_healthy_updater_app():
    event = parse_event(application_event(load("01")))
    assert (event.sync_status, event.health_status) == ("Synced", "Healthy")
    assert event.project == "default"
    assert event.repo_url.startswith("https://")
    assert event.revision == "60fab87f219e1fc5fa25a6ce65639ceb39fc90dc"
    assert event.parameters == {"image.name": "ghcr.io/5dlabs/controller", "image.tag": "v1.4.2"}
    assert event.images == ["ghcr.io/5dlabs/controller:v1.4.2"]
    assert (
        event.annotations["argocd-image-updater.argoproj.io/image-list"]
        == "controller=ghcr.io/5dlabs/controller"
    )
    assert all(k.startswith("argocd-image-updater.argoproj.io/") for k in event.annotations)
    assert (event.operation_phase, event.operation_message) == (
        "Succeeded",
        "successfully synced (all tasks run)",
    )
    assert event.last_synced_at == datetime(2026, 8, 21, 9, 14, 33, tzinfo=UTC)


def test_it_keeps_other_annotations_out():
    obj = load("01")
    obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    assert (
        "kubectl.kubernetes.io/last-applied-configuration"
        not in application_event(obj)["annotations"]
    )


def test_it_shows_a_rollout_in_progress_with_both_images():
    event = parse_event(application_event(load("02")))
    assert event.health_status == "Progressing"
    assert event.images == ["ghcr.io/5dlabs/controller:v1.4.2", "ghcr.io/5dlabs/controller:v1.5.0"]
    assert event.parameters["image.tag"] == "v1.5.0"


def test_it_carries_the_health_message_of_a_degraded_app():
    event = parse_event(application_event(load("03")))
    assert (event.health_status, event.health_message) == (
        "Degraded",
        "apps/Deployment:cto-dev/controller",
    )


def test_an_updater_override_shows_the_desired_tag_beside_the_running_one():
    event = parse_event(application_event(load("04")))
    assert event.sync_status == "OutOfSync"
    assert event.parameters["image.tag"] == "v1.5.0"
    assert event.images == ["ghcr.io/5dlabs/controller:v1.4.2"]


def test_an_app_without_helm_parameters_has_none():
    event = parse_event(application_event(load("05")))
    assert event.parameters == {} and event.annotations == {}
    assert event.images == ["ghcr.io/5dlabs/docs-site:2026.08.20-1"]


def test_a_running_operation_has_no_new_sync_time():
    event = parse_event(application_event(load("06")))
    assert event.operation_phase == "Running"
    assert (
        event.operation_message == "waiting for completion of hook batch/Job/api-gateway-db-migrate"
    )
    # The last successful sync is the newest history entry.
    assert event.last_synced_at == datetime(2026, 8, 17, 22, 10, 49, tzinfo=UTC)


def test_a_failed_operation_keeps_the_last_successful_sync_time():
    event = parse_event(application_event(load("07")))
    assert event.operation_phase == "Failed"
    assert "must be less than or equal to memory limit" in event.operation_message
    assert event.last_synced_at == datetime(2026, 8, 14, 10, 3, 14, tzinfo=UTC)


def test_a_multi_source_app_takes_the_chart_source_and_its_revision():
    event = parse_event(application_event(load("08")))
    assert event.project == "platform"
    assert event.repo_url == "https://prometheus-community.github.io/helm-charts"
    assert event.revision == "77.5.0"
    assert len(event.images) == 3


def test_helm_parameters_of_every_source_are_merged():
    obj = load("08")
    obj["spec"]["sources"][0]["helm"]["parameters"] = [{"name": "image.tag", "value": "v1"}]
    obj["spec"]["sources"][1]["helm"] = {"parameters": [{"name": "replicas", "value": 3}]}
    assert application_event(obj)["parameters"] == {"image.tag": "v1", "replicas": "3"}


def test_a_comparison_error_leaves_the_sync_unknown_without_revision():
    event = parse_event(application_event(load("09")))
    assert (event.sync_status, event.revision, event.images) == ("Unknown", "", [])


def test_a_new_app_without_status_is_unknown():
    obj = load("01")
    del obj["status"]
    event = parse_event(application_event(obj))
    assert (event.sync_status, event.health_status, event.operation_phase) == (
        "Unknown",
        "Unknown",
        "",
    )
    assert event.images == [] and event.last_synced_at is None and event.revision == ""
    assert event.occurred_at == datetime(2026, 6, 2, 14, 11, 9, tzinfo=UTC)  # creationTimestamp


def test_unexpected_status_values_become_unknown():
    obj = load("01")
    obj["status"]["health"]["status"] = "SomethingCustom"
    obj["status"]["operationState"]["phase"] = "Pending"
    event = parse_event(application_event(obj))
    assert (event.health_status, event.operation_phase) == ("Unknown", "")


def test_each_resource_version_is_its_own_fact():
    first = load("01")
    second = copy.deepcopy(first)
    second["metadata"]["resourceVersion"] = "48213378"
    assert application_event(first)["source_id"] != application_event(second)["source_id"]
    assert (
        application_event(first)["source_id"]
        == application_event(copy.deepcopy(first))["source_id"]
    )


def test_occurred_at_is_the_observation_time_when_given():
    seen = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    assert parse_event(application_event(load("01"), observed_at=seen)).occurred_at == seen
    # Without it: the newest timestamp in the object (reconciledAt here).
    assert parse_event(application_event(load("01"))).occurred_at == datetime(
        2026, 8, 22, 16, 2, 11, tzinfo=UTC
    )


# --- what on-call reads when an application is stuck --------------------------------------------


def test_a_failed_sync_carries_its_condition_retries_and_the_failing_resource_only():
    event = parse_event(application_event(load("07")))
    (condition,) = event.conditions
    assert condition.type == "SyncError"
    assert condition.message.startswith("Failed last sync attempt to [068b3d4")
    assert condition.last_transition_time == datetime(2026, 8, 22, 15, 52, 37, tzinfo=UTC)
    op = event.operation
    assert (op.phase, op.initiated_by, op.retry_count) == ("Failed", "automated", 5)
    assert op.started_at == datetime(2026, 8, 22, 15, 50, 40, tzinfo=UTC)
    assert [(r.kind, r.name, r.status) for r in op.resources] == [
        ("Deployment", "billing", "SyncFailed")
    ]
    assert "must be less than or equal to memory limit of 1Gi" in op.resources[0].message


def test_a_running_sync_names_its_initiator_and_the_hook_it_waits_for():
    op = parse_event(application_event(load("06"))).operation
    assert (op.phase, op.initiated_by) == ("Running", "alice@5dlabs.ai")
    assert op.message == "waiting for completion of hook batch/Job/api-gateway-db-migrate"
    hooks = [(r.kind, r.name, r.hook, r.status) for r in op.resources if r.hook]
    assert hooks == [("Job", "api-gateway-db-migrate", "PreSync", "Running")]
    assert op.revision == "9adcdc65b082aa5e18e8646e09b6123e26fb02c3"


def test_a_comparison_error_is_a_condition():
    (condition,) = parse_event(application_event(load("09"))).conditions
    assert condition.type == "ComparisonError" and "range can't iterate" in condition.message


def test_sync_history_comes_newest_first_with_who_started_each():
    obj = load("01")
    history = parse_event(application_event(obj)).history
    ids = [entry["id"] for entry in obj["status"]["history"]]
    assert [h.id for h in history] == sorted(ids, reverse=True)
    newest = max(obj["status"]["history"], key=lambda h: h["id"])
    assert history[0].revision == newest["revision"]
    assert history[0].deployed_at == datetime.fromisoformat(newest["deployedAt"])
    assert history[0].initiated_by == "automated"


def test_an_app_without_operation_or_conditions_has_none():
    obj = load("01")
    obj["status"].pop("operationState", None)
    obj["status"].pop("conditions", None)
    event = parse_event(application_event(obj))
    assert event.operation is None and event.conditions == []
