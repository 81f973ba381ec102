"""release-please-config.json + manifest, resolved like release-please 17.1.3 (src/manifest.ts).

Commit attribution cases were checked against Release Please's own CommitSplit/CommitExclude.
"""

import json
from pathlib import Path

import pytest

from cdportal.core.conventional import DEFAULT_SECTIONS, ChangelogSection
from cdportal.core.release_config import (
    PYTHON_SECTIONS,
    ConfigError,
    ExtraFile,
    default_config,
    load_config,
    package_for_file,
    packages_for_commit,
)

# 5dlabs/cto's Release Please files and history, committed (docs/release-please.md).
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "5dlabs-cto"


def config(packages, manifest=None, read=None, **top):
    text = json.dumps({**top, "packages": packages})
    return load_config(text, json.dumps(manifest or {}), read=read)


def error(config_obj, manifest=None, read=None, raw_config=None, raw_manifest=None):
    text = raw_config if raw_config is not None else json.dumps(config_obj)
    manifest_text = raw_manifest if raw_manifest is not None else json.dumps(manifest or {})
    with pytest.raises(ConfigError) as info:
        load_config(text, manifest_text, read=read)
    return str(info.value)


# --- the real 5dlabs configuration -----------------------------------------------------------


@pytest.fixture
def fivedlabs():
    return load_config(
        (REFERENCE / "release-please-config.json").read_text(),
        (REFERENCE / ".release-please-manifest.json").read_text(),
    )


def test_5dlabs_is_one_simple_root_package_without_component(fivedlabs):
    (pkg,) = fivedlabs.packages
    assert (pkg.path, pkg.release_type, pkg.component, pkg.current_version) == (
        ".",
        "simple",
        "",
        "0.2.50",
    )
    assert pkg.include_component_in_tag is False and pkg.include_v_in_tag is True
    assert pkg.bump_minor_pre_major and pkg.bump_patch_for_minor_pre_major
    assert pkg.pull_request_title_pattern == "chore: release ${version}"
    assert pkg.pull_request_header == "🚀 Release ${version}"
    assert pkg.changelog_path == "CHANGELOG.md"


def test_5dlabs_top_level_emoji_sections_replace_the_defaults(fivedlabs):
    sections = fivedlabs.packages[0].changelog_sections
    assert sections[0] == ChangelogSection("feat", "✨ Features")
    assert ChangelogSection("chore", "🔧 Maintenance") in sections
    assert ChangelogSection("test", "✅ Tests", hidden=True) in sections
    assert not any(s.type == "revert" for s in sections)  # not listed = hidden
    assert fivedlabs.packages[0].changelog_sections_configured


def test_5dlabs_extra_files_are_normalized(fivedlabs):
    assert fivedlabs.packages[0].extra_files == (
        ExtraFile("toml", "Cargo.toml", "$.workspace.package.version"),
        ExtraFile("yaml", "infra/charts/controller/Chart.yaml", "$.appVersion"),
        ExtraFile("yaml", "infra/charts/tools/Chart.yaml", "$.appVersion"),
    )


def test_5dlabs_single_package_means_separate_pull_requests_despite_a_group_pattern(fivedlabs):
    assert fivedlabs.separate_pull_requests is True
    assert fivedlabs.group_pull_request_title_pattern == "chore: release ${version}"
    assert fivedlabs.target_branch == "main"
    assert fivedlabs.plugins == ()


# --- defaults and overrides ------------------------------------------------------------------


def test_it_fills_release_please_defaults():
    (pkg,) = config({".": {}}).packages
    assert pkg.release_type == "node"  # mergeReleaserConfig's default, not simple
    assert (pkg.tag_separator, pkg.include_v_in_tag, pkg.include_component_in_tag) == (
        "-",
        True,
        True,
    )
    assert pkg.changelog_path == "CHANGELOG.md"
    assert pkg.changelog_sections == DEFAULT_SECTIONS and not pkg.changelog_sections_configured
    assert pkg.pull_request_title_pattern == "chore${scope}: release${component} ${version}"
    assert pkg.pull_request_header is None and pkg.current_version is None
    assert (pkg.versioning, pkg.changelog_type, pkg.date_format) == (
        "default",
        "default",
        "%Y-%m-%d",
    )


def test_a_package_value_beats_the_top_level_one_and_null_falls_back():
    cfg = config(
        {"a": {"release-type": "python", "tag-separator": "/"}, "b": {"tag-separator": None}},
        **{"release-type": "simple", "tag-separator": "@", "bump-minor-pre-major": True},
    )
    a, b = cfg.packages
    assert (a.release_type, a.tag_separator, a.bump_minor_pre_major) == ("python", "/", True)
    assert (b.release_type, b.tag_separator) == ("simple", "@")


def test_python_has_its_own_default_sections_with_deps_and_docs_visible():
    (pkg,) = config({".": {"release-type": "python"}}).packages
    assert pkg.changelog_sections == PYTHON_SECTIONS
    assert ChangelogSection("deps", "Dependencies") in pkg.changelog_sections


def test_sections_may_carry_a_scope():
    sections = [
        {"type": "feat", "section": "API", "scope": "api"},
        {"type": "fix", "section": "Fixes", "hidden": True},
    ]
    (pkg,) = config({".": {"release-type": "simple", "changelog-sections": sections}}).packages
    assert pkg.changelog_sections == (
        ChangelogSection("feat", "API", False, "api"),
        ChangelogSection("fix", "Fixes", True),
    )


def test_packages_keep_config_order_and_the_manifest_gives_versions():
    cfg = config(
        {"packages/web": {}, "packages/api": {}, ".": {}},
        {"packages/api": "v1.2.3", ".": "0.1.0-beta.1"},
        **{"release-type": "simple"},
    )
    assert [p.path for p in cfg.packages] == ["packages/web", "packages/api", "."]
    assert [p.current_version for p in cfg.packages] == [None, "1.2.3", "0.1.0-beta.1"]


def test_a_package_missing_from_the_manifest_is_new_not_an_error():
    (pkg,) = config(
        {"svc": {"release-type": "simple", "component": "svc"}}, {"other": "1.0.0"}
    ).packages
    assert pkg.current_version is None  # its first release (Release Please: initial version)


def test_separate_pull_requests_defaults_to_grouping_when_there_are_several_packages():
    assert config({".": {}}).separate_pull_requests is True
    assert config({"a": {}, "b": {}}).separate_pull_requests is False
    assert (
        config({"a": {}, "b": {}}, **{"separate-pull-requests": True}).separate_pull_requests
        is True
    )


def test_labels_and_shas_are_read():
    cfg = config(
        {".": {}},
        **{
            "label": "a,b",
            "bootstrap-sha": "abc",
            "last-release-sha": "def",
            "plugins": ["sentence-case"],
        },
    )
    assert cfg.labels == ("a", "b") and cfg.release_labels == ("autorelease: tagged",)
    assert (cfg.bootstrap_sha, cfg.last_release_sha, cfg.plugins) == (
        "abc",
        "def",
        ("sentence-case",),
    )


def test_unknown_options_are_ignored():
    assert config(
        {".": {"release-type": "simple", "future-option": 1}}, **{"$schema": "x", "nope": []}
    )


def test_target_branch_is_main_unless_given():
    cfg = load_config('{"packages": {".": {}}}', "{}", target_branch="release/1.x")
    assert cfg.target_branch == "release/1.x"


# --- components --------------------------------------------------------------------------------


def test_component_is_explicit_or_from_package_name():
    cfg = config(
        {
            "a": {"release-type": "simple", "component": "alpha"},
            "b": {"release-type": "simple", "package-name": "bravo"},
            "c": {"release-type": "node", "package-name": "@acme/widgets"},
            "d": {"release-type": "simple", "package-name": "@acme/widgets"},
        }
    )
    assert [p.component for p in cfg.packages] == ["alpha", "bravo", "widgets", "@acme/widgets"]
    assert cfg.packages[2].package_name == "@acme/widgets"


def test_a_simple_package_without_names_has_no_component_even_off_the_root():
    # Release Please does not use the directory: two such packages collide on branch and tag.
    cfg = config({"packages/api": {"release-type": "simple"}})
    assert cfg.packages[0].component == ""


def test_node_helm_and_rust_read_their_component_from_the_package_manifest():
    files = {
        "web/package.json": '{"name": "@acme/web", "version": "1.0.0"}',
        "chart/Chart.yaml": "apiVersion: v2\nname: my-chart\nversion: 0.1.0\n",
        "crate/Cargo.toml": '[package]\nname = "my-crate"\nversion = "0.1.0"\n',
    }
    cfg = config(
        {
            "web": {"release-type": "node"},
            "chart": {"release-type": "helm"},
            "crate": {"release-type": "rust"},
            "none": {"release-type": "rust"},
        },
        read=files.get,
    )
    assert [p.component for p in cfg.packages] == ["web", "my-chart", "my-crate", ""]
    assert cfg.packages[0].package_name == "@acme/web"


def test_tag_component_is_empty_when_the_component_stays_out_of_the_tag():
    (pkg,) = config(
        {".": {"release-type": "simple", "component": "svc", "include-component-in-tag": False}}
    ).packages
    assert (pkg.component, pkg.tag_component) == ("svc", "")


def test_a_node_package_without_package_json_cannot_name_itself():
    message = error({"packages": {"web": {"release-type": "node"}}}, read=lambda path: None)
    assert message.startswith("web/package.json: missing: release type node reads the package name")


# --- errors: file, field, problem; nothing returned ------------------------------------------


def test_unknown_release_type_names_file_field_and_known_types():
    message = error({"packages": {"api": {"release-type": "nodee"}}})
    assert message.startswith(
        "release-please-config.json: packages[\"api\"].release-type: unknown release type 'nodee' (known: bazel, dart,"
    )
    assert "node, ocaml" in message and "simple" in message


def test_unknown_top_level_release_type():
    assert error({"release-type": "pyhton", "packages": {".": {}}}).startswith(
        "release-please-config.json: release-type: unknown release type 'pyhton'"
    )


def test_invalid_config_json_gives_line_and_column():
    message = error(None, raw_config='{\n  "packages": {\n    "." {}\n  }\n}')
    assert (
        message
        == "release-please-config.json: invalid JSON at line 3 column 9: Expecting ':' delimiter"
    )


def test_invalid_manifest_json():
    message = error({"packages": {".": {}}}, raw_manifest='{".": "1.0.0",}')
    assert message.startswith(".release-please-manifest.json: invalid JSON at line 1 column 15:")


def test_a_manifest_version_that_does_not_parse_is_an_error():
    assert error({"packages": {".": {}}}, {".": "1.2"}) == (
        ".release-please-manifest.json: \".\": '1.2' is not a semantic version"
    )
    assert error({"packages": {".": {}}}, {"other": 3}) == (
        '.release-please-manifest.json: "other": 3 is not a semantic version'
    )


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        ([], "release-please-config.json: must be a JSON object, not an array"),
        ({}, "release-please-config.json: packages: missing: Release Please would release nothing"),
        (
            {"packages": {}},
            "release-please-config.json: packages: empty: Release Please would release nothing",
        ),
        ({"packages": []}, "release-please-config.json: packages: must be an object, not an array"),
        (
            {"packages": {".": "simple"}},
            'release-please-config.json: packages["."]: must be an object, not a string',
        ),
        (
            {"packages": {".": {"bump-minor-pre-major": "true"}}},
            'release-please-config.json: packages["."].bump-minor-pre-major: must be true or false, not a string',
        ),
        (
            {"packages": {".": {"component": 3}}},
            'release-please-config.json: packages["."].component: must be a string, not a number',
        ),
        (
            {"versioning": "semver", "packages": {".": {}}},
            (
                "release-please-config.json: versioning: unknown versioning 'semver' (known: always-bump-major, "
                "always-bump-minor, always-bump-patch, default, prerelease, service-pack)"
            ),
        ),
        (
            {"packages": {".": {"changelog-type": "fancy"}}},
            "release-please-config.json: packages[\".\"].changelog-type: unknown changelog type 'fancy' (known: default, github)",
        ),
        (
            {"packages": {".": {"release-as": "2.0"}}},
            "release-please-config.json: packages[\".\"].release-as: '2.0' is not a semantic version",
        ),
        (
            {"packages": {".": {"initial-version": "first"}}},
            "release-please-config.json: packages[\".\"].initial-version: 'first' is not a semantic version",
        ),
        (
            {"changelog-sections": [{"type": "feat"}], "packages": {".": {}}},
            "release-please-config.json: changelog-sections[0].section: missing",
        ),
        (
            {"changelog-sections": {"feat": "Features"}, "packages": {".": {}}},
            "release-please-config.json: changelog-sections: must be an array, not an object",
        ),
        (
            {"packages": {".": {"extra-files": [{"type": "ini", "path": "a.ini"}]}}},
            (
                "release-please-config.json: packages[\".\"].extra-files[0].type: unsupported type 'ini' "
                "(known: generic, json, pom, toml, xml, yaml)"
            ),
        ),
        (
            {"packages": {".": {"extra-files": [{"type": "yaml", "path": "Chart.yaml"}]}}},
            'release-please-config.json: packages["."].extra-files[0].jsonpath: missing: a yaml extra file needs one',
        ),
        (
            {"packages": {".": {"extra-files": [{"type": "json", "jsonpath": "$.v"}]}}},
            'release-please-config.json: packages["."].extra-files[0].path: missing',
        ),
        (
            {"packages": {".": {"extra-files": "VERSION"}}},
            'release-please-config.json: packages["."].extra-files: must be an array, not a string',
        ),
        (
            {"packages": {".": {"exclude-paths": ["docs", 1]}}},
            'release-please-config.json: packages["."].exclude-paths[1]: must be a string, not a number',
        ),
        (
            {"plugins": ["node-workspaces"], "packages": {".": {}}},
            (
                "release-please-config.json: plugins[0]: unknown plugin type 'node-workspaces' (known: cargo-workspace, "
                "group-priority, linked-versions, maven-workspace, node-workspace, sentence-case)"
            ),
        ),
        (
            {"packages": {"../lib": {}}},
            (
                "release-please-config.json: packages[\"../lib\"]: illegal path '../lib': use a plain relative path "
                "such as 'packages/api'"
            ),
        ),
        (
            {"release-search-depth": "400", "packages": {".": {}}},
            "release-please-config.json: release-search-depth: must be a number, not a string",
        ),
    ],
)
def test_bad_configs_name_file_field_and_problem(cfg, expected):
    assert error(cfg) == expected


def test_missing_files_are_errors():
    with pytest.raises(
        ConfigError,
        match=r"^release-please-config.json: missing \(Release Please requires this file\)$",
    ):
        load_config(None, "{}")
    with pytest.raises(ConfigError, match=r"^.release-please-manifest.json: missing"):
        load_config('{"packages": {".": {}}}', None)


def test_custom_file_names_appear_in_errors():
    with pytest.raises(ConfigError, match=r"^ci/rp.json: packages: missing"):
        load_config("{}", "{}", config_file="ci/rp.json")


def test_an_error_in_a_later_package_yields_nothing():
    calls = []

    def read(path):
        calls.append(path)
        return '{"name": "web"}'

    with pytest.raises(ConfigError, match=r'packages\["b"\].release-type'):
        load_config(
            json.dumps({"packages": {"a": {"release-type": "node"}, "b": {"release-type": "x"}}}),
            "{}",
            read=read,
        )
    assert calls == []  # validation happens before any file is read


# --- default config ----------------------------------------------------------------------------


def test_default_config_is_one_simple_root_package():
    cfg = default_config("v1.4.0")
    (pkg,) = cfg.packages
    assert (pkg.path, pkg.release_type, pkg.component, pkg.current_version) == (
        ".",
        "simple",
        "",
        "1.4.0",
    )
    assert cfg.separate_pull_requests is True
    assert default_config(None).packages[0].current_version is None
    with pytest.raises(ConfigError):
        default_config("latest")


# --- which packages a commit belongs to --------------------------------------------------------


@pytest.fixture
def monorepo():
    return config(
        {
            ".": {},
            "packages/api": {},
            "packages/api/sdk": {},
            "packages/web": {"exclude-paths": ["packages/web/docs"]},
        },
        **{"release-type": "simple"},
    )


def paths(packages):
    return [p.path for p in packages]


def test_the_root_package_gets_every_commit(monorepo):
    assert paths(packages_for_commit(monorepo, ["packages/api/main.py"])) == [".", "packages/api"]
    assert paths(packages_for_commit(monorepo, ["README.md"])) == ["."]


def test_the_deepest_package_path_wins(monorepo):
    assert paths(packages_for_commit(monorepo, ["packages/api/sdk/client.py"])) == [
        ".",
        "packages/api/sdk",
    ]


def test_a_commit_touching_two_packages_goes_to_both(monorepo):
    files = ["packages/api/a.py", "packages/web/b.ts"]
    assert paths(packages_for_commit(monorepo, files)) == [".", "packages/api", "packages/web"]


def test_a_prefix_that_is_not_a_directory_does_not_match(monorepo):
    assert paths(packages_for_commit(monorepo, ["packages/apix/y"])) == ["."]


def test_an_empty_commit_goes_to_every_package(monorepo):
    assert paths(packages_for_commit(monorepo, [])) == [
        ".",
        "packages/api",
        "packages/api/sdk",
    ]  # web excludes it


def test_exclude_paths_drop_commits_entirely_inside_them(monorepo):
    assert paths(packages_for_commit(monorepo, ["packages/web/docs/guide.md"])) == ["."]
    both = ["packages/web/docs/guide.md", "packages/web/src/app.ts"]
    assert paths(packages_for_commit(monorepo, both)) == [".", "packages/web"]


def test_root_exclude_paths_are_relative_to_the_repository():
    cfg = config(
        {".": {"exclude-paths": ["packages"]}, "packages/a": {}}, **{"release-type": "simple"}
    )
    assert paths(packages_for_commit(cfg, ["packages/a/x"])) == ["packages/a"]
    assert paths(packages_for_commit(cfg, ["src/z", "packages/a/x"])) == [".", "packages/a"]


def test_a_package_path_with_a_trailing_slash_never_gets_commits():
    cfg = config({"packages/a/": {}, "b": {}}, **{"release-type": "simple"})
    assert paths(packages_for_commit(cfg, ["packages/a/x"])) == []
    assert paths(packages_for_commit(cfg, ["b/y"])) == ["b"]


def test_package_for_file_prefers_the_specific_package(monorepo):
    assert package_for_file(monorepo, "packages/api/sdk/x.py").path == "packages/api/sdk"
    assert package_for_file(monorepo, "Makefile").path == "."
    assert package_for_file(monorepo, "packages/web/docs/a.md").path == "."


def test_package_for_file_is_none_without_a_root_package():
    cfg = config({"a": {}, "b": {}}, **{"release-type": "simple"})
    assert package_for_file(cfg, "c/file") is None
    assert package_for_file(cfg, "a/file").path == "a"
