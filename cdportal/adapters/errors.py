"""One error type for every outside system; messages never carry secrets."""

from __future__ import annotations


class AdapterError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        # permanent: retrying the same call cannot help (401, 404, invalid input).
        self.permanent = permanent
