"""Finding, restarting and following the Image Updater's Deployment, as kubectl does.

tests/fixtures/argocd/ holds the two image-updater Deployments (v1 and v0 installs) and the
restart patch kubectl sends (docs/argo-cd.md); the patch is compared with exact equality.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from cdportal.core.updater_deployment import (
    RESTARTED_AT_ANNOTATION,
    find_updater_deployment,
    restart_outcome,
    restart_patch,
    restart_refusal,
    restart_stamp,
    rollout_complete,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "argocd"


def load(relative: str) -> dict:
    text = (FIXTURES / relative).read_text()
    return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)


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


# --- when a restart is done ---------------------------------------------------------------------

DONE = 'deployment "u" successfully rolled out'
WAITING = 'Waiting for deployment "u" rollout to finish: 1 old replicas are pending termination...'


@pytest.mark.parametrize(
    ("restarted_at", "complete", "message", "overdue", "expected"),
    [
        ("2026-11-29T01:00:00Z", True, DONE, False, (True, DONE)),
        ("2026-11-29T01:00:00Z", False, WAITING, False, None),
        (
            "2026-11-29T01:00:00Z",
            False,
            WAITING,
            True,
            (False, f"timed out waiting for the condition: {WAITING}"),
        ),
        (
            "2026-11-29T01:00:00Z",
            False,
            'deployment "u" exceeded its progress deadline',
            False,
            (False, 'deployment "u" exceeded its progress deadline'),
        ),
        # the Deployment still shows an older restart: ours has not been observed yet
        ("2026-11-28T09:00:00Z", True, DONE, False, None),
        (
            "2026-11-28T09:00:00Z",
            True,
            DONE,
            True,
            (
                False,
                "timed out waiting for the condition: the Deployment does not show this restart "
                "(restartedAt 2026-11-28T09:00:00Z)",
            ),
        ),
        (
            "",
            True,
            DONE,
            True,
            (
                False,
                "timed out waiting for the condition: the Deployment does not show this restart (restartedAt unset)",
            ),
        ),
        # a later restart's completed rollout restarted the pods after ours was asked for
        (
            "2026-11-29T01:00:07Z",
            True,
            DONE,
            False,
            (True, DONE + " (a later restart at 2026-11-29T01:00:07Z included it)"),
        ),
    ],
)
def test_restart_outcome(restarted_at, complete, message, overdue, expected):
    assert (
        restart_outcome(
            "2026-11-29T01:00:00Z",
            restarted_at=restarted_at,
            complete=complete,
            message=message,
            overdue=overdue,
        )
        == expected
    )


def test_a_restart_stamp_is_whole_seconds_in_utc():
    moment = datetime(2026, 11, 29, 2, 0, 0, 999_000, tzinfo=timezone(timedelta(hours=1)))
    assert restart_stamp(moment) == "2026-11-29T02:00:00+01:00"
    assert restart_patch(moment)["spec"]["template"]["metadata"]["annotations"] == {
        RESTARTED_AT_ANNOTATION: "2026-11-29T02:00:00+01:00"
    }


def test_kubectls_local_time_restart_compares_as_an_instant():
    # 02:00:05+01:00 is 01:00:05Z: after ours
    assert (
        restart_outcome(
            "2026-11-29T01:00:00Z",
            restarted_at="2026-11-29T02:00:05+01:00",
            complete=True,
            message=DONE,
            overdue=False,
        )[0]
        is True
    )
    assert (
        restart_outcome(
            "2026-11-29T01:00:00Z",
            restarted_at="2026-11-29T01:59:00+01:00",
            complete=True,
            message=DONE,
            overdue=False,
        )
        is None
    )
