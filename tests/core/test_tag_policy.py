"""The tag policy engine against argocd-image-updater v1.3's behaviour.

The vectors in tests/fixtures/image-policy/ were checked by running the updater's own selection
code (docs/image-updater.md). `expected` is v1.3's answer; `expected_by_version` gives the older
releases where they differ, and `legacy_v0` what v0.x's annotation parser read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cdportal.core import masterminds
from cdportal.core.image_list import (
    AppInfo,
    ConfigError,
    describe_policy,
    parse_image_list,
    parse_image_reference,
    policies_from_annotations,
    policies_from_image_updater,
    specificity,
    tag_parameter,
    tracked_images,
)
from cdportal.core.tag_policy import (
    GoRegexpError,
    ImagePolicy,
    Reason,
    Regime,
    TagInfo,
    glob_match,
    glob_valid,
    parse_allow_tags,
    parse_strategy,
    select,
    translate_go_regexp,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "image-policy"
SELECTION = json.loads((FIXTURES / "selection.json").read_text())
ANNOTATIONS = json.loads((FIXTURES / "annotations.json").read_text())
REGIMES = ("v1.3", "v1.2", "v1.1.1", "legacy")


def test_the_vector_files_are_complete():
    assert len(SELECTION["vectors"]) == SELECTION["count"] == 52
    assert len(ANNOTATIONS["vectors"]) == ANNOTATIONS["count"] == 43


# ---------------------------------------------------------------------------------------------
# Tag-selection vectors


def vector_policy(v: dict) -> ImagePolicy:
    return ImagePolicy(
        image=v.get("image", "ghcr.io/example/app"),
        strategy=v.get("strategy"),
        constraint=v.get("constraint", ""),
        allow_tags=v.get("allow_tags", ""),
        ignore_tags=tuple(v.get("ignore_tags", ())),
        tagsortmode=v.get("tagsortmode", ""),
    )


def vector_tags(v: dict) -> list[TagInfo]:
    return [
        TagInfo(
            t["name"],
            datetime.fromisoformat(t["created"]) if "created" in t else None,
            t.get("digest"),
            t.get("metadata", True),
        )
        for t in v["tags"]
    ]


def expectation(v: dict, regime: str) -> dict:
    if regime == "v1.3":
        return v["expected"]
    return v.get("expected_by_version", {}).get(regime, v["expected"])


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("v", SELECTION["vectors"], ids=lambda v: v["id"])
def test_selection_vector(v, regime):
    expected = expectation(v, regime)
    s = select(
        vector_policy(v),
        vector_tags(v),
        current_tag=v.get("current_tag"),
        current_digest=v.get("current_digest"),
        regime=regime,
    )
    assert (s.tag, s.reason.value) == (expected["tag"], expected["reason"])
    if "digest" in expected:
        assert s.digest == expected["digest"]
    if "log" in expected:
        assert (s.log, s.log_level) == (expected["log"], expected["log_level"])
    elif s.reason not in (Reason.UPDATE, Reason.UP_TO_DATE):
        assert s.log is None  # those releases logged nothing for this outcome
    # Every other tag is accounted for, once.
    names = list(dict.fromkeys(t["name"] for t in v["tags"]))
    assert [tag for tag, _ in s.rejected] == [n for n in names if n != s.tag]
    assert all(why for _, why in s.rejected)


# ---------------------------------------------------------------------------------------------
# Annotation vectors


def vector_app(v: dict) -> AppInfo:
    return AppInfo(**v["app"])


@pytest.mark.parametrize("v", ANNOTATIONS["vectors"], ids=lambda v: v["id"])
def test_annotation_vector(v):
    app = vector_app(v)
    if "error" in v["expected"]:
        with pytest.raises(ConfigError) as raised:
            policies_from_annotations(v["annotations"], app=app)
        assert str(raised.value) == v["expected"]["error"]
        return
    policies = policies_from_annotations(v["annotations"], app=app)
    assert [describe_policy(p, app) for p in policies] == v["expected"]["images"]
    assert all(p.write_back.to_dict() == v["expected"]["write_back"] for p in policies)


def _checked_fields(want, got) -> bool:
    """legacy_v0 lists only the fields checked against v0.18.0; nested dicts likewise."""
    if isinstance(want, dict) and isinstance(got, dict):
        return all(key in got and _checked_fields(value, got[key]) for key, value in want.items())
    return want == got


@pytest.mark.parametrize(
    "v", [v for v in ANNOTATIONS["vectors"] if "legacy_v0" in v], ids=lambda v: v["id"]
)
def test_annotation_vector_as_v0_read_it(v):
    app = vector_app(v)
    policies = policies_from_annotations(v["annotations"], app=app, flavor="v0")
    if v["legacy_v0"] == "not-selected":
        assert policies == []
        return
    described = [describe_policy(p, app) for p in policies]
    assert len(described) == len(v["legacy_v0"])
    for want, got in zip(v["legacy_v0"], described):
        assert _checked_fields(want, got), (want, got)


# ---------------------------------------------------------------------------------------------
# Masterminds/semver v3.4.0

# From Masterminds' constraints_test.go (TestConstraintsCheck / TestConstraintCheck): single
# constraints behave the same in 3.4.0, whose pre-release rule moved to the AND group.
CONSTRAINT_CHECKS = [
    ("=2.0", "2.0.1", True),
    ("!=4.1", "4.1.1", False),
    ("!=4.1", "5.1.0-alpha.1", False),
    ("!=4.1-alpha", "4.1.0", True),
    ("<11", "11.1.0", False),
    ("<=11", "11.2.3", True),
    ("<=1.1", "1.1.1", True),
    (">1.1", "1.1.0", False),
    (">0", "0.0.1-alpha", False),
    (">0.0.0-0", "0.0.0-alpha", True),
    (">11.1", "11.1.1", False),
    (">11.1", "11.2.1", True),
    (">=0-0", "0.0.1-alpha", True),
    ("<0-z", "0.0.0-alpha", True),
    ("*", "1.2.3-alpha.1", False),
    ("*-0", "1.2.3-alpha.1", True),
    ("2.*", "2.1.1", True),
    ("~1.2.3-beta.2", "1.2.4-beta.2", True),
    ("~1.2.3-beta.2", "1.3.4-beta.2", False),
    ("^1.2.0", "1.2.1-alpha.1", False),
    ("^1.2.0-alpha.0", "1.2.1-alpha.1", True),
    ("^0.2", "0.5.6", False),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.3", True),
    ("^0", "1.1.4", False),
    ("~0.0.0", "1.2.3", True),
    ("0.x.x", "1.2.3", False),
    ("^0.0.0", "1.2.3", False),
    ("!=4.x", "4.1.0", False),
    ("<1.x", "0.1.1", True),
    ("<=2.x", "3.0.0", False),
    (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", True),
    (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", False),
    ("1.1 - 2", "1.1.1", True),
    ("1.5.0 - 4.5", "3.7.0", True),
    ("1.1-3", "4.3.2", False),
    ("^1.x", "1.1.1-beta1", False),
    ("^1.1.2-alpha", "1.2.1-beta1", True),
    ("~*", "2.1.1", True),
    ("~1", "1.4", True),
    ("~1.1-alpha", "1.1.1-beta", True),
    ("~1.1.1-beta", "1.1.1-alpha", False),
    # The guide's §7.2 table.
    ("1.2", "1.2.9", True),
    ("1.2", "1.3.0", False),
    ("1", "1.9.0", True),
    ("~0", "0.9.9", True),
    ("~0", "1.0.0", False),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    (">1", "1.9.9", False),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    ("!=1.2", "1.2.5", False),
    ("v1.x", "1.0.0", True),
]


@pytest.mark.parametrize(("constraint", "version", "ok"), CONSTRAINT_CHECKS)
def test_constraint_check(constraint, version, ok):
    assert masterminds.parse_constraint(constraint).check(masterminds.parse_version(version)) is ok


def test_a_prerelease_anywhere_in_an_and_group_admits_prereleases_to_the_group():
    # v3.4.0 (#267): in 3.2.0 each constraint decided alone and this was false.
    assert masterminds.parse_constraint(">=1.0.0-0 <2.0.0").check(
        masterminds.parse_version("2.0.0-rc.1")
    )
    assert masterminds.parse_constraint("^1.2.3-beta.2").check(
        masterminds.parse_version("1.3.0-alpha.1")
    )
    # ... but only to its own OR group.
    assert not masterminds.parse_constraint(">=3.0.0-0 || <2.0.0").check(
        masterminds.parse_version("1.0.0-rc.1")
    )


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        (">= 1.1", [1]),
        (">40.50.60, < 50.70", [2]),
        ("v2.3.5-20161202202307-sha.e8fc5e5", [1]),
        (">= 1.2.3 < 2.0 || => 3.0 < 4", [2, 2]),
        ("3 - 4 || => 3.0, < 4", [2, 2]),
        ("12.3.34 ~1.2.3", [2]),
    ],
)
def test_constraint_grouping(text, groups):
    assert [len(g) for g in masterminds.parse_constraint(text).groups] == groups


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latest", "improper constraint: latest"),
        (">= bar", "improper constraint: >= bar"),
        ("12.3.4.1234", "improper constraint: 12.3.4.1234"),
        ("12.3.34~ 1.2.3", "improper constraint: 12.3.34~ 1.2.3"),
        ("", "improper constraint: "),
        ("1.x || foo", "improper constraint:  foo"),
        (">=1.0,<2.0 ||", "improper constraint: "),
        ("1|2", "constraint parser error"),
    ],
)
def test_constraints_masterminds_rejects(text, message):
    with pytest.raises(masterminds.SemverError) as raised:
        masterminds.parse_constraint(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [
        ("1", "1.0.0"),
        ("1.2", "1.2.0"),
        ("v1.2.3", "1.2.3"),
        ("01.02.03", "1.2.3"),
        ("20240101", "20240101.0.0"),
        ("1234567", "1234567.0.0"),
        ("v2.0-rc1", "2.0.0-rc1"),
        ("1.0.0+build.7", "1.0.0+build.7"),
        ("18446744073709551615", "18446744073709551615.0.0"),
    ],
)
def test_versions_masterminds_accepts(tag, parsed):
    assert str(masterminds.parse_version(tag)) == parsed


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("V1.2.3", "invalid semantic version"),
        ("1.2.3.4", "invalid semantic version"),
        ("latest", "invalid semantic version"),
        ("main-abc1234", "invalid semantic version"),
        ("sha-1a2b3c4", "invalid semantic version"),
        ("1.3.0-rc_1", "invalid semantic version"),
        ("release-2.0", "invalid semantic version"),
        ("1.0.0\n", "invalid semantic version"),
        ("1.0.0-rc.01", "version segment starts with 0"),
        (
            "99999999999999999999",
            'error parsing version segment: strconv.ParseUint: parsing "99999999999999999999": value out of range',
        ),
    ],
)
def test_versions_masterminds_rejects(tag, message):
    with pytest.raises(masterminds.SemverError) as raised:
        masterminds.parse_version(tag)
    assert str(raised.value) == message
    assert masterminds.try_version(tag) is None


def test_precedence_follows_masterminds_and_ties_break_on_the_original_string():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0-rc10",
        "1.0.0-rc2",
        "1",
        "1.0",
        "1.0.0",
        "v1.0.0",
        "1.0.1",
    ]
    shuffled = sorted(ordered, key=lambda t: hash(t))
    assert sorted(shuffled, key=lambda t: (masterminds.parse_version(t).key, t)) == ordered
    s = select(ImagePolicy(), [TagInfo("1.0.0+build.10"), TagInfo("1.0.0+build.2")])
    assert s.tag == "1.0.0+build.2"
    assert s.rejected == [
        ("1.0.0+build.10", "same version as 1.0.0+build.2, which wins the tie (sorts later)")
    ]


# ---------------------------------------------------------------------------------------------
# allow-tags: Go RE2 in Python; ignore-tags: filepath.Match


@pytest.mark.parametrize(
    ("expression", "tag", "matches"),
    [
        (r"^v[0-9]+\.[0-9]+\.[0-9]+$", "v0.10.0", True),
        (r"^v[0-9]+\.[0-9]+\.[0-9]+$", "v0.3.0-rc.1", False),
        (r"v\d", "release-v1", True),  # a search, not a full match
        (r"^\d+$", "٣", False),  # \d is ASCII in Go
        (r"(?i)^V1", "v1.0", True),
        (r"a(?i)b|c", "C", True),
        (r"a(?i)b|c", "Ab", False),
        (r"a{,3}", "a{,3}", True),
        (r"a{,3}", "aa", False),  # not a repeat in Go
        (r"x{01}", "x{01}", True),
        (r"\Qv1.0\E", "v1x0", False),
        (r"\Qv1.0\E", "v1.0", True),
        (r"[[:digit:]]{8}", "20240101", True),
        (r"^[^a]+$", "A", True),
        (r"(?i)^[^a]+$", "A", False),
        (r"^$", "", True),
        (r"a$", "a\n", False),
        (r"(?m)a$", "a\nb", True),
        (r".", "\n", False),
        (r"(?s).", "\n", True),
        (r"\x{76}\101", "vA", True),
        (r"\pL", "é", True),
        (r"\p{Greek}", "a", False),
        (r"(?P<v>v)\d", "v1", True),
        (r"(?<v>v)\d", "v1", True),
        (r"(?U)v+?", "v", True),
        (r"^*v", "v", True),
        (r"[a-b-c]", "-", True),
        (r"(?i)k", "\u212a", True),
        (r"\bv1\b", "x-v1-y", True),
    ],
)
def test_go_regexp_matching(expression, tag, matches):
    assert parse_allow_tags(f"regexp:{expression}").matches(tag) is matches


@pytest.mark.parametrize(
    "expression",
    [
        r"[aA-zZ",
        r"[a-",
        r"(?=v)",
        r"(?!v)",
        r"(?<=v)x",
        r"(a)\1",
        r"\Z",
        r"a*+",
        r"a**",
        r"*",
        r"a{1001}",
        r"a{2}{3}",
        r"(a{500}){3}",
        r"(?#c)",
        r"(?i-)",
        r"\8",
        r"\e",
        "\\",
        r"[[:foo:]]",
        r"\p{Foo}",
        r"(x",
        r"x)",
        r"(?P<a>x)(?P<a>y)",
        r"(?P<>x)",
        r"[z-a]",
        r"\C",
        r"[\b]",
        r"\x{110000}",
        r"\xZ1",
    ],
)
def test_go_regexp_errors_make_allow_tags_match_nothing(expression):
    with pytest.raises(GoRegexpError):
        translate_go_regexp(expression)
    match = parse_allow_tags(f"regexp:{expression}")
    assert match.func == "none" and match.warning == f"Could not compile regexp '{expression}'"


@pytest.mark.parametrize(
    ("value", "func", "warning"),
    [
        ("", "any", None),
        ("any", "any", None),
        ("ANY", "any", None),
        ("regexp:", "regexp", None),
        ("v1.*", "none", "Invalid match option syntax 'v1.*', ignoring"),
        ("regex:^v", "none", "Unknown match function: regex"),
        ("RegExp:^v", "regexp", None),
    ],
)
def test_allow_tags_values(value, func, warning):
    match = parse_allow_tags(value)
    assert (match.func, match.warning) == (func, warning)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("*", "anything", True),
        ("*", "", True),
        ("v0.10.*", "v0.10.3", True),
        ("v0.10.*", "v0.1", False),
        ("rc-?", "rc-1", True),
        ("rc-?", "rc-10", False),
        ("[0-9]*", "2024", True),
        ("[^0-9]*", "v1", True),
        ("[!0-9]*", "!x", True),
        ("[!0-9]*", "v1", False),  # '!' is no negation in Go
        (r"a\*", "a*", True),
        (r"a\*", "ab", False),
        ("", "", True),
        ("", "latest", False),
        ("[z-a]x", "x", False),
        ("[", "[", False),
        ("[a-]", "a", False),
        ("*[a/]*c", "a/c", False),
        ("a?c", "a/c", False),
        ("*/*", "a/b", True),
    ],
)
def test_ignore_tags_globs(pattern, name, matches):
    assert glob_match(pattern, name) is matches


def test_malformed_globs_are_reported():
    assert not glob_valid("[") and not glob_valid("a\\") and glob_valid("v1.*")


@pytest.mark.parametrize(
    ("value", "strategy", "warns"),
    [
        (None, "semver", False),
        ("SemVer", "semver", False),
        ("latest", "newest-build", True),
        ("name", "alphabetical", True),
        ("Digest", "digest", False),
        ("newest", "semver", True),
        ("", "semver", True),
    ],
)
def test_update_strategy_values(value, strategy, warns):
    parsed, warning = parse_strategy(value)
    assert parsed.value == strategy and bool(warning) is warns


# ---------------------------------------------------------------------------------------------
# Selection details beyond the vectors


def names(*tags: str) -> list[TagInfo]:
    return [TagInfo(t) for t in tags]


def test_it_explains_every_tag_it_does_not_choose():
    policy = ImagePolicy(
        image="ghcr.io/5dlabs/controller",
        allow_tags=r"regexp:^v\d",
        ignore_tags=("v0.1*",),
        constraint="<1.0",
    )
    s = select(
        policy,
        names("latest", "v0.1.5", "v0.2.0-rc.1", "v0.2.0", "v0.3.0", "v1.0.0"),
        current_tag="v0.2.0",
    )
    assert (s.tag, s.reason) == ("v0.3.0", Reason.UPDATE)
    assert dict(s.rejected) == {
        "latest": r"does not match allow-tags regexp:^v\d",
        "v0.1.5": "ignored by glob v0.1*",
        "v0.2.0-rc.1": "prerelease (the constraint <1.0 admits none)",
        "v0.2.0": "lower than v0.3.0",
        "v1.0.0": "outside the constraint <1.0",
    }


def test_the_implicit_star_rejects_prereleases_as_prereleases():
    s = select(ImagePolicy(), names("1.0.0", "1.1.0-rc.1"), current_tag="1.0.0")
    assert (s.tag, s.reason, s.rejected) == (
        "1.0.0",
        Reason.UP_TO_DATE,
        [("1.1.0-rc.1", "prerelease")],
    )


def test_there_is_no_downgrade_protection():
    s = select(ImagePolicy(constraint="~1.2"), names("1.2.3", "1.3.0"), current_tag="1.3.0")
    assert (s.tag, s.reason) == ("1.2.3", Reason.UPDATE)


def test_a_textually_different_equal_version_is_an_update():
    s = select(ImagePolicy(), names("1.0.0", "v1.0.0"), current_tag="1.0.0")
    assert (s.tag, s.reason) == ("v1.0.0", Reason.UPDATE)


def test_the_later_duplicate_wins():
    when = datetime(2025, 1, 1, tzinfo=UTC)
    tags = [
        TagInfo("a", when.replace(second=30)),
        TagInfo("b", when.replace(second=20)),
        TagInfo("a", when),
    ]
    s = select(ImagePolicy(strategy="newest-build"), tags)
    assert s.tag == "b" and s.rejected == [("a", "older than b")]


def test_newest_build_drops_tags_without_usable_metadata():
    when = datetime(2025, 1, 1, tzinfo=UTC)
    tags = [
        TagInfo("old", when),
        TagInfo("broken", when.replace(year=2026), metadata=False),
        TagInfo("arm-only", when.replace(year=2027), platforms=("linux/arm64",)),
        TagInfo("undated"),
    ]
    s = select(ImagePolicy(strategy="newest-build"), tags)
    assert s.tag == "old"
    assert [why.split(" (")[0] for _, why in s.rejected] == [
        "no usable manifest for the wanted platforms",
        "no image for the wanted platform",
        "no creation date known",
    ]
    arm = select(ImagePolicy(strategy="newest-build", platforms=("linux/arm64",)), tags)
    assert arm.tag == "arm-only"


def test_a_platform_variant_satisfies_a_configured_os_arch():
    policy = ImagePolicy(platforms=("linux/arm",))
    assert policy.wants_platform("linux/arm/v7") and not policy.wants_platform("linux/arm64")
    assert ImagePolicy(platforms=("linux/arm/v7",)).wants_platform("linux/arm/v7")
    assert not ImagePolicy(platforms=("junk",)).wants_platform("junk")


@pytest.mark.parametrize(
    ("mode", "picked"), [("latest-first", "a"), ("latest-last", "c"), ("none", "undated")]
)
def test_tagsortmode_replaces_build_dates_with_list_positions(mode, picked):
    tags = [TagInfo("a"), TagInfo("b"), TagInfo("c")]
    if mode == "none":
        tags.append(TagInfo("undated", datetime(2020, 1, 1, tzinfo=UTC)))
    s = select(ImagePolicy(strategy="newest-build", tagsortmode=mode), tags)
    assert s.tag == picked


def test_digest_strategy_with_tagsortmode_writes_a_plain_tag():
    s = select(
        ImagePolicy(strategy="digest", constraint="latest", tagsortmode="latest-first"),
        [TagInfo("latest", digest="sha256:" + "1" * 64)],
        current_tag="latest",
        current_digest="sha256:" + "1" * 64,
    )
    assert (s.tag, s.reason, s.digest) == ("latest", Reason.UPDATE, None)


def test_a_running_digest_makes_semver_compare_digests():
    # tag.Equals compares digests when either side has one; semver candidates carry none.
    s = select(
        ImagePolicy(), names("1.0.0"), current_tag="1.0.0", current_digest="sha256:" + "2" * 64
    )
    assert (s.tag, s.reason) == ("1.0.0", Reason.UPDATE)


def test_without_a_running_tag_any_pick_is_an_update():
    assert select(ImagePolicy(), names("1.0.0")).reason is Reason.UPDATE


def test_the_legacy_regime_needs_a_semver_running_tag():
    s = select(ImagePolicy(), names("1.0.0"), current_tag="main-abc1234", regime=Regime.LEGACY)
    assert (s.tag, s.reason) == (None, Reason.CURRENT_TAG_NOT_SEMVER)
    assert s.rejected == [
        ("1.0.0", "not evaluated: the running tag main-abc1234 is not a semantic version")
    ]


def test_invalid_constraints_only_matter_once_a_tag_parses():
    policy = ImagePolicy(constraint="latest")
    assert select(policy, names("latest", "main")).reason is Reason.NO_SEMVER_TAGS
    s = select(policy, names("latest", "1.0.0"))
    assert (s.reason, s.log) == (
        Reason.INVALID_CONSTRAINT,
        "invalid constraint 'latest' given: 'improper constraint: latest'",
    )
    assert s.rejected == [
        ("latest", "not a semantic version"),
        ("1.0.0", "not evaluated: invalid constraint latest"),
    ]


def test_digest_strategy_names_the_alias_in_its_error():
    s = select(
        ImagePolicy(
            image="ghcr.io/x/web", alias="web", image_name="ghcr.io/x/web", strategy="digest"
        ),
        names("a"),
    )
    assert s.reason is Reason.DIGEST_REQUIRES_CONSTRAINT
    assert s.log == (
        "Could not get tags from registry: cannot use update strategy 'digest' for image "
        "'web=ghcr.io/x/web' without a version constraint"
    )


def test_json_form():
    s = select(ImagePolicy(), names("1.0.0", "latest"), current_tag="1.0.0")
    assert s.to_json() == {
        "tag": "1.0.0",
        "reason": "up_to_date",
        "rejected": [{"tag": "latest", "why": "not a semantic version"}],
    }


def test_policies_from_annotations_feed_select():
    annotations = {
        "argocd-image-updater.argoproj.io/image-list": "controller=ghcr.io/5dlabs/controller:~0.9",
        "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
    }
    [policy] = policies_from_annotations(annotations)
    s = select(policy, names("v0.9.1", "v0.9.9", "v0.10.0", "latest"), current_tag="v0.9.1")
    assert (s.tag, s.reason) == ("v0.9.9", Reason.UPDATE)
    assert s.log == "Setting new image to ghcr.io/5dlabs/controller:v0.9.9"


# ---------------------------------------------------------------------------------------------
# Image identifiers, credentials, ingest's view


@pytest.mark.parametrize(
    ("identifier", "registry", "name", "tag", "digest"),
    [
        ("nginx", "", "nginx", None, None),
        ("docker.io/nginx", "docker.io", "nginx", None, None),
        ("index.docker.io/library/nginx:1", "", "nginx", "1", None),
        ("ghcr.io/library/tool:1.x", "ghcr.io", "library/tool", "1.x", None),  # #1783
        ("localhost:5000/team/app:1.2", "localhost:5000", "team/app", "1.2", None),
        ("a=ghcr.io/x/app:v1@sha256:" + "a" * 64, "ghcr.io", "x/app", "v1", "sha256:" + "a" * 64),
        (
            "ghcr.io/x/app:~1.2@sha256:abc",
            "ghcr.io",
            "x/app",
            "~1.2",
            "sha256:abc",
        ),  # fallback parser
        ("ghcr.io/x/app:", "ghcr.io", "x/app", "", None),
    ],
)
def test_image_identifiers(identifier, registry, name, tag, digest):
    ref = parse_image_reference(identifier)
    assert (ref.registry, ref.name, ref.tag, ref.digest) == (registry, name, tag, digest)


def test_ingest_keeps_its_lenient_reading():
    images = parse_image_list("controller=ghcr.io/5dlabs/controller, localhost:5000/team/app:~1.2")
    assert [(i.alias, i.image, i.constraint) for i in images] == [
        ("controller", "ghcr.io/5dlabs/controller", ""),
        ("app", "localhost:5000/team/app", "~1.2"),
    ]
    assert tracked_images({}) == []
    assert (
        tag_parameter({"argocd-image-updater.argoproj.io/web.helm.image-tag": " web.tag "}, "web")
        == "web.tag"
    )
    assert (
        tag_parameter({"argocd-image-updater.argoproj.io/web.helm.image-tag": " "}, "web")
        == "image.tag"
    )


# ---------------------------------------------------------------------------------------------
# The ImageUpdater custom resource (v1.x)

CR = yaml.safe_load((FIXTURES / "image-updater-cr.yaml").read_text())
CTO = {"app.kubernetes.io/part-of": "cto"}
CONTROLLER_ANNOTATIONS = {
    "argocd-image-updater.argoproj.io/image-list": "controller=ghcr.io/5dlabs/controller",
    "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
}


def test_the_fixture_cr_reads_the_annotations_of_the_applications_it_selects():
    app = AppInfo("controller-prod", "argocd", "charts/controller", CTO, CONTROLLER_ANNOTATIONS)
    [policy] = policies_from_image_updater(CR, app)
    assert (policy.alias, policy.image, policy.tag_match.func) == (
        "controller",
        "ghcr.io/5dlabs/controller",
        "regexp",
    )


@pytest.mark.parametrize(
    "app",
    [
        AppInfo(
            "controller-prod", "argocd", labels={}, annotations=CONTROLLER_ANNOTATIONS
        ),  # label missing
        AppInfo(
            "web", "argocd", labels=CTO, annotations=CONTROLLER_ANNOTATIONS
        ),  # name does not match
        AppInfo(
            "controller", "team-a", labels=CTO, annotations=CONTROLLER_ANNOTATIONS
        ),  # not the CR's namespace
    ],
    ids=["label", "name", "namespace"],
)
def test_the_fixture_cr_ignores_applications_it_does_not_select(app):
    assert policies_from_image_updater(CR, app) == []


def test_the_fixture_cr_reports_annotation_errors_like_the_controller():
    app = AppInfo("controller", "argocd", labels=CTO, annotations={})
    with pytest.raises(
        ConfigError, match="image-list annotation not found on app argocd/controller"
    ):
        policies_from_image_updater(CR, app)


def images_cr(**spec) -> dict:
    return {
        "apiVersion": "argocd-image-updater.argoproj.io/v1alpha1",
        "kind": "ImageUpdater",
        "metadata": {"name": "u", "namespace": "argocd"},
        "spec": spec,
    }


def test_settings_merge_image_over_ref_over_spec():
    cr = images_cr(
        commonUpdateSettings={
            "updateStrategy": "alphabetical",
            "ignoreTags": ["latest"],
            "allowTags": "regexp:^v",
        },
        writeBackConfig={"method": "git", "gitConfig": {"branch": "main"}},
        applicationRefs=[
            {
                "namePattern": "web-*",
                "commonUpdateSettings": {"ignoreTags": ["dev-*"], "forceUpdate": True},
                "writeBackConfig": {"gitConfig": {"writeBackTarget": "helmvalues"}},
                "images": [
                    {
                        "alias": "web",
                        "imageName": "ghcr.io/x/web:~1.2",
                        "commonUpdateSettings": {
                            "updateStrategy": "semver",
                            "platforms": ["linux/arm64"],
                        },
                        "manifestTargets": {
                            "helm": {"name": "web.image.repository", "tag": "web.image.tag"}
                        },
                    },
                    {"alias": "worker", "imageName": "ghcr.io/x/worker"},
                ],
            }
        ],
    )
    web, worker = policies_from_image_updater(cr, AppInfo("web-prod", "argocd", "charts/web"))
    assert (
        web.update_strategy.value,
        web.ignore_tags,
        web.allow_tags,
        web.force_update,
        web.platforms,
    ) == ("semver", ("dev-*",), "regexp:^v", True, ("linux/arm64",))
    assert (web.constraint, web.helm.image_name, web.helm.image_tag) == (
        "~1.2",
        "web.image.repository",
        "web.image.tag",
    )
    assert (worker.update_strategy.value, worker.ignore_tags, worker.platforms) == (
        "alphabetical",
        ("dev-*",),
        (),
    )
    assert web.write_back.to_dict() == {
        "method": "git",
        "creds": "repocreds",
        "branch": "main",
        "write_branch": None,
        "repository": None,
        "target": "charts/web/values.yaml",
        "kustomize_base": None,
    }
    assert web.application_ref == "web-*"


def test_the_most_specific_application_ref_wins():
    cr = images_cr(
        applicationRefs=[
            {"namePattern": "*", "images": [{"alias": "any", "imageName": "ghcr.io/x/any"}]},
            {
                "namePattern": "web-*",
                "labelSelectors": {
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]}]
                },
                "images": [{"alias": "web", "imageName": "ghcr.io/x/web"}],
            },
            {
                "namePattern": "web-prod",
                "images": [{"alias": "prod", "imageName": "ghcr.io/x/prod"}],
            },
        ]
    )
    pick = lambda name, labels={}: [
        p.alias for p in policies_from_image_updater(cr, AppInfo(name, "argocd", labels=labels))
    ]
    assert pick("web-prod", {"tier": "frontend"}) == ["prod"]
    assert pick("web-dev", {"tier": "frontend"}) == ["web"]
    assert pick("web-dev", {"tier": "backend"}) == ["any"]
    assert specificity({"namePattern": "web-prod"}) == 1_000_008
    assert (
        specificity({"namePattern": "web-[a-z]*", "labelSelectors": {"matchLabels": {"a": "b"}}})
        == 10_104
    )


def test_conflicting_manifest_targets_skip_the_image_not_the_application():
    cr = images_cr(
        applicationRefs=[
            {
                "namePattern": "*",
                "images": [
                    {
                        "alias": "web",
                        "imageName": "ghcr.io/x/web",
                        "manifestTargets": {
                            "helm": {"name": "a"},
                            "kustomize": {"name": "ghcr.io/x/web"},
                        },
                    }
                ],
            }
        ]
    )
    [policy] = policies_from_image_updater(cr, AppInfo("app", "argocd"))
    assert policy.skip_reason.startswith(
        "Could not set manifest target config for image ghcr.io/x/web, skipping"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"applicationRefs": []}, "no application references defined in ImageUpdater CR"),
        (
            {"applicationRefs": [{"namePattern": "[", "images": []}]},
            "invalid application name pattern '[': syntax error in pattern",
        ),
        (
            {
                "writeBackConfig": {"method": "gitlab"},
                "applicationRefs": [{"namePattern": "*", "images": []}],
            },
            "Could not create write-back config, skipping: invalid update mechanism: gitlab",
        ),
    ],
)
def test_cr_errors(spec, message):
    with pytest.raises(ConfigError) as raised:
        policies_from_image_updater(images_cr(**spec), AppInfo("app", "argocd"))
    assert str(raised.value) == message


def test_without_an_application_every_ref_with_images_contributes():
    cr = images_cr(
        applicationRefs=[
            {"namePattern": "a", "images": [{"alias": "a", "imageName": "ghcr.io/x/a"}]},
            {"namePattern": "b*", "useAnnotations": True},
        ]
    )
    assert [p.alias for p in policies_from_image_updater(cr)] == ["a"]


def test_write_back_default_target_names_the_namespace_outside_the_controllers():
    annotations = {
        "argocd-image-updater.argoproj.io/image-list": "web=ghcr.io/x/web",
        "argocd-image-updater.argoproj.io/write-back-method": "git:secret:argocd/creds",
    }
    app = AppInfo("web", "team-a", "apps/web", controller_namespace="argocd")
    [policy] = policies_from_annotations(annotations, app=app)
    assert policy.write_back.target == "apps/web/.argocd-source-team-a_web.yaml"
    with pytest.raises(ConfigError, match="unexpected credentials format"):
        policies_from_annotations(
            {**annotations, "argocd-image-updater.argoproj.io/write-back-method": "git:vault"},
            app=app,
        )
