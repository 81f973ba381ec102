"""Text the database cannot hold, found and made storable.

PostgreSQL refuses a NUL in text and jsonb ("unsupported Unicode escape sequence", "A string
literal cannot contain NUL (0x00) characters"), and a lone surrogate (valid in JSON as
`"\\ud800"`, and so in what json.loads returns) cannot be encoded to UTF-8 for any database.
Either one in a webhook payload or an event made the request a 500 with nothing stored.
"""

from __future__ import annotations

import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def first_unstorable(value: Any, path: str = "") -> str | None:
    """Where the first unstorable character in a JSON value is, e.g. "release.name: U+0000"."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        return f"{path or '(the value)'}: U+{ord(found.group()):04X}" if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = first_unstorable(
                key, f"{path}.(a key)" if path else "(a key)"
            ) or first_unstorable(item, f"{path}.{key}" if path else str(key))
            if where:
                return where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = first_unstorable(item, f"{path}[{index}]")
            if where:
                return where
    return None


def storable(value: Any) -> Any:
    """The JSON value with every unstorable character replaced by U+FFFD."""
    if isinstance(value, str):
        return UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
