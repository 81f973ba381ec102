"""JSONPath as jsonpath-plus evaluates it (the subset release-please-config.json files use).

Release Please's `json`, `yaml` and `toml` extra files name the value to bump with a JSONPath
(`$.version`, `$..image.tag`, `$.deps[?(@.name == 'x')].version`); jsonpath-plus accepts a path
without `$`, descends with `..` and evaluates filters with JavaScript's comparison rules. Plain
Python, no Django.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any


@dataclass
class Match:
    value: Any
    parent: Any
    key: Any
    pointer: str


def find(data: Any, expression: str) -> list[Match]:
    """Every node the expression selects, in document order, with its parent and key."""
    steps = _jsonpath_steps(expression)
    results: list[Match] = []
    _trace(steps, data, None, None, [], results)
    return results


def _jsonpath_steps(expression: str) -> list[tuple[str, Any]]:
    expr = expression.strip()
    if not expr.startswith("$"):  # jsonpath-plus reads "a.b" as "$.a.b"
        expr = "$" + ("" if expr.startswith("[") else ".") + expr
    i, steps = 1, []
    while i < len(expr):
        if expr.startswith("..", i):
            steps.append(("descend", None))
            i += 2
            if i < len(expr) and expr[i] != "[":
                m = re.match(r"[^.\[]+", expr[i:])
                steps.append(("name", m.group(0)))
                i += len(m.group(0))
        elif expr[i] == ".":
            m = re.match(r"[^.\[]+", expr[i + 1 :])
            if not m:
                raise ValueError(f"unsupported jsonpath {expression!r}")
            steps.append(("name", m.group(0)))
            i += 1 + len(m.group(0))
        elif expr[i] == "[":
            j, depth, quote = i + 1, 1, None
            while j < len(expr) and depth:
                c = expr[j]
                if quote:
                    if c == "\\":
                        j += 1
                    elif c == quote:
                        quote = None
                elif c in "'\"":
                    quote = c
                elif c == "[":
                    depth += 1
                elif c == "]":
                    depth -= 1
                j += 1
            steps.append(_bracket(expr[i + 1 : j - 1].strip(), expression))
            i = j
        else:
            raise ValueError(f"unsupported jsonpath {expression!r}")
    return steps


def _bracket(body: str, expression: str) -> tuple[str, Any]:
    if body.startswith("?"):
        m = re.fullmatch(r"\?\((.*)\)", body, re.DOTALL)
        if not m:
            raise ValueError(f"unsupported jsonpath filter in {expression!r}")
        return ("filter", _FilterExpr(m.group(1), expression))
    if body == "*":
        return ("name", "*")
    if re.fullmatch(r"-?\d*:-?\d*(:-?\d*)?", body):
        parts = [int(p) if p else None for p in body.split(":")]
        return ("slice", tuple(parts + [None] * (3 - len(parts))))
    names = []
    for part in re.findall(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,]+", body):
        part = part.strip()
        if part[:1] in "'\"":
            part = part[1:-1]
        if part:
            names.append(part)
    return ("names", names) if len(names) > 1 else ("name", names[0] if names else "")


def _children(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def _escape_pointer(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _trace(steps, value, parent, key, path, out) -> None:
    if not steps:
        pointer = "".join("/" + _escape_pointer(p) for p in path)
        out.append(Match(value, parent, key, pointer))
        return
    kind, arg = steps[0]
    rest = steps[1:]
    if kind == "descend":
        _trace(rest, value, parent, key, path, out)
        for k, child in _children(value):
            if isinstance(child, dict | list):
                _trace(steps, child, value, k, path + [k], out)
        return
    if kind == "name" and arg == "*":
        for k, child in _children(value):
            _trace(rest, child, value, k, path + [k], out)
        return
    if kind in ("name", "names"):
        for name in [arg] if kind == "name" else arg:
            if isinstance(value, dict) and name in value:
                _trace(rest, value[name], value, name, path + [name], out)
            elif (
                isinstance(value, list)
                and re.fullmatch(r"0|[1-9]\d*", name)
                and int(name) < len(value)
            ):
                _trace(rest, value[int(name)], value, int(name), path + [int(name)], out)
        return
    if kind == "slice" and isinstance(value, list):
        for idx in range(len(value))[slice(*arg)]:
            _trace(rest, value[idx], value, idx, path + [idx], out)
        return
    if kind == "filter":
        for k, child in _children(value):
            if arg.test(child, k):
                _trace(rest, child, value, k, path + [k], out)


class _FilterExpr:
    """A jsonpath-plus filter `?(...)`: @-paths, literals, comparisons, && || ! and parentheses,
    with JavaScript's comparison rules (so a tagged TOML string never equals a string)."""

    _TOKEN = re.compile(
        r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?)"
        r"|(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[<>!()])|(?P<at>@(?:\.[A-Za-z_$][\w$-]*|\[[^\]]*\])*)"
        r"|(?P<word>true|false|null|undefined))"
    )

    def __init__(self, source: str, expression: str):
        self.tokens = []
        pos = 0
        source = source.strip()
        while pos < len(source):
            m = self._TOKEN.match(source, pos)
            if not m or m.end() == pos:
                raise ValueError(f"unsupported jsonpath filter in {expression!r}")
            self.tokens.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
            while pos < len(source) and source[pos].isspace():
                pos += 1
        self.expression = expression

    def test(self, value: Any, key: Any) -> bool:
        self.pos, self.value = 0, value
        result = self._or()
        return _js_truthy(result)

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _take(self):
        token = self._peek()
        self.pos += 1
        return token

    def _or(self):
        left = self._and()
        while self._peek() == ("op", "||"):
            self._take()
            right = self._and()
            left = left if _js_truthy(left) else right
        return left

    def _and(self):
        left = self._cmp()
        while self._peek() == ("op", "&&"):
            self._take()
            right = self._cmp()
            left = right if _js_truthy(left) else left
        return left

    def _cmp(self):
        left = self._unary()
        while self._peek()[0] == "op" and self._peek()[1] in (
            "===",
            "!==",
            "==",
            "!=",
            "<",
            ">",
            "<=",
            ">=",
        ):
            op = self._take()[1]
            right = self._unary()
            left = _js_compare(op, left, right)
        return left

    def _unary(self):
        kind, text = self._take()
        if (kind, text) == ("op", "!"):
            return not _js_truthy(self._unary())
        if (kind, text) == ("op", "("):
            inner = self._or()
            if self._take() != ("op", ")"):
                raise ValueError(f"unsupported jsonpath filter in {self.expression!r}")
            return inner
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word":
            return {"true": True, "false": False, "null": None, "undefined": _UNDEFINED}[text]
        if kind == "at":
            current: Any = self.value
            for part in re.findall(r"\.([A-Za-z_$][\w$-]*)|\[([^\]]*)\]", text[1:]):
                name = part[0] or part[1].strip().strip("'\"")
                if isinstance(current, dict) and name in current:
                    current = current[name]
                elif isinstance(current, list) and name.isdigit() and int(name) < len(current):
                    current = current[int(name)]
                elif isinstance(current, str | list) and name == "length":
                    current = len(current)
                else:
                    current = _UNDEFINED
                    break
            return current
        raise ValueError(f"unsupported jsonpath filter in {self.expression!r}")


_UNDEFINED = object()


def _js_truthy(v: Any) -> bool:
    if v is _UNDEFINED or v is None or v is False:
        return False
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v != 0 and not math.isnan(v)
    if isinstance(v, str):
        return v != ""
    return True


def _js_compare(op: str, a: Any, b: Any) -> bool:
    def primitive(v):
        return v is None or v is _UNDEFINED or isinstance(v, str | int | float | bool)

    if op in ("===", "!=="):
        same = (
            type(a) is type(b)
            or (
                isinstance(a, int | float)
                and isinstance(b, int | float)
                and not isinstance(a, bool)
                and not isinstance(b, bool)
            )
        ) and (a == b if primitive(a) else a is b)
        return same if op == "===" else not same
    if op in ("==", "!="):
        if not primitive(a) or not primitive(b):
            same = a is b
        elif a in (None, _UNDEFINED) or b in (None, _UNDEFINED):
            same = a in (None, _UNDEFINED) and b in (None, _UNDEFINED)
        elif isinstance(a, str) and isinstance(b, str):
            same = a == b
        else:
            same = _js_to_number(a) == _js_to_number(b)
        return same if op == "==" else not same
    if not primitive(a) or not primitive(b):
        return False
    if isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        x, y = _js_to_number(a), _js_to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def _js_to_number(v: Any) -> float:
    if v is None or v is False:
        return 0.0
    if v is True:
        return 1.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


__all__ = ["Match", "find"]
