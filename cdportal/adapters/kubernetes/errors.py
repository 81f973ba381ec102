"""The Kubernetes API server's answers as cdportal's typed errors — the one place they are mapped.

Each error keeps the API server's own words (the Status body's `message`: which account, verb,
resource or field) and never the credentials. Callers decide by type, never by the text:
401 is `Unauthorized` (the token or kubeconfig is wrong or expired), 403 `Forbidden` (an RBAC
verb is missing), 404 `NotFound`, 409 `Conflict`, 400/422 `Invalid`, 429 `RateLimited`, no
answer or 5xx `Unavailable`.

Reference: Kubernetes API concepts, "Status" responses (metav1.Status `message`, `reason`, `code`).
"""

from __future__ import annotations

import urllib3
from kubernetes.client.exceptions import ApiException

from cdportal.adapters.errors import (
    AdapterError,
    RateLimited,
    Unauthorized,
    Unavailable,
    for_status,
    kubernetes_reason,
)


def api_error(e: Exception, doing: str, *, timeout: float | None = None) -> AdapterError:
    """The typed error for a failed call `doing` something ("patching argocd/controller")."""
    if isinstance(e, ApiException):
        why = kubernetes_reason(e.body)
        said = f"{e.status} {e.reason}" + (f": {why}" if why and why != e.reason else "")
        if e.status == 401:
            return Unauthorized(
                f"{doing}: the Kubernetes API did not accept cdportal's credentials ({said}); "
                "check its token or kubeconfig",
                status=401,
            )
        if e.status == 429:
            return RateLimited(f"{doing}: the Kubernetes API answered {said}", status=429)
        return for_status(e.status)(f"{doing}: the Kubernetes API answered {said}", status=e.status)
    if isinstance(e, TimeoutError | urllib3.exceptions.TimeoutError):
        within = f" within {timeout:g}s" if timeout is not None else ""
        return Unavailable(f"{doing}: the Kubernetes API did not answer{within}")
    if isinstance(e, urllib3.exceptions.HTTPError | OSError):
        return Unavailable(f"{doing}: cannot reach the Kubernetes API ({type(e).__name__})")
    raise TypeError(f"not a Kubernetes client error: {type(e).__name__}")


# What `api_error` maps: catch these around a call, then `raise api_error(e, doing) from None`.
CLIENT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)
