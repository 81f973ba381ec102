"""TOML values replaced in place as Release Please's replaceTomlValue does (docs/release-please-toml.md).

The expected strings are the bytes Release Please 17.1.3 writes: the old value's characters —
whatever its quoting — become JSON.stringify(new value), everything else stays; after an empty
string or a multi-line string one more character goes with it, as @iarna/toml reads it.
"""

import tomllib

import pytest

from cdportal.core.toml_edit import replace_toml_value, value_spans


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('version = "0.2.50"\n', 'version = "0.3.0"\n'),
        ("version = '0.2.50'\n", 'version = "0.3.0"\n'),
        ('version="0.2.50"# managed\n', 'version="0.3.0"# managed\n'),
        ("version   =   '0.2.50'   # managed\n", 'version   =   "0.3.0"   # managed\n'),
        ('version = "0\\u002e2.50"\n', 'version = "0.3.0"\n'),  # an escape in the old value
        ('version = "0.2.50"', 'version = "0.3.0"'),  # no newline at the end of the file
    ],
)
def test_single_and_double_quoted_values_become_json_strings(old, new):
    assert replace_toml_value(old, ["version"], "0.3.0") == new


def test_nothing_else_changes():
    text = (
        "# the crate\n"
        "[package]\n"
        "name    = 'cto'        # aligned\n"
        "version = '0.2.50'\n"
        "authors = [\n  'a',  # first\n  \"b\",\n]\n"
        "\n"
        "[dependencies]\n"
        "serde = { version = '1', features = ['derive'] }\n"
        "core = { path = 'core', version = '0.2.50' }\n"
    )
    out = replace_toml_value(text, ["package", "version"], "0.3.0")
    assert out == text.replace("version = '0.2.50'\n", 'version = "0.3.0"\n')
    out = replace_toml_value(out, ["dependencies", "core", "version"], "0.3.0")
    assert out.endswith("core = { path = 'core', version = \"0.3.0\" }\n")
    assert out.count("'") == text.count("'") - 4


def test_dotted_and_quoted_keys():
    text = 'package.version = "1.0.0"\n"quoted key".v = \'1.0.0\'\n[a."b.c"]\nd = "1.0.0"\n'
    out = replace_toml_value(text, ["package", "version"], "2.0.0")
    out = replace_toml_value(out, ["quoted key", "v"], "2.0.0")
    out = replace_toml_value(out, ["a", "b.c", "d"], "2.0.0")
    assert out == text.replace("1.0.0", "2.0.0").replace("'2.0.0'", '"2.0.0"')


def test_arrays_of_tables_are_indexed_and_nested_tables_follow_the_last_one():
    lock = (
        "version = 3\n\n"
        '[[package]]\nname = "anyhow"\nversion = "1.0.86"\n\n'
        '[[package]]\nname = "cto"\nversion = "0.2.50"\n'
        "[package.metadata]\nv = '0.2.50'\n"
        '[[package.deps]]\nv = "x"\n'
    )
    spans = value_spans(lock)
    assert lock[slice(*spans[("package", "1", "version")])] == '"0.2.50"'
    assert lock[slice(*spans[("package", "1", "metadata", "v")])] == "'0.2.50'"
    assert lock[slice(*spans[("package", "1", "deps", "0", "v")])] == '"x"'
    out = replace_toml_value(lock, ["package", "1", "version"], "0.3.0")
    assert out == lock.replace('version = "0.2.50"', 'version = "0.3.0"')


def test_values_inside_arrays_and_inline_tables():
    text = 'v = ["1.0.0", { w = "1.0.0" }, [1, 2]]\n'
    spans = value_spans(text)
    assert text[slice(*spans[("v", "0")])] == '"1.0.0"'
    assert text[slice(*spans[("v", "1", "w")])] == '"1.0.0"'
    assert text[slice(*spans[("v", "2", "1")])] == "2"


def test_a_multi_line_string_takes_the_next_character_with_it():
    # @iarna/toml reads one character past the closing quotes before it returns the value.
    assert replace_toml_value('v = """\n1.0.0"""', ["v"], "2.0.0") == 'v = "2.0.0"'
    assert replace_toml_value("v = '''1.0.0''' # c\n", ["v"], "2.0.0") == 'v = "2.0.0"# c\n'
    # Five closing quotes (two of them content) end exactly.
    assert replace_toml_value('v = """1.0.0"""""\n', ["v"], "2.0.0") == 'v = "2.0.0"\n'


def test_an_empty_string_takes_the_next_character_with_it():
    assert replace_toml_value('v = ""  # c\n', ["v"], "1.0.0") == 'v = "1.0.0" # c\n'
    assert replace_toml_value("v = ''", ["v"], "1.0.0") == 'v = "1.0.0"'


def test_a_late_end_that_breaks_the_file_is_refused_with_release_pleases_words():
    with pytest.raises(ValueError, match="^After replacing value, result is not valid TOML"):
        replace_toml_value('v = """1.0.0"""\n[t]\n', ["v"], "2.0.0")  # "2.0.0"[t]
    with pytest.raises(ValueError, match="^After replacing value, result is not valid TOML"):
        replace_toml_value('v = ""\nx = 1\n', ["v"], "1.0.0")  # "1.0.0"x = 1


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("version = 3\n", ["version"], "path not found in object: version"),
        ("[a]\nb = 1979-05-27\n", ["a", "b"], "value at path a.b is not tagged"),
        (
            "[package]\nname = 'x'\n",
            ["package", "version"],
            "path not found in object: package.version",
        ),
        (
            "[workspace]\nmembers = ['a']\n",
            ["package", "version"],
            "path not found in object: package",
        ),
    ],
)
def test_paths_that_lead_nowhere_fail_like_release_please(text, path, message):
    with pytest.raises(TypeError, match=f"^{message}$"):
        replace_toml_value(text, path, "1.0.0")


def test_dates_with_a_space_and_other_scalars_are_skipped_whole():
    text = "a = 1979-05-27 07:32:00Z\nb = +inf\nc = 0x1F\nd = 1_000.5e3\ne = true\nv = '1.0.0'\n"
    spans = value_spans(text)
    assert text[slice(*spans[("a",)])] == "1979-05-27 07:32:00Z"
    assert text[slice(*spans[("v",)])] == "'1.0.0'"
    assert replace_toml_value(text, ["v"], "2.0.0").endswith('v = "2.0.0"\n')


REFERENCE = """\
[workspace]
resolver = "2"
members = [
    "controller",   # the operator
    'mcp',
]

[workspace.package]
version = "0.2.50"
edition = '2021'
license = \"\"\"AGPL-3.0\"\"\"

[workspace.dependencies]
tokio = { version = "1.40", features = ["full"] }
"""


def test_every_span_holds_its_value_as_toml_reads_it():
    """Each recorded span parses back to the value tomllib gives for that path."""
    data = tomllib.loads(REFERENCE)
    for path, (start, end) in value_spans(REFERENCE).items():
        expected = data
        for key in path:
            expected = expected[int(key)] if isinstance(expected, list) else expected[key]
        raw = REFERENCE[start:end]
        raw = raw[:-1] if raw.startswith('"""') and not raw.endswith('"""') else raw
        assert tomllib.loads(f"x = {raw}")["x"] == expected, path
