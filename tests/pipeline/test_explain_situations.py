"""GET /api/releases/{id}/explain: each situation built through the real ingest path, with the
signal coming from the server that gives it — the GitHub stand-in read by the poller, the
Distribution registry asked for the manifest, the Kubernetes emulator read by the Application
watcher and the updater's log reader — and the answer's code, stage and message asserted."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from django.test import Client
from github_stub import example, stand_in
from helpers import IMAGE, POLICY, REPO, at
from kube_stub import load

from cdportal.adapters.github.poller import poll
from cdportal.adapters.kubernetes.logs import log_events
from cdportal.adapters.kubernetes.watchers import ApplicationWatcher, UpdaterEventWatcher
from cdportal.api.models import ApiToken
from cdportal.pipeline import explain as explainer
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Application, Release
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

pytestmark = pytest.mark.django_db
pytest_plugins = ["registry_fixtures"]

APP = "argocd/cto-controller"


@pytest.fixture(autouse=True)
def _fresh_registry_answers():
    explainer.forget_registry_answers()
    yield
    explainer.forget_registry_answers()


def event(kind: str, sid: str, minutes: float, **fields) -> dict:
    return {"kind": kind, "source": "test", "source_id": sid, "occurred_at": at(minutes), **fields}


def commit(sid="c1", message="feat(controller): add task retry logic", minutes=0) -> dict:
    sha = (sid.encode().hex() * 40)[:40]
    return event("commit", sid, minutes, repository=REPO, sha=sha, message=message)


def application(sid: str, minutes: float, *, tag="v0.2.9", running="v0.2.9", **fields) -> dict:
    namespace, name = APP.split("/")
    base = dict(
        namespace=namespace,
        name=name,
        sync_status="Synced",
        health_status="Healthy",
        auto_sync=True,
        parameters={"image.tag": tag},
        images=[f"{IMAGE}:{running}"] if running else [],
        annotations=POLICY,
    )
    return event("application", sid, minutes, **{**base, **fields})


def released(version="0.3.0", *, build: str | None = "success", pushed=True, app=True) -> Release:
    """The application on v0.2.9; v`version` tagged (and built and pushed, as asked)."""
    tag = f"v{version}"
    events = [
        *([application("app-old", -10)] if app else []),
        commit(),
        event(
            "release_pr",
            "pr",
            2,
            repository=REPO,
            number=100,
            title=f"chore: release {version}",
            version=version,
            state="merged",
            labels=["autorelease: tagged"],
        ),
        event("release", "rel", 10, repository=REPO, version=version, tag=tag),
    ]
    if build:
        status = "in_progress" if build == "running" else "completed"
        conclusion = None if build == "running" else build
        jobs = []
        if build == "failure":
            jobs = [
                {
                    "id": 1,
                    "name": "build",
                    "status": "completed",
                    "conclusion": "failure",
                    "url": "https://github.com/5dlabs/cto/actions/runs/5000/job/1",
                    "steps": [
                        {
                            "number": 1,
                            "name": "Checkout",
                            "status": "completed",
                            "conclusion": "success",
                        },
                        {
                            "number": 2,
                            "name": "Push image",
                            "status": "completed",
                            "conclusion": "failure",
                        },
                    ],
                }
            ]
        events.append(
            event(
                "build",
                f"b-{build}",
                11,
                repository=REPO,
                run_id=5000,
                workflow="binaries-release",
                status=status,
                conclusion=conclusion,
                version=version,
                jobs=jobs,
            )
        )
    if pushed:
        events.append(
            event("image_push", "push", 15, image=IMAGE, tag=tag, digest="sha256:" + "ab" * 32)
        )
    for e in events:
        ingest(e)
    return Release.objects.get(version=version)


def explained(release: Release, who, application: str = APP) -> dict:
    token = ApiToken.issue(user=who, name="tests")[1]
    response = Client().get(
        f"/api/releases/{release.pk}/explain",
        {"application": application},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"verdict", "stage", "code", "message", "fix", "eta", "checks"}
    first = next((c for c in body["checks"] if c["status"] != "pass"), body["checks"][-1])
    assert (first["stage"], first["code"]) == (body["stage"], body["code"])
    return body


def says(body: dict, verdict: str, stage: int, code: str, *words: str) -> None:
    assert (body["verdict"], body["stage"], body["code"]) == (verdict, stage, code), body
    for word in words:
        assert word in body["message"], body["message"]


# --- stages 1-3 ---------------------------------------------------------------------------


def test_commits_release_please_skips_are_named(bob):
    ingest(application("app", 0))
    ingest(commit("c1", "update the readme"))
    ingest(
        event(
            "release_plan",
            "plan",
            1,
            repository=REPO,
            head_sha=b"c1".hex() * 10,
            next_version=None,
            ignored=[
                {
                    "sha": "6331" * 10,
                    "subject": "update the readme",
                    "reason": "not a conventional commit",
                }
            ],
        )
    )
    body = explained(Release.objects.get(), bob)
    says(body, "blocked", 1, "commits_skipped", "Release Please skips")
    assert any("update the readme" in e for e in body["checks"][0]["evidence"])


def test_no_release_pr_long_after_the_merge(bob):
    ingest(application("app", 0))
    ingest(commit())
    says(explained(Release.objects.get(), bob), "blocked", 2, "no_release_pr", "No Release PR")


@pytest.fixture
def github(settings):
    with stand_in() as stub:
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_TOKEN = "ghs_test"
        settings.GITHUB_PAUSE = False
        settings.GITHUB_REPOSITORIES = [REPO]
        yield stub


def merged_pending_pr(stub, number=41, version="0.2.9") -> None:
    """GitHub holds v`version` released, and its Release PR merged but still `pending`."""
    pr = example("pulls")[0]
    pulls = [
        {
            **pr,
            "number": number,
            "title": f"chore(main): release {version}",
            "state": "closed",
            "merged_at": "2026-11-27T09:00:00Z",
            "closed_at": "2026-11-27T09:00:00Z",
            "labels": [{"name": "autorelease: pending"}],
            "head": {**pr["head"], "ref": "release-please--branches--main"},
        }
    ]
    release = {
        **example("releases")[0],
        "tag_name": f"v{version}",
        "name": f"v{version}",
        "draft": False,
        "prerelease": False,
        "published_at": "2026-11-27T09:01:00Z",
    }
    stub.repository(REPO, pulls=pulls, releases=[release], tags=[], commits=[])


def test_a_merged_release_pr_still_pending_blocks_the_next_one(bob, github):
    merged_pending_pr(github)
    poll(REPO, sink=LocalSink(), store=PollStates())
    old = Release.objects.get(version="0.2.9")
    assert (old.pr_state, old.pr_labels) == ("merged", ["autorelease: pending"])
    ingest(application("app", 0))
    ingest(commit())
    pending = Release.objects.get(released_at__isnull=True)
    body = explained(pending, bob)
    says(body, "blocked", 2, "release_pr_label_pending", "#41", "autorelease: pending")
    assert "Relabel #41" in body["fix"]


# --- stage 4 ------------------------------------------------------------------------------


def test_a_tag_without_a_build(bob):
    release = released(build=None, pushed=False)
    says(explained(release, bob), "blocked", 4, "no_build", "GITHUB_TOKEN")


def test_a_failed_build_names_its_job_and_step(bob):
    release = released(build="failure", pushed=False)
    body = explained(release, bob)
    says(body, "blocked", 4, "build_failed", "job 'build'", "step 'Push image'")
    assert "https://github.com/5dlabs/cto/actions/runs/5000/job/1" in body["checks"][-1]["evidence"]


def test_a_running_build(bob):
    release = released(build="running", pushed=False)
    says(explained(release, bob), "on_its_way", 4, "build_running", "in progress")


@pytest.fixture
def registry_app(anonymous_registry, settings):
    """cto-controller following an image in the real registry on 127.0.0.1."""
    image = anonymous_registry.image("5dlabs/controller")
    settings.REGISTRY_IMAGES = [image]
    policy = {k: v.replace(IMAGE, image) for k, v in POLICY.items()}
    ingest(application("app-reg", -5, annotations=policy, images=[f"{image}:v0.2.9"]))
    return image


def test_a_tag_the_registry_does_not_have(bob, registry_app, anonymous_registry, pusher):
    release = released(pushed=False, app=False)
    body = explained(release, bob)
    says(body, "blocked", 4, "tag_not_in_registry", "is not in the registry", registry_app)

    pusher(anonymous_registry).image("5dlabs/controller", "v0.3.0")
    explainer.forget_registry_answers()
    body = explained(release, bob)
    assert [c for c in body["checks"] if c["code"] == "tag_not_in_registry"][0]["status"] == "pass"
    says(body, "on_its_way", 5, "updater_waiting", "next check")


# --- stage 5 ------------------------------------------------------------------------------


def test_a_tag_the_policy_rejects_gives_the_policys_reason(bob):
    narrow = {
        **POLICY,
        "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v0\.2\.[0-9]+$",
    }
    release = released()
    ingest(application("app-narrow", 20, annotations=narrow))
    body = explained(release, bob)
    says(body, "blocked", 5, "tag_rejected_by_policy", "v0.3.0")
    assert "allow" in body["message"].lower() or "match" in body["message"].lower()


def updater_deployment(sid: str, minutes: float, *, ready: int, version="v0.15.2") -> dict:
    return event(
        "updater_deployment",
        sid,
        minutes,
        namespace="argocd",
        name="argocd-image-updater",
        image=f"quay.io/argoprojlabs/argocd-image-updater:{version}",
        version=version,
        replicas_desired=1,
        replicas_ready=ready,
        rollout_complete=bool(ready),
    )


def test_an_updater_with_no_ready_pod(bob):
    release = released()
    ingest(updater_deployment("u0", 20, ready=0))
    says(explained(release, bob), "blocked", 5, "updater_not_running", "0/1 pods ready")


def test_annotations_a_v1_updater_ignores(bob):
    release = released()
    ingest(updater_deployment("u1", 20, ready=1, version="v1.3.0"))
    body = explained(release, bob)
    says(body, "blocked", 5, "updater_not_configured", "useAnnotations")


UPDATER_LOG = [
    'time="2026-11-28T10:00:00Z" level=info msg="starting" app="argocd-image-updater: v0.15.2" interval="15s"',
    'time="2026-11-28T10:20:00Z" level=info msg="Starting image update cycle, considering 1 annotated application(s) for update"',
    'time="2026-11-28T10:20:01Z" level=error msg="Could not get tags from registry: Get \\"https://ghcr.io/v2/5dlabs/controller/tags/list\\": unauthorized" '
    "alias=controller application=cto-controller image_name=5dlabs/controller image_tag=v0.2.9 registry=ghcr.io",
    'time="2026-11-28T10:20:02Z" level=info msg="Processing results: applications=1 images_considered=1 images_skipped=0 images_updated=0 errors=1"',
]


def read_updater_log(kube, lines) -> None:
    kube.seed_pod(
        "argocd",
        "argocd-image-updater-7d9f",
        {"app.kubernetes.io/name": "argocd-image-updater"},
        lines,
    )
    events = log_events(
        kube.api_client, "argocd", "argocd-image-updater", observed_at=datetime.now(UTC)
    )
    assert events
    for e in events:
        LocalSink().emit(e)


def test_registry_denials_in_the_updaters_log(bob, argocd_cluster):
    release = released()
    ingest(updater_deployment("u2", 19, ready=1))
    read_updater_log(argocd_cluster, UPDATER_LOG)
    body = explained(release, bob)
    says(body, "blocked", 5, "updater_registry_auth", "cannot read", IMAGE)
    assert any("unauthorized" in e for e in body["checks"][-1]["evidence"])


def test_waiting_for_the_updaters_next_check_has_an_eta(bob, argocd_cluster):
    release = released()
    ingest(updater_deployment("u3", 19, ready=1))
    read_updater_log(argocd_cluster, [UPDATER_LOG[0], UPDATER_LOG[1], UPDATER_LOG[3]])
    body = explained(release, bob)
    says(body, "on_its_way", 5, "updater_waiting", "every 15s")
    eta = datetime.fromisoformat(body["eta"])
    assert (
        eta > datetime.now(UTC)
        and (eta - datetime(2026, 11, 28, 10, 20, 2, tzinfo=UTC)).total_seconds() % 15 == 0
    )


# --- stage 6 ------------------------------------------------------------------------------


def test_a_choice_the_updater_did_not_write(bob):
    release = released()
    ingest(
        event(
            "updater",
            "upd",
            17,
            namespace="argocd",
            application="cto-controller",
            image=IMAGE,
            to_tag="v0.3.0",
        )
    )
    says(explained(release, bob), "blocked", 6, "parameter_not_written", "still says v0.2.9")


def test_a_choice_the_updater_did_not_write_read_from_its_kubernetes_event(bob, argocd_cluster):
    """The same situation from a real server: the updater's ImagesUpdated Event in the
    Kubernetes API, listed by cdportal's watcher, while the Application still says v0.2.9."""
    release = released()
    prefix = "argocd-image-updater.image-0"
    argocd_cluster.seed_object(
        "v1/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": "cto-controller.17a2b3c4d5e6f708",
                "namespace": "argocd",
                "resourceVersion": "1",
                "annotations": {
                    f"{prefix}/full-image-name": IMAGE,
                    f"{prefix}/image-name": IMAGE.rsplit("/", 1)[1],
                    f"{prefix}/old-tag": "v0.2.9",
                    f"{prefix}/new-tag": "v0.3.0",
                },
            },
            "involvedObject": {
                "kind": "Application",
                "namespace": "argocd",
                "name": "cto-controller",
            },
            "reason": "ImagesUpdated",
            "message": "Successfully updated application 'cto-controller'",
            "lastTimestamp": at(17),
            "count": 1,
        },
    )
    watcher = UpdaterEventWatcher(
        argocd_cluster.api_client, ["argocd"], sink=LocalSink(), request_timeout=1.0
    )
    assert watcher.step("argocd") == 1
    says(explained(release, bob), "blocked", 6, "parameter_not_written", "still says v0.2.9")


# --- stage 7: the Application as the watcher reads it from the Kubernetes API ----------------

KUBE_APP = "argocd/controller"


def kube_release(kube, **status) -> Release:
    """v1.5.0 released, built and written into argocd/controller (fixture 01) in the emulator,
    whose status is then what `status` says; the watcher records it."""
    obj = copy.deepcopy(load("01"))
    tag = status.pop("tag", "v1.5.0")
    for parameter in obj["spec"]["source"]["helm"]["parameters"]:
        if parameter["name"] == "image.tag":
            parameter["value"] = tag
    if "allow_tags" in status:
        obj["metadata"]["annotations"]["argocd-image-updater.argoproj.io/controller.allow-tags"] = (
            status.pop("allow_tags")
        )
    if status.pop("auto_sync", True) is False:
        obj["spec"]["syncPolicy"].pop("automated")
    obj["status"]["sync"]["status"] = status.pop("sync", "OutOfSync")
    obj["status"]["health"] = {
        "status": status.pop("health", "Healthy"),
        "message": status.pop("health_message", ""),
    }
    obj["status"]["summary"]["images"] = [f"{IMAGE}:{status.pop('running', 'v1.4.2')}"]
    if "operation" in status:
        obj["status"]["operationState"] = status.pop("operation")
    obj["metadata"]["resourceVersion"] = "900"
    kube.seed(obj)
    for e in (
        commit(),
        event("release", "rel", 10, repository=REPO, version="1.5.0", tag="v1.5.0"),
        event("image_push", "push", 15, image=IMAGE, tag="v1.5.0", digest="sha256:" + "cd" * 32),
    ):
        ingest(e)
    ApplicationWatcher(kube.api_client, ["argocd"], sink=LocalSink(), request_timeout=0.5).list(
        "argocd"
    )
    return Release.objects.get(version="1.5.0")


def test_auto_sync_off(bob, argocd_cluster):
    release = kube_release(argocd_cluster, auto_sync=False)
    assert Application.objects.get(name="controller").auto_sync is False
    says(explained(release, bob, KUBE_APP), "blocked", 7, "auto_sync_off", "auto-sync is off")


def operation(phase: str, message: str) -> dict:
    return {
        "phase": phase,
        "message": message,
        "startedAt": "2026-11-28T10:30:00Z",
        "operation": {"sync": {"revision": "abc"}, "initiatedBy": {"automated": True}},
    }


def test_a_sync_window_denies(bob, argocd_cluster):
    release = kube_release(
        argocd_cluster, operation=operation("Running", "Sync operation blocked by sync window")
    )
    says(explained(release, bob, KUBE_APP), "blocked", 7, "sync_window", "sync window")


def test_a_failed_sync_is_not_retried(bob, argocd_cluster):
    failed = {
        **operation("Failed", "one or more objects failed to apply (dry run)"),
        "finishedAt": "2026-11-28T10:31:00Z",
    }
    release = kube_release(argocd_cluster, operation=failed)
    body = explained(release, bob, KUBE_APP)
    says(body, "blocked", 7, "sync_failed", "failed to apply", "does not retry")


def test_syncing(bob, argocd_cluster):
    release = kube_release(argocd_cluster)
    says(explained(release, bob, KUBE_APP), "on_its_way", 7, "syncing", "OutOfSync")


def test_degraded_with_the_resources_reason(bob, argocd_cluster):
    release = kube_release(
        argocd_cluster,
        sync="Synced",
        health="Degraded",
        health_message='Deployment "controller" exceeded its progress deadline',
        running="v1.5.0",
    )
    says(
        explained(release, bob, KUBE_APP),
        "blocked",
        7,
        "degraded",
        "exceeded its progress deadline",
    )


def test_live(bob, argocd_cluster):
    release = kube_release(argocd_cluster, sync="Synced", running="v1.5.0")
    body = explained(release, bob, KUBE_APP)
    says(body, "live", 7, "live", "v1.5.0 runs in argocd/controller")
    assert {c["status"] for c in body["checks"]} == {"pass"} and body["eta"] is None


# --- the contract's edges -------------------------------------------------------------------


@pytest.mark.parametrize(
    "release_id,application,status",
    [
        (999999, APP, 404),
        ("self", "argocd/nothing-here", 404),
        ("self", "not an app", 422),
        ("self", "", 422),
        ("self", None, 422),
        (2**70, APP, 422),
    ],
)
def test_unknown_releases_and_applications_are_clear_errors(bob, release_id, application, status):
    release = released()
    token = ApiToken.issue(user=bob, name="tests")[1]
    pk = release.pk if release_id == "self" else release_id
    params = {} if application is None else {"application": application}
    response = Client().get(
        f"/api/releases/{pk}/explain", params, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == status
    assert response.json()["detail"]
