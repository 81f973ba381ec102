"""What the release engine remembers between calls (a commit's parse, a past release) never
changes an answer: the results equal a fresh computation, and a changed input is computed
afresh. benchmarks/release_plan.py measures what it saves; nothing here is timed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cdportal.core.conventional import Commit, Repo
from cdportal.core.parsing import parse_commit, parse_commits
from cdportal.core.plan import History, plan, release_history
from cdportal.core.release_config import CommitSplit, default_config, load_config

DATES = {"v1.1.0": date(2024, 2, 1), "v1.0.0": date(2024, 1, 1)}


def sha(n: int) -> str:
    return f"{n:040x}"


def fresh(commits: list[Commit]) -> list[Commit]:
    """Equal commits that remember nothing."""
    return [Commit(c.sha, c.message, c.files, c.pull_request_body) for c in commits]


HISTORY = [  # newest first
    Commit(sha(6), "fix: after the release\n"),
    Commit(sha(5), "chore(main): release 1.1.0\n"),
    Commit(sha(4), "feat(api): second\n\nCloses #4\n"),
    Commit(sha(3), "chore(main): release 1.0.0\n"),
    Commit(sha(2), "fix: first\n\nfeat(cli): squashed in\n"),
    Commit(sha(1), "chore: initial\n"),
]
TAGS = {"v1.1.0": sha(5), "v1.0.0": sha(3)}


def test_a_commit_is_parsed_once_and_each_caller_gets_its_own_lists():
    commit = Commit(sha(1), "feat(api): x\n\nfix: y\n\nCloses #3\n")
    entries, skipped = parse_commit(commit)
    entries.append("not an entry")
    skipped.append("not skipped")

    again = parse_commit(commit)

    assert again == parse_commit(Commit(commit.sha, commit.message))
    assert len(again[0]) == 2 and again[1] == []
    assert again[0][0] is parse_commit(commit)[0][0]  # remembered, not parsed again
    assert parse_commits([commit, commit]).commits == again[0] * 2


def test_a_commit_made_from_another_is_parsed_afresh():
    commit = Commit(sha(1), "feat: x")
    parse_commit(commit)

    assert parse_commit(replace(commit, message="fix: y"))[0][0].type == "fix"
    assert commit == Commit(sha(1), "feat: x") and hash(commit) == hash(Commit(sha(1), "feat: x"))


def test_unparsable_commits_are_remembered_as_skipped():
    commit = Commit(sha(1), "WIP\n")

    assert (
        parse_commit(commit) == parse_commit(commit) == ([], parse_commit(Commit(sha(1), "WIP"))[1])
    )


def test_release_history_reuses_a_past_release_when_its_commits_are_the_same():
    config = default_config("1.1.0")
    first = release_history(
        config, History(commits=list(HISTORY), tags=TAGS), repo=None, dates=DATES
    )
    again = release_history(
        config, History(commits=list(HISTORY), tags=TAGS), repo=None, dates=DATES
    )
    unrelated = release_history(
        config, History(commits=fresh(HISTORY), tags=TAGS), repo=None, dates=DATES
    )

    assert [r.version for r in first] == ["1.1.0", "1.0.0"]
    assert again == first == unrelated
    assert all(a is b for a, b in zip(again, first))
    assert not any(a is b for a, b in zip(unrelated, first))


def test_a_commit_landing_inside_a_past_release_changes_that_release_only():
    config = default_config("1.1.0")
    before = release_history(
        config, History(commits=list(HISTORY), tags=TAGS), repo=None, dates=DATES
    )
    # Merged with an old date: git lists it between 1.0.0 and 1.1.0.
    landed = [*HISTORY[:3], Commit(sha(7), "fix: merged late\n"), *HISTORY[3:]]

    after = release_history(config, History(commits=landed, tags=TAGS), repo=None, dates=DATES)

    assert after == release_history(
        config, History(commits=fresh(landed), tags=TAGS), repo=None, dates=DATES
    )
    assert [c.subject for c in after[0].commits] == ["second", "merged late"]
    assert "merged late" in after[0].changelog and "merged late" not in before[0].changelog
    assert after[1] is before[1]


def test_another_repository_date_or_config_renders_the_release_again():
    history = History(commits=list(HISTORY), tags=TAGS)
    config = default_config("1.1.0")
    plain = release_history(config, history, repo=None, dates=DATES)

    linked = release_history(config, history, repo=Repo("acme", "widgets"), dates=DATES)
    later = release_history(config, history, repo=None, dates={**DATES, "v1.1.0": date(2024, 3, 1)})
    sections = replace(config.packages[0], changelog_sections=())
    hidden = release_history(replace(config, packages=(sections,)), history, repo=None, dates=DATES)

    assert "https://github.com/acme/widgets/issues/4" in linked[0].changelog
    assert "(2024-03-01)" in later[0].changelog and "(2024-02-01)" in plain[0].changelog
    assert "Features" in plain[0].changelog and "Features" not in hidden[0].changelog
    assert release_history(config, history, repo=None, dates=DATES) == plain


def test_the_next_release_after_the_history_is_the_same_as_alone():
    config = default_config("1.1.0")
    shared = History(commits=list(HISTORY), tags=TAGS)
    release_history(config, shared, repo=None, dates=DATES)

    assert plan(config, shared, repo=None, date=date(2024, 3, 1)) == plan(
        config, History(commits=fresh(HISTORY), tags=TAGS), repo=None, date=date(2024, 3, 1)
    )


def test_a_split_built_once_answers_like_packages_for_commit_each_time():
    config = load_config(
        '{"packages": {".": {}, "crates/a": {}, "crates/a/b": {"exclude-paths": ["crates/a/b/docs"]},'
        ' "tools/": {}}}',
        '{".": "1.0.0", "crates/a": "1.0.0", "crates/a/b": "1.0.0", "tools/": "1.0.0"}',
    )
    split = CommitSplit(config)
    paths = lambda files: [p.path for p in split(files)]

    assert split.fixed is None
    # A commit without files goes to every package, but an exclude-paths package drops it.
    assert paths(()) == [".", "crates/a"]
    assert paths(["crates/a/b/x.rs"]) == [".", "crates/a/b"]  # the deepest package wins
    assert paths(["crates/a/b/docs/x.md"]) == ["."]  # excluded there
    assert paths(["crates/a/x.rs", "README.md"]) == [".", "crates/a"]
    assert paths(["tools/x.py"]) == ["."]  # "tools/" is not normalized: it gets nothing
    assert CommitSplit(default_config("1.0.0")).fixed == default_config("1.0.0").packages
