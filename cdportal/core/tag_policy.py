"""Which tag Argo CD Image Updater would pick now, and why every other tag loses.

A pure-Python model of argocd-image-updater v1.3's tag selection (registry-scanner `GetTags`,
`GetNewestVersionFromTags`, the tag sorters and `needsUpdate`), specified in
`docs`-style detail in ../shared/guide/image-updater.md and checked by the vectors in
tests/fixtures/image-policy/. Older releases differ in a few places; `select(..., regime=...)`
reproduces them (guide §0).

The configuration side (annotations, the ImageUpdater custom resource) lives in `image_list`;
this module takes an `ImagePolicy` and the registry's tag list and returns a `Selection`.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import cache, cached_property, lru_cache

from cdportal.core import masterminds

__all__ = [
    "DEFAULT_PLATFORM",
    "GoRegexpError",
    "HelmTarget",
    "ImagePolicy",
    "Reason",
    "Regime",
    "Selection",
    "Strategy",
    "TagInfo",
    "TagMatch",
    "WriteBack",
    "glob_match",
    "glob_valid",
    "go_join",
    "parse_allow_tags",
    "parse_strategy",
    "parse_tagsortmode",
    "select",
    "translate_go_regexp",
]

# The updater process's own platform, wanted when an image configures none (runtime.GOOS/GOARCH of
# the official linux/amd64 image).
DEFAULT_PLATFORM = "linux/amd64"


class Strategy(str, Enum):
    SEMVER = "semver"
    NEWEST_BUILD = "newest-build"
    ALPHABETICAL = "alphabetical"
    DIGEST = "digest"


class Reason(str, Enum):
    UPDATE = "update"
    UP_TO_DATE = "up_to_date"
    NO_TAGS = "no_tags"
    NO_SEMVER_TAGS = "no_semver_tags"
    NO_MATCH_CONSTRAINT = "no_match_constraint"
    INVALID_CONSTRAINT = "invalid_constraint"
    DIGEST_REQUIRES_CONSTRAINT = "digest_requires_constraint"
    CURRENT_TAG_NOT_SEMVER = "current_tag_not_semver"  # legacy regime only


class Regime(str, Enum):
    """Updater releases whose tag selection differs (guide §0)."""

    V1_3 = "v1.3"  # v1.3.0 and later: no constraint means `*`, pre-releases excluded
    V1_2 = "v1.2"  # v1.2.0–v1.2.2: no constraint means every semver tag
    V1_1_1 = "v1.1.1"  # v1.1.1–v1.1.3: nothing eligible ⇒ the running tag comes back
    LEGACY = "legacy"  # v0.x, v1.0.x, v1.1.0: the running tag must itself be semver


# ---------------------------------------------------------------------------------------------
# update-strategy (registry-scanner/pkg/image/options.go: ParseUpdateStrategy)


def parse_strategy(value: str | None) -> tuple[Strategy, str | None]:
    """The strategy and the updater's warning, if it logs one. None means "not configured"."""
    if value is None:
        return Strategy.SEMVER, None
    lowered = value.lower()
    if lowered == "semver":
        return Strategy.SEMVER, None
    if lowered in ("latest", "newest-build"):
        warning = (
            None
            if lowered == "newest-build"
            else (
                '"latest" strategy has been renamed to "newest-build". Please switch to the new convention '
                "as support for the old naming convention will be removed in future versions."
            )
        )
        return Strategy.NEWEST_BUILD, warning
    if lowered in ("name", "alphabetical"):
        warning = (
            None
            if lowered == "alphabetical"
            else (
                '"name" strategy has been renamed to "alphabetical". Please switch to the new convention '
                "as support for the old naming convention will be removed in future versions."
            )
        )
        return Strategy.ALPHABETICAL, warning
    if lowered == "digest":
        return Strategy.DIGEST, None
    return Strategy.SEMVER, f"Unknown sort option {value} -- using semver"


def parse_tagsortmode(value: str | None) -> str:
    """registries.conf `tagsortmode`: "" (none), "latest-first" or "latest-last"; else ValueError."""
    lowered = (value or "").lower()
    if lowered in ("", "none"):
        return ""
    if lowered in ("latest-first", "latest-last"):
        return lowered
    raise ValueError(f"unknown tag sort mode for registry: {value}")


# ---------------------------------------------------------------------------------------------
# allow-tags (registry-scanner/pkg/image/options.go: ParseMatch; matchfunc.go)


@dataclass(frozen=True)
class TagMatch:
    """What an allow-tags value compiles to: `any`, `none` (matches no tag) or `regexp`."""

    func: str
    pattern: str | None = None
    warning: str | None = None
    search: Callable[[str], object] | None = field(default=None, repr=False, compare=False)

    def matches(self, tag: str) -> bool:
        if self.func == "any":
            return True
        if self.func == "none":
            return False
        return self.search(tag) is not None

    def to_dict(self) -> dict:
        return (
            {"func": self.func}
            if self.pattern is None
            else {"func": self.func, "pattern": self.pattern}
        )


@lru_cache(maxsize=512)
def parse_allow_tags(value: str | None) -> TagMatch:
    if not value:
        return TagMatch("any")
    if value.lower() == "any":
        return TagMatch("any")
    prefix, sep, expression = value.partition(":")
    if not sep:
        return TagMatch("none", warning=f"Invalid match option syntax '{value}', ignoring")
    if prefix.lower() != "regexp":
        return TagMatch("none", warning=f"Unknown match function: {prefix}")
    try:
        compiled = re.compile(translate_go_regexp(expression))
    except (GoRegexpError, re.error):
        return TagMatch("none", warning=f"Could not compile regexp '{expression}'")
    # Go's Regexp.Match is a search: an unanchored pattern matches anywhere in the tag.
    return TagMatch("regexp", expression, search=compiled.search)


# ---------------------------------------------------------------------------------------------
# ignore-tags: Go's path/filepath.Match (Unix), one pattern per entry


@lru_cache(maxsize=1024)
def _compile_glob(pattern: str) -> Callable[[str], bool]:
    """A predicate equal to `filepath.Match(pattern, name) && err == nil`."""
    if _glob_syntax_error(pattern):
        return lambda name: False  # ErrBadPattern: the updater treats it as "not ignored"
    fullmatch = re.compile(_glob_regex(pattern), re.DOTALL).fullmatch
    # The regex is exact for names without "/"; registry tags never contain one, but a name that
    # does goes through the literal port of Go's chunk matcher, whose greedy stars differ.
    return lambda name: (
        (fullmatch(name) is not None) if "/" not in name else _go_match(pattern, name)
    )


def glob_match(pattern: str, name: str) -> bool:
    return _compile_glob(pattern)(name)


def glob_valid(pattern: str) -> bool:
    """False where filepath.Match reports ErrBadPattern."""
    return not _glob_syntax_error(pattern)


def _glob_chunks(pattern: str) -> list[tuple[bool, str]]:
    """filepath's scanChunk: (preceded by a star, chunk) pairs."""
    chunks = []
    while pattern:
        star = False
        while pattern.startswith("*"):
            pattern, star = pattern[1:], True
        in_range, i = False, 0
        while i < len(pattern):
            c = pattern[i]
            if c == "\\":
                if i + 1 < len(pattern):
                    i += 1
            elif c == "[":
                in_range = True
            elif c == "]":
                in_range = False
            elif c == "*" and not in_range:
                break
            i += 1
        chunks.append((star, pattern[:i]))
        pattern = pattern[i:]
    return chunks


def _glob_syntax_error(pattern: str) -> bool:
    return any(_match_chunk(chunk, "") is None for _, chunk in _glob_chunks(pattern))


def _get_esc(chunk: str, i: int) -> tuple[str, int] | None:
    if i >= len(chunk) or chunk[i] in "-]":
        return None
    if chunk[i] == "\\":
        i += 1
        if i >= len(chunk):
            return None
    if i + 1 >= len(chunk):
        return None  # a range must be followed by more of the class
    return chunk[i], i + 1


def _match_chunk(chunk: str, s: str) -> str | bool | None:
    """filepath.matchChunk: the rest of s after a match, False on mismatch, None on bad pattern.
    Like Go it keeps validating the whole chunk after the match has failed."""
    failed, i = False, 0
    while i < len(chunk):
        if not failed and not s:
            failed = True
        c = chunk[i]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            i += 1
            negated = i < len(chunk) and chunk[i] == "^"
            if negated:
                i += 1
            matched, ranges = False, 0
            while True:
                if i < len(chunk) and chunk[i] == "]" and ranges > 0:
                    i += 1
                    break
                lo = _get_esc(chunk, i)
                if lo is None:
                    return None
                lo_char, i = lo
                hi_char = lo_char
                if chunk[i] == "-":
                    hi = _get_esc(chunk, i + 1)
                    if hi is None:
                        return None
                    hi_char, i = hi
                if not failed and lo_char <= r <= hi_char:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            i += 1
        else:
            if c == "\\":
                i += 1
                if i >= len(chunk):
                    return None
            if not failed:
                if chunk[i] != s[0]:
                    failed = True
                s = s[1:]
            i += 1
    return False if failed else s


def _go_match(pattern: str, name: str) -> bool:
    """filepath.Match, line by line (used only for names containing '/')."""
    chunks = _glob_chunks(pattern)
    for index, (star, chunk) in enumerate(chunks):
        last = index == len(chunks) - 1
        if star and chunk == "":
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is None:
            return False
        if rest is not False and (rest == "" or not last):
            name = rest
            continue
        if star:
            found = False
            for i in range(len(name)):
                if name[i] == "/":
                    break
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is None:
                    return False
                if rest is not False:
                    if last and rest:
                        continue
                    name, found = rest, True
                    break
            if found:
                continue
        return False
    return name == ""


def _glob_regex(pattern: str) -> str:
    out = []
    for star, chunk in _glob_chunks(pattern):
        if star:
            out.append("[^/]*")
        i = 0
        while i < len(chunk):
            c = chunk[i]
            if c == "?":
                out.append("[^/]")
                i += 1
            elif c == "[":
                i += 1
                negated = chunk[i] == "^"
                if negated:
                    i += 1
                ranges = []
                while True:
                    if chunk[i] == "]" and ranges:
                        i += 1
                        break
                    if not ranges and chunk[i] == "]":
                        break  # unreachable: syntax was checked
                    lo, i = _get_esc(chunk, i)
                    hi = lo
                    if chunk[i] == "-":
                        hi, i = _get_esc(chunk, i + 1)
                    ranges.append((ord(lo), ord(hi)))
                valid = [(lo, hi) for lo, hi in ranges if lo <= hi]  # Go ignores inverted ranges
                out.append(
                    _emit_ranges(_negate(_normalize(valid)) if negated else _normalize(valid))
                )
            else:
                if c == "\\":
                    i += 1
                    c = chunk[i]
                out.append(re.escape(c))
                i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Go RE2 syntax (regexp/syntax with Perl flags) → Python `re`
#
# Only whether a tag matches matters, so the translation keeps the language, not the capture
# structure. Everything is exact for ASCII text, which is all a registry tag can hold
# ([A-Za-z0-9_.-]). Beyond ASCII, case folding follows Python's lower()/upper() and Unicode script
# classes (\p{Greek}) are approximated; Go's program-size and nesting-depth limits are not modelled.


class GoRegexpError(ValueError):
    """Go's regexp.Compile would reject the expression."""


_MAX_RUNE = 0x10FFFF
_FOLD, _MULTILINE, _DOTALL, _UNGREEDY = 1, 2, 4, 8
_PERL_CLASSES = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}
_POSIX_CLASSES = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
_CATEGORIES = {
    "C",
    "Cc",
    "Cf",
    "Co",
    "Cs",
    "L",
    "Ll",
    "Lm",
    "Lo",
    "Lt",
    "Lu",
    "M",
    "Mc",
    "Me",
    "Mn",
    "N",
    "Nd",
    "Nl",
    "No",
    "P",
    "Pc",
    "Pd",
    "Pe",
    "Pf",
    "Pi",
    "Po",
    "Ps",
    "S",
    "Sc",
    "Sk",
    "Sm",
    "So",
    "Z",
    "Zl",
    "Zp",
    "Zs",
}
_SCRIPTS = {
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
}
_SCRIPT_APPROXIMATIONS = {
    "Latin": [
        (0x41, 0x5A),
        (0x61, 0x7A),
        (0xAA, 0xAA),
        (0xBA, 0xBA),
        (0xC0, 0xD6),
        (0xD8, 0xF6),
        (0xF8, 0x24F),
        (0x1E00, 0x1EFF),
        (0xFF21, 0xFF3A),
        (0xFF41, 0xFF5A),
    ],
    "Common": [
        (0x00, 0x40),
        (0x5B, 0x60),
        (0x7B, 0xA9),
        (0xAB, 0xB9),
        (0xBB, 0xBF),
        (0xD7, 0xD7),
        (0xF7, 0xF7),
        (0x2000, 0x206F),
    ],
}


def _normalize(ranges) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _negate(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, next_lo = [], 0
    for lo, hi in ranges:
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= _MAX_RUNE:
        out.append((next_lo, _MAX_RUNE))
    return out


def _fold(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add simple case-fold variants, as Go does for classes under (?i)."""
    extra = []
    for lo, hi in ranges:
        for c in range(lo, min(hi, 0x7F) + 1):
            extra.extend(ord(v) for v in _orbit(chr(c)))
        if hi > 0x7F and hi - max(lo, 0x80) < 4096:
            for c in range(max(lo, 0x80), hi + 1):
                extra.extend(ord(v) for v in _orbit(chr(c)))
        # Two non-ASCII code points fold into ASCII: KELVIN SIGN and LATIN SMALL LETTER LONG S.
        for special in (0x212A, 0x017F):
            if lo <= special <= hi:
                extra.extend(ord(v) for v in _orbit(chr(special)))
    return _normalize(ranges + [(c, c) for c in extra])


@lru_cache(maxsize=4096)
def _orbit(ch: str) -> frozenset[str]:
    seen, todo = {ch}, [ch]
    while todo:
        c = todo.pop()
        for variant in (c.lower(), c.upper()):
            if len(variant) == 1 and variant not in seen:
                seen.add(variant)
                todo.append(variant)
    if seen & {"k", "K"}:
        seen.add("\u212a")
    if seen & {"s", "S"}:
        seen.add("\u017f")
    return frozenset(seen)


def _escape_code(c: int) -> str:
    return f"\\U{c:08x}" if c > 0xFFFF else f"\\u{c:04x}"


def _emit_ranges(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return "(?!)"
    if ranges == [(0, _MAX_RUNE)]:
        return "(?s:.)"
    parts = [
        _escape_code(lo) if lo == hi else f"{_escape_code(lo)}-{_escape_code(hi)}"
        for lo, hi in ranges
    ]
    return "[" + "".join(parts) + "]"


@cache
def _unicode_category(name: str) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for c in range(_MAX_RUNE + 1):
        cat = unicodedata.category(chr(c))
        if cat == "Cn" or not cat.startswith(name):
            continue
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return tuple(ranges)


def _unicode_table(name: str) -> list[tuple[int, int]] | None:
    if name == "Any":
        return [(0, _MAX_RUNE)]
    if name in _CATEGORIES:
        return list(_unicode_category(name))
    if name in _SCRIPTS:
        return list(_SCRIPT_APPROXIMATIONS.get(name, []))
    return None


@dataclass
class _Piece:
    text: str
    need: int = 0  # smallest budget Go's repeatIsValid needs for this subtree


class _GoRegexp:
    """A recursive-descent port of Go's regexp/syntax parser (Perl flags) that emits Python."""

    def __init__(self, source: str):
        self.s = source
        self.i = 0
        self.names: set[str] = set()

    def translate(self) -> str:
        piece = self._alternation(0)
        if self.i < len(self.s):
            raise GoRegexpError("unexpected )")
        return piece.text

    def _alternation(self, flags: int) -> _Piece:
        branches: list[list[_Piece]] = [[]]
        last: _Piece | None = None
        last_was_repeat = False
        while self.i < len(self.s):
            c = self.s[self.i]
            repeat_now = False
            if c == "|":
                self.i += 1
                branches.append([])
                last = None
            elif c == ")":
                break
            elif c == "(":
                piece, flags = self._group(flags)
                if piece is not None:
                    branches[-1].append(piece)
                    last = piece
            elif c in "*+?":
                self.i += 1
                self._apply_repeat(branches[-1], last, last_was_repeat, c, 0, 0, flags)
                repeat_now = True
            elif c == "{" and (counts := self._repeat_counts()) is not None:
                lo, hi = counts
                self._apply_repeat(branches[-1], last, last_was_repeat, "{", lo, hi, flags)
                repeat_now = True
            else:
                for piece in self._atoms(flags):
                    branches[-1].append(piece)
                    last = piece
            last_was_repeat = repeat_now
        text = "|".join("".join(p.text for p in branch) for branch in branches)
        need = max((p.need for branch in branches for p in branch), default=0)
        return _Piece(text, need)

    def _apply_repeat(self, seq, last, last_was_repeat, op, lo, hi, flags):
        if last_was_repeat:
            raise GoRegexpError("invalid nested repetition operator")
        if last is None or not seq or seq[-1] is not last:
            raise GoRegexpError("missing argument to repetition operator")
        lazy = self.i < len(self.s) and self.s[self.i] == "?"
        if lazy:
            self.i += 1
        if flags & _UNGREEDY:
            lazy = not lazy
        need = last.need
        if op == "{":
            if lo < 0 or lo > 1000 or hi > 1000 or (hi >= 0 and lo > hi):
                raise GoRegexpError("invalid repeat count")
            quantifier = f"{{{lo}}}" if lo == hi else (f"{{{lo},}}" if hi < 0 else f"{{{lo},{hi}}}")
            m = hi if hi >= 0 else lo
            if hi == 0:
                need = 0
            elif m > 0:
                need = max(m, m * last.need)
            if (lo >= 2 or hi >= 2) and need > 1000:
                raise GoRegexpError("invalid repeat count")
        else:
            quantifier = op
        seq[-1] = _Piece(f"(?:{last.text}){quantifier}{'?' if lazy else ''}", need)

    def _repeat_counts(self) -> tuple[int, int] | None:
        """Go's parseRepeat: `{n}`, `{n,}`, `{n,m}`; anything else leaves `{` a literal."""
        m = re.compile(r"\{([0-9]+)(,([0-9]*))?\}").match(self.s, self.i)
        if m is None:
            return None
        lo_text, comma, hi_text = m.group(1), m.group(2), m.group(3)
        for digits in (lo_text, hi_text or ""):
            if len(digits) >= 2 and digits[0] == "0":
                return None  # leading zeros are not a repeat in Go
        lo = int(lo_text) if len(lo_text) <= 8 else -1
        if comma is None:
            hi = lo
        elif hi_text == "":
            hi = -1
        else:
            hi = int(hi_text) if len(hi_text) <= 8 else 1001
        self.i = m.end()
        return lo, hi

    def _group(self, flags: int) -> tuple[_Piece | None, int]:
        s, start = self.s, self.i
        if s.startswith("(?", start):
            named = s.startswith("(?P<", start) or s.startswith("(?<", start)
            if named:
                name_start = start + (4 if s[start + 2] == "P" else 3)
                end = s.find(">", start)
                if end < 0:
                    raise GoRegexpError("invalid named capture")
                name = s[name_start:end]
                if not name or not all(ch == "_" or (ch.isascii() and ch.isalnum()) for ch in name):
                    raise GoRegexpError("invalid named capture")
                if name in self.names:
                    raise GoRegexpError("duplicate capture group name")
                self.names.add(name)
                self.i = end + 1
                return self._close(flags), flags
            new_flags, opens = self._perl_flags(flags)
            if not opens:
                return None, new_flags
            return self._close(new_flags), flags
        self.i += 1
        return self._close(flags), flags

    def _close(self, flags: int) -> _Piece:
        inner = self._alternation(flags)
        if self.i >= len(self.s) or self.s[self.i] != ")":
            raise GoRegexpError("missing closing )")
        self.i += 1
        return _Piece(f"(?:{inner.text})", inner.need)

    def _perl_flags(self, flags: int) -> tuple[int, bool]:
        s, i = self.s, self.i + 2
        negate, saw_flag = False, False
        bits = {"i": _FOLD, "m": _MULTILINE, "s": _DOTALL, "U": _UNGREEDY}
        while i < len(s):
            c = s[i]
            i += 1
            if c in bits:
                flags = flags & ~bits[c] if negate else flags | bits[c]
                saw_flag = True
            elif c == "-":
                if negate:
                    break
                negate, saw_flag = True, False
            elif c in ":)":
                if negate and not saw_flag:
                    break
                self.i = i
                return flags, c == ":"
            else:
                break
        raise GoRegexpError("invalid or unsupported Perl syntax")

    def _atoms(self, flags: int) -> list[_Piece]:
        s, c = self.s, self.s[self.i]
        if c == "[":
            return [_Piece(self._class(flags))]
        if c == ".":
            self.i += 1
            return [_Piece("(?s:.)" if flags & _DOTALL else "[^\\n]")]
        if c == "^":
            self.i += 1
            return [_Piece("(?m:^)" if flags & _MULTILINE else "\\A")]
        if c == "$":
            self.i += 1
            return [_Piece("(?m:$)" if flags & _MULTILINE else "\\Z")]
        if c == "\\":
            nxt = s[self.i + 1] if self.i + 1 < len(s) else ""
            if nxt and nxt in "AbBz":
                self.i += 2
                return [_Piece({"A": "\\A", "b": "(?a:\\b)", "B": "(?a:\\B)", "z": "\\Z"}[nxt])]
            if nxt == "C":
                raise GoRegexpError("invalid escape sequence: \\C")
            if nxt == "Q":
                end = s.find("\\E", self.i + 2)
                literal = s[self.i + 2 :] if end < 0 else s[self.i + 2 : end]
                self.i = len(s) if end < 0 else end + 2
                return [_Piece(self._literal(ch, flags)) for ch in literal]
            ranges = self._class_escape(flags)
            if ranges is not None:
                return [_Piece(_emit_ranges(ranges))]
            return [_Piece(self._literal(chr(self._escape()), flags))]
        self.i += 1
        return [_Piece(self._literal(c, flags))]

    @staticmethod
    def _literal(ch: str, flags: int) -> str:
        if flags & _FOLD:
            variants = _orbit(ch)
            if len(variants) > 1:
                return _emit_ranges(_normalize((ord(v), ord(v)) for v in variants))
        return re.escape(ch)

    def _class_escape(self, flags: int) -> list[tuple[int, int]] | None:
        """\\d \\s \\w (and negations) or \\p{…}/\\P{…} at self.i, folded if (?i); None if neither."""
        s, i = self.s, self.i
        if s.startswith(("\\p", "\\P"), i):
            negated = s[i + 1] == "P"
            if i + 2 < len(s) and s[i + 2] == "{":
                end = s.find("}", i)
                if end < 0:
                    raise GoRegexpError("invalid character class range")
                name, self.i = s[i + 3 : end], end + 1
            else:
                name, self.i = s[i + 2 : i + 3], i + 3
            if name.startswith("^"):
                negated, name = not negated, name[1:]
            table = _unicode_table(name)
            if table is None:
                raise GoRegexpError("invalid character class range")
            ranges = _fold(table) if flags & _FOLD else _normalize(table)
            return _negate(ranges) if negated else ranges
        if i + 1 < len(s) and s[i] == "\\" and s[i + 1] in "dDsSwW":
            self.i = i + 2
            letter = s[i + 1]
            ranges = _PERL_CLASSES[letter.lower()]
            ranges = _fold(ranges) if flags & _FOLD else _normalize(ranges)
            return _negate(ranges) if letter.isupper() else ranges
        return None

    def _escape(self) -> int:
        """Go's parseEscape at a backslash: the code point of a single-character escape."""
        s = self.s
        self.i += 1
        if self.i >= len(s):
            raise GoRegexpError("trailing backslash at end of expression")
        c = s[self.i]
        self.i += 1
        if c.isascii() and not c.isalnum():
            return ord(c)
        if c in "1234567" and not (self.i < len(s) and s[self.i] in "01234567"):
            raise GoRegexpError(f"invalid escape sequence: \\{c}")
        if c in "01234567":
            value = int(c)
            for _ in range(2):
                if self.i < len(s) and s[self.i] in "01234567":
                    value = value * 8 + int(s[self.i])
                    self.i += 1
            return value
        if c == "x":
            if self.i < len(s) and s[self.i] == "{":
                end = s.find("}", self.i)
                digits = s[self.i + 1 : end] if end >= 0 else ""
                if end < 0 or not digits or not all(d in "0123456789abcdefABCDEF" for d in digits):
                    raise GoRegexpError("invalid escape sequence")
                value = int(digits, 16)
                if value > _MAX_RUNE:
                    raise GoRegexpError("invalid escape sequence")
                self.i = end + 1
                return value
            digits = s[self.i : self.i + 2]
            if len(digits) < 2 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise GoRegexpError("invalid escape sequence")
            self.i += 2
            return int(digits, 16)
        simple = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
        if c in simple:
            return simple[c]
        raise GoRegexpError(f"invalid escape sequence: \\{c}")

    def _class(self, flags: int) -> str:
        s = self.s
        self.i += 1
        negated = self.i < len(s) and s[self.i] == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while self.i >= len(s) or s[self.i] != "]" or first:
            if self.i >= len(s):
                raise GoRegexpError("missing closing ]")
            first = False
            if s.startswith("[:", self.i) and (end := s.find(":]", self.i + 2)) >= 0:
                name = s[self.i + 2 : end]
                posix_negated = name.startswith("^")
                table = _POSIX_CLASSES.get(name[1:] if posix_negated else name)
                if table is None:
                    raise GoRegexpError("invalid character class range")
                self.i = end + 2
                part = _fold(table) if flags & _FOLD else _normalize(table)
                ranges.extend(_negate(part) if posix_negated else part)
                continue
            escaped = self._class_escape(flags) if s[self.i] == "\\" else None
            if escaped is not None:
                ranges.extend(escaped)
                continue
            lo = self._class_char()
            hi = lo
            if self.i + 1 < len(s) and s[self.i] == "-" and s[self.i + 1] != "]":
                self.i += 1
                hi = self._class_char()
                if hi < lo:
                    raise GoRegexpError("invalid character class range")
            ranges.extend(_fold([(lo, hi)]) if flags & _FOLD else [(lo, hi)])
        self.i += 1
        ranges = _normalize(ranges)
        return _emit_ranges(_negate(ranges) if negated else ranges)

    def _class_char(self) -> int:
        if self.i >= len(self.s):
            raise GoRegexpError("missing closing ]")
        if self.s[self.i] == "\\":
            return self._escape()
        self.i += 1
        return ord(self.s[self.i - 1])


@lru_cache(maxsize=512)
def translate_go_regexp(expression: str) -> str:
    """A Python `re` pattern that matches what Go's regexp.Compile(expression) matches.

    Raises GoRegexpError where Go's compiler returns an error (look-around, back-references,
    `\\Z`, possessive quantifiers, repeat counts over 1000, …)."""
    return _GoRegexp(expression).translate()


# ---------------------------------------------------------------------------------------------
# The per-image configuration


@dataclass(frozen=True)
class HelmTarget:
    """Helm parameter names the updater writes (`image_spec` set ⇒ name/tag unused)."""

    image_name: str | None = "image.name"
    image_tag: str | None = "image.tag"
    image_spec: str | None = None

    def to_dict(self) -> dict:
        return {
            "image_name": self.image_name,
            "image_tag": self.image_tag,
            "image_spec": self.image_spec,
        }


@dataclass(frozen=True)
class WriteBack:
    method: str = "argocd"  # "argocd" | "git"
    creds: str | None = None
    branch: str | None = None
    write_branch: str | None = None
    repository: str | None = None  # None: the Application's own repoURL
    target: str | None = None
    kustomize_base: str | None = None

    def to_dict(self) -> dict:
        if self.method == "argocd":
            return {"method": "argocd"}
        return {
            "method": self.method,
            "creds": self.creds,
            "branch": self.branch,
            "write_branch": self.write_branch,
            "repository": self.repository,
            "target": self.target,
            "kustomize_base": self.kustomize_base,
        }


@dataclass(frozen=True)
class ImagePolicy:
    """One image as the updater is configured to track it (after all merging)."""

    image: str = ""  # registry/repository, as the updater's messages name it
    alias: str = ""
    image_name: str = ""  # as configured, e.g. "ghcr.io/x/app:~1.2"
    registry: str = ""
    repository: str = ""
    constraint: str = ""  # the tag part of image_name; "" = none
    constraint_digest: str | None = None
    strategy: str | None = None  # configured update-strategy value; None = not set (semver)
    allow_tags: str = ""
    ignore_tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    force_update: bool = False
    pull_secret: str | None = None
    helm: HelmTarget = HelmTarget()
    kustomize_image: str | None = None
    tagsortmode: str = ""  # the registry's registries.conf tagsortmode
    write_back: WriteBack | None = None
    application_ref: str | None = None  # ImageUpdater CR: the namePattern that selected the app
    skip_reason: str | None = None  # the updater skips this image (CR manifest-target conflict)

    @cached_property
    def update_strategy(self) -> Strategy:
        return parse_strategy(self.strategy)[0]

    @cached_property
    def tag_match(self) -> TagMatch:
        return parse_allow_tags(self.allow_tags)

    @property
    def identifier(self) -> str:
        """How the updater prints the configured image: `[alias=]image_name`."""
        name = self.image_name or self.image
        return f"{self.alias}={name}" if self.alias else name

    @property
    def warnings(self) -> list[str]:
        found = [parse_strategy(self.strategy)[1], self.tag_match.warning]
        if self.update_strategy is Strategy.NEWEST_BUILD and self.tagsortmode:
            found.append(
                f"taglistsort is set to '{self.tagsortmode}' but update strategy '{self.update_strategy.value}' "
                "requires metadata. Results may not be what you expect."
            )
        return [w for w in found if w]

    @cached_property
    def wanted_platforms(self) -> frozenset[str]:
        """GetPlatformOptions: configured `os/arch[/variant]` keys, else the updater's own platform."""
        if not self.platforms:
            return frozenset({DEFAULT_PLATFORM})
        keys = set()
        for entry in self.platforms:
            parts = entry.strip().split("/", 2)
            keys.add(
                _platform_key(*parts) if len(parts) >= 2 else f"{entry}/"
            )  # unparsable: impossible key
        return frozenset(keys)

    def wants_platform(self, platform: str) -> bool:
        """ManifestOptions.WantsPlatform for a manifest's `os/arch[/variant]`."""
        wanted = self.wanted_platforms
        parts = platform.split("/", 2)
        if len(parts) < 2:
            return False
        if _platform_key(*parts) in wanted:
            return True
        # A manifest with a variant also satisfies a configured os/arch without one.
        return len(parts) == 3 and bool(parts[2]) and _platform_key(parts[0], parts[1]) in wanted


def _platform_key(os: str, arch: str, variant: str = "") -> str:
    return f"{os}/{arch}/{variant}" if variant else f"{os}/{arch}"


# ---------------------------------------------------------------------------------------------
# Selection


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One registry tag. `created`/`digest` are what the updater reads from the manifest;
    `metadata=False` means it cannot get a usable manifest; `platforms` (optional) lists the
    `os/arch[/variant]` the manifest offers."""

    name: str
    created: datetime | None = None
    digest: str | None = None
    metadata: bool = True
    platforms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Selection:
    tag: str | None
    reason: Reason
    rejected: list[tuple[str, str]]
    digest: str | None = None  # digest strategy: the candidate's manifest digest
    log: str | None = None  # the updater's own message for this outcome
    log_level: str | None = None

    def to_json(self) -> dict:
        return {
            "tag": self.tag,
            "reason": self.reason.value,
            "rejected": [{"tag": tag, "why": why} for tag, why in self.rejected],
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def select(
    policy: ImagePolicy,
    tags: Sequence[TagInfo],
    *,
    current_tag: str | None = None,
    current_digest: str | None = None,
    regime: Regime | str = Regime.V1_3,
) -> Selection:
    """The tag the updater would pick for `policy` from `tags` (registry order), compared with
    the running image; every other tag comes back in `rejected` with the reason it lost."""
    return _Selector(policy, tags, current_tag, current_digest, Regime(regime)).run()


class _Selector:
    def __init__(self, policy, tags, current_tag, current_digest, regime):
        self.policy = policy
        self.tags = tags
        self.current_tag = current_tag
        self.current_digest = current_digest
        self.regime = regime
        self.strategy = policy.update_strategy
        self.constraint = policy.constraint or ""
        self.image = policy.image or policy.image_name or "<image>"
        self.why: dict[str, str] = {}
        self.order = list(dict.fromkeys([t.name for t in tags]))

    def run(self) -> Selection:
        if self.strategy is Strategy.DIGEST and not self.constraint:
            # GetTags refuses before filtering (after listing the tags).
            why = (
                "not evaluated: the digest strategy needs the tag to follow in the image reference"
            )
            self.why = dict.fromkeys(self.order, why)
            return self._result(
                None,
                Reason.DIGEST_REQUIRES_CONSTRAINT,
                log=f"Could not get tags from registry: cannot use update strategy 'digest' for image "
                f"'{self.policy.identifier}' without a version constraint",
                level="error",
            )
        listed = self._with_metadata(self._filtered())
        if self.strategy is Strategy.SEMVER:
            return self._semver(listed)
        if not listed:
            return self._nothing_eligible(Reason.NO_TAGS)
        if self.strategy is Strategy.NEWEST_BUILD:
            best = max(listed, key=lambda name: (listed[name][0], name))
            best_date = listed[best][0]
            for name, (date, _) in listed.items():
                if name != best:
                    self.why[name] = (
                        f"built at the same time as {best}, which sorts later"
                        if date == best_date
                        else f"older than {best}"
                    )
        else:  # alphabetical; digest keeps only the tracked tag
            best = max(listed)
            for name in listed:
                if name != best:
                    self.why[name] = f"sorts before {best}"
        return self._decide(best, listed[best][1])

    def _filtered(self) -> list[TagInfo]:
        """GetTags: allow-tags, then ignore-tags, then (digest) the tracked tag only."""
        match = self.policy.tag_match
        allow_why = f"does not match allow-tags {self.policy.allow_tags}"
        if match.func == "none":
            allow_why += " (not a valid match option: the updater matches no tag)"
            self.why.update(dict.fromkeys(self.order, allow_why))
            return []
        search = match.search if match.func == "regexp" else None
        ignores = [(pattern, _compile_glob(pattern)) for pattern in self.policy.ignore_tags]
        only = self.constraint if self.strategy is Strategy.DIGEST else None
        if search is None and not ignores and only is None:
            return list(self.tags)
        why = self.why
        kept = []
        for tag in self.tags:
            name = tag.name
            if search is not None and search(name) is None:
                why[name] = allow_why
                continue
            if ignores:
                pattern = next((p for p, matches in ignores if matches(name)), None)
                if pattern is not None:
                    why[name] = f"ignored by glob {pattern}"
                    continue
            if only is not None and name != only:
                why[name] = f"not the tracked tag {only}"
                continue
            kept.append(tag)
        return kept

    def _with_metadata(self, kept: list[TagInfo]) -> dict[str, tuple[object, str]]:
        """name → (sort date, digest): synthetic dates when no manifest is fetched (§4.4)."""
        sortmode = parse_tagsortmode(self.policy.tagsortmode)
        if self.strategy in (Strategy.SEMVER, Strategy.ALPHABETICAL):
            # No manifest is fetched, and these sorts never look at the (synthetic) dates.
            return dict.fromkeys([tag.name for tag in kept], (0, ""))
        listed: dict[str, tuple[object, str]] = {}
        if sortmode:
            count = len(kept)
            for i, tag in enumerate(kept):
                listed[tag.name] = (count - i if sortmode == "latest-first" else i, "")
            return listed
        for tag in kept:
            problem = self._metadata_problem(tag)
            if problem is not None:
                if tag.name not in listed:
                    self.why[tag.name] = problem
                continue
            self.why.pop(tag.name, None)
            created = tag.created or _EPOCH
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            listed[tag.name] = (created, tag.digest if self.strategy is Strategy.DIGEST else "")
        return listed

    def _metadata_problem(self, tag: TagInfo) -> str | None:
        if not tag.metadata:
            return "no usable manifest for the wanted platforms (the updater drops the tag)"
        if tag.platforms is not None and not any(
            self.policy.wants_platform(p) for p in tag.platforms
        ):
            wanted = ", ".join(sorted(self.policy.wanted_platforms))
            return f"no image for the wanted platform ({wanted}) (the updater drops the tag)"
        if self.strategy is Strategy.NEWEST_BUILD and tag.created is None:
            return "no creation date known (the updater drops a tag without one)"
        if self.strategy is Strategy.DIGEST and not tag.digest:
            return "no manifest digest known"
        return None

    def _semver(self, listed: dict) -> Selection:
        why = self.why
        versions, not_versions = masterminds.parse_many(listed)
        why.update(dict.fromkeys(not_versions, "not a semantic version"))
        if not versions:
            return self._nothing_eligible(Reason.NO_SEMVER_TAGS if listed else Reason.NO_TAGS)
        if self.regime is Regime.LEGACY and self.current_tag:
            try:
                masterminds.parse_version(self.current_tag)
            except masterminds.SemverError as e:
                for v in versions:
                    why[v.original] = (
                        f"not evaluated: the running tag {self.current_tag} is not a semantic version"
                    )
                return self._result(
                    None,
                    Reason.CURRENT_TAG_NOT_SEMVER,
                    log=f"Unable to find newest version from available tags: {e}",
                    level="error",
                )
        text = self.constraint or ("*" if self.regime is Regime.V1_3 else "")
        eligible = versions
        if text:
            try:
                constraints = masterminds.parse_constraint(text)
            except masterminds.SemverError as e:
                for v in versions:
                    why[v.original] = f"not evaluated: invalid constraint {self.constraint}"
                return self._result(
                    None,
                    Reason.INVALID_CONSTRAINT,
                    log=f"invalid constraint '{self.constraint}' given: '{e}'",
                    level="error",
                )
            eligible = self._within(versions, constraints)
        if not eligible:
            return self._result(
                None,
                Reason.NO_MATCH_CONSTRAINT,
                log=None
                if self.regime in (Regime.V1_1_1, Regime.LEGACY)
                else f'no tags for image {self.image} matched constraint "{self.constraint}"',
                level="warn",
            )
        # semverCollection.Less: precedence, then the original strings byte-wise.
        best = max(eligible, key=lambda v: (v.key, v.original))
        top = best.key
        lower, same = (
            f"lower than {best.original}",
            f"same version as {best.original}, which wins the tie (sorts later)",
        )
        for v in eligible:
            if v is not best:
                why[v.original] = same if v.key == top else lower
        return self._decide(best.original, "")

    def _within(self, versions, constraints: masterminds.Constraints) -> list:
        why = self.why
        check = constraints.check
        implicit = not self.constraint
        outside = f"outside the constraint {self.constraint}"
        prerelease = (
            "prerelease"
            if implicit
            else f"prerelease (the constraint {self.constraint} admits none)"
        )
        eligible = []
        for v in versions:
            if check(v):
                eligible.append(v)
            elif v.pre and check(v, include_prerelease=True):
                why[v.original] = prerelease
            else:
                why[v.original] = outside
        return eligible

    def _nothing_eligible(self, reason: Reason) -> Selection:
        if self.regime in (Regime.V1_1_1, Regime.LEGACY):
            # Before #1505 GetNewestVersionFromTags returned the running tag: "up to date".
            if self.current_tag is None and self.current_digest is None:
                return self._result(None, reason)
            return self._decide(self.current_tag or "", self.current_digest or "", fallback=True)
        if reason is Reason.NO_SEMVER_TAGS:
            log = f"no tags for image {self.image} matched by the semver strategy"
        else:
            log = f"no tags found for image {self.image} in registry"
        return self._result(None, reason, log=log, level="warn")

    def _decide(self, tag: str, digest: str, fallback: bool = False) -> Selection:
        live_tag, live_digest = self.current_tag or "", self.current_digest or ""
        if self.strategy is Strategy.DIGEST and (not live_digest or live_digest != digest):
            update = True
        elif live_digest or digest:
            update = live_digest != digest  # tag.Equals compares digests when either side has one
        else:
            update = live_tag != tag
        shown = f"{self.image}:{tag}" + (f"@{digest}" if digest else "")
        if update:
            log, level = f"Setting new image to {shown}", "info"
        else:
            log, level = f"Image '{shown}' already on latest allowed version", "debug"
        return self._result(
            tag if (tag or not fallback) else None,
            Reason.UPDATE if update else Reason.UP_TO_DATE,
            digest=(digest or None) if self.strategy is Strategy.DIGEST else None,
            log=log,
            level=level,
        )

    def _result(self, tag, reason, *, digest=None, log=None, level=None) -> Selection:
        get = self.why.get
        rejected = [(name, get(name, "not considered")) for name in self.order if name != tag]
        return Selection(tag, reason, rejected, digest, log, level if log else None)


def go_join(*elements: str) -> str:
    """Go's path/filepath.Join on Unix: empty elements dropped, the result Cleaned."""
    parts = [e for e in elements if e]
    if not parts:
        return ""
    cleaned = posixpath.normpath("/".join(parts))
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned
