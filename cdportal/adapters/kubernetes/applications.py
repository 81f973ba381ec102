"""One Argo CD Application: read it, merge-patch it (the on-call actions' calls).

Merge patch, as `kubectl patch --type merge` and Argo CD's docs do; the client would otherwise
pick JSON patch for a dict body. A body carrying metadata.resourceVersion is a precondition: the
API server answers 409 (`Conflict`) when the object changed since it was read. Errors are
cdportal.adapters.errors types (see kubernetes.errors).
"""

from __future__ import annotations

from kubernetes import client

from cdportal.adapters.kubernetes.errors import CLIENT_ERRORS, api_error

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = 10.0  # seconds per call to the API server


def get(api_client: client.ApiClient, namespace: str, name: str) -> dict:
    try:
        return client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
        )
    except CLIENT_ERRORS as e:
        raise api_error(e, f"reading {namespace}/{name}", timeout=REQUEST_TIMEOUT) from None


def patch(api_client: client.ApiClient, namespace: str, name: str, body: dict) -> dict:
    """The Application as the API server stored it after the patch."""
    try:
        return client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            body,
            _content_type=MERGE_PATCH,
            _request_timeout=REQUEST_TIMEOUT,
        )
    except CLIENT_ERRORS as e:
        raise api_error(e, f"patching {namespace}/{name}", timeout=REQUEST_TIMEOUT) from None
