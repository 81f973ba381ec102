"""JSON as JavaScript reads and writes it: JSON.parse, JSON.stringify, Number#toString."""

from __future__ import annotations

import pytest

from cdportal.core import js_json


def test_parse_and_stringify_like_keeps_the_indent_and_moves_integer_keys_first():
    text = '{\n  "name": "@acme/widgets",\n  "version": "1.0.0",\n  "n": 1.0,\n  "2": "two"\n}\n'
    data = js_json.parse(text)
    assert list(data) == ["2", "name", "version", "n"]
    assert js_json.stringify_like(data, text) == (
        '{\n  "2": "two",\n  "name": "@acme/widgets",\n  "version": "1.0.0",\n  "n": 1\n}\n'
    )


def test_tabs_and_one_line_files_stay_as_they_were():
    tabbed = '{\n\t"name": "x"\n}'
    assert js_json.stringify_like(js_json.parse(tabbed), tabbed) == tabbed
    flat = '{"name":"x","version":"1.0.0"}\n'
    assert js_json.stringify_like(js_json.parse(flat), flat) == flat


def test_detect_indent():
    assert js_json.detect_indent('{\n    "a": 1\n}') == "    "
    assert js_json.detect_indent('{\n\t"a": 1\n}') == "\t"
    assert js_json.detect_indent('{"a": 1}') == ""


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0"),
        (1.0, "1"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (123456789012345680000, "123456789012345680000"),
        (0.000001, "0.000001"),
        (-2.5, "-2.5"),
    ],
)
def test_numbers_print_as_number_to_string(number, text):
    assert js_json.js_number(number) == text


def test_stringify_without_a_gap_is_one_line():
    assert (
        js_json.stringify({".": "1.0.0", "a": [1, None, True]}, "")
        == '{".":"1.0.0","a":[1,null,true]}'
    )


def test_invalid_json_and_nan_are_refused():
    with pytest.raises(js_json.JSONSyntaxError, match="invalid JSON at line 1"):
        js_json.parse("{")
    with pytest.raises(ValueError, match="Unexpected token N in JSON"):
        js_json.parse('{"a": NaN}')
