"""cdportal.core.versioning decides as Release Please 17.1.3 does (guide rules 1–7 and 17).

Every next_version expectation below was checked against release-please 17.1.3 (its versioning
strategies, buildNewVersion and changelog notes).
"""

import pytest

from cdportal.core.conventional import Bump, ChangelogSection, Commit
from cdportal.core.parsing import parse_commits
from cdportal.core.versioning import (
    Version,
    VersionOptions,
    commit_bump,
    explain_bump,
    is_visible,
    next_version,
)

# 5dlabs/cto's release-please-config.json (tests/fixtures/reference/5dlabs-cto).
FIVEDLABS_SECTIONS = (
    ChangelogSection("feat", "✨ Features"),
    ChangelogSection("fix", "🐛 Bug Fixes"),
    ChangelogSection("perf", "⚡ Performance"),
    ChangelogSection("refactor", "♻️ Refactoring"),
    ChangelogSection("docs", "📚 Documentation"),
    ChangelogSection("chore", "🔧 Maintenance", hidden=False),
    ChangelogSection("ci", "👷 CI/CD", hidden=False),
    ChangelogSection("test", "✅ Tests", hidden=True),
    ChangelogSection("build", "📦 Build", hidden=True),
)
FIVEDLABS = {
    "sections": FIVEDLABS_SECTIONS,
    "bump_minor_pre_major": True,
    "bump_patch_for_minor_pre_major": True,
}


def commits(*messages: str):
    """Parsed commits, newest first, as the planner hands them over."""
    return parse_commits(Commit(f"{i:040x}", m) for i, m in enumerate(messages)).commits


def bump(current, messages, **options):
    return next_version(current, commits(*messages), VersionOptions(**options))


def one(message: str):
    (commit,) = [c for c in commits(message) if c.type != "Release-As"]
    return commit


# Rule 1: pre-1.0 breaking changes.
@pytest.mark.parametrize(
    "current, messages, options, expected",
    [
        ("0.3.0", ["feat!: x"], {}, "1.0.0"),
        ("0.3.0", ["feat!: x"], {"bump_minor_pre_major": True}, "0.4.0"),
        ("0.3.0", ["feat: x"], {"bump_patch_for_minor_pre_major": True}, "0.3.1"),
        ("0.3.0", ["feat!: x"], {"bump_patch_for_minor_pre_major": True}, "1.0.0"),
        ("0.3.0", ["feat: x"], {}, "0.4.0"),
        ("1.2.3", ["feat!: x"], {"bump_minor_pre_major": True}, "2.0.0"),
        ("1.2.3", ["feat: x"], {"bump_patch_for_minor_pre_major": True}, "1.3.0"),
        ("0.0.5", ["feat!: x"], {}, "1.0.0"),
        ("0.0.5", ["feat!: x"], {"bump_minor_pre_major": True}, "0.1.0"),
        ("0.0.5", ["feat: x"], {}, "0.1.0"),
        ("0.0.5", ["feat: x"], {"bump_patch_for_minor_pre_major": True}, "0.0.6"),
    ],
)
def test_pre_major_versions_follow_the_two_flags(current, messages, options, expected):
    assert bump(current, messages, **options) == expected


# Rule 2: whatever reaches the changelog releases at least a patch; nothing else releases.
@pytest.mark.parametrize(
    "message",
    ["chore: x", "docs: x", "refactor: x", "test: x", "ci: x", "build: x", "style: x", "deps: x"],
)
def test_hidden_types_alone_open_no_release(message):
    assert bump("1.2.3", [message]) is None


def test_a_visible_chore_releases_a_patch_as_it_did_for_5dlabs_0_2_21():
    assert (
        bump(
            "0.2.20",
            ["chore(deps): bump opentelemetry-otlp from 0.17.0 to 0.31.0 (#3899)"],
            **FIVEDLABS,
        )
        == "0.2.21"
    )


@pytest.mark.parametrize(
    "message, workflow_comment_says, actual",
    [("feat: x", "0.3.0", "0.2.1"), ("feat!: x", "1.0.0", "0.3.0"), ("chore: x", None, "0.2.1")],
)
def test_the_5dlabs_workflow_comments_are_wrong_for_their_config(
    message, workflow_comment_says, actual
):
    assert bump("0.2.0", [message], **FIVEDLABS) == actual != workflow_comment_says


def test_hidden_commits_ride_along_with_a_visible_one():
    assert bump("1.2.3", ["docs: a", "fix: b", "chore: c"]) == "1.2.4"


# Rule 3: Features lists `FEAT`, but only `feat`/`feature` bump the minor.
@pytest.mark.parametrize(
    "message, expected",
    [("FEAT: x", "1.2.4"), ("Feat: x", "1.2.4"), ("feature: x", "1.3.0"), ("feat: x", "1.3.0")],
)
def test_feature_types_are_compared_case_sensitively(message, expected):
    assert is_visible(one(message))
    assert bump("1.2.3", [message]) == expected


# Rule 4: Release-As.
@pytest.mark.parametrize(
    "current, messages, options, expected",
    [
        ("1.5.0", ["chore: go back\n\nRelease-As: 1.0.0"], {}, "1.0.0"),
        ("1.5.0", ["fix: a\n\nRelease-As: v3.0.0", "fix: b\n\nRelease-As: 2.0.0"], {}, "3.0.0"),
        ("1.5.0", ["chore: pin\n\nRelease-As: 1.5.1", "feat!: y"], {}, "1.5.1"),
        ("1.5.0", ["feat!: y\n\nBREAKING CHANGE: gone\nRelease-As: 1.6.0"], {}, "1.6.0"),
        ("1.5.0", ["fix: a\n\nRelease-As: 3.0.0"], {"release_as": "4.0.0"}, "4.0.0"),
        ("1.5.0", ["fix: a"], {"release_as": "v2.0.0-rc.1"}, "2.0.0-rc.1"),
        ("1.5.0", ["chore: a"], {"release_as": "4.0.0"}, None),  # no changelog entry, no PR
        ("1.5.0", ["chore: x\n\nRelease-As: 2.0.0"], {"versioning": "always-bump-patch"}, "2.0.0"),
    ],
)
def test_release_as_sets_the_version(current, messages, options, expected):
    assert bump(current, messages, **options) == expected


def test_the_release_as_carrier_is_shown_even_when_its_type_is_hidden():
    carrier = one("chore: x\n\nRelease-As: 2.0.0")
    assert is_visible(carrier)
    assert explain_bump(carrier) == "chore (Release-As: 2.0.0) → sets version 2.0.0"


def test_a_release_as_that_is_no_version_fails_like_release_please():
    assert not is_visible(one("chore: x\n\nRelease-As: next"))
    with pytest.raises(ValueError, match="unable to parse version string: next"):
        bump("1.2.3", ["fix: y", "chore: x\n\nRelease-As: next"])


# Rule 5: reverts do not cancel.
def test_a_revert_does_not_cancel_the_feature():
    assert bump("1.2.3", ["revert: feat: add x", "feat: add x"]) == "1.3.0"
    assert bump("1.2.3", ['Revert "feat: add x"\n\nThis reverts commit abc.']) is None


# Rule 6: prereleases.
@pytest.mark.parametrize(
    "current, messages, options, expected",
    [
        ("1.0.0-beta.1", ["fix: x"], {}, "1.0.1-beta.1"),
        ("1.0.0-beta.1", ["feat: x"], {}, "1.1.0-beta.1"),
        ("1.0.0-beta.1", ["feat!: x"], {}, "2.0.0-beta.1"),
        ("1.0.0-beta.1+build.7", ["fix: x"], {}, "1.0.1-beta.1+build.7"),
        ("1.0.0-beta.1", ["fix: x"], {"versioning": "prerelease"}, "1.0.0-beta.2"),
        ("1.0.0-beta.1", ["feat!: x"], {"versioning": "prerelease"}, "1.0.0-beta.2"),
        ("2.0.0-rc1", ["feat: x"], {"versioning": "prerelease"}, "2.0.0-rc2"),
        ("2.0.0-beta09", ["fix: x"], {"versioning": "prerelease"}, "2.0.0-beta10"),
        ("1.2.3-beta", ["fix: x"], {"versioning": "prerelease"}, "1.2.3-beta.1"),
        ("1.2.3-beta.1", ["feat: x"], {"versioning": "prerelease"}, "1.3.0-beta.1"),
        ("1.2.0-beta.1", ["feat!: x"], {"versioning": "prerelease"}, "2.0.0-beta.1"),
        (
            "1.2.3",
            ["feat: x"],
            {"versioning": "prerelease", "prerelease_type": "beta"},
            "1.3.0-beta",
        ),
        ("1.2.3", ["fix: x"], {"versioning": "prerelease", "prerelease_type": "rc"}, "1.2.4-rc"),
        ("1.2.3", ["feat!: x"], {"versioning": "prerelease"}, "2.0.0"),
        (
            "0.3.0-beta.1",
            ["feat!: x"],
            {"versioning": "prerelease", "bump_minor_pre_major": True},
            "0.3.0-beta.2",
        ),
        ("1.2.3", ["fix: x"], {"prerelease": True}, "1.2.4"),
    ],
)
def test_prereleases(current, messages, options, expected):
    assert bump(current, messages, **options) == expected


# Rule 7: the first release.
@pytest.mark.parametrize(
    "messages, options, expected",
    [
        (["fix: x"], {}, "1.0.0"),
        (["feat!: x", "feat: y"], {}, "1.0.0"),
        (["fix: x"], {"initial_version": "0.1.0"}, "0.1.0"),
        (["fix: x\n\nRelease-As: 0.5.0"], {"initial_version": "0.1.0"}, "0.5.0"),
        (["chore: x"], {}, None),
        ([], {}, None),
    ],
)
def test_the_first_release(messages, options, expected):
    assert bump(None, messages, **options) == expected


# The versioning strategies.
@pytest.mark.parametrize(
    "versioning, messages, expected",
    [
        ("always-bump-patch", ["feat!: x"], "1.2.4"),
        ("always-bump-minor", ["fix: x"], "1.3.0"),
        ("always-bump-major", ["fix: x"], "2.0.0"),
        ("always-bump-minor", ["chore: x"], None),
    ],
)
def test_always_bump_strategies_ignore_the_commit_types(versioning, messages, expected):
    assert bump("1.2.3", messages, versioning=versioning) == expected


@pytest.mark.parametrize(
    "current, expected",
    [("1.2.3", "1.2.3-sp.1"), ("1.2.3-sp.1", "1.2.3-sp.2"), ("1.2.3-beta", "1.2.3-sp.1")],
)
def test_service_pack_versioning_counts_service_packs(current, expected):
    assert bump(current, ["feat!: x"], versioning="service-pack") == expected


def test_an_unknown_versioning_strategy_is_refused():
    with pytest.raises(ValueError, match="Unknown versioning strategy type: semver"):
        bump("1.2.3", ["fix: x"], versioning="semver")


# Rule 17: changelog-sections replace the defaults.
def test_a_fix_is_hidden_when_the_configured_sections_leave_fix_out():
    sections = (ChangelogSection("feat", "Features"),)
    assert not is_visible(one("fix: x"), sections)
    assert bump("1.2.3", ["fix: x"], sections=sections) is None


def test_sections_can_be_keyed_by_type_and_scope():
    sections = (ChangelogSection("feat", "API", scope="api"), ChangelogSection("fix", "Bug Fixes"))
    assert is_visible(one("feat(api): x"), sections)
    assert not is_visible(one("feat(web): x"), sections)
    assert not is_visible(one("feat: x"), sections)


def test_a_hidden_feature_still_makes_the_release_a_minor():
    # determineReleaseType counts every commit; the fix opened the release.
    sections = (ChangelogSection("fix", "Bug Fixes"),)
    assert bump("1.2.3", ["feat: a", "fix: b"], sections=sections) == "1.3.0"


@pytest.mark.parametrize(
    "message, sections, visible, bump_, explanation",
    [
        ("feat: x", None, True, Bump.MINOR, "feat → minor"),
        ("feature: x", None, True, Bump.MINOR, "feature → minor"),
        ("fix: x", None, True, Bump.PATCH, "fix → patch"),
        ("perf: x", None, True, Bump.PATCH, "perf → patch"),
        ("revert: fix: x", None, True, Bump.PATCH, "revert → patch"),
        (
            "FEAT: x",
            None,
            True,
            Bump.PATCH,
            "FEAT (only lower-case `feat` bumps the minor) → patch",
        ),
        ("docs: x", None, False, Bump.NONE, "docs (hidden) → no bump"),
        ("deps: x", None, False, Bump.NONE, "deps (not in changelog-sections) → no bump"),
        ("feat!: x", None, True, Bump.MAJOR, "breaking (!) → major"),
        ("chore!: x", None, True, Bump.MAJOR, "breaking (!) → major"),
        (
            "docs: x\n\nBREAKING CHANGE: moved",
            None,
            True,
            Bump.MAJOR,
            "breaking (BREAKING CHANGE) → major",
        ),
        (
            "chore: x",
            FIVEDLABS_SECTIONS,
            True,
            Bump.PATCH,
            "chore (visible section 🔧 Maintenance) → patch",
        ),
        ("test: x", FIVEDLABS_SECTIONS, False, Bump.NONE, "test (hidden) → no bump"),
        # An empty `!` subject leaves no note, yet the header shows it: listed, not breaking.
        ("chore!:", None, True, Bump.PATCH, "chore (shown for its `!` header) → patch"),
    ],
)
def test_each_commit_explains_its_bump(message, sections, visible, bump_, explanation):
    commit = one(message)
    args = () if sections is None else (sections,)
    assert is_visible(commit, *args) is visible
    assert commit_bump(commit, *args) == bump_
    assert explain_bump(commit, *args) == explanation


def test_trailer_pseudo_commits_stay_hidden():
    found = commits("fix: a\n\nCo-authored-by: Ann <ann@example.com>")
    assert [(c.type, is_visible(c)) for c in found] == [("Co-authored-by", False), ("fix", True)]


@pytest.mark.parametrize(
    "text, version",
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("my-svc-v01.02.03-rc.1+b5", "1.2.3-rc.1+b5"),
        ("1.2.3+", "1.2.3"),
    ],
)
def test_versions_read_like_release_pleases(text, version):
    assert str(Version.parse(text)) == version


def test_an_unreadable_current_version_is_refused():
    with pytest.raises(ValueError, match="unable to parse version string: latest"):
        bump("latest", ["fix: x"])
