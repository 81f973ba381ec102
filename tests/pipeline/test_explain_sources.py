"""More of the explainer's situations with their signal read from the source's server: the
build (GitHub stand-in, read by the poller), the Image Updater's Deployment (Kubernetes
emulator, read by its watcher) and the commits Release Please skips (a real git repository,
read by the release engine's sync-git)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from github_stub import example, stand_in
from helpers import REPO
from kube_stub import FIXTURES
from test_explain_situations import application, explained, released, says

from cdportal.adapters.github.poller import poll
from cdportal.adapters.kubernetes.watchers import UpdaterDeploymentWatcher
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Release
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

pytestmark = pytest.mark.django_db

RUN_ID = 30433642


@pytest.fixture
def github(settings):
    with stand_in() as stub:
        settings.GITHUB_API_URL = stub.url
        settings.GITHUB_TOKEN = "ghs_test"
        settings.GITHUB_PAUSE = False
        settings.GITHUB_REPOSITORIES = [REPO]
        settings.GITHUB_BUILD_WORKFLOW = "binaries-release.yaml"
        yield stub


def serve_release_and_build(stub, *, status: str, conclusion: str | None = None) -> None:
    release = {
        **example("releases")[0],
        "tag_name": "v0.3.0",
        "name": "v0.3.0",
        "draft": False,
        "prerelease": False,
        "published_at": "2026-11-28T10:10:00Z",
    }
    body = example("workflow-runs")
    run = body["workflow_runs"][0]
    run.update(
        id=RUN_ID,
        name="binaries-release",
        path=".github/workflows/binaries-release.yaml@main",
        status=status,
        conclusion=conclusion,
        head_branch="v0.3.0",
        updated_at="2026-11-28T10:15:00Z",
    )
    stub.repository(REPO, releases=[release], pulls=[], tags=[], commits=[], runs=body)
    jobs = example("jobs")
    job = jobs["jobs"][0]
    job.update(run_id=RUN_ID, status=status, conclusion=conclusion)
    if conclusion == "failure":
        job["steps"][-1].update(status="completed", conclusion="failure")
    stub.serve(f"/repos/{REPO}/actions/runs/{RUN_ID}/jobs", jobs)


def polled(stub) -> Release:
    ingest(application("app", 0))
    poll(REPO, sink=LocalSink(), store=PollStates())
    return Release.objects.get(version="0.3.0")


def test_a_build_running_on_github(bob, github):
    serve_release_and_build(github, status="in_progress")
    release = polled(github)
    says(explained(release, bob), "on_its_way", 4, "build_running", f"#{RUN_ID}", "in progress")


def test_a_build_that_failed_on_github_names_its_job_and_step(bob, github):
    serve_release_and_build(github, status="in_progress")
    release = polled(github)
    # Seen under way, then finished: the poller takes one last look at its jobs.
    serve_release_and_build(github, status="completed", conclusion="failure")
    poll(REPO, sink=LocalSink(), store=PollStates(), now=timezone.now() + timedelta(minutes=10))
    body = explained(release, bob)
    job = example("jobs")["jobs"][0]
    says(body, "blocked", 4, "build_failed", f"#{RUN_ID}", f"job '{job['name']}'")
    assert f"step '{job['steps'][-1]['name']}'" in body["message"]


def test_a_release_on_github_without_a_build(bob, github):
    serve_release_and_build(github, status="in_progress")
    github.serve(
        f"/repos/{REPO}/actions/workflows/binaries-release.yaml/runs",
        {"total_count": 0, "workflow_runs": []},
    )
    release = polled(github)
    says(explained(release, bob), "blocked", 4, "no_build", "GITHUB_TOKEN")


def test_an_updater_deployment_without_a_ready_pod(bob, argocd_cluster):
    deployment = yaml.safe_load((FIXTURES / "image-updater-deployment-v0.yaml").read_text())
    deployment["status"].update(readyReplicas=0, availableReplicas=0, unavailableReplicas=1)
    argocd_cluster.seed_object("apps/v1/deployments", deployment)
    release = released()
    name = deployment["metadata"]["name"]
    UpdaterDeploymentWatcher(
        argocd_cluster.api_client, "argocd", name=name, sink=LocalSink(), request_timeout=0.5
    ).list("argocd")
    says(explained(release, bob), "blocked", 5, "updater_not_running", "0/1 pods ready", name)


def test_commits_release_please_skips_read_from_a_real_git_repository(bob, work):
    """The release engine (sync-git) reads the repository: after v0.1.0 only a commit that is not
    conventional, so Release Please would open no Release PR; the explainer names it."""
    work.commit("feat: first feature", {"README.md": "hello\n"})
    work.run("tag", "v0.1.0")
    work.commit("update the readme", {"README.md": "hello again\n"})
    call_command("sync-git", "--repo", str(work.path), "--repository", REPO, stdout=StringIO())
    ingest(application("app", 0))
    pending = Release.objects.get(released_at__isnull=True)
    body = explained(pending, bob)
    says(body, "blocked", 1, "commits_skipped", "Release Please skips")
    assert any("update the readme" in item for item in body["checks"][0]["evidence"])


def test_no_release_pr_for_commits_github_holds(bob, github):
    """The default branch has a releasable commit (read by the poller) and GitHub shows no
    Release PR for it, long after."""
    commit = example("pull-commits")[0]
    commit["commit"]["message"] = "fix: all the bugs"
    github.repository(REPO, releases=[], pulls=[], tags=[], commits=[commit])
    ingest(application("app", 0))
    poll(REPO, sink=LocalSink(), store=PollStates())
    pending = Release.objects.get(released_at__isnull=True)
    says(explained(pending, bob), "blocked", 2, "no_release_pr", "No Release PR")


def test_annotations_the_v1_updater_in_the_cluster_ignores(bob, argocd_cluster):
    """The Image Updater's Deployment (v1.x, read by its watcher) ignores the application's
    annotations: no ImageUpdater resource selects it with useAnnotations."""
    deployment = yaml.safe_load((FIXTURES / "image-updater-deployment.yaml").read_text())
    argocd_cluster.seed_object("apps/v1/deployments", deployment)
    release = released()
    name = deployment["metadata"]["name"]
    UpdaterDeploymentWatcher(
        argocd_cluster.api_client, "argocd", name=name, sink=LocalSink(), request_timeout=0.5
    ).list("argocd")
    says(explained(release, bob), "blocked", 5, "updater_not_configured", "useAnnotations")


def test_a_tag_the_policy_in_the_clusters_annotations_rejects(bob, argocd_cluster):
    """argocd/controller (read by the Application watcher) allows only v1.4.x tags."""
    from test_explain_situations import KUBE_APP, kube_release

    release = kube_release(
        argocd_cluster,
        sync="Synced",
        tag="v1.4.2",
        allow_tags=r"regexp:^v1\.4\.[0-9]+$",
    )
    body = explained(release, bob, KUBE_APP)
    says(body, "blocked", 5, "tag_rejected_by_policy", "v1.5.0")
    assert any("allow-tags" in item for item in body["checks"][-1]["evidence"])
