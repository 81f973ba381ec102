"""Masterminds/semver v3.4.0 in Python: the version and constraint language of Argo CD Image Updater.

The updater parses tags with `semver.NewVersion` (CoerceNewVersion = true) and filters them with
`semver.NewConstraint(...).Check`. Python's `semver`/`packaging` differ on almost every edge that
matters here (a `v` prefix, `1.2` as a version, `~0.0.0`, dirty `>1.2`, pre-release admission per AND
group), so this is a line-by-line port rather than a translation to ranges.

Reference: github.com/Masterminds/semver v3.4.0, version.go and constraints.go; the regular expressions
are Go RE2 ones, rewritten only where Python differs (`\\s` is ASCII `[\\t\\n\\f\\r ]` in Go, `$` is the
end of the text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Constraints",
    "SemverError",
    "Version",
    "parse_constraint",
    "parse_version",
    "try_version",
]

_UINT64_MAX = (1 << 64) - 1


class SemverError(ValueError):
    """A version or constraint Masterminds rejects; str() is Go's error text."""


# Go's semVerRegex, with the dots of minor/patch outside the groups (the same language).
_VERSION = re.compile(
    r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?"
    r"(?:-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
    r"(?:\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?\Z"
)


class Version:
    """A parsed version. `key` orders by precedence (`Compare`): build metadata is ignored and a
    release outranks its pre-releases."""

    __slots__ = ("key", "major", "metadata", "minor", "original", "patch", "pre")

    def __init__(
        self,
        major: int,
        minor: int,
        patch: int,
        pre: str = "",
        metadata: str = "",
        original: str = "",
    ):
        self.major, self.minor, self.patch = major, minor, patch
        self.pre, self.metadata, self.original = pre, metadata, original
        self.key = (
            (major, minor, patch, 0, _prerelease_key(pre)) if pre else (major, minor, patch, 1, ())
        )

    @property
    def precedence(self) -> tuple:
        return self.key

    def compare(self, other: Version) -> int:
        a, b = self.key, other.key
        return (a > b) - (a < b)

    def __eq__(self, other) -> bool:
        return isinstance(other, Version) and (self.key, self.metadata, self.original) == (
            other.key,
            other.metadata,
            other.original,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.metadata, self.original))

    def __repr__(self) -> str:
        return f"Version({self.original!r})"

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += f"-{self.pre}"
        if self.metadata:
            text += f"+{self.metadata}"
        return text


def parse_version(text: str) -> Version:
    """`semver.NewVersion` with v3.4.0's default coercion; raises SemverError with Go's message."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        raise SemverError(parsed)
    return parsed


def try_version(text: str) -> Version | None:
    """parse_version without the exception (the hot path over a registry's tag list)."""
    parsed = _parse(text)
    return None if isinstance(parsed, str) else parsed


def parse_many(texts) -> tuple[list[Version], list[str]]:
    """try_version over many tags at once (the loop over a registry's tag list): the versions, in
    input order, and the texts that are not versions."""
    versions, rejected = [], []
    parse = _parse
    for text in texts:
        parsed = parse(text)
        if parsed.__class__ is str:
            rejected.append(text)
        else:
            versions.append(parsed)
    return versions, rejected


def _parse(text: str) -> Version | str:
    m = _VERSION.match(text)
    if m is None:
        return "invalid semantic version"
    major, minor, patch, pre, metadata = m.groups()
    try:
        numbers = int(major), int(minor) if minor else 0, int(patch) if patch else 0
    except ValueError:  # more digits than Python converts: certainly out of range
        numbers = tuple(
            int(d) if d and len(d) <= 4000 else (_UINT64_MAX + 1 if d else 0)
            for d in (major, minor, patch)
        )
    if numbers[0] > _UINT64_MAX or numbers[1] > _UINT64_MAX or numbers[2] > _UINT64_MAX:
        for digits, number in zip((major, minor, patch), numbers):
            if number > _UINT64_MAX:
                return f'error parsing version segment: strconv.ParseUint: parsing "{digits}": value out of range'
    if pre:
        for part in pre.split("."):
            if len(part) > 1 and part[0] == "0" and part.isdigit():
                return "version segment starts with 0"
    return Version(numbers[0], numbers[1], numbers[2], pre or "", metadata or "", text)


@lru_cache(maxsize=4096)
def _prerelease_key(pre: str) -> tuple:
    # comparePrePart: identifiers that parse as uint64 compare numerically and sort before
    # alphanumeric ones, which compare byte-wise; a shorter list sorts first. (Identifiers are
    # ASCII [0-9A-Za-z-], the grammar guarantees it.) Pre-releases repeat a lot: cached.
    return tuple(
        [
            (0, int(part), "")
            if part.isdigit() and (len(part) < 20 or (len(part) == 20 and int(part) <= _UINT64_MAX))
            else (1, 0, part)
            for part in pre.split(".")
        ]
    )


# ---------------------------------------------------------------------------------------------
# Constraints (constraints.go)

_S = r"[\t\n\f\r ]"  # Go's \s
_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = re.compile(rf"{_S}*({_OPS}){_S}*({_CV}){_S}*\Z")
_RANGE = re.compile(rf"{_S}*({_CV}){_S}+-{_S}+({_CV}){_S}*")
_FIND = re.compile(rf"({_OPS}){_S}*({_CV})")
_VALID = re.compile(
    rf"({_S}*({_OPS}){_S}*({_CV}){_S}*)((?:{_S}+|,{_S}*)({_OPS}){_S}*({_CV}){_S}*)*\Z"
)


@dataclass(frozen=True, slots=True)
class _Constraint:
    con: Version
    orig: str
    op: str
    minor_dirty: bool
    dirty: bool
    patch_dirty: bool

    def check(self, v: Version, include_pre: bool) -> bool:
        return _OPERATORS[self.op](v, self, include_pre)


class Constraints:
    """`semver.NewConstraint`: OR groups (`||`) of AND-ed constraints."""

    __slots__ = ("_any_pre", "_pairs", "contains_pre", "groups", "text")

    def __init__(
        self, text: str, groups: tuple[tuple[_Constraint, ...], ...], contains_pre: tuple[bool, ...]
    ):
        self.text = text
        self.groups = groups
        self.contains_pre = contains_pre
        self._any_pre = any(contains_pre)
        self._pairs: tuple[tuple[tuple[tuple[_Constraint, Callable], ...], bool], ...] = tuple(
            (tuple((c, _OPERATORS[c.op]) for c in group), has_pre)
            for group, has_pre in zip(groups, contains_pre)
        )

    def check(self, v: Version, *, include_prerelease: bool = False) -> bool:
        """`Constraints.Check`. A pre-release passes a group only if some constraint of that group
        carries a pre-release part (v3.4.0, #267) or include_prerelease is set."""
        if v.pre and not include_prerelease and not self._any_pre:
            return False  # every constraint function starts by refusing it
        for group, has_pre in self._pairs:
            include = include_prerelease or has_pre
            for c, fn in group:
                if not fn(v, c, include):
                    break
            else:
                return True
        return False

    @property
    def admits_prereleases(self) -> bool:
        return any(self.contains_pre)

    def __repr__(self) -> str:
        return f"Constraints({self.text!r})"


@lru_cache(maxsize=1024)
def parse_constraint(text: str) -> Constraints:
    """`semver.NewConstraint`; raises SemverError (`improper constraint: …`) like Go."""
    rewritten = _rewrite_range(text)
    groups, has_pre = [], []
    for segment in rewritten.split("||"):
        if not _VALID.match(segment):
            raise SemverError(f"improper constraint: {segment}")
        parts = [m.group(0) for m in _FIND.finditer(segment)] or [segment]
        group = tuple(_parse_one(part) for part in parts)
        groups.append(group)
        has_pre.append(any(c.con.pre for c in group))
    return Constraints(text, tuple(groups), tuple(has_pre))


def _rewrite_range(text: str) -> str:
    out = text
    for m in _RANGE.finditer(text):
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(11)} ", 1)
    return out


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


def _parse_one(text: str) -> _Constraint:
    if not text:  # the empty constraint: any release
        return _Constraint(Version(0, 0, 0, "", "", "0.0.0"), "", "", False, True, False)
    m = _CONSTRAINT.match(text)
    if m is None:
        raise SemverError(f"improper constraint: {text}")
    op, orig = m.group(1), m.group(2)
    major, minor, patch, pre = m.group(3), m.group(4) or "", m.group(5) or "", m.group(6) or ""
    minor_dirty = patch_dirty = dirty = False
    version = orig
    if _is_x(major):
        version, dirty = f"0.0.0{pre}", True
    elif _is_x(minor.removeprefix(".")) or not minor:
        version, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif _is_x(patch.removeprefix(".")) or not patch:
        version, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    try:
        con = parse_version(version)
    except SemverError:
        raise SemverError("constraint parser error") from None
    return _Constraint(con, orig, op, minor_dirty, dirty, patch_dirty)


# The constraint functions, in constraints.go order. Each first rejects a pre-release unless the
# AND group admits pre-releases.


def _not_equal(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if c.dirty:
        if c.con.major != v.major:
            return True
        if c.con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or c.con.pre:
                return _prerelease_key(v.pre) != _prerelease_key(c.con.pre)
            return False
    return v.key != c.con.key


def _greater_than(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if not c.dirty:
        return v.key > c.con.key
    if v.major > c.con.major:
        return True
    if v.major < c.con.major:
        return False
    if c.minor_dirty:
        return False  # >11 needs 12 or higher
    if c.patch_dirty:
        return v.minor > c.con.minor  # >11.1 needs 11.2 or higher
    return v.key > c.con.key


def _less_than(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    return v.key < c.con.key


def _greater_than_equal(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    return v.key >= c.con.key


def _less_than_equal(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if not c.dirty:
        return v.key <= c.con.key
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if v.key < c.con.key:
        return False
    # ~0.0.0 is the special case that accepts everything (>= 0.0.0).
    if (
        c.con.major == 0
        and c.con.minor == 0
        and c.con.patch == 0
        and not c.minor_dirty
        and not c.patch_dirty
    ):
        return True
    if v.major != c.con.major:
        return False
    return v.minor == c.con.minor or c.minor_dirty


def _tilde_or_equal(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if c.dirty:
        return _tilde(v, c, include_pre)
    return v.key == c.con.key


def _caret(v: Version, c: _Constraint, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    if v.key < c.con.key:
        return False
    if c.con.major > 0 or c.minor_dirty:
        return v.major == c.con.major
    if c.con.major == 0 and v.major > 0:
        return False
    if c.con.minor > 0 or c.patch_dirty:
        return v.minor == c.con.minor
    if c.con.minor == 0 and v.minor > 0:
        return False
    return c.con.patch == v.patch


_OPERATORS = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater_than,
    "<": _less_than,
    ">=": _greater_than_equal,
    "=>": _greater_than_equal,
    "<=": _less_than_equal,
    "=<": _less_than_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}
