"""Release PR names and file changes, as release-please 17.1.3 produces them.

Expected file contents were produced by running Release Please's own updaters (17.1.3 and the
js-yaml/yaml/@iarna/toml versions it pulls in) on the same inputs.
"""

import datetime as dt
import json
from pathlib import Path

import pytest

from cdportal.core.release_config import PackageConfig, load_config
from cdportal.core.release_pr import (
    DEFAULT_PR_HEADER,
    BumpError,
    FileChange,
    branch_name,
    bumped_files,
    group_pr_body_header,
    group_pr_title,
    is_grouped,
    manifest_change,
    pr_body_footer,
    pr_body_header,
    pr_title,
    release_name,
    tag_name,
)

# 5dlabs/cto's Release Please files and history, committed (docs/release-please.md).
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "5dlabs-cto"


def cfg(packages, manifest=None, read=None, **top):
    return load_config(
        json.dumps({**top, "packages": packages}), json.dumps(manifest or {}), read=read
    )


def only(packages, **top):
    return cfg(packages, **top).packages[0]


def reader(files):
    return files.get


# --- rule 18: titles ---------------------------------------------------------------------------


def test_single_package_title_uses_the_target_branch_as_scope():
    c = cfg({".": {"release-type": "simple"}})
    assert pr_title(c, c.packages[0], "1.2.4") == "chore(main): release 1.2.4"


def test_title_with_a_component():
    c = cfg({".": {"release-type": "simple", "component": "my-svc"}})
    assert pr_title(c, c.packages[0], "1.3.0") == "chore(main): release my-svc 1.3.0"


def test_title_on_another_target_branch():
    c = cfg({".": {"release-type": "simple"}})
    assert pr_title(c, c.packages[0], "1.2.4", "release/1.x") == "chore(release/1.x): release 1.2.4"


def test_5dlabs_title_pattern():
    c = load_config(
        (REFERENCE / "release-please-config.json").read_text(),
        (REFERENCE / ".release-please-manifest.json").read_text(),
    )
    assert pr_title(c, c.packages[0], "0.3.0") == "chore: release 0.3.0"
    assert pr_title(c, c.packages[0], "0.2.51") == "chore: release 0.2.51"


def test_component_no_space_glues_the_component():
    c = cfg(
        {
            ".": {
                "release-type": "simple",
                "component": "svc",
                "component-no-space": True,
                "pull-request-title-pattern": "chore${scope}: release ${component}@${version}",
            }
        }
    )
    assert pr_title(c, c.packages[0], "2.0.0") == "chore(main): release svc@2.0.0"


def test_title_keeps_dollar_sequences_like_javascript_replace():
    c = cfg(
        {".": {"release-type": "simple", "pull-request-title-pattern": "release ${version} ($$)"}}
    )
    assert pr_title(c, c.packages[0], "1.0.0") == "release 1.0.0 ($$)"


# --- rule 19: branches -------------------------------------------------------------------------


def test_branch_without_component():
    c = cfg({".": {"release-type": "simple"}})
    assert branch_name(c, c.packages[0]) == "release-please--branches--main"


def test_branch_with_component():
    c = cfg({".": {"release-type": "simple", "component": "my-svc"}})
    assert branch_name(c, c.packages[0]) == "release-please--branches--main--components--my-svc"


def test_component_stays_in_branch_but_leaves_tag_and_title():
    c = cfg(
        {".": {"release-type": "simple", "component": "my-svc", "include-component-in-tag": False}}
    )
    pkg = c.packages[0]
    assert branch_name(c, pkg) == "release-please--branches--main--components--my-svc"
    assert tag_name(pkg, "1.3.0") == "v1.3.0"
    assert pr_title(c, pkg, "1.3.0") == "chore(main): release 1.3.0"
    assert release_name(pkg, "1.3.0") == "v1.3.0"


def test_5dlabs_branch_has_no_components_suffix():
    c = load_config(
        (REFERENCE / "release-please-config.json").read_text(),
        (REFERENCE / ".release-please-manifest.json").read_text(),
    )
    assert branch_name(c, c.packages[0]) == "release-please--branches--main"
    assert tag_name(c.packages[0], "0.2.51") == "v0.2.51"


# --- rule 20: grouped monorepo pull requests ---------------------------------------------------


@pytest.fixture
def monorepo():
    return cfg(
        {"packages/api": {"component": "api"}, "packages/web": {"component": "web"}},
        {"packages/api": "1.0.0", "packages/web": "2.0.0"},
        **{"release-type": "simple"},
    )


def test_monorepo_group_title_and_branch(monorepo):
    assert monorepo.separate_pull_requests is False
    assert all(is_grouped(monorepo, p) for p in monorepo.packages)
    assert group_pr_title(monorepo, {"packages/api": "1.1.0"}) == "chore: release main"
    assert branch_name(monorepo, None) == "release-please--branches--main"
    assert group_pr_title(monorepo, {"packages/api": "1.1.0"}, "next") == "chore: release next"


def test_group_pattern_takes_the_root_packages_version():
    c = cfg(
        {".": {}, "packages/api": {"component": "api"}},
        **{
            "release-type": "simple",
            "group-pull-request-title-pattern": "chore${scope}: release ${version}",
        },
    )
    assert (
        group_pr_title(c, {".": "3.1.0", "packages/api": "1.1.0"}) == "chore(main): release 3.1.0"
    )
    assert group_pr_title(c, {"packages/api": "1.1.0"}) == "chore(main): release"


def test_group_pattern_without_root_package_collapses():
    c = cfg(
        {"a": {"component": "a"}, "b": {"component": "b"}},
        **{
            "release-type": "simple",
            "group-pull-request-title-pattern": "chore: release ${version}",
        },
    )
    assert group_pr_title(c, {"a": "1.0.0", "b": "2.0.0"}) == "chore: release"


def test_a_single_package_is_not_grouped_unless_asked():
    single = cfg({".": {"release-type": "simple"}})
    assert not is_grouped(single, single.packages[0])
    forced = cfg({".": {"release-type": "simple"}}, **{"separate-pull-requests": False})
    assert is_grouped(forced, forced.packages[0])
    assert group_pr_title(forced, {".": "1.0.0"}) == "chore: release main"


def test_a_package_can_opt_out_of_the_group():
    c = cfg(
        {"a": {"component": "a", "separate-pull-requests": True}, "b": {"component": "b"}},
        **{"release-type": "simple"},
    )
    assert [is_grouped(c, p) for p in c.packages] == [False, True]


def test_group_header_comes_from_the_first_package_only():
    c = cfg(
        {"a": {"component": "a"}, "b": {"component": "b", "pull-request-header": "B header"}},
        **{"release-type": "simple"},
    )
    assert group_pr_body_header(c) == DEFAULT_PR_HEADER


# --- rule 21: tags, release names, header ------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "tag", "name"),
    [
        ({}, "v1.3.0", "v1.3.0"),
        ({"component": "my-svc"}, "my-svc-v1.3.0", "my-svc: v1.3.0"),
        ({"component": "my-svc", "tag-separator": "/"}, "my-svc/v1.3.0", "my-svc: v1.3.0"),
        ({"include-v-in-tag": False}, "1.3.0", "v1.3.0"),
        ({"component": "my-svc", "include-v-in-tag": False}, "my-svc-1.3.0", "my-svc: v1.3.0"),
    ],
)
def test_tags_and_release_names(options, tag, name):
    pkg = only({".": {"release-type": "simple", **options}})
    assert tag_name(pkg, "1.3.0") == tag
    assert release_name(pkg, "1.3.0") == name


def test_node_scoped_package_name_gives_the_bare_component():
    c = cfg({".": {"release-type": "node", "package-name": "@acme/widgets"}})
    pkg = c.packages[0]
    assert tag_name(pkg, "2.0.0") == "widgets-v2.0.0"
    assert release_name(pkg, "2.0.0") == "widgets: v2.0.0"
    assert pr_title(c, pkg, "2.0.0") == "chore(main): release widgets 2.0.0"
    assert branch_name(c, pkg) == "release-please--branches--main--components--widgets"


def test_node_component_from_package_json():
    c = cfg(
        {"web": {"release-type": "node"}},
        read=reader({"web/package.json": '{"name": "@acme/web"}'}),
    )
    assert tag_name(c.packages[0], "1.0.0") == "web-v1.0.0"


def test_versions_are_normalized_like_release_please():
    pkg = only({".": {"release-type": "simple"}})
    assert tag_name(pkg, "v01.2.3") == "v1.2.3"
    with pytest.raises(ValueError):
        tag_name(pkg, "1.2")


def test_pull_request_header_is_literal():
    pkg = only({".": {"release-type": "simple", "pull-request-header": "🚀 Release ${version}"}})
    assert pr_body_header(pkg) == "🚀 Release ${version}"
    assert pr_body_header(only({".": {}})) == ":robot: I have created a release *beep* *boop*"
    assert pr_body_footer(only({".": {}})).startswith("This PR was generated with [Release Please]")


# --- 5dlabs extra files --------------------------------------------------------------------------

CARGO_TOML = """\
[workspace]
resolver = "2"
members = [
    "controller",
    "mcp",
    "tools",
]

[workspace.package]
version = "0.2.50"
edition = "2021"
authors = ["5D Labs <hello@5dlabs.ai>"]
license = "AGPL-3.0"
repository = "https://github.com/5dlabs/cto"

[workspace.dependencies]
tokio = { version = "1.40", features = ["full"] }
serde = { version = "1.0", features = ["derive"] }
kube = { version = "0.95", default-features = false, features = ["runtime", "derive"] }

[profile.release]
lto = true
codegen-units = 1
"""

CONTROLLER_CHART = """\
apiVersion: v2
name: controller
description: CTO controller - orchestrates AI coding agents (Rex, Cleo, Tess) on Kubernetes clusters
type: application

# Chart version: bumped by hand when the templates change
version: 0.1.14

# Application version: bumped by release-please (extra-files, $.appVersion)
appVersion: "0.2.50"

keywords:
  - ai
  - agents
  - argo
home: https://github.com/5dlabs/cto
maintainers:
  - name: 5D Labs
    email: hello@5dlabs.ai
"""

TOOLS_CHART = """\
apiVersion: v2
name: tools
description: MCP tools server
type: application
version: 0.3.2
appVersion: 0.2.50
dependencies:
- name: redis
  version: "19.6.4"
  repository: oci://registry-1.docker.io/bitnamicharts
  condition: redis.enabled
annotations:
  artifacthub.io/license: AGPL-3.0
"""


def test_5dlabs_release_changes_cargo_toml_and_both_charts():
    c = load_config(
        (REFERENCE / "release-please-config.json").read_text(),
        (REFERENCE / ".release-please-manifest.json").read_text(),
    )
    files = {
        "Cargo.toml": CARGO_TOML,
        "infra/charts/controller/Chart.yaml": CONTROLLER_CHART,
        "infra/charts/tools/Chart.yaml": TOOLS_CHART,
    }
    changes = bumped_files(c.packages[0], "0.2.51", reader(files))
    # version.txt does not exist: skipped, as Release Please does ("file version.txt did not exist").
    assert [ch.path for ch in changes] == [
        "Cargo.toml",
        "infra/charts/controller/Chart.yaml",
        "infra/charts/tools/Chart.yaml",
    ]
    cargo, controller, tools = changes
    assert cargo.before == CARGO_TOML
    assert cargo.after == CARGO_TOML.replace(
        '[workspace.package]\nversion = "0.2.50"', '[workspace.package]\nversion = "0.2.51"'
    )
    # js-yaml re-serializes the whole chart: comments and blank lines go, long lines fold,
    # quotes go where YAML does not need them.
    assert (
        controller.after
        == """\
apiVersion: v2
name: controller
description: >-
  CTO controller - orchestrates AI coding agents (Rex, Cleo, Tess) on Kubernetes
  clusters
type: application
version: 0.1.14
appVersion: 0.2.51
keywords:
  - ai
  - agents
  - argo
home: https://github.com/5dlabs/cto
maintainers:
  - name: 5D Labs
    email: hello@5dlabs.ai
"""
    )
    assert (
        tools.after
        == """\
apiVersion: v2
name: tools
description: MCP tools server
type: application
version: 0.3.2
appVersion: 0.2.51
dependencies:
  - name: redis
    version: 19.6.4
    repository: oci://registry-1.docker.io/bitnamicharts
    condition: redis.enabled
annotations:
  artifacthub.io/license: AGPL-3.0
"""
    )


def test_5dlabs_manifest_change():
    before = (REFERENCE / ".release-please-manifest.json").read_text()
    assert before.endswith("}\n\n")  # what follows the closing brace is kept as it is
    change = manifest_change(before, {".": "0.2.51"})
    assert change == FileChange(
        ".release-please-manifest.json", before, '{\n  ".": "0.2.51"\n}\n\n'
    )


# --- strategies --------------------------------------------------------------------------------


def test_simple_rewrites_version_txt_whole():
    pkg = only({"svc": {"release-type": "simple", "component": "svc"}})
    changes = bumped_files(pkg, "1.1.0", reader({"svc/version.txt": "v1.0.0 # keep me\n"}))
    assert changes == [FileChange("svc/version.txt", "v1.0.0 # keep me\n", "1.1.0\n")]


def test_simple_version_file_option():
    pkg = only({".": {"release-type": "simple", "version-file": "VERSION"}})
    assert bumped_files(pkg, "1.1.0", reader({"VERSION": "1.0.0\n", "version.txt": "1.0.0\n"})) == [
        FileChange("VERSION", "1.0.0\n", "1.1.0\n")
    ]


def test_an_unchanged_or_missing_file_is_not_listed():
    pkg = only({".": {"release-type": "simple"}})
    assert bumped_files(pkg, "1.0.0", reader({"version.txt": "1.0.0\n"})) == []
    assert bumped_files(pkg, "1.0.0", reader({})) == []


PACKAGE_JSON = (
    '{\n  "name": "@acme/widgets",\n  "version": "1.0.0",\n  "n": 1.0,\n  "2": "two"\n}\n'
)
LOCK_V3 = (
    '{\n  "name": "@acme/widgets",\n  "version": "1.0.0",\n  "lockfileVersion": 3,\n'
    '  "packages": {\n    "": {\n      "name": "@acme/widgets",\n      "version": "1.0.0"\n    }\n  }\n}\n'
)


def test_node_bumps_package_json_and_lock_file_through_json_stringify():
    pkg = only({".": {"release-type": "node"}})
    changes = bumped_files(
        pkg, "1.1.0", reader({"package.json": PACKAGE_JSON, "package-lock.json": LOCK_V3})
    )
    assert [c.path for c in changes] == ["package-lock.json", "package.json"]
    assert changes[0].after == LOCK_V3.replace('"1.0.0"', '"1.1.0"')
    # JSON.parse + JSON.stringify: 1.0 becomes 1, integer-like keys move first.
    assert (
        changes[1].after
        == '{\n  "2": "two",\n  "name": "@acme/widgets",\n  "version": "1.1.0",\n  "n": 1\n}\n'
    )


def test_node_keeps_tabs_and_one_line_files_one_line():
    pkg = only({".": {"release-type": "node"}})
    tabbed = bumped_files(
        pkg, "2.0.0", reader({"package.json": '{\n\t"name": "x",\n\t"version": "1.0.0"\n}'})
    )
    assert tabbed[0].after == '{\n\t"name": "x",\n\t"version": "2.0.0"\n}'
    flat = bumped_files(pkg, "2.0.0", reader({"package.json": '{"name":"x","version":"1.0.0"}\n'}))
    assert flat[0].after == '{"name":"x","version":"2.0.0"}\n'


def test_node_samples_dependency_follows():
    pkg = only({".": {"release-type": "node"}})
    files = {
        "package.json": '{\n  "name": "w",\n  "version": "1.0.0"\n}\n',
        "samples/package.json": '{\n  "dependencies": {\n    "w": "^1.0.0"\n  }\n}\n',
    }
    changes = bumped_files(pkg, "1.1.0", reader(files))
    assert changes[0] == FileChange(
        "samples/package.json",
        files["samples/package.json"],
        '{\n  "dependencies": {\n    "w": "^1.1.0"\n  }\n}\n',
    )


def test_node_lockfile_v1_makes_release_please_fail():
    pkg = only({".": {"release-type": "node", "package-name": "x"}})
    lock = '{\n  "name": "x",\n  "version": "1.0.0",\n  "lockfileVersion": 1\n}\n'
    with pytest.raises(
        BumpError, match=r"^package-lock.json: Cannot convert undefined or null to object"
    ):
        bumped_files(
            pkg,
            "1.1.0",
            reader({"package-lock.json": lock, "package.json": '{"version": "1.0.0"}'}),
        )


def test_node_without_package_json_fails():
    pkg = only({".": {"release-type": "node", "component": "w"}})
    with pytest.raises(BumpError, match=r"^package.json: missing"):
        bumped_files(pkg, "1.1.0", reader({}))


CRATE = """\
[package]
name = "cto"   # the crate
version = '0.2.50'
edition = "2021"

[dependencies]
serde = { version = "1", features = ["derive"] }
"""

CARGO_LOCK = """\
version = 3

[[package]]
name = "anyhow"
version = "1.0.86"

[[package]]
name = "cto"
version = "0.2.50"
"""


def test_rust_single_crate_updates_cargo_toml_and_lock_preserving_format():
    pkg = only({".": {"release-type": "rust"}})
    changes = bumped_files(pkg, "0.3.0", reader({"Cargo.toml": CRATE, "Cargo.lock": CARGO_LOCK}))
    assert [c.path for c in changes] == ["Cargo.toml", "Cargo.lock"]
    assert changes[0].after == CRATE.replace("version = '0.2.50'", 'version = "0.3.0"')
    assert changes[1].after == CARGO_LOCK.replace(
        '"cto"\nversion = "0.2.50"', '"cto"\nversion = "0.3.0"'
    )


def test_rust_workspace_updates_members_and_their_path_dependencies():
    root = (
        '[package]\nname = "app"\nversion = "1.0.0"\n\n[workspace]\nmembers = ["core"]\n\n'
        '[dependencies]\ncore = { path = "core", version = "1.0.0" }\n'
    )
    core = '[package]\nname = "core"\nversion = "1.0.0"\n'
    pkg = only({".": {"release-type": "rust"}})
    changes = bumped_files(pkg, "1.1.0", reader({"Cargo.toml": root, "core/Cargo.toml": core}))
    assert [c.path for c in changes] == ["core/Cargo.toml", "Cargo.toml"]
    assert changes[0].after == core.replace('"1.0.0"', '"1.1.0"')
    assert changes[1].after == root.replace('"1.0.0"', '"1.1.0"')


def test_rust_on_a_virtual_workspace_fails_like_release_please():
    pkg = only({".": {"release-type": "rust"}})
    with pytest.raises(
        BumpError, match=r"^Cargo.toml: is not a package manifest \(might be a cargo workspace\)$"
    ):
        bumped_files(
            pkg,
            "0.2.51",
            reader(
                {
                    "Cargo.toml": CARGO_TOML,
                    "controller/Cargo.toml": '[package]\nname = "controller"\nversion = "0.2.50"\n',
                }
            ),
        )


def test_rust_member_with_workspace_version_fails():
    root = '[workspace]\nmembers = ["a"]\n'
    member = '[package]\nname = "a"\nversion.workspace = true\n'
    pkg = only({".": {"release-type": "rust"}})
    with pytest.raises(
        BumpError, match=r"^a/Cargo.toml: value at path package.version is not tagged$"
    ):
        bumped_files(pkg, "1.0.0", reader({"Cargo.toml": root, "a/Cargo.toml": member}))


def test_helm_bumps_version_only_and_keeps_comments():
    chart = (
        'apiVersion: v2\nname: api\n# chart version\nversion: 0.1.0 # bumped\nappVersion: "1.0.0"\n'
        "keywords:\n- a\n"
    )
    pkg = only(
        {"charts/api": {"release-type": "helm"}},
    )
    changes = bumped_files(pkg, "0.2.0", reader({"charts/api/Chart.yaml": chart}))
    assert changes == [
        FileChange(
            "charts/api/Chart.yaml",
            chart,
            "apiVersion: v2\nname: api\n# chart version\nversion: 0.2.0 # bumped\n"
            'appVersion: "1.0.0"\nkeywords:\n  - a\n',
        )
    ]


def test_python_bumps_pyproject_init_and_setup_files():
    files = {
        "pyproject.toml": '[project]\nname = "cd-portal"\nversion = "0.1.0"  # managed\n',
        "src/cd_portal/__init__.py": '"""cdp."""\n__version__ = "0.1.0"\n',
        "setup.cfg": "[metadata]\nversion = 0.1.0\n",
        "lib/version.py": "__version__ = '0.1.0'\n",
    }
    pkg = only({".": {"release-type": "python"}})
    changes = bumped_files(pkg, "0.2.0", reader(files), files=list(files))
    assert {c.path: c.after for c in changes} == {
        "setup.cfg": "[metadata]\nversion = 0.2.0\n",
        "pyproject.toml": '[project]\nname = "cd-portal"\nversion = "0.2.0"  # managed\n',
        "src/cd_portal/__init__.py": '"""cdp."""\n__version__ = "0.2.0"\n',
        "lib/version.py": "__version__ = '0.2.0'\n",
    }


def test_python_dynamic_version_is_left_alone():
    pkg = only({".": {"release-type": "python"}})
    files = {"pyproject.toml": '[project]\nname = "x"\ndynamic = ["version"]\n'}
    assert bumped_files(pkg, "1.0.0", reader(files)) == []


# --- extra files -------------------------------------------------------------------------------


def test_generic_markers_lines_and_blocks():
    text = (
        'VERSION = "1.0.0"  # x-release-please-version\nother = "1.0.0"\n'
        "<!-- x-release-please-start-version -->\nimage: app:1.0.0\n<!-- x-release-please-end -->\n"
        "MAJOR = 1 # x-release-please-major\nreleased 2020-01-01 # x-release-please-date\n"
    )
    pkg = only({".": {"release-type": "go", "extra-files": ["README.md"]}})
    (change,) = bumped_files(pkg, "2.1.0", reader({"README.md": text}), today=dt.date(2025, 3, 7))
    assert change.after == (
        'VERSION = "2.1.0"  # x-release-please-version\nother = "1.0.0"\n'
        "<!-- x-release-please-start-version -->\nimage: app:2.1.0\n<!-- x-release-please-end -->\n"
        "MAJOR = 2 # x-release-please-major\nreleased 2025-03-07 # x-release-please-date\n"
    )


def test_extra_files_are_relative_to_the_package_unless_they_start_with_a_slash():
    pkg = only({"svc": {"release-type": "go", "extra-files": ["a.txt", "/b.txt"]}})
    files = {
        "svc/a.txt": "v 1.0.0 # x-release-please-version\n",
        "b.txt": "1.0.0 x-release-please-version",
    }
    assert [c.path for c in bumped_files(pkg, "1.1.0", reader(files))] == ["svc/a.txt", "b.txt"]


def test_json_extra_file_with_jsonpath_keeps_a_v_prefix():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [
                    {"type": "json", "path": "manifest.json", "jsonpath": "$.version"},
                    {
                        "type": "json",
                        "path": "plugins.json",
                        "jsonpath": "$.plugins[?(@.name == 'cdp')].version",
                    },
                ],
            }
        }
    )
    files = {
        "manifest.json": '{\n  "version": "v1.0.0"\n}\n',
        "plugins.json": '{"plugins": [{"name": "cdp", "version": "1.0.0"}, {"name": "x", "version": "1.0.0"}]}',
    }
    a, b = bumped_files(pkg, "1.1.0", reader(files))
    assert a.after == '{\n  "version": "v1.1.0"\n}\n'
    assert (
        b.after == '{"plugins":[{"name":"cdp","version":"1.1.0"},{"name":"x","version":"1.0.0"}]}'
    )


def test_a_jsonpath_without_dollar_starts_at_the_root():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [{"type": "yaml", "path": "c.yaml", "jsonpath": "appVersion"}],
            }
        }
    )
    assert (
        bumped_files(pkg, "1.2.3", reader({"c.yaml": "appVersion: 1.0.0\n"}))[0].after
        == "appVersion: 1.2.3\n"
    )


def test_plain_json_extra_file_gets_its_version_key_then_markers():
    pkg = only({".": {"release-type": "go", "extra-files": ["app.json"]}})
    (change,) = bumped_files(
        pkg, "3.0.0", reader({"app.json": '{\n  "version": "2.0.0",\n  "x": 1\n}\n'})
    )
    assert change.after == '{\n  "version": "3.0.0",\n  "x": 1\n}\n'  # GenericJson, then Generic


def test_toml_extra_file_replaces_only_the_value():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [
                    {
                        "type": "toml",
                        "path": "Cargo.toml",
                        "jsonpath": "$.workspace.package.version",
                    }
                ],
            }
        }
    )
    (change,) = bumped_files(pkg, "0.2.51", reader({"Cargo.toml": CARGO_TOML}))
    assert (
        change.after.count("0.2.51") == 1 and change.after.replace("0.2.51", "0.2.50") == CARGO_TOML
    )


def test_toml_extra_file_cannot_replace_an_integer():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [{"type": "toml", "path": "x.toml", "jsonpath": "$.version"}],
            }
        }
    )
    with pytest.raises(BumpError, match=r"^x.toml: path not found in object: version$"):
        bumped_files(pkg, "1.0.0", reader({"x.toml": "version = 3\n"}))


def test_toml_filters_see_tagged_values_so_a_name_filter_matches_nothing():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [
                    {
                        "type": "toml",
                        "path": "uv.lock",
                        "jsonpath": "$.package[?(@.name=='cdp')].version",
                    }
                ],
            }
        }
    )
    lock = '[[package]]\nname = "cdp"\nversion = "0.1.0"\n'
    assert bumped_files(pkg, "0.2.0", reader({"uv.lock": lock})) == []


def test_yaml_extra_file_is_rewritten_by_js_yaml():
    values = '# image settings\nimage:\n  repository: ghcr.io/acme/app\n  tag: "1.0.0"  # bumped\nports: [80, 443]\nenabled: yes\n'
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [{"type": "yaml", "path": "values.yaml", "jsonpath": "$.image.tag"}],
            }
        }
    )
    (change,) = bumped_files(pkg, "1.1.0", reader({"values.yaml": values}))
    assert change.after == (
        "image:\n  repository: ghcr.io/acme/app\n  tag: 1.1.0\nports:\n  - 80\n  - 443\n"
        "enabled: 'yes'\n"
    )


def test_yaml_extra_file_without_a_match_is_untouched():
    pkg = only(
        {
            ".": {
                "release-type": "go",
                "extra-files": [{"type": "yaml", "path": "values.yaml", "jsonpath": "$.missing"}],
            }
        }
    )
    assert bumped_files(pkg, "1.1.0", reader({"values.yaml": "# c\na: 1\n"})) == []


def test_glob_extra_files_need_the_file_list():
    pkg = only(
        {
            "charts": {
                "release-type": "go",
                "component": "charts",
                "extra-files": [
                    {
                        "type": "yaml",
                        "path": "**/Chart.yaml",
                        "jsonpath": "$.appVersion",
                        "glob": True,
                    }
                ],
            }
        }
    )
    files = {
        "charts/a/Chart.yaml": "appVersion: 1.0.0\n",
        "charts/b/Chart.yaml": "appVersion: 1.0.0\n",
        "other/Chart.yaml": "appVersion: 1.0.0\n",
    }
    assert bumped_files(pkg, "1.1.0", reader(files)) == []
    changes = bumped_files(pkg, "1.1.0", reader(files), files=list(files))
    assert [c.path for c in changes] == ["charts/a/Chart.yaml", "charts/b/Chart.yaml"]


def test_an_extra_file_that_is_also_a_strategy_file_gets_both_updates_in_order():
    pkg = only({".": {"release-type": "simple", "extra-files": ["version.txt"]}})
    (change,) = bumped_files(pkg, "1.1.0", reader({"version.txt": "1.0.0\n"}))
    assert change.after == "1.1.0\n"  # DefaultUpdater, then Generic (no markers: lines re-joined)


def test_xml_extra_files_are_not_reproduced():
    pkg = only({".": {"release-type": "go", "extra-files": ["pom.xml"]}})
    with pytest.raises(NotImplementedError):
        bumped_files(pkg, "1.0.0", reader({"pom.xml": "<project/>"}))


def test_nothing_is_returned_when_a_later_file_fails():
    pkg = only(
        {
            ".": {
                "release-type": "simple",
                "extra-files": [{"type": "toml", "path": "x.toml", "jsonpath": "$.v"}],
            }
        }
    )
    with pytest.raises(BumpError):
        bumped_files(pkg, "1.0.0", reader({"version.txt": "0.9.0\n", "x.toml": "v = 1\n"}))


# --- manifest ----------------------------------------------------------------------------------


def test_manifest_keeps_order_indent_and_trailing_newline():
    before = '{\n    "packages/web": "1.0.0",\n    "packages/api": "1.0.0"\n}\n'
    change = manifest_change(before, {"packages/api": "1.1.0", "packages/new": "0.1.0"})
    assert change.after == (
        '{\n    "packages/web": "1.0.0",\n    "packages/api": "1.1.0",\n'
        '    "packages/new": "0.1.0"\n}\n'
    )


def test_a_one_line_manifest_stays_one_line():
    assert manifest_change('{".": "0.1.0"}', {".": "1.0.0"}).after == '{".":"1.0.0"}'


def test_manifest_without_a_file():
    change = manifest_change(None, {".": "1.0.0"})
    assert (change.before, change.after) == (None, '{\n  ".": "1.0.0"\n}')


def test_manifest_version_must_parse():
    with pytest.raises(ValueError):
        manifest_change("{}", {".": "latest"})


def test_package_config_can_be_built_directly():
    pkg = PackageConfig(path=".", release_type="simple", component="svc", tag_separator="@")
    assert tag_name(pkg, "1.0.0") == "svc@v1.0.0"
