import pytest

from cdportal.core.commits import Bump, next_version, parse, release_bump


@pytest.mark.parametrize(
    "message, kind, scope, breaking, bump",
    [
        ("feat(controller): add task retry logic", "feat", "controller", False, Bump.MINOR),
        ("fix: resolve nil pointer in reconciler", "fix", "", False, Bump.PATCH),
        ("feat!: redesign API", "feat", "", True, Bump.MAJOR),
        ("chore: update dependencies", "chore", "", False, Bump.NONE),
        ("refactor(api): x\n\nBREAKING CHANGE: the API changed", "refactor", "api", True, Bump.MAJOR),
        ("fix(x): y\n\nBREAKING-CHANGE: also accepted", "fix", "x", True, Bump.MAJOR),
    ],
)
def test_it_parses_the_header_and_the_bump(message, kind, scope, breaking, bump):
    commit = parse(message)
    assert (commit.type, commit.scope, commit.breaking, commit.bump) == (kind, scope, breaking, bump)


@pytest.mark.parametrize("message", ["update readme", "feat:missing space", "", "Merge branch 'main'"])
def test_it_returns_none_for_messages_that_are_not_conventional(message):
    assert parse(message) is None


def test_the_release_bump_is_the_largest():
    assert release_bump(["fix: a", "feat: b", "docs: c", "not conventional"]) == Bump.MINOR
    assert release_bump(["docs: c"]) == Bump.NONE


def test_next_version():
    assert next_version("0.2.50", Bump.PATCH) == "0.2.51"
    assert next_version("0.2.50", Bump.MINOR) == "0.3.0"
    assert next_version("1.2.3", Bump.MAJOR) == "2.0.0"
    assert next_version("1.2.3", Bump.NONE) == "1.2.3"


def test_pre_major_options_soften_bumps_before_1_0():
    assert next_version("0.2.50", Bump.MAJOR, bump_minor_pre_major=True) == "0.3.0"
    assert next_version("0.2.50", Bump.MINOR, bump_patch_for_minor_pre_major=True) == "0.2.51"
    assert next_version("1.0.0", Bump.MAJOR, bump_minor_pre_major=True) == "2.0.0"
