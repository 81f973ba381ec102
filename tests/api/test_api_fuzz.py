"""A bounded fuzz of /api from its own OpenAPI document (schemathesis): whatever is sent, no
answer is a 500, and every answer — status, content type, body — is one the document describes.

Reads go out as bob the viewer, writes as alice the operator (rita's releaser verbs then answer
403, which the document lists too), each with an API token; the Argo CD side is the Kubernetes
API emulator. Bounded and deterministic: a few examples per operation, derandomized, no
example database, so a run takes the same cases every time."""

from __future__ import annotations

import pytest
import schemathesis
from helpers import journey
from hypothesis import HealthCheck, Phase, settings

from cdportal.api.models import ApiToken
from cdportal.pipeline.ingest import ingest

pytestmark = pytest.mark.django_db

EXAMPLES = 25
SENT = []  # (operation, status) of every request, for the summary below
CHECKS = [
    getattr(schemathesis.checks, name)
    for name in (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
]


def _schema():
    from django.core.wsgi import get_wsgi_application

    from cdportal.api.api import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    return loaded


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Django's WSGI handler closes the database connection after each request; its own test
    client disconnects that signal for the request's duration, and so does this for the fuzz."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def tokens(bob, alice, argocd_cluster, wsgi_keeps_the_test_connection):
    for event in journey():
        ingest(event)
    return {
        "get": ApiToken.issue(user=bob, name="fuzz")[1],
        "post": ApiToken.issue(user=alice, name="fuzz")[1],
    }


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_answer_is_a_500_and_each_matches_the_document(case, tokens):
    token = tokens["get" if case.method == "GET" else "post"]
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    SENT.append((case.operation.label, response.status_code))


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    statuses = sorted({status for _, status in SENT})
    print(
        f"\nfuzzed /api: {len(SENT)} requests over {len({op for op, _ in SENT})} operations, "
        f"statuses {statuses}"
    )
