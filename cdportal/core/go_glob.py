"""Go's path/filepath.Match (Unix), as the Image Updater's ignore-tags and an ImageUpdater
resource's name patterns use it: the same matches and the same syntax errors, in plain Python."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from cdportal.core.go_regexp import emit_ranges, negate_ranges, normalize_ranges

__all__ = ["compile_glob", "glob_match", "glob_valid"]


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Callable[[str], bool]:
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
    return compile_glob(pattern)(name)


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
                    emit_ranges(
                        negate_ranges(normalize_ranges(valid))
                        if negated
                        else normalize_ranges(valid)
                    )
                )
            else:
                if c == "\\":
                    i += 1
                    c = chunk[i]
                out.append(re.escape(c))
                i += 1
    return "".join(out)
