"""JSON as JavaScript reads and writes it: JSON.parse, JSON.stringify and Number#toString.

Release Please re-serializes package.json, lock files, the manifest and `json` extra files with
JSON.stringify, indented as detect-indent 6.1 finds; this module reproduces that byte for byte
(integer-like keys first, numbers printed as JavaScript prints them). Plain Python, no Django.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class JSONSyntaxError(ValueError):
    """The text is not JSON (JSON.parse would throw a SyntaxError)."""


def parse(text: str) -> Any:
    """JSON.parse: numbers as JavaScript holds them, integer-like keys first, NaN refused."""

    def number(s: str) -> Any:
        f = float(s)
        return (
            int(f)
            if f.is_integer() and abs(f) < 2**53 and "." not in s and "e" not in s.lower()
            else f
        )

    def reject(name: str) -> Any:
        raise ValueError(f"Unexpected token {name[0]} in JSON")

    def js_keys(pairs: list[tuple[str, Any]]) -> dict:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            obj[k] = v
        return js_ordered(obj)

    try:
        return json.loads(
            text,
            parse_int=number,
            parse_float=number,
            parse_constant=reject,
            object_pairs_hook=js_keys,
        )
    except json.JSONDecodeError as e:
        raise JSONSyntaxError(
            f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None


_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)\Z")


def js_ordered(obj: dict) -> dict:
    """Object property order in JavaScript: integer-like keys first, ascending."""
    ints = [k for k in obj if isinstance(k, str) and _ARRAY_INDEX.match(k) and int(k) < 2**32 - 1]
    if not ints:
        return obj
    ints.sort(key=int)
    return {**{k: obj[k] for k in ints}, **{k: v for k, v in obj.items() if k not in ints}}


def stringify_like(data: Any, original: str) -> str:
    """util/json-stringify.ts: keep what surrounds the outer braces, indent as detect-indent says."""
    # content.slice(0, indexOf('{')) and slice(lastIndexOf('}') + 1), -1 included.
    head = original[: original.find("{")] if "{" in original else original[:-1]
    tail = original[original.rfind("}") + 1 :]
    return head + stringify(data, detect_indent(original.strip())) + tail


def stringify(value: Any, gap: str, indent: str = "") -> str:
    """JSON.stringify(value, null, gap)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return js_number(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    inner = indent + gap
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [stringify(v, gap, inner) for v in value]
        if not gap:
            return "[" + ",".join(items) + "]"
        return "[\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "]"
    if isinstance(value, dict):
        value = js_ordered(value)
        if not value:
            return "{}"
        sep = ": " if gap else ":"
        items = [
            json.dumps(str(k), ensure_ascii=False) + sep + stringify(v, gap, inner)
            for k, v in value.items()
        ]
        if not gap:
            return "{" + ",".join(items) + "}"
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "}"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def js_number(x: float) -> str:
    """Number.prototype.toString()."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if x == 0:
        return "0"
    if isinstance(x, int) and abs(x) < 10**21:
        return str(x)
    sign, digits, exp = Decimal(repr(float(x))).normalize().as_tuple()
    ds = "".join(map(str, digits))
    k = len(ds)
    n = exp + k
    out = ""
    if k <= n <= 21:
        out = ds + "0" * (n - k)
    elif 0 < n <= 21:
        out = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + ds
    else:
        e = n - 1
        mant = ds if k == 1 else ds[0] + "." + ds[1:]
        out = f"{mant}e{'+' if e > 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + out


def detect_indent(text: str) -> str:
    """detect-indent 6.1: the most used indentation step ('' when there is none)."""

    def indents_map(ignore_single_spaces: bool) -> dict:
        indents: dict[Any, list[int]] = {}
        previous_size = 0
        previous_type = None
        key = None
        for line in text.split("\n"):
            if not line:
                continue
            m = re.match(r"^(?:( )+|\t+)", line)
            if m is None:
                previous_size = 0
                previous_type = ""
                continue
            size = len(m.group(0))
            kind = "s" if m.group(1) else "t"
            if ignore_single_spaces and kind == "s" and size == 1:
                continue
            if kind != previous_type:
                previous_size = 0
            previous_type = kind
            weight = 0
            difference = size - previous_size
            previous_size = size
            if difference == 0:
                weight += 1
            else:
                key = f"{kind}{abs(difference)}"
            entry = indents.get(key)
            indents[key] = [1, 0] if entry is None else [entry[0] + 1, entry[1] + weight]
        return indents

    indents = indents_map(True) or indents_map(False)
    best, used, weight = None, 0, 0
    for key, (count, w) in indents.items():
        if count > used or (count == used and w > weight):
            best, used, weight = key, count, w
    if best is None:
        return ""
    return (" " if best[0] == "s" else "\t") * int(best[1:])


__all__ = [
    "JSONSyntaxError",
    "detect_indent",
    "js_number",
    "js_ordered",
    "parse",
    "stringify",
    "stringify_like",
]
