"""Argo CD on-call patches and checks against the shared fixtures.

tests/fixtures/argocd/ holds copies of ../shared/fixtures/argocd/ (patches, applications and the
two image-updater Deployments); the expected patches are compared with exact equality.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from cdportal.core.argo import (
    RESTARTED_AT_ANNOTATION,
    auto_sync_enabled,
    check_pull_secret,
    find_updater_deployment,
    pull_secret_credentials,
    pull_secret_registries,
    refresh_done,
    refresh_patch,
    refusal,
    registry_host,
    restart_outcome,
    restart_patch,
    restart_refusal,
    restart_stamp,
    rollout_complete,
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


# --- restart ------------------------------------------------------------------------------------


def test_restart_patch_matches_the_fixture():
    now = datetime(2026, 8, 22, 16, 1, 12, 345678, tzinfo=UTC)
    assert restart_patch(now) == load("patches/restart-deployment.strategic-merge-patch.json")


def test_restart_patch_keeps_the_offset_as_go_rfc3339_does():
    now = datetime(2026, 8, 22, 18, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    annotations = restart_patch(now)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"kubectl.kubernetes.io/restartedAt": "2026-08-22T18:01:12+02:00"}
    with pytest.raises(ValueError):
        restart_patch(datetime(2026, 8, 22, 16, 1, 12))


def test_it_refuses_to_restart_a_paused_deployment():
    deployment = load("image-updater-deployment.yaml")
    assert restart_refusal(deployment) is None
    deployment["spec"]["paused"] = True
    assert restart_refusal(deployment) == (
        'Deployment "argocd-image-updater-controller" is paused: '
        "can't restart paused deployment (run rollout resume first)"
    )


# --- rollout status -----------------------------------------------------------------------------


def rolling(**status) -> dict:
    deployment = load("image-updater-deployment.yaml")
    deployment["spec"]["replicas"] = 3
    deployment["status"].update(status)
    return deployment


WAIT = 'Waiting for deployment "argocd-image-updater-controller" rollout to finish: '


@pytest.mark.parametrize(
    "status, expected",
    [
        (
            {},
            (True, 'deployment "argocd-image-updater-controller" successfully rolled out'),
        ),
        (
            {"observedGeneration": 3},
            (False, "Waiting for deployment spec update to be observed..."),
        ),
        (
            {"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2},
            (False, WAIT + "1 out of 3 new replicas have been updated..."),
        ),
        (
            {"replicas": 4, "updatedReplicas": 3, "availableReplicas": 3},
            (False, WAIT + "1 old replicas are pending termination..."),
        ),
        (
            {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2},
            (False, WAIT + "2 of 3 updated replicas are available..."),
        ),
    ],
)
def test_rollout_status_reads_as_kubectl(status, expected):
    base = {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3, "readyReplicas": 3}
    assert rollout_complete(rolling(**{**base, **status})) == expected


def test_rollout_status_of_the_fixtures_is_complete():
    for name in ("image-updater-deployment.yaml", "image-updater-deployment-v0.yaml"):
        done, message = rollout_complete(load(name))
        assert done, message


def test_rollout_status_reports_the_progress_deadline():
    deployment = rolling(replicas=3, updatedReplicas=1)
    deployment["status"]["conditions"][1].update(reason="ProgressDeadlineExceeded", status="False")
    assert rollout_complete(deployment) == (
        False,
        'deployment "argocd-image-updater-controller" exceeded its progress deadline',
    )


# --- updater discovery --------------------------------------------------------------------------


def chain(deployment: dict, pod_hash: str) -> tuple[dict, dict]:
    """A ReplicaSet and a Pod owned by `deployment`, shaped as the API returns them."""
    meta = deployment["metadata"]
    rs_name = f"{meta['name']}-{pod_hash}"
    rs = {
        "metadata": {
            "name": rs_name,
            "namespace": meta["namespace"],
            "uid": f"rs-{pod_hash}",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
    }
    labels = dict(deployment["spec"]["template"]["metadata"]["labels"])
    labels["pod-template-hash"] = pod_hash
    pod = {
        "metadata": {
            "name": f"{rs_name}-x7k2p",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs_name,
                    "uid": f"rs-{pod_hash}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
    }
    return rs, pod


ARGOCD_SERVER = {
    "metadata": {
        "name": "argocd-server",
        "namespace": "argocd",
        "uid": "s1",
        "labels": {"app.kubernetes.io/name": "argocd-server"},
    }
}


@pytest.mark.parametrize(
    "fixture, pod_hash, expected",
    [
        ("image-updater-deployment.yaml", "7f9c6d8b5d", "argocd-image-updater-controller"),
        ("image-updater-deployment-v0.yaml", "6c5d9f7b8c", "argocd-image-updater"),
    ],
)
def test_it_finds_the_updater_through_its_pods(fixture, pod_hash, expected):
    deployment = load(fixture)
    rs, pod = chain(deployment, pod_hash)
    server_rs, server_pod = chain(
        {**ARGOCD_SERVER, "spec": {"template": {"metadata": {"labels": {}}}}}, "55d8"
    )
    deployments = [ARGOCD_SERVER, deployment]
    pods = [server_pod, pod]
    found = find_updater_deployment(deployments, pods, replicasets=[server_rs, rs])
    assert found["metadata"]["name"] == expected
    # Without the ReplicaSets the pod-template-hash suffix leads to the same Deployment.
    assert find_updater_deployment(deployments, pods)["metadata"]["name"] == expected


def test_the_running_pods_win_over_a_leftover_install():
    v1 = load("image-updater-deployment.yaml")
    v0 = load("image-updater-deployment-v0.yaml")
    rs, pod = chain(v1, "7f9c6d8b5d")
    found = find_updater_deployment([v0, v1], [pod], replicasets=[rs])
    assert found is v1
    assert find_updater_deployment([v0, v1], [pod]) is v1


def test_a_configured_name_wins():
    v1 = load("image-updater-deployment.yaml")
    v0 = load("image-updater-deployment-v0.yaml")
    _rs, pod = chain(v1, "7f9c6d8b5d")
    assert find_updater_deployment([v0, v1], [pod], name="argocd-image-updater") is v0
    assert find_updater_deployment([v0, v1], [pod], name="nope") is None


@pytest.mark.parametrize(
    "fixture", ["image-updater-deployment.yaml", "image-updater-deployment-v0.yaml"]
)
def test_with_no_pods_it_falls_back_to_the_deployment_labels(fixture):
    deployment = load(fixture)
    assert find_updater_deployment([ARGOCD_SERVER, deployment], []) is deployment
    assert find_updater_deployment([ARGOCD_SERVER], []) is None


# --- pull secret --------------------------------------------------------------------------------

PASSWORD = "ghp_S3cretT0kenValue1234567890abcdef"
USERNAME = "5dlabs-bot"


def secret(
    auths: dict | None = None,
    *,
    kind: str = "kubernetes.io/dockerconfigjson",
    raw: str | None = None,
) -> dict:
    if raw is None:
        raw = base64.b64encode(json.dumps({"auths": auths or {}}).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ghcr-pull", "namespace": "argocd"},
        "type": kind,
        "data": {".dockerconfigjson": raw},
    }


def auth(user: str = USERNAME, password: str = PASSWORD) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_no_secret_values(reason: str, obj: dict | None) -> None:
    assert PASSWORD not in reason
    assert USERNAME not in reason
    assert auth() not in reason
    if obj is not None:
        for value in obj.get("data", {}).values():
            assert value not in reason


@pytest.mark.parametrize(
    "key, registry",
    [
        ("ghcr.io", "ghcr.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("ghcr.io", "https://ghcr.io/"),
        ("GHCR.io", "ghcr.io/5dlabs/controller"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("docker.io", "index.docker.io"),
        ("registry-1.docker.io", "https://index.docker.io/v1/"),
    ],
)
def test_a_matching_entry_is_accepted(key, registry):
    obj = secret({key: {"auth": auth()}})
    ok, reason = check_pull_secret(obj, registry)
    assert ok, reason
    assert_no_secret_values(reason, obj)
    assert pull_secret_credentials(obj, registry) == (USERNAME, PASSWORD)


def test_username_and_password_fields_work_too():
    obj = secret({"ghcr.io": {"username": USERNAME, "password": PASSWORD}})
    assert check_pull_secret(obj, "ghcr.io") == (
        True,
        "secret argocd/ghcr-pull has credentials for ghcr.io",
    )
    assert pull_secret_credentials(obj, "ghcr.io") == (USERNAME, PASSWORD)


def test_a_password_with_colons_survives():
    obj = secret({"ghcr.io": {"auth": auth(password="a:b:c")}})
    assert pull_secret_credentials(obj, "ghcr.io") == (USERNAME, "a:b:c")


@pytest.mark.parametrize(
    "obj, expected",
    [
        (None, "the pull secret does not exist"),
        (
            secret({"ghcr.io": {"auth": auth()}}, kind="Opaque"),
            "secret argocd/ghcr-pull has type 'Opaque', expected 'kubernetes.io/dockerconfigjson'",
        ),
        (
            secret({"quay.io": {"auth": auth()}, "https://index.docker.io/v1/": {"auth": auth()}}),
            "secret argocd/ghcr-pull has no entry for ghcr.io",
        ),
        (
            secret({"ghcr.io": {"username": USERNAME}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret({"ghcr.io": {"auth": base64.b64encode(PASSWORD.encode()).decode()}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret({"ghcr.io": {"auth": PASSWORD + "!"}}),
            "secret argocd/ghcr-pull has an entry for ghcr.io but no usable username and password",
        ),
        (
            secret(raw=base64.b64encode(f'{{"auths": "{PASSWORD}'.encode()).decode()),
            "secret argocd/ghcr-pull: .dockerconfigjson is not valid base64-encoded JSON",
        ),
        (
            secret(raw=PASSWORD + "!"),
            "secret argocd/ghcr-pull: .dockerconfigjson is not valid base64-encoded JSON",
        ),
        (
            {**secret(), "data": {"username": base64.b64encode(PASSWORD.encode()).decode()}},
            "secret argocd/ghcr-pull has no .dockerconfigjson key",
        ),
    ],
)
def test_a_bad_secret_is_refused_without_revealing_it(obj, expected):
    ok, reason = check_pull_secret(obj, "ghcr.io")
    assert (ok, reason) == (False, expected)
    assert_no_secret_values(reason, obj)
    with pytest.raises(ValueError) as excinfo:
        pull_secret_credentials(obj, "ghcr.io")
    assert str(excinfo.value) == expected
    assert_no_secret_values(str(excinfo.value), obj)


# --- when a restart is done ---------------------------------------------------------------------

DONE = 'deployment "u" successfully rolled out'
WAITING = 'Waiting for deployment "u" rollout to finish: 1 old replicas are pending termination...'


@pytest.mark.parametrize(("restarted_at", "complete", "message", "overdue", "expected"), [
    ("2026-11-29T01:00:00Z", True, DONE, False, (True, DONE)),
    ("2026-11-29T01:00:00Z", False, WAITING, False, None),
    ("2026-11-29T01:00:00Z", False, WAITING, True, (False, f"timed out waiting for the condition: {WAITING}")),
    ("2026-11-29T01:00:00Z", False, 'deployment "u" exceeded its progress deadline', False,
     (False, 'deployment "u" exceeded its progress deadline')),
    # the Deployment still shows an older restart: ours has not been observed yet
    ("2026-11-28T09:00:00Z", True, DONE, False, None),
    ("2026-11-28T09:00:00Z", True, DONE, True,
     (False, "timed out waiting for the condition: the Deployment does not show this restart "
             "(restartedAt 2026-11-28T09:00:00Z)")),
    ("", True, DONE, True,
     (False, "timed out waiting for the condition: the Deployment does not show this restart (restartedAt unset)")),
    # a later restart's completed rollout restarted the pods after ours was asked for
    ("2026-11-29T01:00:07Z", True, DONE, False,
     (True, DONE + " (a later restart at 2026-11-29T01:00:07Z included it)")),
])
def test_restart_outcome(restarted_at, complete, message, overdue, expected):
    assert restart_outcome("2026-11-29T01:00:00Z", restarted_at=restarted_at, complete=complete,
                                message=message, overdue=overdue) == expected


def test_a_restart_stamp_is_whole_seconds_in_utc():
    moment = datetime(2026, 11, 29, 2, 0, 0, 999_000, tzinfo=timezone(timedelta(hours=1)))
    assert restart_stamp(moment) == "2026-11-29T02:00:00+01:00"
    assert restart_patch(moment)["spec"]["template"]["metadata"]["annotations"] == {
        RESTARTED_AT_ANNOTATION: "2026-11-29T02:00:00+01:00"}


def test_kubectls_local_time_restart_compares_as_an_instant():
    # 02:00:05+01:00 is 01:00:05Z: after ours
    assert restart_outcome("2026-11-29T01:00:00Z", restarted_at="2026-11-29T02:00:05+01:00", complete=True,
                           message=DONE, overdue=False)[0] is True
    assert restart_outcome("2026-11-29T01:00:00Z", restarted_at="2026-11-29T01:59:00+01:00", complete=True,
                           message=DONE, overdue=False) is None


def test_the_registries_a_pull_secret_names_are_its_auths_keys_as_hosts():
    obj = secret({"https://index.docker.io/v1/": {"auth": auth()}, "GHCR.io": {"auth": auth()},
                  "127.0.0.1:5000": {"auth": auth()}})
    assert pull_secret_registries(obj) == (["127.0.0.1:5000", "docker.io", "ghcr.io"], "")
    assert pull_secret_registries(secret({"ghcr.io": {"auth": auth()}}, kind="Opaque"))[0] == []
    assert pull_secret_registries(secret({})) == ([], "secret argocd/ghcr-pull: .dockerconfigjson names no registry")


@pytest.mark.parametrize("value, host", [
    ("http://127.0.0.1:8102/admin/any", "127.0.0.1:8102"),
    ("HTTPS://GHCR.io/", "ghcr.io"),
    ("index.docker.io", "docker.io"),
    ("user@evil.example", "user@evil.example"),  # not a host[:port]: matches no auths key
])
def test_registry_host_drops_scheme_and_path(value, host):
    assert registry_host(value) == host
