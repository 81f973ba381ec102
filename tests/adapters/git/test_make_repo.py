"""The benchmark's repository generator, and the commit cache on the history it makes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gitrepos import git

from cdportal.adapters.git.repository import CommitCache, GitRepository, _walk

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from make_repo import build_repo


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> GitRepository:
    path = build_repo(tmp_path_factory.mktemp("gen") / "repo", commits=1200, tag_every=100, seed=7)
    return GitRepository(path)


def _version(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.removeprefix("v").split("."))


def test_it_builds_the_history_it_was_asked_for(generated):
    commits = generated.log()
    info = generated.history().info
    tags = sorted(generated.tags(), key=lambda t: t.date)
    merges = [c for c in commits if len(info[c.sha].parents) == 2]

    assert len(commits) == 1200
    assert 40 <= len(merges) <= 80 and all(m.files for m in merges)
    assert 10 <= len(tags) <= 12
    assert [_version(t.name) for t in tags] == sorted(_version(t.name) for t in tags)
    assert {t.sha for t in tags} <= {
        c.sha for c in commits if c.subject.startswith("chore(main): release")
    }
    annotated = git(generated.path, "for-each-ref", "--format=%(objecttype)", "refs/tags").split()
    assert {"tag", "commit"} == set(annotated)  # annotated and lightweight
    packages = {f.split("/src/")[0] for c in commits for f in c.files if "/src/" in f}
    assert {"crates/controller", "crates/agent", "crates/cli"} <= packages
    assert any(f.startswith("infra/charts/") for c in commits for f in c.files)
    assert any(f.startswith("docs/") for c in commits for f in c.files)
    messages = [c.message for c in commits]
    assert sum(m.split(":")[0].split("(")[0] in ("feat", "fix") for m in messages) > 500
    assert any("\r\n" in m for m in messages) and any("Closes #" in m for m in messages)


def test_it_is_reproducible(generated, tmp_path):
    again = GitRepository(build_repo(tmp_path / "again", commits=1200, tag_every=100, seed=7))

    assert again.head() == generated.head()


def test_the_cache_replays_git_logs_order_across_many_merges(generated):
    """Branch commits are dated between main's: the order is git's date walk, not ours."""
    history = generated.history()
    assert _walk(generated.head(), history.info) == [c.sha for c in history.commits]

    chain = generated.log(first_parent=True)
    git(generated.path, "branch", "scanned", chain[300].sha)
    cache = CommitCache(generated, rev="scanned")
    cache.scan()
    for step in (200, 120, 37, 1, 0):  # move the branch forward, as pushes would
        git(generated.path, "branch", "-f", "scanned", chain[step].sha)
        assert cache.scan() == generated.log(chain[step].sha)
    assert cache.commits_read == len(history.commits)
