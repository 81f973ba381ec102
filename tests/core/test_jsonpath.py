"""JSONPath as jsonpath-plus evaluates it, for the expressions release-please configurations use."""

from __future__ import annotations

import pytest

from cdportal.core import jsonpath
from cdportal.core.toml_edit import tagged


def test_a_path_selects_the_value_with_its_parent_and_key():
    data = {"image": {"tag": "1.0.0"}}
    (match,) = jsonpath.find(data, "$.image.tag")
    assert (match.value, match.parent, match.key, match.pointer) == (
        "1.0.0",
        data["image"],
        "tag",
        "/image/tag",
    )


def test_a_path_without_dollar_starts_at_the_root():
    assert [m.value for m in jsonpath.find({"appVersion": "1.0.0"}, "appVersion")] == ["1.0.0"]


def test_a_filter_compares_as_javascript_does():
    data = {"plugins": [{"name": "cdp", "version": "1.0.0"}, {"name": "x", "version": "1.0.0"}]}
    (match,) = jsonpath.find(data, "$.plugins[?(@.name == 'cdp')].version")
    assert match.parent is data["plugins"][0]


def test_descent_finds_every_match():
    data = {"a": {"version": "1"}, "b": [{"version": "2"}]}
    assert sorted(m.value for m in jsonpath.find(data, "$..version")) == ["1", "2"]


def test_tagged_toml_strings_never_equal_a_string():
    data = tagged({"package": [{"name": "cdp", "version": "0.1.0"}]})
    assert jsonpath.find(data, "$.package[?(@.name=='cdp')].version") == []


def test_an_unsupported_expression_is_refused():
    with pytest.raises(ValueError, match="unsupported jsonpath"):
        jsonpath.find({}, "$.")
