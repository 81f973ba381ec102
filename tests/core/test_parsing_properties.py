"""Properties of parsing and versioning that must hold for any input (hypothesis)."""

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings
from hypothesis import strategies as st

from cdportal.core.conventional import DEFAULT_SECTIONS, ChangelogSection, Commit
from cdportal.core.parsing import _parse_commit, parse_commits
from cdportal.core.versioning import Version, VersionOptions, compare, next_version

SHA = "f" * 40

# Pieces that steer the parser into its corners, mixed with arbitrary text.
FRAGMENTS = [
    "feat", "fix", "chore", "deps", "FEAT", "(", ")", "()", "(api)", "!", ":", ": ", " #", " ",
    "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\t", "\x00", "\ufeff", "\xa0", "\u2028", "\U0001f680",
    "BREAKING CHANGE", "BREAKING-CHANGE", "Release-As", "release-as: v1.2.3", "#12", "Closes #7",
    "BEGIN_NESTED_COMMIT", "END_NESTED_COMMIT", "BEGIN_COMMIT_OVERRIDE", "END_COMMIT_OVERRIDE",
    "#### ", "- ", "* ", "Merge pull request #1 from a/b", 'Revert "', "Co-authored-by",
    "Math.round(",
]  # fmt: skip
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("ab:()!# \n\r\t\x00\ufeff\u2028é")),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40).map("".join),
)


@settings(max_examples=200, deadline=None, database=None)
@given(message=texts, pull_request_body=st.none() | texts)
def test_parsing_never_raises_on_any_text(message, pull_request_body):
    # The private function has no safety net: an exception here is a bug, not a Skipped.
    found, skipped = _parse_commit(Commit(SHA, message, pull_request_body=pull_request_body))
    assert found or skipped
    assert all(c.sha == SHA and c.type for c in found)
    assert all(s.sha == SHA and s.reason for s in skipped)


@settings(max_examples=200, deadline=None, database=None)
@given(messages=st.lists(texts, max_size=5))
def test_parse_commits_keeps_the_input_order(messages):
    commits = [Commit(f"{i:040x}", m) for i, m in enumerate(messages)]
    parsed = parse_commits(commits)
    order = [int(c.sha, 16) for c in parsed.commits]
    assert order == sorted(order)
    assert {int(c.sha, 16) for c in parsed.commits} | {
        int(s.sha, 16) for s in parsed.skipped
    } == set(range(len(messages)))


MESSAGES = [
    "feat: a", "fix: b", "feat!: c", "chore: d", "docs: e", "FEAT: f", "feature: g", "refactor!: h",
    "perf: i", "revert: feat: a", "deps: j", "chore(deps): k", "fix: l\n\nBREAKING CHANGE: m",
    "fix: n\n\nRelease-As: 0.1.0", "chore: o\n\nrelease-as: v9.0.0", "not conventional",
    "feat(api): p\n\nCo-authored-by: Ann <ann@example.com>", "feat: q\n\nfix: r",
]  # fmt: skip
versions = st.builds(
    lambda major, minor, patch, pre: str(Version(major, minor, patch, pre)),
    st.integers(0, 3),
    st.integers(0, 4),
    st.integers(0, 4),
    st.none()
    | st.sampled_from(["alpha", "beta", "rc"])
    | st.builds("{}.{}".format, st.sampled_from(["alpha", "beta", "rc"]), st.integers(0, 30)),
)
options = st.builds(
    VersionOptions,
    bump_minor_pre_major=st.booleans(),
    bump_patch_for_minor_pre_major=st.booleans(),
    release_as=st.none() | st.none() | st.sampled_from(["0.0.1", "v4.0.0"]),
    # service-pack is left out: its `1.2.3-sp.1` sorts before 1.2.3 in SemVer, by design.
    versioning=st.sampled_from(
        ["default", "always-bump-patch", "always-bump-minor", "always-bump-major", "prerelease"]
    ),
    prerelease_type=st.none() | st.sampled_from(["beta", "rc"]),
    sections=st.sampled_from(
        [
            DEFAULT_SECTIONS,
            (),
            (ChangelogSection("chore", "Chores"), ChangelogSection("fix", "Fixes")),
        ]
    ),
)


@settings(max_examples=200, deadline=None, database=None)
@given(current=versions, messages=st.lists(st.sampled_from(MESSAGES), max_size=6), options=options)
def test_the_version_never_goes_backwards_unless_a_release_as_says_so(current, messages, options):
    commits = parse_commits(Commit(f"{i:040x}", m) for i, m in enumerate(messages)).commits
    result = next_version(current, commits, options)
    if result is None:
        return
    forced = options.release_as or next((c.release_as for c in commits if c.release_as), None)
    if forced:
        assert result == str(Version.parse(forced))
    else:
        assert compare(result, current) > 0
