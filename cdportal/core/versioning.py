"""The next version, and which commits reach the changelog, as Release Please 17.1.3 decides them.

Reference: release-please src/strategies/base.ts (buildNewVersion, initialReleaseVersion,
changelogEmpty), src/versioning-strategies/{default,always-bump-*,prerelease}.ts,
src/versioning-strategy.ts (the updaters keep a prerelease suffix), src/version.ts, and the
visibility rules of conventional-changelog-conventionalcommits 6.1.0 writer-opts.js (`transform`,
`findTypeEntry`, add-bang-notes.js). Rules 1, 2, 3, 4, 6, 7 and 17 of
docs/release-please.md.

Pure Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import semver

from cdportal.core.conventional import DEFAULT_SECTIONS, Bump, ChangelogSection, ConventionalCommit
from cdportal.core.parsing import header

VERSIONINGS = (
    "default",
    "always-bump-patch",
    "always-bump-minor",
    "always-bump-major",
    "prerelease",
    "service-pack",
)

# writer-opts.js: a Release-As footer puts its commit in the changelog only when it reads as a
# version here (`Release-As: v2.0.0` does, `Release-As: next` does not).
_RELEASE_AS_FOOTER = re.compile(
    r"release-as:[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"
    r"\w*@?([0-9]+\.[0-9]+\.[0-9a-z]+(-[0-9a-z.]+)?)",
    re.ASCII | re.IGNORECASE,
)
# add-bang-notes.js: a header with `!` shows even when no BREAKING CHANGE note survived.
_BREAKING_HEADER = re.compile(
    r"(\w*)(?:\(([^\n\r\u2028\u2029]*)\))?!: ([^\n\r\u2028\u2029]*)", re.ASCII
)
# src/version.ts: found anywhere in the string, numbers read with Number() (leading zeros drop).
_VERSION = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?:-(?P<pre>[^+]+))?(?:\+(?P<build>[^\n\r\u2028\u2029]*))?",
    re.ASCII,
)
_PRERELEASE_NUMBER = re.compile(r"(\d+)(?=\D*\Z)", re.ASCII)
_SERVICE_PACK = re.compile(r"sp\.(\d+)", re.ASCII)
_FEATURE_TYPES = ("feat", "feature")  # compared case-sensitively (rule 3)
_SHOWN_BY_DEFAULT = {s.type for s in DEFAULT_SECTIONS if not s.hidden}


@dataclass(frozen=True)
class VersionOptions:
    """The package's release-please-config.json options that decide its next version."""

    bump_minor_pre_major: bool = False
    bump_patch_for_minor_pre_major: bool = False
    release_as: str | None = None  # the `release-as` package option: beats every commit
    initial_version: str | None = None
    versioning: str = "default"  # one of VERSIONINGS
    prerelease: bool = False  # marks the GitHub release as a prerelease; never changes the number
    prerelease_type: str | None = None  # `prerelease-type`, used by `versioning: prerelease`
    sections: tuple[ChangelogSection, ...] = DEFAULT_SECTIONS


class Version(NamedTuple):
    """src/version.ts: major.minor.patch, a prerelease and a build, printed like upstream."""

    major: int
    minor: int
    patch: int
    pre: str | None = None
    build: str | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """Like Version.parse upstream: the first x.y.z anywhere, so `v1.2.3` works."""
        m = _VERSION.search(text)
        if m is None:
            raise ValueError(f"unable to parse version string: {text}")
        return cls(int(m["major"]), int(m["minor"]), int(m["patch"]), m["pre"], m["build"])

    def __str__(self) -> str:
        pre = f"-{self.pre}" if self.pre else ""
        build = f"+{self.build}" if self.build else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}{build}"


def section_for(
    commit: ConventionalCommit, sections: Sequence[ChangelogSection]
) -> ChangelogSection | None:
    """findTypeEntry: the first section for the lower-cased type whose scope (if any) matches."""
    key = commit.type.lower()
    for section in sections:
        if section.type == key and (not section.scope or section.scope == commit.scope):
            return section
    return None


def is_visible(
    commit: ConventionalCommit, sections: Sequence[ChangelogSection] = DEFAULT_SECTIONS
) -> bool:
    """Whether the commit reaches the changelog, and so makes a release (rules 2, 4, 17)."""
    if commit.breaking or _carries_release_as(commit):
        return True
    section = section_for(commit, sections)
    if section is not None and not section.hidden:
        return True
    return _bang_header(commit)


def _bang_header(commit: ConventionalCommit) -> bool:
    """add-bang-notes.js: a `type(scope)!: ` header. `header()` builds it from these fields and
    writes a `!` only for a `!` or a `BREAKING CHANGE` right after the message's type and scope:
    without either in any of them (most commits) it cannot match."""
    texts = (commit.message, commit.subject, commit.type, commit.scope or "")
    if not any("!" in text for text in texts) and "BREAKING" not in commit.message:
        return False
    return _BREAKING_HEADER.fullmatch(header(commit)) is not None


def commit_bump(
    commit: ConventionalCommit, sections: Sequence[ChangelogSection] = DEFAULT_SECTIONS
) -> Bump:
    """The bump this commit asks for on its own: none unless it reaches the changelog."""
    if not is_visible(commit, sections):
        return Bump.NONE
    if commit.breaking:
        return Bump.MAJOR
    if commit.type in _FEATURE_TYPES:
        return Bump.MINOR
    return Bump.PATCH


def explain_bump(
    commit: ConventionalCommit, sections: Sequence[ChangelogSection] = DEFAULT_SECTIONS
) -> str:
    """The one-liner the UI shows next to a commit: `feat → minor`, `docs (hidden) → no bump`."""
    release_as = _release_as(commit)
    if release_as is not None and _carries_release_as(commit):
        return f"{commit.type} (Release-As: {release_as}) → sets version {release_as}"
    if not is_visible(commit, sections):
        section = section_for(commit, sections)
        where = "hidden" if section is not None else "not in changelog-sections"
        return f"{commit.type} ({where}) → no bump"
    if commit.breaking:
        marker = "!" if "!:" in header(commit) else "BREAKING CHANGE"
        return f"breaking ({marker}) → major"
    section = section_for(commit, sections)
    if commit.type in _FEATURE_TYPES:
        return f"{commit.type} → minor"
    if commit.type.lower() in _FEATURE_TYPES:
        return f"{commit.type} (only lower-case `{commit.type.lower()}` bumps the minor) → patch"
    if section is None or section.hidden:
        return f"{commit.type} (shown for its `!` header) → patch"
    if commit.type in _SHOWN_BY_DEFAULT:
        return f"{commit.type} → patch"
    return f"{commit.type} (visible section {section.section}) → patch"


def next_version(
    current: str | None,
    commits: Sequence[ConventionalCommit],
    options: VersionOptions = VersionOptions(),
) -> str | None:
    """The version of the Release PR Release Please would open, or None when it opens none.

    `current` is the latest release's version (None before the first release); `commits` are the
    parsed commits since then, newest first. Raises ValueError where Release Please fails: an
    unknown `versioning`, or a version (Release-As, release-as, initial-version, current) that
    does not parse."""
    if options.versioning not in VERSIONINGS:
        raise ValueError(f"Unknown versioning strategy type: {options.versioning}")
    if not commits:
        return None
    version = _new_version(current, commits, options)
    # No changelog entry, no release PR: not even the release-as option makes one (base.ts
    # computes the version first, so a bad Release-As fails the run even then, and returns
    # when the notes are empty).
    if not any(is_visible(c, options.sections) for c in commits):
        return None
    return str(version)


def _new_version(
    current: str | None, commits: Sequence[ConventionalCommit], options: VersionOptions
) -> Version:
    """buildNewVersion: the release-as option, else the newest Release-As (even backwards, even
    over a BREAKING CHANGE), else the first release, else the versioning strategy's bump."""
    if options.release_as:
        return Version.parse(options.release_as)
    for commit in commits:
        release_as = _release_as(commit)
        if release_as is not None:
            return Version.parse(release_as)
    if current is None:
        return Version.parse(options.initial_version or "1.0.0")
    return _bump(Version.parse(current), commits, options)


def _bump(
    version: Version, commits: Sequence[ConventionalCommit], options: VersionOptions
) -> Version:
    if options.versioning == "service-pack":
        # 1.2.3 → 1.2.3-sp.1 → 1.2.3-sp.2, whatever the commits say.
        m = _SERVICE_PACK.search(version.pre or "")
        return version._replace(pre=f"sp.{int(m[1]) + 1}" if m else "sp.1")
    if options.versioning.startswith("always-bump-"):
        kind = {"patch": Bump.PATCH, "minor": Bump.MINOR, "major": Bump.MAJOR}[
            options.versioning[12:]
        ]
        return _default_update(version, kind)
    # determineReleaseType counts every commit, hidden ones too: a hidden `feat` still makes a
    # minor once something else opened the release.
    kind = Bump.PATCH
    if any(c.breaking for c in commits):
        kind = Bump.MAJOR
        if version.major < 1 and options.bump_minor_pre_major:
            kind = Bump.MINOR
    elif any(c.type in _FEATURE_TYPES for c in commits):
        kind = Bump.MINOR
        if version.major < 1 and options.bump_patch_for_minor_pre_major:
            kind = Bump.PATCH
    if options.versioning == "prerelease":
        return _prerelease_update(version, kind, options.prerelease_type)
    return _default_update(version, kind)


def _default_update(version: Version, kind: Bump) -> Version:
    """Major/Minor/PatchVersionUpdate: the prerelease and build are kept (rule 6)."""
    major, minor, patch, pre, build = version
    if kind == Bump.MAJOR:
        return Version(major + 1, 0, 0, pre, build)
    if kind == Bump.MINOR:
        return Version(major, minor + 1, 0, pre, build)
    return Version(major, minor, patch + 1, pre, build)


def _prerelease_update(version: Version, kind: Bump, prerelease_type: str | None) -> Version:
    """Prerelease{Major,Minor,Patch}VersionUpdate: inside a prerelease line only the counter
    moves; a release starts a new line without a counter (`1.3.0-beta`)."""
    major, minor, patch, pre, build = version
    if not pre:
        if kind == Bump.MAJOR:
            return Version(major + 1, 0, 0, prerelease_type, build)
        if kind == Bump.MINOR:
            return Version(major, minor + 1, 0, prerelease_type, build)
        return Version(major, minor, patch + 1, prerelease_type, build)
    counter_only = (
        kind == Bump.PATCH
        or (kind == Bump.MINOR and patch == 0)
        or (kind == Bump.MAJOR and patch == 0 and minor == 0)
    )
    if counter_only:
        return Version(major, minor, patch, _next_prerelease(pre), build)
    return _default_update(version, kind)


def _next_prerelease(pre: str) -> str:
    """`beta.1` → `beta.2`, `rc1` → `rc2`, `beta01` → `beta02` (zeros kept), `beta` → `beta.1`."""
    m = _PRERELEASE_NUMBER.search(pre)
    if m is None:
        return f"{pre}.1"
    number = str(int(m[1]) + 1).rjust(len(m[1]), "0")
    return f"{pre[: m.start()]}{number}{pre[m.end() :]}"


def _release_as(commit: ConventionalCommit) -> str | None:
    """The commit's first Release-As footer value (without a leading v)."""
    if commit.release_as is not None:
        return commit.release_as
    return next((n.text for n in commit.notes if n.title == "RELEASE AS"), None)


def _carries_release_as(commit: ConventionalCommit) -> bool:
    if not commit.notes and commit.release_as is None:
        return False
    values = [n.text for n in commit.notes if n.title == "RELEASE AS"]
    if not values and commit.release_as is not None:
        values = [commit.release_as]
    footer = "\n".join(f"Release-As: {value}" for value in values)
    return bool(values) and _RELEASE_AS_FOOTER.search(footer) is not None


def compare(a: str, b: str) -> int:
    """SemVer precedence of two versions Release Please printed (-1, 0, 1)."""
    return semver.Version.parse(a).compare(b)
