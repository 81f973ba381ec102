"""What every answer carries (Content-Security-Policy, Cache-Control) and the login throttle,
through Django's test client and the real login form. The browser side of the policy is in
tests/browser/test_content_security_policy.py; addresses behind a proxy in tests/test_edge.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt

from cdportal.api.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/history/", "/actions/", "/api/docs", "/api/releases"])
def test_pages_and_api_answers_carry_the_policy_and_are_not_stored(client, bob, path):
    client.force_login(bob)
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_login_page_carries_the_policy_too(client):
    response = client.get("/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_the_live_socket_of_this_host_is_allowed(client, bob):
    client.force_login(bob)
    policy = client.get("/", HTTP_HOST="localhost:8000")["Content-Security-Policy"]
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src"))
    assert connect.split() == [
        "connect-src",
        "'self'",
        "ws://localhost:8000",
        "wss://localhost:8000",
    ]


def test_an_api_answer_to_a_token_is_private_and_not_stored(client, feeder):
    token = ApiToken.issue(user=feeder, name="tests")[1]
    response = client.get("/api/releases", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/cdportal.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def _try(client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def test_the_fifth_wrong_password_locks_the_login_and_says_so(client, bob):
    for _ in range(4):
        response = _try(client, "bob", "wrong")
        assert response.status_code == 200
        assert b"did not match" in response.content
    response = _try(client, "bob", "wrong")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content and b"15 minutes" in response.content
    # Locked: the right password does not get in either.
    response = _try(client, "bob", "bob-password")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_user_name(client, bob, alice):
    for _ in range(5):
        _try(client, "bob", "wrong")
    response = _try(client, "alice", "alice-password")
    assert response.status_code == 302


def test_the_lock_is_per_address(client, bob):
    for _ in range(5):
        _try(client, "bob", "wrong")
    response = client.post(
        "/login/", {"username": "bob", "password": "bob-password"}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 302


def test_the_lock_ends_after_the_cool_off(client, bob, settings):
    for _ in range(5):
        _try(client, "bob", "wrong")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert _try(client, "bob", "bob-password").status_code == 302


def test_the_limits_come_from_settings(client, bob, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert _try(client, "bob", "wrong").status_code == 200
    assert _try(client, "bob", "wrong").status_code == 429


def test_a_good_login_forgets_earlier_failures(client, bob):
    for _ in range(4):
        _try(client, "bob", "wrong")
    assert _try(client, "bob", "bob-password").status_code == 302
    client.logout()
    assert _try(client, "bob", "wrong").status_code == 200


def test_the_password_tried_is_never_stored(client, bob):
    _try(client, "bob", "hunter2-tried")
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("bob", "127.0.0.1")
    assert "hunter2-tried" not in f"{attempt.post_data} {attempt.get_data}"


def test_a_locked_user_name_keeps_its_api_token(client, feeder):
    """Tokens are not passwords: the throttle counts logins only, and a lock on the form does not
    stop a source that posts with its bearer token."""
    token = ApiToken.issue(user=feeder, name="tests")[1]
    for _ in range(5):
        _try(client, "feeder", "wrong")
    assert _try(client, "feeder", "feeder-password").status_code == 429
    failures = AccessAttempt.objects.get().failures_since_start
    for _ in range(10):
        response = client.get("/api/releases", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200
    assert client.get("/api/releases", HTTP_AUTHORIZATION="Bearer cdp_wrong").status_code == 401
    assert AccessAttempt.objects.get().failures_since_start == failures


def test_only_djangos_own_debug_pages_go_without_the_policy(client, bob, settings):
    client.force_login(bob)
    assert "Content-Security-Policy" in client.get("/releases/999999/")
    settings.DEBUG = True
    assert "Content-Security-Policy" not in client.get("/releases/999999/")
