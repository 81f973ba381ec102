"""Replace one value in a TOML file the way Release Please does, byte for byte.

Release Please's `replaceTomlValue` (docs/release-please-toml.md) parses the file with a
subclass of @iarna/toml's parser that records where each scalar value starts and ends, then
splices `JSON.stringify(newValue)` over those characters. Everything else in the file — comments,
spacing, key quoting, the order of tables — stays as written, and the new value is always a
double-quoted JSON string, whatever quoting the old one had.

We do the same: `value_spans` walks the (already valid) TOML text once and records each scalar's
start and end under its key path, with @iarna/toml's end positions — including the two places where
its parser stops one character late (after an empty string, after a multi-line string) so that
character is replaced too. No TOML library renders anything here, so the output cannot change
with a library's version.

Plain Python, no Django.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from typing import Any

Path = tuple[str, ...]


class Tagged(dict):
    """A scalar as toml-edit's TaggedTOMLParser returns it: an object {start, end, value}.

    Only strings, booleans and inf/nan are tagged; integers, ordinary floats and dates are not,
    so they cannot be replaced.
    """

    def __init__(self, value: Any):
        super().__init__(start=0, end=0, value=value)


class Opaque:
    """A TOML date/time: an object to JavaScript, with no properties."""

    def __init__(self, value: Any):
        self.value = value


def tagged(value: Any) -> Any:
    """The parsed document as JavaScript sees TaggedTOMLParser's result (for JSONPath too)."""
    if isinstance(value, dict):
        return {k: tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    if isinstance(value, str | bool) or (isinstance(value, float) and not math.isfinite(value)):
        return Tagged(value)
    if isinstance(value, dt.date | dt.time):
        return Opaque(value)
    return value


def replace_toml_value(content: str, path: list[str], value: str) -> str:
    """util/toml-edit.ts replaceTomlValue: swap a value's characters for JSON.stringify(value).

    Raises TypeError (the path does not lead to a replaceable value) or ValueError (the result
    would not be valid TOML) with Release Please's own words.
    """
    current: Any = tagged(tomllib.loads(content))
    for i, key in enumerate(path):
        nxt: Any = None
        if isinstance(current, dict):
            nxt = current.get(key)
        elif (
            isinstance(current, list)
            and re.fullmatch(r"0|[1-9]\d*", key)
            and int(key) < len(current)
        ):
            nxt = current[int(key)]
        if not isinstance(nxt, dict | list | Opaque):
            raise TypeError(f"path not found in object: {'.'.join(path[: i + 1])}")
        current = nxt
    if not isinstance(current, Tagged):
        raise TypeError(f"value at path {'.'.join(path)} is not tagged")

    start, end = value_spans(content)[tuple(path)]
    output = content[:start] + json.dumps(value, ensure_ascii=False) + content[end:]
    try:
        tomllib.loads(output)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"After replacing value, result is not valid TOML: {e}") from None
    return output


def value_spans(text: str) -> dict[Path, tuple[int, int]]:
    """Where each scalar value of a valid TOML document starts and ends, by key path.

    Array elements are keyed by their index as a string ("0", "1", …), as are the tables of an
    array of tables. Ends follow @iarna/toml: one past the closing quote, except after an empty
    string or a multi-line string, where its parser reads one more character first.
    """
    return _Scanner(text).scan()


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_WS = " \t"


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.spans: dict[Path, tuple[int, int]] = {}
        # How many tables each array of tables has so far, to name the current one's index.
        self.table_arrays: dict[Path, int] = {}
        # What a path resolves to once arrays of tables are indexed: [[a]] then [a.b] is a.<n>.b.
        self.table: Path = ()

    def scan(self) -> dict[Path, tuple[int, int]]:
        while True:
            self._skip_blank_lines()
            if self.i >= len(self.s):
                return self.spans
            if self.s[self.i] == "[":
                self._header()
            else:
                self._key_value(self.table)

    # --- structure -------------------------------------------------------------------------

    def _header(self) -> None:
        is_array = self.s.startswith("[[", self.i)
        self.i += 2 if is_array else 1
        keys = self._key()
        self.i += 2 if is_array else 1
        path = (*self._resolve(keys[:-1]), keys[-1])
        if is_array:
            index = self.table_arrays.get(path, 0)
            self.table_arrays[path] = index + 1
            path = (*path, str(index))
        self.table = path
        self._end_of_line()

    def _resolve(self, keys: Path) -> Path:
        """A header's parent keys as a path: an array of tables among them means its last table."""
        out: Path = ()
        for key in keys:
            out = (*out, key)
            if out in self.table_arrays:
                out = (*out, str(self.table_arrays[out] - 1))
        return out

    def _key_value(self, table: Path) -> None:
        keys = self._key()
        self._skip_ws()
        self.i += 1  # "="
        self._skip_ws()
        self._value((*table, *keys))
        self._end_of_line()

    def _key(self) -> Path:
        keys: list[str] = []
        while True:
            self._skip_ws()
            c = self.s[self.i]
            if c == '"':
                keys.append(self._basic_string())
            elif c == "'":
                end = self.s.index("'", self.i + 1)
                keys.append(self.s[self.i + 1 : end])
                self.i = end + 1
            else:
                m = _BARE_KEY.match(self.s, self.i)
                assert m is not None, f"no key at {self.i}"
                keys.append(m.group())
                self.i = m.end()
            self._skip_ws()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return tuple(keys)

    def _value(self, path: Path) -> None:
        c = self.s[self.i]
        start = self.i
        if c == "[":
            self._array(path)
        elif c == "{":
            self._inline_table(path)
        elif c in "\"'":
            late = self._string()
            self.spans[path] = (start, min(self.i + 1, len(self.s)) if late else self.i)
        else:
            self._bare_scalar()
            self.spans[path] = (start, self.i)

    def _array(self, path: Path) -> None:
        self.i += 1
        index = 0
        while True:
            self._skip_blank_lines()
            if self.s[self.i] == "]":
                self.i += 1
                return
            self._value((*path, str(index)))
            index += 1
            self._skip_blank_lines()
            if self.s[self.i] == ",":
                self.i += 1

    def _inline_table(self, path: Path) -> None:
        self.i += 1
        while True:
            self._skip_ws()
            if self.s[self.i] == "}":
                self.i += 1
                return
            keys = self._key()
            self._skip_ws()
            self.i += 1  # "="
            self._skip_ws()
            self._value((*path, *keys))
            self._skip_ws()
            if self.s[self.i] == ",":
                self.i += 1

    # --- scalars ---------------------------------------------------------------------------

    def _string(self) -> bool:
        """Skip a string value; True when @iarna/toml's parser ends it one character late.

        That parser reads one character past `""` or `''` (to see whether a multi-line string
        starts) and past a closing triple quote (to see whether one or two more quotes belong to
        the content) before it returns the value; only five closing quotes end exactly.
        """
        q = self.s[self.i]
        if self.s.startswith(q * 3, self.i):
            j = self.i + 3
            while not self.s.startswith(q * 3, j):
                j += 2 if q == '"' and self.s[j] == "\\" else 1
            run = 3
            while run < 5 and self.s.startswith(q, j + run):
                run += 1
            self.i = j + run
            return run < 5
        if self.s.startswith(q * 2, self.i):
            self.i += 2
            return True
        if q == '"':
            self._basic_string()
        else:
            self.i = self.s.index("'", self.i + 1) + 1
        return False

    def _basic_string(self) -> str:
        """A one-line "…" string (a value or a key); returns its text as TOML reads it."""
        j = self.i + 1
        while self.s[j] != '"':
            j += 2 if self.s[j] == "\\" else 1
        raw = self.s[self.i : j + 1]
        self.i = j + 1
        return tomllib.loads(f"k = {raw}")["k"]

    def _bare_scalar(self) -> None:
        """A number, boolean, inf/nan or date-time: everything up to the next delimiter, with a
        date and time separated by one space counted as one value."""
        m = re.compile(r"[^\s,\]}#]+").match(self.s, self.i)
        assert m is not None, f"no value at {self.i}"
        self.i = m.end()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.group()) and re.match(r" \d{2}:", self.s[self.i :]):
            self.i = re.compile(r"[^\s,\]}#]+").match(self.s, self.i + 1).end()

    # --- layout ----------------------------------------------------------------------------

    def _skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in _WS:
            self.i += 1

    def _skip_blank_lines(self) -> None:
        """Whitespace, newlines and comments (between statements and inside arrays)."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#":
                nl = self.s.find("\n", self.i)
                self.i = len(self.s) if nl < 0 else nl + 1
            else:
                return

    def _end_of_line(self) -> None:
        self._skip_ws()
        if self.i < len(self.s) and self.s[self.i] == "#":
            nl = self.s.find("\n", self.i)
            self.i = len(self.s) if nl < 0 else nl
