"""Conventional Commits: the header of a commit message, and the bump it asks for.

Reference: https://www.conventionalcommits.org/en/v1.0.0/ — `type(scope)!: description`,
with `BREAKING CHANGE:` / `BREAKING-CHANGE:` footers. Release Please's fuller rules (squash
messages, Release-As, hidden sections) build on this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum
from typing import NamedTuple

import semver

HEADER = re.compile(
    r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: (?P<description>\S.*)$"
)
BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: ", re.MULTILINE)


class Bump(IntEnum):
    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


class ParsedCommit(NamedTuple):
    type: str
    scope: str
    description: str
    breaking: bool

    @property
    def bump(self) -> Bump:
        if self.breaking:
            return Bump.MAJOR
        if self.type == "feat":
            return Bump.MINOR
        if self.type == "fix":
            return Bump.PATCH
        return Bump.NONE


def parse(message: str) -> ParsedCommit | None:
    """The conventional header of a message, or None when the message does not follow it."""
    header = message.strip().splitlines()[0] if message.strip() else ""
    match = HEADER.match(header)
    if match is None:
        return None
    return ParsedCommit(
        type=match["type"].lower(),
        scope=match["scope"] or "",
        description=match["description"].strip(),
        breaking=bool(match["bang"]) or bool(BREAKING_FOOTER.search(message)),
    )


def release_bump(messages: Iterable[str]) -> Bump:
    return max((c.bump for c in map(parse, messages) if c is not None), default=Bump.NONE)


def next_version(
    current: str,
    bump: Bump,
    *,
    bump_minor_pre_major: bool = False,
    bump_patch_for_minor_pre_major: bool = False,
) -> str:
    """The version after `current` for `bump`. Before 1.0.0, Release Please's options of the
    same names turn a breaking change into a minor bump and a feature into a patch bump."""
    version = semver.Version.parse(current)
    if version.major == 0:
        if bump == Bump.MAJOR and bump_minor_pre_major:
            bump = Bump.MINOR
        elif bump == Bump.MINOR and bump_patch_for_minor_pre_major:
            bump = Bump.PATCH
    if bump == Bump.MAJOR:
        return str(version.bump_major())
    if bump == Bump.MINOR:
        return str(version.bump_minor())
    if bump == Bump.PATCH:
        return str(version.bump_patch())
    return current
