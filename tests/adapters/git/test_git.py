"""cdportal.adapters.git.repository against real repositories that the tests build with the git CLI."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from gitrepos import T0, Work, git

import cdportal.adapters.git.repository as gitmod
from cdportal.adapters.git.errors import GitError
from cdportal.adapters.git.repository import (
    CommitCache,
    GitRepository,
    Tag,
    github_repo,
    mirror,
    redact,
)

BOB = "Bob Viewer <bob@example.com>"

TRICKY = (
    "feat(controller)!: réconcile ünïcode 🚀\r\n"
    "\r\n"
    "Windows line endings in the body.\r\n"
    "%x00%H%x00 looks like the format, and so does this:\r\n"
    "0123456789abcdef0123456789abcdef01234567\r\n"
    "\r\n"
    "commit 0123456789abcdef0123456789abcdef01234567\r\n"
    "BREAKING CHANGE: the CRD moved\r\n"
)


@pytest.fixture
def calls(monkeypatch):
    """Every git command the adapter runs, as argument lists."""
    seen: list[list[str]] = []

    class Popen(subprocess.Popen):  # subprocess.run starts its process through Popen too
        def __init__(self, args, *a, **k):
            seen.append(list(args))
            super().__init__(args, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    return seen


def _commands(calls: list[list[str]]) -> list[str]:
    """The git subcommand of each call (after `-C path`)."""
    return [c[3] if c[1] == "-C" else c[1] for c in calls]


@pytest.fixture
def released(work: Work) -> Work:
    """v1.0.0 (annotated) and v1.1.0 (lightweight) on a history that touches several packages,
    then a pull request merged with a merge commit and a fix on main."""
    work.commit(
        "chore: initial commit", {"README.md": "hello\n", "crates/controller/Cargo.toml": "a\n"}
    )
    work.commit(
        "feat(controller): add reconcile loop\n\nCloses #12",
        {"crates/controller/src/lib.rs": "fn main() {}\n"},
    )
    work.run("tag", "-a", "v1.0.0", "-m", "Release v1.0.0")
    work.commit("fix(charts): values", {"infra/charts/controller/values.yaml": "replicas: 2\n"})
    work.run("tag", "v1.1.0")
    work.run("checkout", "-q", "-b", "feature")
    work.commit("feat(agent): tools", {"crates/agent/src/tools.rs": "// tools\n"}, author=BOB)
    work.commit("docs: describe tools", {"docs/tools.md": "# Tools\n"}, author=BOB)
    work.run("checkout", "-q", "main")
    work.commit(
        "fix(controller): retry", {"crates/controller/src/lib.rs": "fn main() { retry() }\n"}
    )
    work.merge("feature", "Merge pull request #7 from acme/feature\n\nfeat(agent): tools")
    return work


# --- reading commits ------------------------------------------------------------------------------


def test_it_lists_commits_newest_first_with_the_files_they_touch(released):
    commits = GitRepository(released.path).log()

    assert [c.subject for c in commits] == [
        "Merge pull request #7 from acme/feature",
        "fix(controller): retry",
        "docs: describe tools",
        "feat(agent): tools",
        "fix(charts): values",
        "feat(controller): add reconcile loop",
        "chore: initial commit",
    ]
    assert commits[0].sha == released.head() and len(commits[0].sha) == 40
    assert commits[1].files == ("crates/controller/src/lib.rs",)
    assert commits[4].files == ("infra/charts/controller/values.yaml",)
    assert commits[6].files == ("README.md", "crates/controller/Cargo.toml")
    assert commits[5].message == "feat(controller): add reconcile loop\n\nCloses #12"
    assert all(c.pull_request_body is None for c in commits)


def test_a_merge_commit_has_the_files_of_the_branch_it_merged(released):
    merge = GitRepository(released.path).log()[0]

    # Compared with its first parent, as GitHub lists a merged pull request's files; main's own
    # change (crates/controller) is not in it.
    assert merge.files == ("crates/agent/src/tools.rs", "docs/tools.md")


def test_messages_come_back_verbatim_whatever_they_contain(work):
    sha = work.commit(TRICKY, {"a.txt": "a\n"})
    work.commit("", {"b.txt": "b\n"})  # an empty message
    work.commit("chore: no files at all")

    commits = GitRepository(work.path).log()

    assert [c.message for c in commits] == ["chore: no files at all", "", TRICKY.rstrip("\r\n")]
    assert commits[2].sha == sha and commits[2].files == ("a.txt",)
    assert commits[1].files == ("b.txt",) and commits[0].files == ()
    assert commits[2].subject == "feat(controller)!: réconcile ünïcode 🚀"


def test_odd_file_names_survive(work):
    names = {
        "dir with space/ü.txt": "1",
        "tab\there.txt": "2",
        'quote"d.txt': "3",
        "nl\nname.txt": "4",
    }
    work.commit("chore: odd names", names)

    assert sorted(GitRepository(work.path).log()[0].files) == sorted(names)


def test_a_rename_is_listed_under_its_new_path_only(work):
    work.commit("chore: add", {"crates/a/lib.rs": "a long enough file\n" * 20})
    work.run("mv", "crates/a", "crates/b")
    work.commit("refactor: move a to b")

    assert GitRepository(work.path).log()[0].files == ("crates/b/lib.rs",)


def test_since_lists_what_is_reachable_from_rev_but_not_from_since(released):
    repo = GitRepository(released.path)

    after = repo.log(since="v1.0.0")
    assert [c.subject for c in after][-1] == "fix(charts): values"
    assert len(after) == 5
    assert [c.subject for c in repo.log("v1.1.0", since="v1.0.0")] == ["fix(charts): values"]
    assert repo.log("v1.0.0", since="v1.1.0") == []


def test_first_parent_follows_main_only(released):
    subjects = [c.subject for c in GitRepository(released.path).log(first_parent=True)]

    assert "feat(agent): tools" not in subjects
    assert subjects[:2] == ["Merge pull request #7 from acme/feature", "fix(controller): retry"]


def test_history_gives_authors_dates_and_parents(released):
    history = GitRepository(released.path).history()
    merge, fix, docs = history.commits[:3]

    assert history.info[docs.sha].author_name == "Bob Viewer"
    assert history.info[docs.sha].author_email == "bob@example.com"
    assert history.info[fix.sha].author_name == "Alice Operator"
    assert history.info[merge.sha].parents == (fix.sha, docs.sha)
    authored = history.info[fix.sha].authored_at
    assert authored.utcoffset() == timedelta(hours=2)
    assert authored == datetime.fromtimestamp(history.info[fix.sha].committed, UTC)


def test_head_branch_and_ancestry(released):
    repo = GitRepository(released.path)
    first = repo.log()[-1].sha

    assert repo.head() == released.head()
    assert repo.branch() == "main"
    assert repo.is_ancestor(first, "HEAD") and repo.is_ancestor("HEAD", "HEAD")
    assert not repo.is_ancestor("HEAD", first)
    assert repo.resolve("v1.0.0") == repo.log("v1.0.0")[0].sha  # an annotated tag, peeled

    released.run("checkout", "-q", "--detach", "HEAD~1")
    assert repo.branch() is None


def test_it_reads_files_at_a_revision(released):
    repo = GitRepository(released.path)

    assert repo.read_file("v1.0.0", "crates/controller/src/lib.rs") == "fn main() {}\n"
    assert repo.read_file("HEAD", "crates/controller/src/lib.rs") == "fn main() { retry() }\n"
    assert repo.read_file("v1.0.0", "docs/tools.md") is None
    assert repo.read_file("HEAD", "crates") is None  # a directory is not a file
    with pytest.raises(GitError, match="unknown revision 'v9.9.9'"):
        repo.read_file("v9.9.9", "README.md")


def test_origin_url_hides_credentials(work):
    repo = GitRepository(work.path)
    assert repo.origin_url() is None

    work.run(
        "remote", "add", "origin", "https://x-access-token:ghs_secret@github.com/5dlabs/cto.git"
    )
    assert repo.origin_url() == "https://***@github.com/5dlabs/cto.git"


# --- tags -----------------------------------------------------------------------------------------


def test_tags_include_lightweight_and_annotated_ones_peeled_to_their_commit(released):
    repo = GitRepository(released.path)
    released.run("tag", "-a", "v1.2.0-rc.1", "-m", "annotated on the merge")
    released.run("tag", "-a", "nested", "-m", "a tag of a tag", "v1.0.0")
    released.run("tag", "a-tree", "HEAD^{tree}")

    tags = {t.name: t for t in repo.tags()}

    assert set(tags) == {"v1.0.0", "v1.1.0", "v1.2.0-rc.1", "nested"}  # the tree's tag: skipped
    v100 = repo.resolve("v1.0.0")
    assert tags["v1.0.0"] == Tag("v1.0.0", v100, tags["v1.0.0"].date)
    assert tags["nested"].sha == v100
    assert tags["v1.1.0"].sha == repo.resolve("v1.1.0")
    assert tags["v1.2.0-rc.1"].sha == released.head()
    # The date of the tagged commit, not of the tag object.
    assert tags["v1.0.0"].date == datetime.fromtimestamp(T0 + 120, UTC)
    assert tags["v1.0.0"].date.utcoffset() == timedelta(hours=2)
    assert [t.name for t in repo.tags()] == sorted(tags)


def test_tags_cost_one_git_call(released, calls):
    repo = GitRepository(released.path)
    calls.clear()

    repo.tags()

    assert _commands(calls) == ["for-each-ref"]


# --- errors ---------------------------------------------------------------------------------------


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path, work):
    plain = tmp_path / "plain"
    plain.mkdir()

    with pytest.raises(GitError, match=f"not a git repository: {plain}") as raised:
        GitRepository(plain)
    assert raised.value.permanent
    with pytest.raises(GitError, match="not a git repository"):
        GitRepository(tmp_path / "missing")
    (work.path / "sub").mkdir()  # inside alice's work tree, but not its root
    with pytest.raises(GitError, match="not a git repository"):
        GitRepository(work.path / "sub")


def test_unknown_revisions_are_named(released):
    repo = GitRepository(released.path)

    for call in (
        lambda: repo.log("v9.9.9"),
        lambda: repo.log(since="v9.9.9"),
        lambda: repo.resolve("v9.9.9"),
        lambda: repo.is_ancestor("HEAD", "v9.9.9"),
    ):
        with pytest.raises(GitError, match=r"^unknown revision 'v9.9.9'$"):
            call()


def test_a_revision_cannot_smuggle_an_option(released, tmp_path):
    repo = GitRepository(released.path)

    with pytest.raises(GitError, match="unknown revision"):
        repo.log(f"--output={tmp_path / 'x'}")
    with pytest.raises(GitError, match="unknown revision"):
        repo.log(since="--all")
    assert not (tmp_path / "x").exists()


def test_an_empty_repository_says_it_has_no_commits(work):
    repo = GitRepository(work.path)

    for call in (repo.head, repo.log, lambda: CommitCache(repo).scan()):
        with pytest.raises(GitError, match="^the repository has no commits$"):
            call()
    assert repo.tags() == []
    assert repo.branch() == "main"


def test_it_says_when_git_is_not_installed(work, monkeypatch, tmp_path):
    work.commit("chore: x")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(GitError, match="^git is not installed$") as raised:
        GitRepository(work.path)
    assert raised.value.permanent
    with pytest.raises(GitError, match="^git is not installed$"):
        mirror(str(work.path), tmp_path / "m")


# --- URLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("git@github.com:5dlabs/cto.git", ("5dlabs", "cto")),
        ("git@github.com:5dlabs/cto", ("5dlabs", "cto")),
        ("https://github.com/5dlabs/cto", ("5dlabs", "cto")),
        ("https://github.com/5dlabs/cto.git", ("5dlabs", "cto")),
        ("https://github.com/5dlabs/cto/", ("5dlabs", "cto")),
        ("https://x-access-token:ghs_x@github.com/5dlabs/cto.git", ("5dlabs", "cto")),
        ("ssh://git@github.com/5dlabs/cto.git", ("5dlabs", "cto")),
        ("ssh://git@github.com:22/5dlabs/cto.git", ("5dlabs", "cto")),
        ("git://github.com/5dlabs/cto.git", ("5dlabs", "cto")),
        ("https://github.acme.corp/platform/cd.portal.git", ("platform", "cd.portal")),
        ("git@github.acme.corp:platform/portal.git", ("platform", "portal")),
        ("https://gitlab.com/group/project", None),
        ("https://github.com/5dlabs/cto/tree/main", None),
        ("https://github.com/5dlabs", None),
        ("file:///srv/git/5dlabs/cto.git", None),
        ("/srv/git/5dlabs/cto.git", None),
        ("../cto", None),
        ("", None),
    ],
)
def test_github_repo_reads_owner_and_name_from_remotes(url, expected):
    assert github_repo(url) == expected


def test_redact_hides_every_credential():
    assert redact("https://user:token@host/x") == "https://***@host/x"
    assert redact("fatal: unable to access 'https://ghp_abc@github.com/o/r.git/': 403") == (
        "fatal: unable to access 'https://***@github.com/o/r.git/': 403"
    )
    assert redact("git@github.com:o/r.git") == "git@github.com:o/r.git"


# --- mirrors --------------------------------------------------------------------------------------


def test_a_mirror_follows_its_upstream(released, tmp_path):
    cache_dir = tmp_path / "mirrors"
    local = mirror(str(released.path), cache_dir)

    assert local.path.parent == cache_dir and local.path.name.endswith(".git")
    assert local.head() == released.head() and local.branch() == "main"
    assert {t.name for t in local.tags()} == {"v1.0.0", "v1.1.0"}
    assert local.log() == GitRepository(released.path).log()

    released.commit("feat(cli): new command", {"crates/cli/src/main.rs": "fn main() {}\n"})
    released.run("tag", "v1.2.0")
    released.run("tag", "-d", "v1.1.0")
    released.run("branch", "-q", "-D", "feature")

    again = mirror(str(released.path), cache_dir)

    assert again.path == local.path
    assert again.head() == released.head()
    assert {t.name for t in again.tags()} == {"v1.0.0", "v1.2.0"}  # --prune dropped v1.1.0
    assert git(again.path, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"
    assert again.log()[0].files == ("crates/cli/src/main.rs",)
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(
        [local.path.name, local.path.stem + ".lock"]
    )


def test_a_file_url_works_and_is_a_different_mirror(released, tmp_path):
    by_path = mirror(str(released.path), tmp_path / "m")
    by_url = mirror(released.path.as_uri(), tmp_path / "m")

    assert by_url.path != by_path.path
    assert by_url.head() == released.head()


def test_concurrent_mirrors_of_one_url_share_one_clone(released, tmp_path):
    results, errors = [], []

    def clone():
        try:
            results.append(mirror(str(released.path), tmp_path / "m").path)
        except GitError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=clone) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and len(set(results)) == 1
    assert GitRepository(results[0]).head() == released.head()


def test_a_failed_clone_leaves_nothing_and_hides_the_token(tmp_path):
    cache_dir = tmp_path / "m"

    with pytest.raises(GitError) as raised:
        mirror("https://alice:ghp_verysecret@127.0.0.1:9/acme/cto.git", cache_dir)

    message = str(raised.value)
    assert message.startswith("could not clone https://***@127.0.0.1:9/acme/cto.git: ")
    assert "ghp_verysecret" not in message and "alice" not in message
    assert [p.suffix for p in cache_dir.iterdir()] == [".lock"]  # no half-made mirror


def test_a_stale_temporary_clone_is_cleaned_up(released, tmp_path):
    cache_dir = tmp_path / "m"
    first = mirror(str(released.path), cache_dir)
    stale = cache_dir / f"{first.path.stem}.tmp-crashed"
    stale.mkdir()

    mirror(str(released.path), cache_dir)

    assert not stale.exists()


def test_credentials_are_sent_as_a_header_never_written_to_the_mirror():
    clean, env = gitmod._split_credentials("https://x-access-token:ghs%2Fsecret@github.com/o/r.git")

    assert clean == "https://github.com/o/r.git"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/o/r.git.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hzL3NlY3JldA=="
    assert gitmod._split_credentials("git@github.com:o/r.git") == ("git@github.com:o/r.git", {})


# --- incremental scanning -------------------------------------------------------------------------


def test_a_rescan_reads_only_new_commits(released, calls):
    repo = GitRepository(released.path)
    cache = CommitCache(repo)

    assert cache.scan() == repo.log()
    assert cache.commits_read == 7

    calls.clear()
    again = cache.scan()
    assert _commands(calls) == ["rev-parse"]
    assert again == repo.log() and cache.commits_read == 7

    released.commit("fix: one", {"a": "1"})
    released.commit("fix: two", {"b": "2"})
    calls.clear()
    commits = cache.scan()

    assert cache.commits_read == 9
    assert _commands(calls) == ["rev-parse", "log"]
    assert [c.subject for c in commits[:3]] == [
        "fix: two",
        "fix: one",
        "Merge pull request #7 from acme/feature",
    ]
    assert commits == repo.log()


def test_new_commits_land_where_git_log_would_put_them(work):
    """A branch whose commits are older than main's: git log interleaves them by date."""
    base = work.commit("chore: base", {"a": "0"}, at=T0)
    work.run("checkout", "-q", "-b", "topic")
    work.commit("feat: topic one", {"t1": "1"}, at=T0 + 100)
    work.commit("feat: topic two", {"t2": "2"}, at=T0 + 300)
    work.run("checkout", "-q", "main")
    work.commit("fix: main one", {"m1": "1"}, at=T0 + 200)
    work.commit("fix: main two", {"m2": "2"}, at=T0 + 400)
    repo = GitRepository(work.path)
    cache = CommitCache(repo)
    cache.scan()

    work.merge("topic", "Merge branch 'topic'", at=T0 + 500)
    commits = cache.scan()

    assert cache.commits_read == 3 + 3  # main first, then the merge and the topic
    assert (
        [c.subject for c in commits]
        == [c.subject for c in repo.log()]
        == [
            "Merge branch 'topic'",
            "fix: main two",
            "feat: topic two",
            "fix: main one",
            "feat: topic one",
            "chore: base",
        ]
    )
    assert commits[-1].sha == base


def test_clock_skew_does_not_confuse_the_incremental_order(work):
    """A root commit dated after its children, merged again later: git log lists it early."""
    root = work.commit("chore: root from a machine with a wrong clock", {"a": "0"}, at=T0 + 1000)
    work.commit("feat: a", {"a": "1"}, at=T0 + 100)
    work.commit("feat: b", {"b": "1"}, at=T0 + 200)
    repo = GitRepository(work.path)
    cache = CommitCache(repo)
    cache.scan()
    work.run("checkout", "-q", "-b", "side", root)
    work.commit("fix: side", {"s": "1"}, at=T0 + 300)
    work.run("checkout", "-q", "main")
    work.merge("side", "Merge branch 'side'", at=T0 + 400)

    assert cache.scan() == repo.log()
    assert len(cache.commits) == 5


def test_a_rewritten_history_keeps_what_is_still_reachable(released):
    repo = GitRepository(released.path)
    cache = CommitCache(repo)
    cache.scan()
    dropped = repo.log()[:2]

    released.run("reset", "-q", "--hard", "HEAD~2")  # drop the merge and the fix
    released.commit("fix: instead", {"c": "3"})
    commits = cache.scan()

    assert cache.commits_read == 7 + 1
    assert commits == repo.log()
    assert not {c.sha for c in dropped} & {c.sha for c in commits}
    assert set(cache.info) == {c.sha for c in commits}


def test_when_the_old_head_is_gone_it_reads_everything_again(released):
    repo = GitRepository(released.path)
    cache = CommitCache(repo)
    cache.scan()

    released.run("reset", "-q", "--hard", "HEAD~2")
    released.run("branch", "-q", "-D", "feature")
    released.commit("fix: instead", {"c": "3"})
    released.run("reflog", "expire", "--expire=now", "--all")
    released.run("gc", "-q", "--prune=now")
    commits = cache.scan()

    assert cache.commits_read == 7 + 4
    assert commits == repo.log()


def test_the_cache_file_spares_a_new_process_the_full_read(released, tmp_path):
    path = tmp_path / "cache" / "commits.jsonl"
    repo = GitRepository(released.path)
    first = CommitCache(repo, path=path)
    first.scan()

    second = CommitCache(repo, path=path)
    assert second.scan() == repo.log() and second.commits_read == 0
    assert second.info == first.info

    released.commit("fix: later", {"z": "1"})
    second.scan()
    assert second.commits_read == 1
    assert len(path.read_text().splitlines()) == 5  # header, rows, head, then the appended pair

    third = CommitCache(repo, path=path)
    assert third.scan() == repo.log() and third.commits_read == 0


def test_a_damaged_cache_file_is_ignored(released, tmp_path):
    path = tmp_path / "commits.jsonl"
    repo = GitRepository(released.path)
    CommitCache(repo, path=path).scan()

    with path.open("a") as out:
        out.write('[["cut sho')  # a crash mid-append
    assert CommitCache(repo, path=path).scan() == repo.log()

    path.write_text("not json\n")
    fresh = CommitCache(repo, path=path)
    assert fresh.scan() == repo.log() and fresh.commits_read == 7

    lines = path.read_text().splitlines()
    rows = json.loads(lines[1])
    path.write_text("\n".join([lines[0], json.dumps(rows[1:]), lines[2]]) + "\n")  # head missing
    assert CommitCache(repo, path=path).scan() == repo.log()


def test_the_cache_answers_since_and_first_parent_from_memory(released, calls):
    repo = GitRepository(released.path)
    cache = CommitCache(repo)
    cache.scan()
    calls.clear()

    since = cache.log(since="v1.0.0")
    since_first_parent = cache.log(since="v1.1.0", first_parent=True)
    first_parent = cache.log(first_parent=True)

    assert set(_commands(calls)) == {"rev-parse"}  # the head and the tags, nothing read
    assert since == repo.log(since="v1.0.0")
    assert since_first_parent == repo.log(since="v1.1.0", first_parent=True)
    assert first_parent == repo.log(first_parent=True)
