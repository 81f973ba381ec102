"""The data the release engine passes around: raw commits in, conventional commits out.

Shared by the parser (``cdportal.core.parsing``), versioning (``cdportal.core.versioning``),
the changelog (``cdportal.core.changelog``), the configuration (``cdportal.core.release_config``)
and the planner (``cdportal.core.plan``). Plain Python, no Django.

Reference behaviour: release-please 17.1.3 (docs/release-please.md lists its rules).
Release Please's own types (src/commit.ts): ``Commit`` {sha, message, files, pullRequest} and
``ConventionalCommit`` {type, scope, notes, references, bareMessage, breaking, ...}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Bump(IntEnum):
    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


@dataclass(frozen=True)
class Commit:
    """A commit as git gives it. Lists are newest first, like `git log`."""

    sha: str  # 40 hex characters
    message: str  # the full message: subject, blank line, body, footers
    files: tuple[str, ...] = ()  # paths it touches, relative to the repository root
    # The merged pull request's body, when known: a BEGIN_COMMIT_OVERRIDE block there
    # replaces the message (release-please docs/customizing.md).
    pull_request_body: str | None = None

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


@dataclass(frozen=True)
class Note:
    """A footer note; title 'BREAKING CHANGE' carries the breaking-change text."""

    title: str
    text: str


@dataclass(frozen=True)
class Reference:
    """An issue reference from a footer (`Closes #77`, `Refs: #12`)."""

    action: str | None  # 'Closes', 'Fixes', 'Refs', ... or None
    prefix: str  # '#'
    issue: str  # '77'


@dataclass(frozen=True)
class ConventionalCommit:
    """One conventional entry. A squash commit may yield several with the same sha."""

    sha: str
    type: str  # as written (case kept: 'FEAT' lists under Features but bumps only a patch)
    scope: str | None
    subject: str  # Release Please's bareMessage: the description after 'type(scope): '
    breaking: bool
    notes: tuple[Note, ...] = ()
    references: tuple[Reference, ...] = ()
    release_as: str | None = None  # from a 'Release-As: x.y.z' footer, without a leading v
    files: tuple[str, ...] = ()
    message: str = ""  # the message this entry was parsed from (the split-off paragraph)

    @property
    def breaking_notes(self) -> list[str]:
        return [n.text for n in self.notes if n.title == "BREAKING CHANGE"]


@dataclass(frozen=True)
class Skipped:
    """A commit (or part of one) Release Please will not use, and why: the commit-lint report."""

    sha: str
    subject: str
    reason: str


@dataclass(frozen=True)
class ChangelogSection:
    """One entry of `changelog-sections` in release-please-config.json."""

    type: str
    section: str
    hidden: bool = False
    scope: str | None = None  # sections may be keyed by type + scope


# Release Please's defaults (src/changelog-notes.ts DEFAULT_CHANGELOG_SECTIONS). Configuring
# `changelog-sections` replaces this list: a type not listed there is hidden.
DEFAULT_SECTIONS: tuple[ChangelogSection, ...] = (
    ChangelogSection("feat", "Features"),
    ChangelogSection("feature", "Features"),
    ChangelogSection("fix", "Bug Fixes"),
    ChangelogSection("perf", "Performance Improvements"),
    ChangelogSection("revert", "Reverts"),
    ChangelogSection("docs", "Documentation", hidden=True),
    ChangelogSection("style", "Styles", hidden=True),
    ChangelogSection("chore", "Miscellaneous Chores", hidden=True),
    ChangelogSection("refactor", "Code Refactoring", hidden=True),
    ChangelogSection("test", "Tests", hidden=True),
    ChangelogSection("build", "Build System", hidden=True),
    ChangelogSection("ci", "Continuous Integration", hidden=True),
)


@dataclass(frozen=True)
class Repo:
    """Where changelog links point: https://github.com/{owner}/{name}."""

    owner: str
    name: str
    host: str = "https://github.com"

    @property
    def url(self) -> str:
        return f"{self.host}/{self.owner}/{self.name}"


@dataclass
class Parsed:
    commits: list[ConventionalCommit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
