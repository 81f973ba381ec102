"""The API server's answers as typed errors, in its own words (cdportal.adapters.kubernetes.errors)."""

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from cdportal.adapters import errors
from cdportal.adapters.kubernetes.errors import api_error


def answered(status: int, reason: str, message: str) -> ApiException:
    e = ApiException(status=status, reason=reason)
    e.body = json.dumps(
        {
            "kind": "Status",
            "status": "Failure",
            "code": status,
            "reason": reason,
            "message": message,
        }
    )
    return e


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (400, "BadRequest", errors.Invalid),
        (403, "Forbidden", errors.Forbidden),
        (404, "NotFound", errors.NotFound),
        (409, "Conflict", errors.Conflict),
        (422, "Invalid", errors.Invalid),
        (429, "TooManyRequests", errors.RateLimited),
        (500, "InternalError", errors.Unavailable),
        (503, "ServiceUnavailable", errors.Unavailable),
    ],
)
def test_each_status_is_its_type_with_the_servers_words(status, reason, kind):
    error = api_error(
        answered(status, reason, f"the server says {status}"), "patching argocd/controller"
    )
    assert type(error) is kind and error.status == status
    assert (
        str(error) == f"patching argocd/controller: the Kubernetes API answered {status} {reason}: "
        f"the server says {status}"
    )


def test_a_401_is_bad_credentials_not_a_missing_verb():
    error = api_error(answered(401, "Unauthorized", "Unauthorized"), "reading argocd/controller")
    assert type(error) is errors.Unauthorized and error.permanent
    assert str(error) == (
        "reading argocd/controller: the Kubernetes API did not accept cdportal's credentials "
        "(401 Unauthorized); check its token or kubeconfig"
    )


def test_no_answer_is_unavailable():
    timeout = api_error(
        urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), "reading x", timeout=10
    )
    assert type(timeout) is errors.Unavailable
    assert str(timeout) == "reading x: the Kubernetes API did not answer within 10s"
    refused = api_error(ConnectionRefusedError(111, "refused"), "reading x")
    assert type(refused) is errors.Unavailable
    assert str(refused) == "reading x: cannot reach the Kubernetes API (ConnectionRefusedError)"
