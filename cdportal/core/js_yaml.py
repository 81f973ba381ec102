"""YAML as js-yaml 4 reads (DEFAULT_SCHEMA, json: true) and dumps it (default options).

Release Please rewrites `yaml` extra files with js-yaml: `load` reads scalars as YAML 1.2 core
plus timestamps, `dump` re-serializes (comments go, sequences re-indented, quotes only where YAML
needs them, lines folded at 80). `Loader` is PyYAML's SafeLoader taught js-yaml's scalar rules;
`dump` ports lib/dumper.js. Plain Python, no Django.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import yaml

from cdportal.core.js_json import js_number, js_ordered


class _JsDate:
    """A js-yaml timestamp: a JavaScript Date, dumped with toISOString()."""

    def __init__(self, moment: dt.datetime):
        self.moment = moment

    def iso(self) -> str:
        return (
            self.moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.moment.microsecond // 1000:03d}Z"
        )


_YAML_INT = re.compile(r"^[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)$")
_YAML_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_YAML_FLOAT_SPECIAL = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_YAML_DATE = re.compile(r"^([0-9][0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9])$")
_YAML_TIMESTAMP = re.compile(
    r"^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9])"
    r":([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?$"
)


def _js_parse_float_prefix(text: str) -> float:
    m = re.match(r"\s*([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))", text, re.ASCII)
    return float(m.group(1)) if m else math.nan


def _yaml_is_int(text: str) -> bool:
    if not _YAML_INT.match(text):
        return False
    try:
        return math.isfinite(float(_yaml_int_value(text)))
    except OverflowError:  # parseInt gives Infinity
        return False


def _yaml_int_value(text: str) -> float:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0b", "0x", "0o"):
        return sign * int(body[2:], {"0b": 2, "0x": 16, "0o": 8}[body[:2]])
    return sign * int(body, 10)


def _yaml_is_float(text: str) -> bool:
    if not _YAML_FLOAT.match(text):
        return False
    return math.isfinite(_js_parse_float_prefix(text)) or bool(_YAML_FLOAT_SPECIAL.match(text))


def is_ambiguous(text: str) -> bool:
    """js-yaml's testImplicitResolving: would the plain scalar read back as something else?"""
    return (
        text
        in ("~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "<<")
        or _yaml_is_int(text)
        or _yaml_is_float(text)
        or bool(_YAML_DATE.match(text) or _YAML_TIMESTAMP.match(text))
    )


class Loader(yaml.SafeLoader):
    """PyYAML reading scalars the way js-yaml's DEFAULT_SCHEMA does (YAML 1.2 core + timestamp)."""


Loader.yaml_implicit_resolvers = {}
for _tag_name, _regex, _first in (
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), list("~nN") + [""]),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    ("tag:yaml.org,2002:int", _YAML_INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789.")),
    (
        "tag:yaml.org,2002:timestamp",
        re.compile(_YAML_DATE.pattern + "|" + _YAML_TIMESTAMP.pattern),
        list("0123456789"),
    ),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"]),
):
    Loader.add_implicit_resolver(_tag_name, _regex, _first)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    if not _yaml_is_int(text):  # too large: js-yaml falls through to float or string
        return float(text) if _yaml_is_float(text) and math.isfinite(float(text)) else text
    value = _yaml_int_value(text)
    return int(value) if abs(value) < 2**53 else float(value)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    if not _yaml_is_float(text):
        return text
    lowered = text.lower()
    sign = -1.0 if lowered.startswith("-") else 1.0
    body = lowered.lstrip("+-")
    if body == ".inf":
        return sign * math.inf
    if body == ".nan":
        return math.nan
    return sign * _js_parse_float_prefix(body)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return loader.construct_scalar(node) in ("true", "True", "TRUE")


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    m = _YAML_DATE.match(text)
    if m:
        return _JsDate(dt.datetime(int(m[1]), int(m[2]), int(m[3])))
    m = _YAML_TIMESTAMP.match(text)
    if not m:
        return text
    fraction = int((m[7] or "")[:3].ljust(3, "0")) if m[7] else 0
    moment = dt.datetime(
        int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), fraction * 1000
    )
    if m[9]:
        delta = dt.timedelta(hours=int(m[10]), minutes=int(m[11] or 0))
        moment = moment - delta if m[9] == "+" else moment + delta
    return _JsDate(moment)


def _js_string(value: Any) -> str:
    """String(value) for a mapping key."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return (
            js_number(value)
            if math.isfinite(value)
            else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        )
    if isinstance(value, list):
        return ",".join(
            "" if v is None else ("[object Object]" if isinstance(v, dict) else _js_string(v))
            for v in value
        )
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    data: dict[str, Any] = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[_js_string(key)] = loader.construct_object(value_node, deep=True)


for _tag_name, _constructor in (
    ("tag:yaml.org,2002:int", _construct_int),
    ("tag:yaml.org,2002:float", _construct_float),
    ("tag:yaml.org,2002:bool", _construct_bool),
    ("tag:yaml.org,2002:timestamp", _construct_timestamp),
    ("tag:yaml.org,2002:map", _construct_map),
):
    Loader.add_constructor(_tag_name, _constructor)


# js-yaml dumper (lib/dumper.js), default options: indent 2, lineWidth 80, single quotes.
_ESCAPES = {
    0x00: "\\0",
    0x07: "\\a",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0B: "\\v",
    0x0C: "\\f",
    0x0D: "\\r",
    0x1B: "\\e",
    0x22: '\\"',
    0x5C: "\\\\",
    0x85: "\\N",
    0xA0: "\\_",
    0x2028: "\\L",
    0x2029: "\\P",
}
_DEPRECATED_BOOLEANS = {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "off",
    "Off",
    "OFF",
}
_BASE60 = re.compile(r"^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$")
_PLAIN, _SINGLE, _LITERAL, _FOLDED, _DOUBLE = range(1, 6)


def _to_utf16(text: str) -> str:
    """Astral characters as surrogate pairs, so indices count like JavaScript's."""
    return "".join(
        c
        if ord(c) < 0x10000
        else chr(0xD800 + ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 + ((ord(c) - 0x10000) & 0x3FF))
        for c in text
    )


def _from_utf16(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _code_point_at(s: str, i: int) -> int:
    first = ord(s[i])
    if 0xD800 <= first <= 0xDBFF and i + 1 < len(s):
        second = ord(s[i + 1])
        if 0xDC00 <= second <= 0xDFFF:
            return (first - 0xD800) * 0x400 + second - 0xDC00 + 0x10000
    return first


def _printable(c: int) -> bool:
    return (
        0x20 <= c <= 0x7E
        or (0xA1 <= c <= 0xD7FF and c not in (0x2028, 0x2029))
        or (0xE000 <= c <= 0xFFFD and c != 0xFEFF)
        or 0x10000 <= c <= 0x10FFFF
    )


def _ns_char_or_white(c: int) -> bool:
    return _printable(c) and c != 0xFEFF and c != 0x0D and c != 0x0A


def _plain_safe(c: int, prev: int | None, inblock: bool) -> bool:
    c_ns_or_white = _ns_char_or_white(c)
    c_ns = c_ns_or_white and c not in (0x20, 0x09)
    safe = c_ns_or_white if inblock else c_ns_or_white and c not in (0x2C, 0x5B, 0x5D, 0x7B, 0x7D)
    return (
        (safe and c != 0x23 and not (prev == 0x3A and not c_ns))
        or (prev is not None and _ns_char_or_white(prev) and prev not in (0x20, 0x09) and c == 0x23)
        or (prev == 0x3A and c_ns)
    )


def _plain_safe_first(c: int) -> bool:
    return (
        _printable(c)
        and c != 0xFEFF
        and c not in (0x20, 0x09)
        and chr(c) not in "-?:,[]{}#&*!|=>'\"%@`"
    )


def _choose_style(s: str, single_line_only: bool, line_width: int, inblock: bool) -> int:
    plain = _plain_safe_first(_code_point_at(s, 0)) and (
        _code_point_at(s, len(s) - 1) not in (0x20, 0x09, 0x3A)
    )
    has_line_break = False
    has_foldable = False
    previous_break = -1
    prev = None
    i = 0
    char = 0
    while i < len(s):
        char = _code_point_at(s, i)
        if not single_line_only and char == 0x0A:
            has_line_break = True
            has_foldable = has_foldable or (
                i - previous_break - 1 > line_width and s[previous_break + 1] != " "
            )
            previous_break = i
        elif not _printable(char):
            return _DOUBLE
        plain = plain and _plain_safe(char, prev, inblock)
        prev = char
        i += 2 if char >= 0x10000 else 1
    if not single_line_only:
        has_foldable = has_foldable or (
            i - previous_break - 1 > line_width and s[previous_break + 1] != " "
        )
    if not has_line_break and not has_foldable:
        return _PLAIN if plain and not is_ambiguous(s) else _SINGLE
    return _FOLDED if has_foldable else _LITERAL


def _indent_string(s: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(
        pad + line if line and line != "\n" else line for line in re.findall(r"[^\n]*\n|[^\n]+$", s)
    )


def _block_header(s: str) -> str:
    indicator = "2" if re.match(r"^\n* ", s) else ""
    clip = s.endswith("\n")
    keep = clip and (s[-2:-1] == "\n" or s == "\n")
    return indicator + ("+" if keep else ("" if clip else "-")) + "\n"


def _drop_ending_newline(s: str) -> str:
    return s.removesuffix("\n")


def _fold_line(line: str, width: int) -> str:
    if line == "" or line[0] == " ":
        return line
    start = curr = 0
    result = ""
    for m in re.finditer(r" [^ ]", line):
        nxt = m.start()
        if nxt - start > width:
            end = curr if curr > start else nxt
            result += "\n" + line[start:end]
            start = end + 1
        curr = nxt
    result += "\n"
    if len(line) - start > width and curr > start:
        result += line[start:curr] + "\n" + line[curr + 1 :]
    else:
        result += line[start:]
    return result[1:]


def _fold_string(s: str, width: int) -> str:
    next_lf = s.find("\n")
    next_lf = next_lf if next_lf != -1 else len(s)
    result = _fold_line(s[:next_lf], width)
    prev_more_indented = s[:1] in ("\n", " ")
    for m in re.compile(r"(\n+)([^\n]*)").finditer(s, next_lf):
        prefix, line = m.group(1), m.group(2)
        more_indented = line[:1] == " "
        result += (
            prefix
            + ("\n" if not prev_more_indented and not more_indented and line != "" else "")
            + _fold_line(line, width)
        )
        prev_more_indented = more_indented
    return result


def _escape_double(s: str) -> str:
    out = ""
    i = 0
    while i < len(s):
        c = _code_point_at(s, i)
        if c not in _ESCAPES and _printable(c):
            out += s[i : i + (2 if c >= 0x10000 else 1)]
        else:
            out += _ESCAPES.get(c) or (
                f"\\x{c:02X}" if c <= 0xFF else (f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}")
            )
        i += 2 if c >= 0x10000 else 1
    return out


class _YamlDumper:
    def __init__(self, value: Any):
        self.dump: Any = None
        self.tag: str | None = None
        self.duplicates: list[Any] = []
        self.used: list[bool] = []
        seen: list[Any] = []
        dup_indexes: list[int] = []
        self._inspect(value, seen, dup_indexes)
        self.duplicates = [seen[i] for i in dup_indexes]
        self.used = [False] * len(self.duplicates)

    def _inspect(self, value: Any, seen: list, dups: list) -> None:
        if isinstance(value, dict | list):
            index = next((i for i, o in enumerate(seen) if o is value), -1)
            if index != -1:
                if index not in dups:
                    dups.append(index)
                return
            seen.append(value)
            for child in value.values() if isinstance(value, dict) else value:
                self._inspect(child, seen, dups)

    def scalar(self, s: str, level: int, iskey: bool, inblock: bool) -> str:
        if not s:
            return "''"
        if s in _DEPRECATED_BOOLEANS or _BASE60.match(s):
            return "'" + s + "'"
        indent = 2 * max(1, level)
        width = max(min(80, 40), 80 - indent)
        style = _choose_style(s, iskey, width, inblock)
        if style == _PLAIN:
            return s
        if style == _SINGLE:
            return "'" + s.replace("'", "''") + "'"
        if style == _LITERAL:
            return "|" + _block_header(s) + _drop_ending_newline(_indent_string(s, indent))
        if style == _FOLDED:
            return (
                ">"
                + _block_header(s)
                + _drop_ending_newline(_indent_string(_fold_string(s, width), indent))
            )
        return '"' + _escape_double(s) + '"'

    def represent(self, value: Any) -> str | None:
        """detectType over the implicit types: null, bool, int, float, timestamp."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            if isinstance(value, float) and math.isnan(value):
                return ".nan"
            if isinstance(value, float) and math.isinf(value):
                return ".inf" if value > 0 else "-.inf"
            if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
                return "-0.0"
            if isinstance(value, int) or value.is_integer():  # js-yaml int type: toString()
                return js_number(value)
            text = js_number(value)  # float type: "5e-7" needs a dot in YAML
            return text.replace("e", ".e", 1) if re.match(r"^[-+]?[0-9]+e", text) else text
        if isinstance(value, _JsDate):
            return value.iso()
        return None

    def node(self, level: int, value: Any, block: bool, compact: bool, iskey: bool = False) -> bool:
        represented = self.represent(value)
        if represented is not None:
            self.tag = "?"
            self.dump = represented
            return True
        self.tag = None
        inblock = block
        duplicate_index = -1
        if isinstance(value, dict | list):
            duplicate_index = next((i for i, o in enumerate(self.duplicates) if o is value), -1)
        duplicate = duplicate_index != -1
        if duplicate:
            compact = False
        if duplicate and self.used[duplicate_index]:
            self.dump = f"*ref_{duplicate_index}"
            return True
        if duplicate:
            self.used[duplicate_index] = True
        if isinstance(value, dict):
            if value:
                self.mapping(level, value, compact)
                if duplicate:
                    self.dump = f"&ref_{duplicate_index}" + self.dump
            else:
                self.dump = "{}" if not duplicate else f"&ref_{duplicate_index} {{}}"
        elif isinstance(value, list):
            if value:
                self.sequence(level, value, compact)
                if duplicate:
                    self.dump = f"&ref_{duplicate_index}" + self.dump
            else:
                self.dump = "[]" if not duplicate else f"&ref_{duplicate_index} []"
        elif isinstance(value, str):
            self.dump = self.scalar(_to_utf16(value), level, iskey, inblock)
        else:
            raise TypeError(f"unacceptable kind of an object to dump: {type(value).__name__}")
        return True

    def sequence(self, level: int, items: list, compact: bool) -> None:
        result = ""
        for item in items:
            self.node(level + 1, item, True, True)
            if not compact or result:
                result += "\n" + "  " * level
            result += "-" if self.dump.startswith("\n") else "- "
            result += self.dump
        self.dump = result or "[]"

    def mapping(self, level: int, mapping: dict, compact: bool) -> None:
        result = ""
        for key, value in js_ordered(mapping).items():
            pair = "" if compact and not result else "\n" + "  " * level
            self.node(level + 1, _js_string(key), True, True, iskey=True)
            explicit = len(self.dump) > 1024
            if explicit:
                pair += "?" if self.dump.startswith("\n") else "? "
            pair += self.dump
            if explicit:
                pair += "\n" + "  " * level
            self.node(level + 1, value, True, explicit)
            pair += ":" if self.dump.startswith("\n") else ": "
            pair += self.dump
            result += pair
        self.dump = result or "{}"


def dump(value: Any) -> str:
    dumper = _YamlDumper(value)
    dumper.node(0, value, True, True)
    return _from_utf16(dumper.dump) + "\n"


def load_all(text: str) -> list[Any]:
    """yaml.loadAll: every document of the stream (raises yaml.YAMLError or ValueError)."""
    return list(yaml.load_all(text, Loader=Loader))


__all__ = ["Loader", "dump", "is_ambiguous", "load_all"]
