"""One error type for every outside system; messages never carry secrets."""

from __future__ import annotations


class AdapterError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        # permanent: retrying the same call cannot help (401, 404, invalid input).
        self.permanent = permanent


def kubernetes_reason(body, limit: int = 500) -> str:
    """The `message` of a Kubernetes Status body (why a write was forbidden or invalid: object
    names, field paths, the account and verb — never credentials), '' when there is none."""
    import json

    try:
        message = json.loads(body or "").get("message") or ""
    except (ValueError, AttributeError, TypeError):
        return ""
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
