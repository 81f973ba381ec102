"""cdportal.core.parsing reads messages as Release Please 17.1.3 does (rules 3, 4, 5, 8, 9, 10).

Every expectation below was checked against release-please 17.1.3's own parseConventionalCommits.
"""

import pytest

from cdportal.core.conventional import Commit, Note, Reference, Skipped
from cdportal.core.parsing import header, parse_commit, parse_commits

SHA = "a" * 40


def entries(message: str, **kwargs) -> list[tuple]:
    """(type, scope, subject, breaking) of each entry, in Release Please's order."""
    found, _ = parse_commit(Commit(SHA, message, **kwargs))
    return [(c.type, c.scope, c.subject, c.breaking) for c in found]


def only(message: str, **kwargs):
    found, _ = parse_commit(Commit(SHA, message, **kwargs))
    assert len(found) == 1, found
    return found[0]


def reasons(message: str, **kwargs) -> list[str]:
    return [s.reason for s in parse_commit(Commit(SHA, message, **kwargs))[1]]


# Rule 3: the type is kept as written; `feature:` is a type like any other.
@pytest.mark.parametrize(
    "message, expected",
    [
        ("FEAT: shout", [("FEAT", None, "shout", False)]),
        ("feature: alias", [("feature", None, "alias", False)]),
        ("Fix(API): mixed case", [("Fix", "API", "mixed case", False)]),
    ],
)
def test_it_keeps_the_type_as_written(message, expected):
    assert entries(message) == expected


# Rule 4: Release-As footers, case-insensitive, `v` allowed, stored without it.
@pytest.mark.parametrize(
    "message, release_as",
    [
        ("chore: release 2\n\nRelease-As: 2.0.0", "2.0.0"),
        ("chore: release 2\n\nrelease-as: v2.0.0", "2.0.0"),
        ("fix: y\n\nRELEASE-AS: V1.2.3-rc.1", "1.2.3-rc.1"),
        ("fix: y\n\nReviewed-by: Ann\nRelease-As: 1.0.0", "1.0.0"),
        ("fix: y\n\nRelease-As: 1.0.0\nthis line makes it body text", None),
        ("fix: y\nRelease-As: 1.0.0", "1.0.0"),
    ],
)
def test_it_reads_release_as_footers(message, release_as):
    assert entries(message)[-1][0] in ("chore", "fix")
    assert parse_commit(Commit(SHA, message))[0][-1].release_as == release_as


def test_a_release_as_footer_is_also_a_hidden_pseudo_commit_listed_first():
    found, _ = parse_commit(Commit(SHA, "chore: x\n\nRelease-As: v2.0.0"))
    assert [(c.type, c.subject, c.release_as) for c in found] == [
        ("Release-As", "v2.0.0", None),
        ("chore", "x", "2.0.0"),
    ]
    assert found[1].notes == (Note("RELEASE AS", "v2.0.0"),)


# Rule 5: reverts.
def test_a_revert_commit_keeps_the_reverted_header_as_its_subject():
    assert entries("revert: feat: add x") == [("revert", None, "feat: add x", False)]


def test_gits_default_revert_message_is_skipped_with_a_reason():
    message = 'Revert "feat: add x"\n\nThis reverts commit 0123456789abcdef.'
    assert entries(message) == []
    assert reasons(message) == ["git's default Revert message is not conventional"]


# Rule 8: squash messages, footers shaped like commits, nested commits, overrides, trailers.
@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "feat: a\n\nfix(api): b\n\nchore(deps): c",
            [("feat", None, "a", False), ("fix", "api", "b", False), ("chore", "deps", "c", False)],
        ),
        # GitHub's default squash body: bullets are not split off.
        ("feat: x (#12)\n\n* fix: a\n\n* feat: b", [("feat", None, "x (#12)", False)]),
        # Only the eleven lower-case types split; `Feat:` stays in the body.
        ("fix: a\n\nFeat: b\n\nmore text", [("fix", None, "a", False)]),
        # A `!` paragraph does not split either, but as the last paragraph it is a footer.
        ("fix: a\n\nfeat!: b", [("feat", None, "b", True), ("fix", None, "a", False)]),
        # Footer lines shaped `type(scope): text` become extra commits, listed first.
        ("fix: a\n\ndeps: bump x", [("deps", None, "bump x", False), ("fix", None, "a", False)]),
        (
            "chore: a\n\nchore(ci): b\nfix(x): c",
            [("chore", None, "a", False), ("fix", "x", "c", False), ("chore", "ci", "b", False)],
        ),
        ("Merge pull request #12 from o/feat-x\n\nfeat: x", [("feat", None, "x", False)]),
    ],
)
def test_it_splits_squash_messages(message, expected):
    assert entries(message) == expected
    assert {c.sha for c in parse_commit(Commit(SHA, message))[0]} == {SHA}


@pytest.mark.parametrize(
    "message",
    [
        "Merge pull request #12 from o/feat-x\n\nAdd the x feature",
        "Merge branch 'main' into feature/x",
        "Merge remote-tracking branch 'origin/main'",
    ],
)
def test_a_merge_commit_without_a_conventional_paragraph_is_skipped(message):
    found, skipped = parse_commit(Commit(SHA, message))
    assert found == []
    assert skipped == [Skipped(SHA, message.splitlines()[0], "merge commit")]


def test_the_merge_line_above_a_conventional_paragraph_is_reported_but_the_paragraph_counts():
    found, skipped = parse_commit(Commit(SHA, "Merge pull request #12 from o/x\n\nfeat: x"))
    assert [(c.type, c.subject) for c in found] == [("feat", "x")]
    assert [s.reason for s in skipped] == ["merge commit"]


def test_it_honours_nested_commits():
    message = (
        "chore: update\n\nBEGIN_NESTED_COMMIT\nfix(a): one\nEND_NESTED_COMMIT\n"
        "BEGIN_NESTED_COMMIT\nfeat(b)!: two\n\nBREAKING CHANGE: gone\nEND_NESTED_COMMIT"
    )
    assert entries(message) == [
        ("chore", None, "update", False),
        ("fix", "a", "one", False),
        ("feat", "b", "two", True),
    ]
    assert parse_commit(Commit(SHA, message))[0][2].breaking_notes == ["gone"]


def test_a_pull_request_override_replaces_the_message():
    body = "Intro text\n\nBEGIN_COMMIT_OVERRIDE\nfeat: a\n\nfix(b): c\nEND_COMMIT_OVERRIDE\nThanks"
    assert entries("Update things (#12)", pull_request_body=body) == [
        ("feat", None, "a", False),
        ("fix", "b", "c", False),
    ]


@pytest.mark.parametrize(
    "body", [None, "", "no override here", "BEGIN_COMMIT_OVERRIDE\n  \nEND_COMMIT_OVERRIDE"]
)
def test_without_a_non_empty_override_the_message_is_used(body):
    assert entries("fix: a", pull_request_body=body) == [("fix", None, "a", False)]


def test_trailers_become_pseudo_commits():
    message = (
        "fix: a\n\nCo-authored-by: Ann <ann@example.com>\nSigned-off-by: Bob <bob@example.com>"
    )
    assert entries(message) == [
        ("Co-authored-by", None, "Ann <ann@example.com>", False),
        ("Signed-off-by", None, "Bob <bob@example.com>", False),
        ("fix", None, "a", False),
    ]


# Rule 9: whitespace leniency and what does not parse.
@pytest.mark.parametrize(
    "message, expected",
    [
        ("  feat: leading space", ("feat", None, "leading space", False)),
        ("feat:no space", ("feat", None, "no space", False)),
        ("feat:   many spaces", ("feat", None, "many spaces", False)),
        ("feat(a b): scope with a space", ("feat", "a b", "scope with a space", False)),
        ("feat(web/api,core): x", ("feat", "web/api,core", "x", False)),
        ("fix-up: x", ("fix-up", None, "x", False)),
        ("feat(*): star scope", ("feat", "*", "star scope", False)),
    ],
)
def test_it_is_lenient_on_whitespace(message, expected):
    assert entries(message) == [expected]


@pytest.mark.parametrize(
    "message, reason",
    [
        ("feat : x", "space before the colon"),
        ("feat(x) : y", "space before the colon"),
        ("feat(): x", "empty scope `()`"),
        ("feat(x: y", "the scope's `(` is never closed"),
        ("feat(a)(b): x", "a second `(…)` after the scope"),
        ("feat!!: x", "`!` must be written once, right before the colon"),
        ("update readme", "not a conventional commit: no `type:` prefix"),
        ("Add feature: x", "not a conventional commit: no `type:` prefix"),
        (": x", "not a conventional commit: no type before the `:`"),
        ("(api): x", "not a conventional commit: no type before the `(`"),
    ],
)
def test_it_skips_what_does_not_parse_and_says_why(message, reason):
    found, skipped = parse_commit(Commit(SHA, message))
    assert found == []
    assert skipped == [Skipped(SHA, message, reason)]


def test_a_body_line_that_opens_a_scope_it_never_closes_sinks_the_whole_message():
    message = "fix(app): keep the ratio\n\nMath.round(1024 / (824/1024)) is what we use now"
    found, skipped = parse_commit(Commit(SHA, message))
    assert found == []
    assert "line 3 `Math.round(1024 / (824/1024))" in skipped[0].reason
    assert "never closed" in skipped[0].reason


def test_an_empty_message_is_skipped():
    assert parse_commit(Commit(SHA, "  \n ")) == ([], [Skipped(SHA, "", "empty message")])


# Rule 10: breaking changes.
@pytest.mark.parametrize(
    "message, notes",
    [
        ("feat!: drop node 14", ["drop node 14"]),
        ("feat(api)!: x", ["x"]),
        ("refactor: x\n\nBREAKING CHANGE: the API changed", ["the API changed"]),
        ("fix: x\n\nBREAKING-CHANGE: also accepted", ["also accepted"]),
        ("fix: x\n\nBREAKING CHANGE the words without a colon", []),
        ("fix: x\n\nbreaking change: lower case", []),
        ("fix: BREAKING CHANGE: in the subject", []),
        (
            "feat: x\n\nBREAKING CHANGE: the config file\nmoved to a new place\n\nmore text",
            ["the config file moved to a new place"],
        ),
        (
            (
                "feat: x\n\nBREAKING CHANGE: endpoints were removed\n#### Deleted Endpoints\n"
                "- endpoint 1\n- endpoint 2\n\nafter"
            ),
            [
                (
                    "endpoints were removed\n    #### Deleted Endpoints\n"
                    "    - endpoint 1\n    - endpoint 2"
                )
            ],
        ),
        ("feat: x\r\n\r\nBREAKING CHANGE: one\r\ntwo\r\n\r\nmore", ["one two"]),
        ("feat!: x\r\n\r\nCloses #1", ["x"]),
    ],
)
def test_it_finds_breaking_changes(message, notes):
    commit = parse_commit(Commit(SHA, message))[0][-1]
    assert commit.breaking_notes == notes
    assert commit.breaking == bool(notes)


# Footer references: only a footer whose last text is `#<digits>` (or `<word> #<digits>`).
@pytest.mark.parametrize(
    "message, references",
    [
        ("fix: a\n\nCloses #77", (Reference("Closes", "#", "77"),)),
        ("fix: a\n\nRefs: #12", (Reference("Refs", "#", "12"),)),
        (
            "fix: a\n\nFixes #1\nCloses #2",
            (Reference("Fixes", "#", "1"), Reference("Closes", "#", "2")),
        ),
        ("fix: a\n\nFixes #1, #2", ()),  # upstream keeps only a bare number
        ("fix: a\n\nCloses #77\nbody text after it", ()),  # not a footer block
        ("fix: a (#12)", ()),  # the subject is not searched
        ("fix: a\n\nBREAKING CHANGE: #9", (Reference(None, "#", "9"),)),
    ],
)
def test_it_reads_references_from_footers(message, references):
    assert parse_commit(Commit(SHA, message))[0][-1].references == references


# Quirks of the 17.1.3 parser, reproduced on purpose (each checked against it).
@pytest.mark.parametrize(
    "message, expected, notes",
    [
        # " #" is a separator like ":".
        ("fix #12 crash", [("fix", None, "12 crash", False)], []),
        # The breaking marker may be spelled out after a scope.
        ("feat(x)BREAKING CHANGE: y", [("feat", "x", "y", True)], ["y"]),
        # An indented footer continuation replaces the note instead of extending it.
        ("feat: x\n\nBREAKING CHANGE: first\n  second", [("feat", None, "x", True)], ["second"]),
        # An empty BREAKING CHANGE footer wipes the note of the `!`: no longer breaking.
        ("feat!: x\n\nBREAKING CHANGE:", [("feat", None, "x", False)], []),
        # BREAKING-CHANGE: in the middle of a body line still counts.
        ("fix: x\n\nsee BREAKING-CHANGE: y", [("fix", None, "x", True)], ["y"]),
    ],
)
def test_it_reproduces_the_parsers_quirks(message, expected, notes):
    assert entries(message) == expected
    assert parse_commit(Commit(SHA, message))[0][-1].breaking_notes == notes


def test_the_header_is_rebuilt_as_release_please_prints_it():
    assert header(only("feat(api)!:   x")) == "feat(api)!: x"
    assert header(only("fix: y")) == "fix: y"


def test_entries_carry_the_files_and_the_paragraph_they_came_from():
    found, _ = parse_commit(Commit(SHA, "feat: a\n\nfix: b", files=("src/a.py",)))
    assert [(c.files, c.message) for c in found] == [
        (("src/a.py",), "feat: a"),
        (("src/a.py",), "fix: b"),
    ]


def test_parse_commits_keeps_the_input_order():
    commits = [
        Commit("3" * 40, "fix: newest"),
        Commit("2" * 40, "not conventional"),
        Commit("1" * 40, "feat: oldest\n\nchore: too"),
    ]
    parsed = parse_commits(commits)
    assert [(c.sha[0], c.subject) for c in parsed.commits] == [
        ("3", "newest"),
        ("1", "oldest"),
        ("1", "too"),
    ]
    assert [(s.sha[0], s.subject) for s in parsed.skipped] == [("2", "not conventional")]


@pytest.mark.parametrize(
    "message",
    [
        "",
        "\x00",
        "feat: \x00",
        "(",
        ")",
        "!",
        ":",
        "BREAKING CHANGE",
        "feat(\n",
        "\r\r\r",
        "\ufeff",
        "\u2028feat: x",
    ],
)
def test_it_never_raises(message):
    found, skipped = parse_commit(Commit(SHA, message))
    assert found or skipped
