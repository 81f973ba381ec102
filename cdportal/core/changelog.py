"""Release notes exactly as Release Please 17.1.3 writes them: the CHANGELOG.md entry (which is
also the Release PR's notes and the GitHub release body) and its insertion into CHANGELOG.md.

Plain Python, no Django. Reference: googleapis/release-please 17.1.3
- src/changelog-notes/default.ts: escapes `<`/`>` in the description (not inside backticks), links
  the first `(#N)` of each BREAKING CHANGE note, and hands the commits to
- conventional-changelog-writer 6.0.1 with the conventional-changelog-conventionalcommits 6.1.0
  preset (writer-opts.js, templates/template.hbs, header.hbs, commit.hbs): visibility, sections,
  issue and @mention links, sorting with `String.prototype.localeCompare`, the layout;
- src/updaters/changelog.ts: where the entry goes in an existing CHANGELOG.md.

Nothing is de-duplicated: neither default.ts nor the writer drops a commit, so the same sha with
the same description (a squash body that repeats its header) is listed twice, and every note is
listed. Reverts don't cancel either: Release Please hands the writer `revert: null`.

Without a `Repo`, :func:`render_entry` writes what the same templates give without links: the
plain header `## 1.3.0 (2024-01-02)`, `#12`/`@name` left as written, the short sha as plain text
(`* fix x abc1234`) and `, closes #77`. (Release Please itself always knows its repository.)
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from cdportal.core.conventional import DEFAULT_SECTIONS, ChangelogSection, ConventionalCommit, Repo

__all__ = ["collation_key", "insert_entry", "render_entry", "split_entries"]

# --- the entry ----------------------------------------------------------------------------------

# default.ts htmlEscape: a code span (``…`` or `…`) is kept as is, a bare < or > is escaped.
# JavaScript's `.` stops at every line terminator, not only at \n.
_HTML_ESCAPE = re.compile(r"``[^`][^\n\r\u2028\u2029]*[^`]``|`[^`]*`|<|>")
# writer-opts.js (issuePrefixes ['#'] and, in 6.1.0, digits only) and its @mention pattern; JS \B
# knows only ASCII word characters.
_ISSUE = re.compile(r"(#)([0-9]+)")
_MENTION = re.compile(r"\B@([a-z0-9](?:-?[a-z0-9/]){0,38})", re.ASCII)
# default.ts replaceIssueLink: only the first "(#N)" of a note, digits only.
_NOTE_ISSUE = re.compile(r"\(#(\d+)\)", re.ASCII)
# JavaScript's \s, and what String.prototype.trim() removes.
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# writer-opts.js releaseAsRe (ASCII \w, case-insensitive) on default.ts's `Release-As: <text>`.
_RELEASE_AS = re.compile(
    rf"release-as:[{_JS_SPACE}]*\w*@?([0-9]+\.[0-9]+\.[0-9a-z]+(-[0-9a-z.]+)?)",
    re.IGNORECASE | re.ASCII,
)


def render_entry(
    *,
    version: str,
    tag: str,
    previous_tag: str | None,
    commits: Sequence[ConventionalCommit],
    repo: Repo | None,
    date: datetime.date,
    sections: Sequence[ChangelogSection] = DEFAULT_SECTIONS,
) -> str:
    """The text Release Please writes for one release; `commits` newest first, as git lists them.

    `sections` is `changelog-sections` (configuring it replaces the defaults, so an empty list
    hides every type). `date` is the UTC day of the run.
    """
    links = _Links(repo.url, repo.host) if repo is not None else None
    groups: dict[str, list[tuple[str, str]]] = {}  # title -> [(sort text, line)], in seen order
    notes: list[str] = []
    for commit in commits:
        rendered = _transform(commit, sections, links)
        if rendered is None:
            continue
        title, scope, subject, line, commit_notes = rendered
        for text in commit_notes:
            notes.append(f"* **{scope}:** {text}\n" if scope else f"* {text}\n")
        groups.setdefault(title, []).append((scope + subject, line))

    # template.hbs after header.hbs; Release Please trims the result.
    out = [_header(version, tag, previous_tag, links, date), "\n"]
    if notes:
        out.append("\n### ⚠ BREAKING CHANGES\n\n")
        out.extend(notes)
    for title in _group_order(groups, [s.section for s in sections if s.section]):
        out.append(f"\n### {title}\n\n" if title else "\n")
        out.extend(line for _, line in _sort_like_icu(groups[title]))
        out.append("\n")
    return "".join(out).strip(_JS_SPACE)


class _Links:
    def __init__(self, url: str, host: str):
        self.url, self.host = url, host

    def issue(self, number: str) -> str:
        return f"{self.url}/issues/{number}"


def _header(version: str, tag: str, previous_tag: str | None, links: _Links | None, date) -> str:
    # header.hbs: a compare link only when there is a previous tag (linkCompare).
    if previous_tag and links is not None:
        return f"## [{version}]({links.url}/compare/{previous_tag}...{tag}) ({date.isoformat()})\n"
    return f"## {version} ({date.isoformat()})\n"


def _transform(
    commit: ConventionalCommit, sections: Sequence[ChangelogSection], links: _Links | None
) -> tuple[str, str, str, str, list[str]] | None:
    """writer-opts.js `transform`: None when hidden, else (title, scope, subject, line, notes)."""
    notes = [n.text for n in commit.notes if n.title == "BREAKING CHANGE"]
    if commit.breaking and not notes:
        # Release Please's parser turns `type!:` into a note carrying the description; the preset
        # (add-bang-notes.js) does the same for a `!` header that came without one.
        notes = [commit.subject]
    if links is not None and notes:
        notes = [
            _NOTE_ISSUE.sub(lambda m: f"([#{m[1]}]({links.issue(m[1])}))", n, count=1)
            for n in notes
        ]

    entry = _find_section(sections, commit)
    release_as = commit.release_as is not None and _RELEASE_AS.search(
        f"Release-As: {commit.release_as}"
    )
    if not notes and not release_as and (entry is None or entry.hidden):
        return None

    title = entry.section if entry is not None else commit.type
    scope = "" if commit.scope in (None, "*") else commit.scope
    subject, issues = _link_subject(_html_escape(commit.subject), links)
    references = [r for r in commit.references if r.prefix + r.issue not in issues]

    # commit.hbs: `* **scope:** subject (sha link), closes ref ref`; an empty description falls back
    # to the header, which Release Please builds as `type(scope): description`.
    text = subject or _header_line(commit)
    line = f"* **{scope}:** {text}" if scope else f"* {text}"
    if commit.sha:
        short = commit.sha[:7]
        line += (
            f" ([{short}]({links.url}/commit/{commit.sha}))" if links is not None else f" {short}"
        )
    if references:
        if links is not None:
            refs = (f"[{r.prefix}{r.issue}]({links.issue(r.issue)})" for r in references)
        else:
            refs = (f"{r.prefix}{r.issue}" for r in references)
        line += ", closes" + "".join(f" {ref}" for ref in refs)
    return title or "", scope, subject, line + "\n", notes


def _find_section(sections: Sequence[ChangelogSection], commit: ConventionalCommit):
    # writer-opts.js findTypeEntry: the first section whose type is the lower-cased commit type
    # and whose scope, when it has one, is the commit's scope as written.
    key = commit.type.lower()
    for section in sections:
        if section.type == key and (not section.scope or section.scope == commit.scope):
            return section
    return None


def _html_escape(text: str) -> str:
    if "<" not in text and ">" not in text:
        return text
    return _HTML_ESCAPE.sub(
        lambda m: m[0] if len(m[0]) > 1 else ("&lt;" if m[0] == "<" else "&gt;"), text
    )


def _link_subject(subject: str, links: _Links | None) -> tuple[str, set[str]]:
    """Link `#123` and `@name` (not `@scope/pkg`); returns the subject and the issues it names."""
    issues: set[str] = set()
    if "#" in subject:
        issues = {m[1] + m[2] for m in _ISSUE.finditer(subject)}
        if links is not None:
            subject = _ISSUE.sub(lambda m: f"[#{m[2]}]({links.issue(m[2])})", subject)
    if "@" in subject and links is not None:
        subject = _MENTION.sub(
            lambda m: f"@{m[1]}" if "/" in m[1] else f"[@{m[1]}]({links.host}/{m[1]})", subject
        )
    return subject, issues


def _header_line(commit: ConventionalCommit) -> str:
    scope = f"({commit.scope})" if commit.scope else ""
    return f"{commit.type}{scope}: {commit.subject}"


def _group_order(groups: dict[str, list], order: list[str]) -> list[str]:
    """Sections in configured order; a title that is no section (the raw type of a breaking commit
    of an unconfigured type) ranks -1 and so comes first. Groups start in JavaScript object key
    order (integer-like keys first, ascending, then first appearance); the sort is stable."""
    rank = {}
    for i, title in enumerate(order):
        rank.setdefault(title, i)

    def start(item: tuple[int, str]) -> tuple[int, int]:
        position, title = item
        if _is_array_index(title):
            return (0, int(title))
        return (1, position)

    titles = [t for _, t in sorted(enumerate(groups), key=start)]
    return sorted(titles, key=lambda t: rank.get(t, -1))


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) < 2**32 - 1


# --- sorting: ICU root collation as `localeCompare` (en-US) applies it --------------------------
#
# A three-level key compared level by level, as ICU does at its default (tertiary) strength:
# primary = the base characters (case and accents ignored; punctuation and symbols are NOT
# ignored: the root collation is "non-ignorable"), secondary = accents, tertiary = case (lower
# before upper). Each level is a string of weights, so str comparison does the work; equal
# prefixes put the shorter string first, as in ICU.
#
# Primary weights: every ASCII character (upper and lower case alike) has a one-character weight
# below 128, so the key of an ASCII text is a single fast `str.translate`. The other characters
# weigh two characters: the weight of a "gap" slot between two ASCII neighbours, then a rank in
# that gap. Slots, in the root order (whitespace < punctuation < symbols < currency < digits <
# letters); a tuple is a gap with the characters known to sit there, in order.
_SLOTS = [
    *"\t\n\x0b\x0c\r ",
    *"_-", ("dash", "\u2010\u2012\u2013\u2014\u2015"),
    *",;:!", ("", "\u00a1"), "?", ("", "\u00bf"), ".", ("", "\u00b7"), *"'\"",
    ("", "\u00ab\u00bb\u2039\u203a"), *"()[]{}", ("", "\u00a7\u00b6"), *"@*/\\&#%",
    ("punctuation", "\u2022\u2032\u2033"),
    "`", ("", "\u00b4"), "^",
    ("modifier", ("\u00af\u02d8\u02d9\u00a8\u02da\u02dd\u00b8\u02db\u00b0\u00a9\u00ae"
                  "\u2190\u2191\u2192\u2193\u2194\u21d0\u21d2\u21d4")),
    "+", ("", "\u00b1\u00f7\u00d7"), *"<=>", ("", "\u00ac"), "|", ("", "\u00a6"), "~",
    ("math", ""), ("symbol", ""), ("", "\u00a4\u00a2"), "$", ("currency", "\u00a3\u00a5\u20ac"),
    *"0123456789",
    *"abcdefghi", ("after i", "\u0131"), *"jklmn", ("after n", "\u014b"), *"opq",
    ("after q", "\u0138"), *"rst", ("after t", "\u0167"), *"uvwxyz", ("after z", "\u00fe"),
]  # fmt: skip
_PRIMARY: dict[str, str] = {}  # character (ASCII letters in lower case) -> primary weight
_GAP: dict[str, str] = {}  # gap name -> its slot weight
for _i, _slot in enumerate(_SLOTS, start=1):
    if isinstance(_slot, str):
        _PRIMARY[_slot] = chr(_i)
    else:
        _GAP[_slot[0]] = chr(_i)
        _PRIMARY.update({ch: chr(_i) + chr(_j) for _j, ch in enumerate(_slot[1], start=1)})
assert len(_SLOTS) < 128

# Characters weighed like another one: the same primary, a higher secondary.
_ALIAS = {
    "\u2011": ("\u2010", 1),
    "\u2018": ("'", 1),
    "\u2019": ("'", 2),
    "\u201c": ('"', 1),
    "\u201d": ('"', 2),
    "\u2260": ("=", 1),
}
_COMMON = "\x20"  # the secondary weight of a base character
# Secondary weights of the accents, in root order (é < è < ĕ < ê < ě < e̊ < ë < e̋ < ẽ < ė < e̸ <
# ȩ < ę < ē); ø sorts just before o̸, and the stroke letters and ligatures after the macron.
_MARKS = "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307\u0338\u0327\u0328\u0304"
_ACCENT = {m: chr(0x40 + 2 * i) for i, m in enumerate(_MARKS)}
_STROKE = chr(0x40 + 2 * len(_MARKS))
# Letters that do not decompose: their base letters and the secondary after the first one.
_LETTERS = {
    "ø": ("o", chr(ord(_ACCENT["\u0338"]) - 1)),
    "đ": ("d", _STROKE),
    "ð": ("d", chr(ord(_STROKE) + 1)),
    "ħ": ("h", _STROKE),
    "ł": ("l", _STROKE),
    "ŀ": ("l", chr(ord(_STROKE) + 1)),
    "ſ": ("s", _STROKE),
    "æ": ("ae", _STROKE),
    "œ": ("oe", _STROKE),
    "ß": ("ss", _STROKE),
}
_LOWER, _VARIANT, _UPPER, _UPPER_VARIANT = "\x05", "\x06", "\x08", "\x09"


class _Level(dict):
    """Code point -> that character's weights at one level, computed on first use: `str.translate`
    looks every character up here (None deletes an ignorable one)."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def __missing__(self, code_point: int) -> str | None:
        weights = self[code_point] = _char_weights(chr(code_point))[self.level] or None
        return weights


_LEVELS = (_Level(0), _Level(1), _Level(2))


def collation_key(text: str) -> tuple[str, str, str]:
    """Sort key that orders like `a.localeCompare(b)` under en-US ICU (Node on GitHub's runners),
    for ASCII, Latin-1, Latin Extended-A and common typographic punctuation: case-insensitive
    first, lower before upper on ties, whitespace < punctuation (`_` first) < symbols < currency
    < digits < letters, accents right after their base letter. Other characters are placed by
    Unicode category (see `_fallback`)."""
    primary, secondary, tertiary = _LEVELS
    if text.isascii():  # one weight per character at every level
        key = text.translate(primary)
        return key, _COMMON * len(key), text.translate(tertiary)
    return text.translate(primary), text.translate(secondary), text.translate(tertiary)


def _sort_like_icu(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sort (text, payload) pairs by text as `localeCompare` does. Stable, like
    Array.prototype.sort: equal texts keep the input (git log) order. The primary weights alone
    settle almost every comparison, so the accent and case levels are computed only for runs
    whose primaries tie."""
    primary = _LEVELS[0]
    keyed = sorted((text.translate(primary), i) for i, (text, _) in enumerate(entries))
    result: list[tuple[str, str]] = []
    start = 0
    while start < len(keyed):
        end = start + 1
        while end < len(keyed) and keyed[end][0] == keyed[start][0]:
            end += 1
        run = [entries[i] for _, i in keyed[start:end]]
        result.extend(
            sorted(run, key=lambda entry: collation_key(entry[0])) if len(run) > 1 else run
        )
        start = end
    return result


def _weights_of(text: str) -> tuple[str, str, str]:
    ps, ss, ts = [], [], []
    for ch in text:
        p, s, t = _char_weights(ch)
        ps.append(p)
        ss.append(s)
        ts.append(t)
    return "".join(ps), "".join(ss), "".join(ts)


@lru_cache(maxsize=8192)
def _char_weights(ch: str) -> tuple[str, str, str]:
    """(primary, secondary, tertiary) of one character; one secondary and one tertiary weight per
    collation element ('' for an ignorable character)."""
    lower = ch.lower()
    case = _UPPER if lower != ch and len(lower) == 1 else _LOWER
    if ch in _PRIMARY or (ch.isascii() and lower in _PRIMARY):
        return _PRIMARY[ch if ch in _PRIMARY else lower], _COMMON, case
    if ch.isascii():  # the other control characters
        return "", "", ""
    if ch in _ALIAS:
        target, step = _ALIAS[ch]
        p, _, t = _char_weights(target)
        return p, chr(ord(_COMMON) + step), t
    if lower in _LETTERS:
        bases, secondary = _LETTERS[lower]
        p, s, t = _weights_of(bases)
        return p, s[:1] + secondary + s[1:], case + t[1:]
    if lower in _PRIMARY:  # Þ, Ŋ, Ŧ, ĸ: the upper case of a letter with a primary of its own
        return _PRIMARY[lower], _COMMON, case
    if ch in _ACCENT:
        return "", _ACCENT[ch], _LOWER
    decomposed = unicodedata.normalize("NFD", ch)
    if decomposed != ch:
        return _weights_of(decomposed)
    compat = unicodedata.normalize("NFKD", ch)  # ª, ¹, ĳ, …, ™, full-width forms: a variant
    if compat != ch:
        p, s, t = _weights_of(compat)
        return p, s, t.replace(_LOWER, _VARIANT).replace(_UPPER, _UPPER_VARIANT)
    return _fallback(ch, case)


def _fallback(ch: str, case: str) -> tuple[str, str, str]:
    """Characters outside the tables, placed by Unicode category as the root collation groups
    them, in code point order within a group: controls, format characters and variation
    selectors are ignored, other marks are accents, spaces weigh as a space, digits as their
    value, then dashes, punctuation, modifier symbols, math symbols, other symbols (emoji),
    currency each after the known ones of their kind, and letters of other scripts after Latin."""
    category = unicodedata.category(ch)
    cp = ord(ch)
    if category[0] == "C" or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return "", "", ""
    if category[0] == "M":
        return "", chr(0x100 + cp), _LOWER
    if category[0] == "Z":
        return _PRIMARY[" "], chr(ord(_COMMON) + 1), _VARIANT
    digit = unicodedata.digit(ch, None)
    if digit is not None:
        return _PRIMARY[str(digit)], _COMMON, _VARIANT
    gap = {"Pd": "dash", "Sk": "modifier", "Sm": "math", "Sc": "currency"}.get(category)
    if gap is None:
        gap = {"P": "punctuation", "S": "symbol", "N": "symbol"}.get(category[0], "after z")
    return _GAP[gap] + chr(min(0x100 + cp, 0x10FFFF)), _COMMON, case


# --- CHANGELOG.md -------------------------------------------------------------------------------

# src/updaters/changelog.ts DEFAULT_VERSION_HEADER_REGEX: an H2 or H3 version header *preceded by
# a newline*, so a header on the first line is never found.
_VERSION_HEADER = re.compile(r"\n###? v?[0-9\[]")
# changelog.ts adjustHeaders `/^#(\s)/gm`: JavaScript's ^ also follows \r, U+2028 and U+2029.
_H1 = re.compile(r"(?:^|(?<=[\r\u2028\u2029]))#(\s)", re.MULTILINE)
_ENTRY_HEADER = re.compile(r"^###? v?[0-9\[]", re.MULTILINE)
_ENTRY_VERSION = re.compile(r"###? \[?v?([^\]\s()]+)")


def insert_entry(existing: str | None, entry: str) -> str:
    """CHANGELOG.md after Release Please adds `entry` (src/updaters/changelog.ts).

    The entry goes before the first version header that follows a newline; with none, the file
    becomes `# Changelog`, the entry, then the old text with its H1 headers turned into H2.
    """
    content = existing or ""
    match = _VERSION_HEADER.search(content)
    if match is None:
        if content:
            old = _H1.sub(r"##\1", content)
            return f"# Changelog\n\n{entry}\n\n{old.strip(_JS_SPACE)}\n"
        return f"# Changelog\n\n{entry}\n"
    before, after = content[: match.start()], content[match.start() :]
    return f"{before}\n{entry}\n{after}".strip(_JS_SPACE) + "\n"


def split_entries(text: str) -> list[tuple[str, str]]:
    """(version, entry) for each release entry of a CHANGELOG.md, in file order (newest first,
    except that a hand-written entry on line 1 stays on top). An entry starts at a `## `/`### `
    version header (as changelog.ts recognises them, here also on line 1) and runs to the next."""
    starts = [m.start() for m in _ENTRY_HEADER.finditer(text)]
    entries = []
    for start, end in zip(starts, [*starts[1:], len(text)]):
        chunk = text[start:end].rstrip(_JS_SPACE)
        version = _ENTRY_VERSION.match(chunk)
        entries.append((version[1] if version else "", chunk))
    return entries
