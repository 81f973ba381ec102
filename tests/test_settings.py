"""Settings come from the environment; a bad one stops the process with a message naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cdportal import env

ROOT = Path(__file__).resolve().parent.parent


def start(*options, **variables):
    """Run `manage.py check [options]` with exactly these cdportal variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in env.KNOWN and not k.endswith("_FILE")}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=ROOT,
        env={**clean, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_embedded_defaults_start():
    result = start(DEBUG="true")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"DEBUG": "ture"}, "DEBUG must be true or false, got 'ture'"),
        ({}, "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is false"),
        (
            {"DEBUG": "true", "DATABSE_URL": "postgres://x/y"},
            "Unknown setting DATABSE_URL: did you mean DATABASE_URL?",
        ),
        (
            {"DEBUG": "true", "DATABASE_URL": "mysql://x/y"},
            "DATABASE_URL must start with postgres:// or sqlite://",
        ),
        ({"DEBUG": "true", "REDIS_URL": "http://x"}, "REDIS_URL must start with redis://"),
        (
            {"DEBUG": "true", "LIVE_COALESCE_MS": "fast"},
            "LIVE_COALESCE_MS must be a whole number, got 'fast'",
        ),
        (
            {"DEBUG": "true", "LOG_LEVEL": "LOUD"},
            "LOG_LEVEL must be one of DEBUG, ERROR, INFO, WARNING",
        ),
        (
            {"DEBUG": "true", "CSRF_TRUSTED_ORIGINS": "cd.example.com"},
            "CSRF_TRUSTED_ORIGINS entries need a scheme",
        ),
        ({"SECRET_KEY_FILE": "/nonexistent/key"}, "SECRET_KEY_FILE: cannot read /nonexistent/key"),
        (
            {"DEBUG": "true", "TRUSTED_PROXIES": "10.0.0.0/8,proxy"},
            "TRUSTED_PROXIES entries must be IP addresses or CIDRs, got 'proxy'",
        ),
        ({"DEBUG": "true", "HTTPS": "yes please"}, "HTTPS must be true or false"),
        (
            {"DEBUG": "true", "LOGIN_FAILURE_LIMIT": "0"},
            "LOGIN_FAILURE_LIMIT must be at least 1, got 0",
        ),
    ],
)
def test_a_bad_setting_stops_the_start_and_names_itself(variables, message):
    result = start(**variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    key = tmp_path / "key"
    key.write_text("from-a-file\n")
    assert env.envsecret("SECRET_KEY", {"SECRET_KEY_FILE": str(key)}) == "from-a-file"
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.envsecret("SECRET_KEY", {"SECRET_KEY_FILE": str(key), "SECRET_KEY": "x"})


def test_the_secret_value_never_appears_in_an_error(tmp_path):
    result = start(DEBUG="true", DATABASE_URL="mysql://admin:hunter2@db/x")
    assert "hunter2" not in result.stderr


def test_database_and_channel_layer_urls():
    pg = env.env_database("DATABASE_URL", "", {"DATABASE_URL": "postgres://u:p@db:5432/cdportal"})
    assert (pg["ENGINE"], pg["NAME"], pg["HOST"]) == (
        "django.db.backends.postgresql",
        "cdportal",
        "db",
    )
    # pooled: a request hands its connection back instead of its thread keeping one
    assert pg["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 10, "timeout": 10}
    assert pg["CONN_MAX_AGE"] == 0
    sized = env.env_database(
        "DATABASE_URL",
        "",
        {
            "DATABASE_URL": "postgres://db/x",
            "DATABASE_POOL_MAX_SIZE": "4",
            "DATABASE_POOL_MIN_SIZE": "1",
        },
    )
    assert sized["OPTIONS"]["pool"]["max_size"] == 4
    lite = env.env_database("DATABASE_URL", "sqlite:////tmp/x.sqlite3", {})
    assert lite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert env.env_channel_layer("REDIS_URL", {})["BACKEND"].endswith("InMemoryChannelLayer")
    redis = env.env_channel_layer("REDIS_URL", {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert redis["BACKEND"] == "cdportal.live.layers.RedisChannelLayer"
    # an idle subscription waits on Redis longer than redis-py's default read timeout
    assert redis["CONFIG"]["hosts"] == [
        {"address": "redis://127.0.0.1:6379/0", "socket_timeout": None, "max_connections": 8}
    ]
    # pub/sub channels span Redis databases: the database number keeps deployments apart
    assert redis["CONFIG"]["prefix"] == "cdportal.db0."
    assert env.env_channel_layer("R", {"R": "redis://h/5"})["CONFIG"]["prefix"] == "cdportal.db5."


def test_a_pool_smaller_than_its_minimum_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_MIN_SIZE"):
        env.env_database(
            "DATABASE_URL",
            "",
            {
                "DATABASE_URL": "postgres://db/x",
                "DATABASE_POOL_MAX_SIZE": "2",
                "DATABASE_POOL_MIN_SIZE": "3",
            },
        )


def test_unrelated_variables_are_not_typos():
    env.check_for_typos({"PATH": "/bin", "HOME": "/root", "REDIS_HOST": "x", "DEBUG": "1"})


def test_the_server_refuses_to_start_without_a_secret_key():
    clean = {k: v for k, v in os.environ.items() if k not in env.KNOWN and not k.endswith("_FILE")}
    result = subprocess.run(
        [sys.executable, "-c", "import cdportal.asgi"],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is false" in result.stderr


PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "-production-key-with-enough-different-characters-0123456789",
    "ALLOWED_HOSTS": "cd.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://cd.example.com",
    "HTTPS": "true",
    "TRUSTED_PROXIES": "10.0.0.0/8",
}


def test_the_production_configuration_passes_the_deploy_checks():
    result = start("--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_the_deploy_checks_say_what_is_missing():
    result = start("--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "HTTPS": "false"})
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr  # HSTS, redirect
