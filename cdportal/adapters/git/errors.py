"""git's answers (exit codes and stderr of the git CLI) as cdportal's typed errors
(`cdportal.adapters.errors`). Messages keep git's first error line and never a URL's
credentials (``repository.redact``)."""

from __future__ import annotations

from cdportal.adapters import errors


class GitError(errors.AdapterError):
    """git failed; the typed ones below say how, when it is known."""


class NotFound(GitError, errors.NotFound):
    """No such revision, no repository at the path, no commits yet, or git is not installed."""


class Forbidden(GitError, errors.Forbidden):
    """git refuses the repository (safe.directory: it belongs to another user)."""


class Unavailable(GitError, errors.Unavailable):
    """A remote could not be fetched or cloned (network, server, credentials)."""
