"""`snapshot(unreleased_only=True)` — `git log` read only down to each package's latest release —
plans exactly what the whole history plans: the same commits, warnings, versions and changelogs.
Checked on repositories the test builds with branches merged out of date order, releases tagged
on the Release PR's merge or by hand on an older commit, two packages, and one without a tag."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from gitrepos import T0, Work, git

from cdportal.adapters.git.release_source import snapshot
from cdportal.adapters.git.repository import GitRepository
from cdportal.core.plan import plan

MESSAGES = ["feat: a", "fix: b", "chore: c", "docs: d", "feat!: e", "perf: f", "refactor: g", "wip"]
PACKAGES = ("services/api", "services/web")


def build(path, seed: int) -> Work:
    rng = random.Random(seed)
    work = Work(path)
    versions = {"services/api": "1.0.0", "services/web": "0.3.0"}

    def configure() -> None:
        work.commit(
            "chore: configure",
            {
                "release-please-config.json": json.dumps(
                    {
                        "packages": {
                            p: {"release-type": "simple", "component": p.rsplit("/", 1)[1]}
                            for p in PACKAGES
                        }
                    }
                ),
                ".release-please-manifest.json": json.dumps(versions),
            },
        )

    configure()
    for p in PACKAGES:
        git(work.path, "tag", f"{p.rsplit('/', 1)[1]}-v{versions[p]}")
    for step in range(rng.randint(12, 24)):
        roll = rng.random()
        package = rng.choice(PACKAGES)
        if roll < 0.15:  # a branch merged later, its commits dated before main's newest
            git(work.path, "checkout", "-q", "-b", f"topic{step}")
            for _ in range(rng.randint(1, 3)):
                work.commit(
                    rng.choice(MESSAGES),
                    {f"{package}/t{step}-{rng.random()}": "x"},
                    at=work.clock - rng.randint(1000, 5000),
                )
            git(work.path, "checkout", "-q", "main")
            work.commit(rng.choice(MESSAGES), {f"{package}/m{step}": "x"})
            work.merge(f"topic{step}", f"Merge topic{step}")
        elif (
            roll < 0.3
        ):  # a release of one package: on its merge commit, or by hand on an older one
            old = git(work.path, "rev-parse", "HEAD~1") if rng.random() < 0.3 else None
            major, minor, patch = map(int, versions[package].split("."))
            versions[package] = f"{major}.{minor}.{patch + 1}"
            configure()
            git(
                work.path,
                "tag",
                f"{package.rsplit('/', 1)[1]}-v{versions[package]}",
                *([old] if old else []),
            )
        else:
            work.commit(rng.choice(MESSAGES), {f"{package}/f{step}": str(rng.random())})
    return work


def plans(repo, **options) -> dict:
    snap = snapshot(GitRepository(repo), **options)
    return plan(snap.config, snap.history, repo=snap.repo, date=date(2026, 11, 29)).to_json()


@pytest.mark.parametrize("seed", range(8))
def test_reading_down_to_the_releases_plans_what_the_whole_history_plans(
    tmp_path, git_identity, seed
):
    work = build(tmp_path / "repo", seed)
    assert plans(work.path, unreleased_only=True) == plans(work.path)


def test_it_reads_less_of_the_history(tmp_path, git_identity):
    work = build(tmp_path / "repo", 3)
    git_repo = GitRepository(work.path)
    everything = git_repo.log("HEAD")
    snap = snapshot(git_repo, unreleased_only=True)
    assert len(snap.history.commits) < len(everything)
    assert [c.sha for c in snap.history.commits] == [
        c.sha for c in everything[: len(snap.history.commits)]
    ]


def test_a_package_without_a_release_tag_reads_everything(tmp_path, git_identity):
    work = build(tmp_path / "repo", 1)
    git(work.path, "tag", "-d", "web-v0.3.0")
    # the manifest may name a newer web version; drop every web tag
    for tag in git(work.path, "tag", "--list", "web-v*").split():
        git(work.path, "tag", "-d", tag)
    snap = snapshot(GitRepository(work.path), unreleased_only=True)
    assert len(snap.history.commits) == len(GitRepository(work.path).log("HEAD"))
    assert plans(work.path, unreleased_only=True) == plans(work.path)


assert T0  # the builder's clock starts there


def simple_repo(work: Work, commits: int, config: dict) -> None:
    work.commit(
        "chore: configure",
        {
            "release-please-config.json": json.dumps(
                {"packages": {".": {"release-type": "simple"}}, **config}
            ),
            ".release-please-manifest.json": json.dumps({".": "1.0.0"}),
        },
    )
    for n in range(commits):
        work.commit(f"fix: change {n}", {"f": str(n)})


def test_release_please_reads_no_more_than_its_search_depth(work):
    simple_repo(
        work, 30, {"commit-search-depth": 10}
    )  # manifest says 1.0.0, but no tag: bootstrapping
    for options in ({}, {"unreleased_only": True}):
        (package,) = plans(work.path, **options)["components"]
        assert [c["subject"] for c in package["commits"]] == [
            f"change {n}" for n in range(29, 19, -1)
        ]
    snap = snapshot(GitRepository(work.path), unreleased_only=True)
    assert len(snap.history.commits) == 10 and not snap.history.complete
    (plan_,) = plan(snap.config, snap.history, repo=None, date=date(2026, 11, 29)).packages
    assert "Release Please reads at most 10 commits (commit-search-depth)" in " ".join(
        plan_.warnings
    )


def test_last_release_sha_ends_the_walk(work):
    simple_repo(work, 5, {})
    git(work.path, "tag", "v1.0.0", "HEAD~5")
    middle = git(work.path, "rev-parse", "HEAD~2")
    config = json.loads((work.path / "release-please-config.json").read_text())
    work.commit(
        "chore: pin",
        {"release-please-config.json": json.dumps({**config, "last-release-sha": middle})},
    )
    (package,) = plans(work.path)["components"]
    assert [c["subject"] for c in package["commits"]] == ["pin", "change 4", "change 3"]


def test_a_release_commit_that_does_not_touch_a_package_still_ends_the_walk(tmp_path, git_identity):
    """Release Please cuts the history where it found every release commit, then by path: a
    package whose release commit touched none of its files gets the commits down to there,
    not its whole history (what the planner did before it read as Release Please does)."""
    work = build(tmp_path / "repo", 0)
    snap = snapshot(GitRepository(work.path))
    (web,) = [
        p
        for p in plan(snap.config, snap.history, repo=None, date=date(2026, 11, 29)).packages
        if p.path == "services/web"
    ]
    since = snap.history.tags["web-v" + web.current_version]
    listed = {c.sha for c in web.commits}
    older = {c.sha for c in snap.history.commits[snap.history.position(since) :]}
    assert not listed & older
