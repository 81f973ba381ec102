"""Go RE2 syntax (regexp/syntax with Perl flags) → Python `re`, for the Image Updater's
`regexp:` allow-tags.

Only whether a tag matches matters, so the translation keeps the language, not the capture
structure. Everything is exact for ASCII text, which is all a registry tag can hold
([A-Za-z0-9_.-]). Beyond ASCII, case folding follows Python's lower()/upper() and Unicode script
classes (\\p{Greek}) are approximated; Go's program-size and nesting-depth limits are not modelled.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = [
    "GoRegexpError",
    "emit_ranges",
    "negate_ranges",
    "normalize_ranges",
    "translate_go_regexp",
]


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


def normalize_ranges(ranges) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def negate_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
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
    return normalize_ranges(ranges + [(c, c) for c in extra])


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


def emit_ranges(ranges: list[tuple[int, int]]) -> str:
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
                return [_Piece(emit_ranges(ranges))]
            return [_Piece(self._literal(chr(self._escape()), flags))]
        self.i += 1
        return [_Piece(self._literal(c, flags))]

    @staticmethod
    def _literal(ch: str, flags: int) -> str:
        if flags & _FOLD:
            variants = _orbit(ch)
            if len(variants) > 1:
                return emit_ranges(normalize_ranges((ord(v), ord(v)) for v in variants))
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
            ranges = _fold(table) if flags & _FOLD else normalize_ranges(table)
            return negate_ranges(ranges) if negated else ranges
        if i + 1 < len(s) and s[i] == "\\" and s[i + 1] in "dDsSwW":
            self.i = i + 2
            letter = s[i + 1]
            ranges = _PERL_CLASSES[letter.lower()]
            ranges = _fold(ranges) if flags & _FOLD else normalize_ranges(ranges)
            return negate_ranges(ranges) if letter.isupper() else ranges
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
                part = _fold(table) if flags & _FOLD else normalize_ranges(table)
                ranges.extend(negate_ranges(part) if posix_negated else part)
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
        ranges = normalize_ranges(ranges)
        return emit_ranges(negate_ranges(ranges) if negated else ranges)

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
