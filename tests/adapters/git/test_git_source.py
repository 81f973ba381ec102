"""The git source feeds releases, commits and the next-release plan through the ingestion path."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from gitrepos import git

from cdportal.adapters.git.repository import CommitCache, GitRepository
from cdportal.adapters.git.source import GitSource, sync
from cdportal.core.conventional import Repo
from cdportal.pipeline.models import Commit, Component, Release
from cdportal.pipeline.sinks import LocalSink

pytestmark = pytest.mark.django_db

CONFIG = {
    "packages": {".": {"release-type": "simple", "bump-minor-pre-major": True}},
    "pull-request-title-pattern": "chore: release ${version}",
}


@pytest.fixture
def repo(work):
    """v0.1.0 and v0.2.0 released; one feature and one non-conventional commit since."""
    work.commit(
        "chore: setup",
        {
            "release-please-config.json": json.dumps(CONFIG),
            ".release-please-manifest.json": '{".": "0.2.0"}',
        },
    )
    work.commit("feat: first feature", {"a": "1"})
    git(work.path, "tag", "v0.1.0")
    work.commit("fix: first fix", {"a": "2"})
    work.commit("feat(api): second feature", {"b": "1"})
    git(work.path, "tag", "v0.2.0")
    work.commit("feat(api): unreleased feature", {"b": "2"})
    work.commit("update readme", {"README.md": "x"})
    return work


def source_for(work, **options):
    repository = GitRepository(work.path)
    return GitSource(
        repository,
        repository="acme/portal",
        github=Repo("acme", "portal"),
        cache=CommitCache(repository),
        **options,
    )


def test_it_records_releases_their_commits_and_the_plan(repo):
    report = sync(source_for(repo), LocalSink())
    assert report.recorded == {"commit": 6, "release": 2, "release_plan": 1}
    v1, v2 = Release.objects.filter(released_at__isnull=False).order_by("released_at")
    assert (v1.tag, v2.tag) == ("v0.1.0", "v0.2.0")
    assert sorted(c.message for c in v2.commits.all()) == [
        "feat(api): second feature",
        "fix: first fix",
    ]
    assert "### Features" in v2.changelog and "* **api:** second feature" in v2.changelog
    pending = Release.objects.get(released_at__isnull=True)
    assert pending.commits.count() == 2
    plan = Component.objects.get().plan
    assert (plan["next_version"], plan["pr_title"]) == ("0.3.0", "chore: release 0.3.0")
    assert plan["ignored"][0]["subject"] == "update readme"
    assert pending.title == "portal 0.3.0 (predicted)"


def test_a_rescan_with_no_new_commits_reads_nothing_and_records_nothing(repo):
    source = source_for(repo)
    sync(source, LocalSink())
    again = sync(source, LocalSink())
    assert again.commits_read == 0
    assert not again.recorded


def test_new_commits_are_read_alone_and_update_the_plan(repo, settings):
    source = source_for(repo)
    sync(source, LocalSink())
    repo.commit("feat!: drop the old API", {"c": "1"})
    report = sync(source, LocalSink())
    assert report.commits_read == 1
    assert report.recorded == {"commit": 1, "release_plan": 1}
    assert Component.objects.get().plan["next_version"] == "0.3.0"  # bump-minor-pre-major
    assert Commit.objects.get(message="feat!: drop the old API").breaking


def test_a_new_tag_turns_the_pending_commits_into_that_release(repo):
    source = source_for(repo)
    sync(source, LocalSink())
    git(repo.path, "tag", "v0.3.0")
    sync(source, LocalSink())
    v3 = Release.objects.get(version="0.3.0")
    assert v3.released_at is not None
    assert v3.commits.count() == 2
    assert not Release.objects.filter(released_at__isnull=True, commits__isnull=False).exists()


def test_only_recent_releases_bring_their_commits(repo):
    sync(source_for(repo, history_releases=1), LocalSink())
    assert Release.objects.get(version="0.1.0").commits.count() == 0
    assert Release.objects.get(version="0.2.0").commits.count() == 2


def test_the_changelog_release_please_wrote_wins_over_a_rendering(repo):
    written = "## [0.2.0](https://github.com/acme/portal/compare/v0.1.0...v0.2.0) (2026-01-01)\n\n\n### Features\n\n* as written\n"
    repo.commit("docs: changelog", {"CHANGELOG.md": "# Changelog\n\n" + written})
    sync(source_for(repo), LocalSink())
    assert "* as written" in Release.objects.get(version="0.2.0").changelog


def test_the_command_syncs_and_reports(repo):
    out = StringIO()
    call_command("sync-git", "--repo", str(repo.path), "--github", "acme/portal", stdout=out)
    assert (
        "acme/portal: read 6 commits from git; recorded 6 commit, 2 release, 1 release_plan"
        in out.getvalue()
    )


def test_the_command_needs_a_name_for_a_repository_without_origin(repo):
    with pytest.raises(CommandError, match="--repository or --github"):
        call_command("sync-git", "--repo", str(repo.path))


def test_the_command_refuses_a_broken_repository(tmp_path):
    with pytest.raises(CommandError, match="not a git repository"):
        call_command("sync-git", "--repo", str(tmp_path), "--repository", "a/b")


def test_the_command_mirrors_a_url(repo, tmp_path, settings):
    settings.GIT_CACHE_DIR = str(tmp_path / "cache")
    out = StringIO()
    call_command(
        "sync-git", "--repo", f"file://{repo.path}", "--repository", "acme/portal", stdout=out
    )
    assert "recorded 6 commit, 2 release, 1 release_plan" in out.getvalue()
    assert list((tmp_path / "cache").glob("*.commits.jsonl"))
