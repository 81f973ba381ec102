"""argocd-image-updater log lines (both releases' formats): parsing, filters, errors."""

from pathlib import Path

import pytest

from cdportal.core.updater_logs import is_error, matches, parse_line, redact

FIXTURES = Path(__file__).parent.parent / "fixtures" / "argocd"
V1 = (FIXTURES / "image-updater-logs.txt").read_text().splitlines()
V0 = (FIXTURES / "image-updater-logs-v0.txt").read_text().splitlines()
ALL = [line for line in V1 + V0 if line.strip()]


@pytest.mark.parametrize("raw", ALL)
def test_every_fixture_line_parses(raw):
    line = parse_line(raw)
    assert line.time.startswith("2026-08-22T")
    assert line.level in {"debug", "info", "warning", "error"}
    assert line.message and not line.message.startswith('"')
    assert "time" not in line.fields and "msg" not in line.fields and "level" not in line.fields
    assert line.text == raw
    # In these fixtures exactly the error-level lines are the registry's refusals.
    assert line.error == (line.level == "error") == is_error(raw)
    if "application=" in raw:
        assert line.application


def test_v1_line_fields():
    line = parse_line(
        next(raw for raw in V1 if "level=error" in raw and "application=argocd/controller " in raw)
    )
    assert line.level == "error"
    assert (
        line.message
        == 'Could not get tags from registry: Get "https://ghcr.io/v2/5dlabs/controller/tags/list": unauthorized'
    )
    assert line.application == "argocd/controller"
    assert line.image == "ghcr.io/5dlabs/controller"
    assert line.fields["image_tag"] == "v1.4.2" and line.fields["logger"] == "reconcile"
    assert line.error


def test_v0_line_joins_registry_and_image_name():
    line = parse_line(next(raw for raw in V0 if "level=error" in raw))
    assert line.application == "controller"
    assert line.image == "ghcr.io/5dlabs/controller"
    assert line.fields["alias"] == "controller"


def test_quoted_values_with_spaces_and_escapes():
    line = parse_line(next(raw for raw in V1 if "msg=starting" in raw))
    assert line.message == "starting"
    assert line.fields["app"] == "argocd-image-updater: v1.3.0+3f9c1d2"
    assert line.fields["healthPort"] == ":8081"


def test_errors_count_in_an_info_line_is_not_an_error():
    line = parse_line(next(raw for raw in V1 if "errors=4" in raw))
    assert line.level == "info" and not line.error


@pytest.mark.parametrize(
    "message",
    [
        "failed to fetch manifest: 401 Unauthorized",
        "GET https://ghcr.io/v2/x/manifests/v1: 403 Forbidden",
        "denied: permission_denied: The token provided does not match expected scopes.",
        'manifest unknown: manifest tagged by \\"v9\\" is not found',
    ],
)
def test_registry_refusals_are_errors_even_at_warning_level(message):
    raw = f'time="2026-08-22T16:05:56Z" level=warning msg="{message}" application=argocd/controller'
    assert is_error(raw)
    assert parse_line(raw).level == "warning"


def test_fatal_is_an_error_and_debug_is_not():
    assert is_error('time="t" level=fatal msg="cannot start"')
    assert not is_error('time="t" level=debug msg="found 4 from 37 tags"')


def test_lines_in_other_formats_still_come_through():
    json_line = parse_line('{"level":"error","msg":"boom","application":"argocd/x","time":"t"}')
    assert (json_line.level, json_line.message, json_line.application, json_line.error) == (
        "error",
        "boom",
        "argocd/x",
        True,
    )
    panic = parse_line("panic: runtime error: invalid memory address")
    assert panic.level == "panic" and panic.error and panic.message.startswith("panic:")
    klog = parse_line(
        "E0822 16:05:56.123456       1 reflector.go:147] failed to list: Unauthorized"
    )
    assert klog.level == "error" and klog.error
    plain = parse_line("   at goroutine 1 [running]:")
    assert plain.level == "" and not plain.error


def test_credentials_are_masked():
    raw = (
        'time="t" level=error msg="Get \\"https://robot:ghp_secret123@ghcr.io/v2/\\": 401 Unauthorized '
        'Authorization: Bearer abcdefghijklmnop" password=hunter22 application=argocd/controller'
    )
    line = parse_line(raw)
    for secret in ("ghp_secret123", "robot:", "abcdefghijklmnop", "hunter22"):
        assert secret not in line.text and secret not in line.message
        assert secret not in str(line.fields)
    assert "https://***@ghcr.io" in line.message
    assert redact("https://ghcr.io/v2/") == "https://ghcr.io/v2/"


def _kept(lines, **filters):
    return [raw for raw in lines if matches(raw, **filters)]


def test_no_filter_keeps_everything():
    assert _kept(ALL) == ALL


def test_application_filter_matches_v1_and_v0_names():
    kept = _kept(ALL, application="controller-staging")
    assert kept and all(
        "application=argocd/controller-staging" in r or "application=controller-staging" in r
        for r in kept
    )
    assert len([r for r in kept if r in V0]) == 4
    assert _kept(V1, application="argocd/controller-staging") == [
        r for r in V1 if "application=argocd/controller-staging " in r
    ]
    assert _kept(V1, application="other/controller-staging") == []
    # "controller" is an application of its own, not a prefix of controller-dev.
    assert all(
        "controller-" not in parse_line(r).application for r in _kept(ALL, application="controller")
    )


def test_image_filter():
    kept = _kept(ALL, image="ghcr.io/5dlabs/controller")
    assert kept and all("5dlabs/controller" in r for r in kept)
    assert _kept(V0, image="5dlabs/controller:v1.4.2") == _kept(V0, image="5dlabs/controller")
    assert _kept(ALL, image="ghcr.io/5dlabs/other") == []
    assert _kept(ALL, image="controller") == _kept(ALL, image="controller")  # alias
    assert len(_kept(V0, image="controller")) >= 3


def test_errors_only_and_combined_filters():
    errors = _kept(ALL, errors_only=True)
    assert errors == [r for r in ALL if "level=error" in r]
    assert _kept(ALL, application="controller-dev", errors_only=True) == [
        r for r in V1 if "level=error" in r and "controller-dev " in r
    ]
    assert matches(parse_line(errors[0]), image="ghcr.io/5dlabs/controller", errors_only=True)
