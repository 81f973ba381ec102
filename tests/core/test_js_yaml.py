"""YAML as js-yaml 4 reads and dumps it (the first case's expected text is what js-yaml printed)."""

from __future__ import annotations

import pytest

from cdportal.core import js_yaml


def test_a_document_is_dumped_as_js_yaml_does():
    (doc,) = js_yaml.load_all(
        '# image settings\nimage:\n  repository: ghcr.io/acme/app\n  tag: "1.0.0"  # bumped\n'
        "ports: [80, 443]\nenabled: yes\n"
    )
    doc["image"]["tag"] = "1.1.0"
    assert js_yaml.dump(doc) == (
        "image:\n  repository: ghcr.io/acme/app\n  tag: 1.1.0\nports:\n  - 80\n  - 443\n"
        "enabled: 'yes'\n"
    )


def test_scalars_read_as_the_yaml_1_2_core_schema():
    (doc,) = js_yaml.load_all("a: yes\nb: 0o17\nd: .inf\ne: ~\nf: 2026-01-02\n")
    assert doc["a"] == "yes" and doc["b"] == 15 and doc["d"] == float("inf")
    assert doc["e"] is None
    assert js_yaml.dump({"f": doc["f"]}) == "f: 2026-01-02T00:00:00.000Z\n"


@pytest.mark.parametrize(
    ("text", "ambiguous"),
    [
        ("1.0.0", False),
        ("1.0", True),
        ("true", True),
        ("yes", False),
        ("2026-01-02", True),
        ("null", True),
    ],
)
def test_is_ambiguous_says_when_a_plain_scalar_would_read_back_as_something_else(text, ambiguous):
    assert js_yaml.is_ambiguous(text) is ambiguous


def test_several_documents_are_read_in_order():
    assert js_yaml.load_all("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]
