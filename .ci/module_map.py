"""The README's module map, made from the modules' own first docstring lines.

Usage:
    python .ci/module_map.py --check   # make lint: fail when README's map is not the tree's
    python .ci/module_map.py --write   # make map: rewrite the map in README.md

One line per module of `cdportal/` (migrations and empty `__init__.py` files aside), grouped by
package, with the first sentence of the module's docstring. The map sits in README.md between the
two marker comments below; everything else in the README is left alone.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- module map: made by `make map` from each module's docstring; do not edit by hand -->"
END = "<!-- end of module map -->"
MAX_SUMMARY = 110


def summary(path: Path) -> str | None:
    """The docstring's first sentence (its first paragraph up to the first full stop)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not doc:
        return None
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    end = paragraph.find(". ")
    sentence = paragraph if end < 0 else paragraph[: end + 1]
    # One screen line: a long sentence ends at a word before MAX_SUMMARY, with an ellipsis.
    return (
        sentence
        if len(sentence) <= MAX_SUMMARY
        else sentence[:MAX_SUMMARY].rsplit(" ", 1)[0] + " …"
    )


def modules() -> list[Path]:
    return sorted(
        path
        for path in (ROOT / "cdportal").rglob("*.py")
        if "migrations" not in path.parts
        and not (path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip())
    )


def render() -> tuple[str, list[str]]:
    """The map's text and the modules that have no docstring to show."""
    rows: dict[str, list[tuple[str, str]]] = {}
    missing = []
    for path in modules():
        rel = path.relative_to(ROOT)
        line = summary(path)
        if line is None:
            missing.append(str(rel))
            continue
        rows.setdefault(str(rel.parent), []).append((rel.name, line))
    width = max(len(name) for group in rows.values() for name, _ in group)
    out = ["```"]
    for package in sorted(rows):
        out.append(f"{package}/")
        out.extend(f"  {name:<{width}}  {line}" for name, line in rows[package])
    out.append("```")
    return "\n".join(out), missing


def main(mode: str) -> int:
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"README.md has no module map markers ({BEGIN!r} … {END!r})")
        return 1
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    rendered, missing = render()
    if missing:
        print("modules without a docstring (its first line is their entry in the map):")
        print("\n".join(f"  {m}" for m in missing))
        return 1
    wanted = f"{head}{BEGIN}\n{rendered}\n{END}{tail}"
    if mode == "--write":
        README.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != text:
        print("README.md's module map is not the tree's: run `make map` and commit README.md")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("--check", "--write"):
        sys.exit(__doc__.split("\n\n")[1])
    sys.exit(main(sys.argv[1]))
