"""A registry's answers (the Distribution API and its token service) as cdportal's typed errors
(`cdportal.adapters.errors`). Messages name the registry, the repository and what was asked,
keep the registry's own words (its `errors[].message`) and never credentials or tokens.

Reference: the Distribution spec's error codes (docs/spec/api.md, "Errors": 401 UNAUTHORIZED,
403 DENIED, 404 NAME_UNKNOWN / MANIFEST_UNKNOWN, 429 TOOMANYREQUESTS).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdportal.adapters import errors


class RegistryError(errors.AdapterError):
    """A registry (or its token service) refused, failed or could not be reached; the typed ones
    below say which. `retry_after`: the seconds the registry asked to wait, when it did."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        errors.AdapterError.__init__(self, message, permanent=permanent, status=status)
        self.retry_after = retry_after


class Unauthorized(RegistryError, errors.Unauthorized):
    pass


class Forbidden(RegistryError, errors.Forbidden):
    pass


class NotFound(RegistryError, errors.NotFound):
    pass


class Invalid(RegistryError, errors.Invalid):
    pass


class Unavailable(RegistryError, errors.Unavailable):
    pass


class RateLimited(RegistryError, errors.RateLimited):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, permanent=permanent, status=status, retry_after=retry_after)
        self.reset_at = (
            datetime.now(UTC) + timedelta(seconds=retry_after) if retry_after is not None else None
        )


_TYPES: dict[int, type[RegistryError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def answered(
    message: str, *, status: int | None, permanent: bool = False, retry_after: float | None = None
) -> RegistryError:
    """The error for a registry's answer with `status` (None: no answer at all). `permanent` is
    the caller's to say: a token service's 404 may be a passing misconfiguration."""
    kind = _TYPES.get(
        status or 0, Unavailable if status is None or status >= 500 else RegistryError
    )
    return kind(message, permanent=permanent, status=status, retry_after=retry_after)
