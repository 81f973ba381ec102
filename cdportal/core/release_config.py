"""Release Please's configuration: release-please-config.json + .release-please-manifest.json.

Reads the two files the way release-please 17.1.3 does (src/manifest.ts parseConfig,
extractReleaserConfig, mergeReleaserConfig, parseReleasedVersions; src/strategies/base.ts for the
defaults; src/factory.ts for the known release types) and resolves every option per package:
a package's value wins over the top-level value (JavaScript `??`, so an explicit `null` falls
back too), and what neither sets takes Release Please's default.

Also answers which packages a commit belongs to (src/util/commit-split.ts, commit-exclude.ts and
the `path === '.' ? commits : splitCommits[path]` line of Manifest.buildPullRequests).

Release Please itself validates almost nothing (a `"true"` string is a truthy boolean to it);
cdportal is stricter on purpose and names the file, the field and the problem. It raises one
`ConfigError` and returns nothing on error. Plain Python, no Django.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cdportal.core.conventional import DEFAULT_SECTIONS, ChangelogSection

CONFIG_FILE = "release-please-config.json"
MANIFEST_FILE = ".release-please-manifest.json"
ROOT_PATH = "."

# src/util/pull-request-title.ts, src/manifest.ts, src/util/pull-request-body.ts
DEFAULT_PR_TITLE_PATTERN = "chore${scope}: release${component} ${version}"
DEFAULT_GROUP_PR_TITLE_PATTERN = "chore: release ${branch}"
DEFAULT_COMMIT_SEARCH_DEPTH = 500
DEFAULT_LABELS = ("autorelease: pending",)
DEFAULT_RELEASE_LABELS = ("autorelease: tagged",)
DEFAULT_DATE_FORMAT = "%Y-%m-%d"

# src/factory.ts `releasers` (17.1.3), sorted like getReleaserTypes().
RELEASE_TYPES = (
    "bazel",
    "dart",
    "dotnet-yoshi",
    "elixir",
    "expo",
    "go",
    "go-yoshi",
    "helm",
    "java",
    "java-backport",
    "java-bom",
    "java-lts",
    "java-yoshi",
    "java-yoshi-mono-repo",
    "krm-blueprint",
    "maven",
    "node",
    "ocaml",
    "php",
    "php-yoshi",
    "python",
    "r",
    "ruby",
    "ruby-yoshi",
    "rust",
    "salesforce",
    "sfdx",
    "simple",
    "terraform-module",
)
# src/factories/versioning-strategy-factory.ts, changelog-notes-factory.ts, plugin-factory.ts
VERSIONING_TYPES = (
    "always-bump-major",
    "always-bump-minor",
    "always-bump-patch",
    "default",
    "prerelease",
    "service-pack",
)
CHANGELOG_TYPES = ("default", "github")
PLUGIN_TYPES = (
    "cargo-workspace",
    "group-priority",
    "linked-versions",
    "maven-workspace",
    "node-workspace",
    "sentence-case",
)
EXTRA_FILE_TYPES = ("generic", "json", "pom", "toml", "xml", "yaml")

# src/strategies/python.ts: the python strategy has its own default sections (deps and docs
# visible) when `changelog-sections` is not configured.
PYTHON_SECTIONS: tuple[ChangelogSection, ...] = (
    ChangelogSection("feat", "Features"),
    ChangelogSection("fix", "Bug Fixes"),
    ChangelogSection("perf", "Performance Improvements"),
    ChangelogSection("deps", "Dependencies"),
    ChangelogSection("revert", "Reverts"),
    ChangelogSection("docs", "Documentation"),
    ChangelogSection("style", "Styles", hidden=True),
    ChangelogSection("chore", "Miscellaneous Chores", hidden=True),
    ChangelogSection("refactor", "Code Refactoring", hidden=True),
    ChangelogSection("test", "Tests", hidden=True),
    ChangelogSection("build", "Build System", hidden=True),
    ChangelogSection("ci", "Continuous Integration", hidden=True),
)

# src/version.ts VERSION_REGEX: unanchored, so "v1.2.3" parses as 1.2.3.
_VERSION_RE = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-(?P<pre>[^+]+))?(\+(?P<build>.*))?", re.ASCII
)


class ConfigError(ValueError):
    """A configuration Release Please cannot use; str() names the file, the field and the problem."""

    def __init__(self, file: str, field: str | None, problem: str):
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}" if field else f"{file}: {problem}")


def parse_version(text: str) -> str | None:
    """Release Please's Version.parse(...).toString(), or None when it would throw."""
    if not isinstance(text, str):
        return None
    m = _VERSION_RE.search(text)
    if not m:
        return None
    out = f"{int(m['major'])}.{int(m['minor'])}.{int(m['patch'])}"
    if m["pre"]:
        out += f"-{m['pre']}"
    if m["build"]:
        out += f"+{m['build']}"
    return out


@dataclass(frozen=True)
class ExtraFile:
    """An `extra-files` object entry. Plain string entries stay plain strings."""

    type: str  # generic | json | yaml | toml | xml | pom
    path: str
    jsonpath: str | None = None
    xpath: str | None = None
    glob: bool = False


@dataclass(frozen=True)
class PackageConfig:
    """One entry of `packages`, every option resolved (package value, else top-level, else default).

    `component` is the branch component (explicit `component`, else `package-name`, else the name
    the strategy reads from its manifest file; node and expo drop an `@scope/`); it is kept even
    when `include_component_in_tag` is false, which only drops it from tag, title and release name
    (see `tag_component`). `current_version` is the manifest version, normalized like
    Version.toString(); None for a package the manifest does not list (its first release).
    Release Please treats a manifest version of "0.0.0" as "no previous release" as well.
    """

    path: str
    release_type: str
    component: str = ""
    package_name: str | None = None
    current_version: str | None = None
    include_component_in_tag: bool = True
    include_v_in_tag: bool = True
    tag_separator: str = "-"
    changelog_path: str = "CHANGELOG.md"
    changelog_sections: tuple[ChangelogSection, ...] = DEFAULT_SECTIONS
    changelog_sections_configured: bool = False
    changelog_type: str = "default"
    changelog_host: str = "https://github.com"
    bump_minor_pre_major: bool = False
    bump_patch_for_minor_pre_major: bool = False
    release_as: str | None = None
    initial_version: str | None = None
    versioning: str = "default"
    prerelease: bool = False
    prerelease_type: str | None = None
    pull_request_title_pattern: str = DEFAULT_PR_TITLE_PATTERN
    pull_request_header: str | None = None
    pull_request_footer: str | None = None
    component_no_space: bool = False
    extra_files: tuple[str | ExtraFile, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    version_file: str | None = None
    date_format: str = DEFAULT_DATE_FORMAT
    draft: bool = False
    draft_pull_request: bool = False
    skip_github_release: bool = False
    skip_changelog: bool = False
    # The package's own `separate-pull-requests` (or the top-level one): True keeps it out of
    # the grouped pull request (plugins/merge.ts). None when neither sets it.
    separate_pull_requests: bool | None = None
    extra_labels: tuple[str, ...] = ()

    @property
    def is_root(self) -> bool:
        return self.path == ROOT_PATH

    @property
    def tag_component(self) -> str:
        """The component as tags, titles and release names see it (strategy.getComponent())."""
        return self.component if self.include_component_in_tag else ""


@dataclass(frozen=True)
class ReleaseConfig:
    packages: tuple[PackageConfig, ...]
    # One pull request per package? Top-level `separate-pull-requests`, else true exactly when
    # there is a single package (Manifest constructor).
    separate_pull_requests: bool = True
    group_pull_request_title_pattern: str = DEFAULT_GROUP_PR_TITLE_PATTERN
    target_branch: str = "main"
    plugins: tuple[Any, ...] = ()
    bootstrap_sha: str | None = None
    last_release_sha: str | None = None
    # How many commits Release Please reads back from the branch head (manifest.ts default 500).
    commit_search_depth: int = DEFAULT_COMMIT_SEARCH_DEPTH
    labels: tuple[str, ...] = DEFAULT_LABELS
    release_labels: tuple[str, ...] = DEFAULT_RELEASE_LABELS

    def package(self, path: str) -> PackageConfig | None:
        return next((p for p in self.packages if p.path == path), None)


# ---------------------------------------------------------------------------------------------
# Loading


def load_config(
    config_text: str | None,
    manifest_text: str | None,
    *,
    config_file: str = CONFIG_FILE,
    manifest_file: str = MANIFEST_FILE,
    target_branch: str = "main",
    read: Callable[[str], str | None] | None = None,
) -> ReleaseConfig:
    """Parse and validate both files; raise ConfigError naming file, field and problem.

    `read(path)` returns a file's text at HEAD (None when missing). It is needed only for
    packages whose component Release Please derives from a file (node/expo: package.json name,
    helm: Chart.yaml, rust: Cargo.toml, dart: pubspec.yaml, sfdx: sfdx-project.json) and that
    set neither `component` nor `package-name`; without it their component is "".
    """
    if config_text is None:
        # Manifest.fromManifest: "Missing required manifest config"
        raise ConfigError(config_file, None, "missing (Release Please requires this file)")
    raw = _parse_json(config_text, config_file)
    if not isinstance(raw, dict):
        raise ConfigError(config_file, None, f"must be a JSON object, not {_js_type(raw)}")
    if manifest_text is None:
        raise ConfigError(manifest_file, None, "missing (Release Please requires this file)")
    manifest = _parse_json(manifest_text, manifest_file)
    if not isinstance(manifest, dict):
        raise ConfigError(manifest_file, None, f"must be a JSON object, not {_js_type(manifest)}")
    versions = _released_versions(manifest, manifest_file)

    _check_options(raw, "", config_file, top_level=True)
    packages_raw = raw.get("packages")
    if packages_raw is None:
        raise ConfigError(config_file, "packages", "missing: Release Please would release nothing")
    if not isinstance(packages_raw, dict):
        raise ConfigError(
            config_file, "packages", f"must be an object, not {_js_type(packages_raw)}"
        )
    if not packages_raw:
        raise ConfigError(config_file, "packages", "empty: Release Please would release nothing")

    entries = {}
    for path in _js_key_order(packages_raw):  # validate everything before reading any file
        where = f'packages["{path}"]'
        entry = packages_raw[path] if packages_raw[path] is not None else {}
        if not isinstance(entry, dict):
            raise ConfigError(config_file, where, f"must be an object, not {_js_type(entry)}")
        _check_path(path, where, config_file)
        _check_options(entry, where + ".", config_file, top_level=False)
        entries[path] = entry
    defaults = _extract(raw)
    packages = [
        _resolve_package(
            path, _extract(entry), defaults, f'packages["{path}"]', config_file, versions, read
        )
        for path, entry in entries.items()
    ]

    separate = raw.get("separate-pull-requests")
    plugins = tuple(raw.get("plugins") or ())
    labels = raw.get("label")
    release_labels = raw.get("release-label")
    return ReleaseConfig(
        packages=tuple(packages),
        separate_pull_requests=separate if separate is not None else len(packages) == 1,
        group_pull_request_title_pattern=raw.get("group-pull-request-title-pattern")
        or DEFAULT_GROUP_PR_TITLE_PATTERN,
        target_branch=target_branch,
        plugins=plugins,
        bootstrap_sha=raw.get("bootstrap-sha"),
        last_release_sha=raw.get("last-release-sha"),
        # `commitSearchDepth || 500`: 0 (or absent) means the default.
        commit_search_depth=int(raw.get("commit-search-depth") or DEFAULT_COMMIT_SEARCH_DEPTH),
        labels=tuple(labels.split(",")) if labels else DEFAULT_LABELS,
        release_labels=tuple(release_labels.split(","))
        if release_labels
        else DEFAULT_RELEASE_LABELS,
    )


def default_config(current_version: str | None, *, target_branch: str = "main") -> ReleaseConfig:
    """A single `simple` package at "." — what cdportal assumes when a repository has no config."""
    version = parse_version(current_version) if current_version is not None else None
    if current_version is not None and version is None:
        raise ConfigError("current version", None, f"{current_version!r} is not a semantic version")
    return ReleaseConfig(
        packages=(PackageConfig(path=ROOT_PATH, release_type="simple", current_version=version),),
        separate_pull_requests=True,
        target_branch=target_branch,
    )


def _parse_json(text: str, file: str) -> Any:
    def reject_constant(name: str) -> Any:  # NaN / Infinity: JSON.parse refuses them too
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        raise ConfigError(
            file, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    except ValueError as e:
        raise ConfigError(file, None, f"invalid JSON: {e} is not allowed") from None


def _released_versions(manifest: dict, file: str) -> dict[str, str]:
    # parseReleasedVersions parses every entry, configured or not; a bad one fails the run.
    versions = {}
    for path, value in manifest.items():
        version = parse_version(value) if isinstance(value, str) else None
        if version is None:
            shown = repr(value) if isinstance(value, str) else json.dumps(value)
            raise ConfigError(file, f'"{path}"', f"{shown} is not a semantic version")
        versions[path] = version
    return versions


# Option name -> expected JSON type, for both the top level and `packages[...]`
# (schemas/config.json ReleaserConfigOptions).
_STRING_OPTIONS = (
    "release-type",
    "versioning",
    "prerelease-type",
    "release-as",
    "changelog-path",
    "changelog-host",
    "changelog-type",
    "component",
    "package-name",
    "pull-request-title-pattern",
    "pull-request-header",
    "pull-request-footer",
    "tag-separator",
    "version-file",
    "initial-version",
    "date-format",
    "label",
    "release-label",
    "extra-label",
    "snapshot-label",
)
_BOOL_OPTIONS = (
    "bump-minor-pre-major",
    "bump-patch-for-minor-pre-major",
    "skip-github-release",
    "skip-changelog",
    "draft",
    "prerelease",
    "draft-pull-request",
    "include-component-in-tag",
    "include-v-in-tag",
    "separate-pull-requests",
    "component-no-space",
    "skip-snapshot",
    "always-update",
)
_TOP_STRING_OPTIONS = (
    "bootstrap-sha",
    "last-release-sha",
    "group-pull-request-title-pattern",
    "signoff",
)
_TOP_BOOL_OPTIONS = ("sequential-calls", "always-link-local")
_TOP_NUMBER_OPTIONS = ("release-search-depth", "commit-search-depth")


def _check_options(options: dict, prefix: str, file: str, *, top_level: bool) -> None:
    strings = _STRING_OPTIONS + (_TOP_STRING_OPTIONS if top_level else ())
    bools = _BOOL_OPTIONS + (_TOP_BOOL_OPTIONS if top_level else ())
    for key, value in options.items():
        if value is None:
            continue
        where = prefix + key
        if key in strings and not isinstance(value, str):
            raise ConfigError(file, where, f"must be a string, not {_js_type(value)}")
        if key in bools and not isinstance(value, bool):
            raise ConfigError(file, where, f"must be true or false, not {_js_type(value)}")
        if (
            top_level
            and key in _TOP_NUMBER_OPTIONS
            and (isinstance(value, bool) or not isinstance(value, int | float))
        ):
            raise ConfigError(file, where, f"must be a number, not {_js_type(value)}")
    for key in ("release-type", "versioning", "changelog-type"):
        value = options.get(key)
        known = {
            "release-type": RELEASE_TYPES,
            "versioning": VERSIONING_TYPES,
            "changelog-type": CHANGELOG_TYPES,
        }[key]
        if value is not None and value not in known:
            noun = key.replace("-", " ")
            raise ConfigError(
                file, prefix + key, f"unknown {noun} {value!r} (known: {', '.join(known)})"
            )
    for key in ("release-as", "initial-version"):
        value = options.get(key)
        if value is not None and parse_version(value) is None:
            # BaseStrategy.buildNewVersion / initialReleaseVersion: Version.parse throws.
            raise ConfigError(file, prefix + key, f"{value!r} is not a semantic version")
    _check_sections(options.get("changelog-sections"), prefix + "changelog-sections", file)
    _check_extra_files(options.get("extra-files"), prefix + "extra-files", file)
    _check_string_list(options.get("exclude-paths"), prefix + "exclude-paths", file)
    if top_level:
        _check_plugins(options.get("plugins"), "plugins", file)


def _check_sections(value: Any, where: str, file: str) -> None:
    if not _is_array(value, where, file):
        return
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(file, at, f"must be an object, not {_js_type(item)}")
        for key in ("type", "section"):
            if not isinstance(item.get(key), str):
                problem = (
                    "missing"
                    if item.get(key) is None
                    else f"must be a string, not {_js_type(item[key])}"
                )
                raise ConfigError(file, f"{at}.{key}", problem)
        if item.get("hidden") is not None and not isinstance(item["hidden"], bool):
            raise ConfigError(
                file, f"{at}.hidden", f"must be true or false, not {_js_type(item['hidden'])}"
            )
        if item.get("scope") is not None and not isinstance(item["scope"], str):
            raise ConfigError(
                file, f"{at}.scope", f"must be a string, not {_js_type(item['scope'])}"
            )


def _is_array(value: Any, where: str, file: str) -> bool:
    """False when the option is absent; raises when it is there but not an array."""
    if value is None:
        return False
    if not isinstance(value, list):
        raise ConfigError(file, where, f"must be an array, not {_js_type(value)}")
    return True


def _check_extra_files(value: Any, where: str, file: str) -> None:
    if not _is_array(value, where, file):
        return
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            continue
        if not isinstance(item, dict):
            raise ConfigError(file, at, f"must be a path or an object, not {_js_type(item)}")
        kind = item.get("type")
        if kind not in EXTRA_FILE_TYPES:
            # BaseStrategy.extraFileUpdates: "unsupported extraFile type"
            shown = "missing" if kind is None else f"unsupported type {kind!r}"
            raise ConfigError(file, f"{at}.type", f"{shown} (known: {', '.join(EXTRA_FILE_TYPES)})")
        if not isinstance(item.get("path"), str) or not item["path"]:
            raise ConfigError(
                file,
                f"{at}.path",
                "missing" if item.get("path") is None else "must be a non-empty string",
            )
        needed = {"json": "jsonpath", "yaml": "jsonpath", "toml": "jsonpath", "xml": "xpath"}.get(
            kind
        )
        if needed and not isinstance(item.get(needed), str):
            raise ConfigError(file, f"{at}.{needed}", f"missing: a {kind} extra file needs one")
        if item.get("glob") is not None and not isinstance(item["glob"], bool):
            raise ConfigError(
                file, f"{at}.glob", f"must be true or false, not {_js_type(item['glob'])}"
            )


def _check_string_list(value: Any, where: str, file: str) -> None:
    if not _is_array(value, where, file):
        return
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(file, f"{where}[{i}]", f"must be a string, not {_js_type(item)}")


def _check_plugins(value: Any, where: str, file: str) -> None:
    if not _is_array(value, where, file):
        return
    for i, item in enumerate(value):
        name = item.get("type") if isinstance(item, dict) else item
        if not isinstance(name, str) or name not in PLUGIN_TYPES:
            # factories/plugin-factory.ts: "Unknown plugin type"
            raise ConfigError(
                file,
                f"{where}[{i}]",
                f"unknown plugin type {name!r} (known: {', '.join(PLUGIN_TYPES)})",
            )


def _check_path(path: str, where: str, file: str) -> None:
    # BaseStrategy.addPath refuses these ("illegal pathing characters in path").
    if path == ROOT_PATH:
        return
    segments = path.split("/")
    if path.startswith(("/", "~")) or any(s in (".", "..") for s in segments):
        raise ConfigError(
            file, where, f"illegal path {path!r}: use a plain relative path such as 'packages/api'"
        )


# extractReleaserConfig: config key -> our field name (None = handled separately).
_FIELDS = {
    "release-type": "release_type",
    "bump-minor-pre-major": "bump_minor_pre_major",
    "bump-patch-for-minor-pre-major": "bump_patch_for_minor_pre_major",
    "prerelease-type": "prerelease_type",
    "versioning": "versioning",
    "changelog-sections": "changelog_sections",
    "changelog-path": "changelog_path",
    "changelog-host": "changelog_host",
    "changelog-type": "changelog_type",
    "release-as": "release_as",
    "skip-github-release": "skip_github_release",
    "skip-changelog": "skip_changelog",
    "draft": "draft",
    "prerelease": "prerelease",
    "draft-pull-request": "draft_pull_request",
    "component": "component",
    "package-name": "package_name",
    "version-file": "version_file",
    "extra-files": "extra_files",
    "include-component-in-tag": "include_component_in_tag",
    "include-v-in-tag": "include_v_in_tag",
    "pull-request-title-pattern": "pull_request_title_pattern",
    "pull-request-header": "pull_request_header",
    "pull-request-footer": "pull_request_footer",
    "component-no-space": "component_no_space",
    "tag-separator": "tag_separator",
    "separate-pull-requests": "separate_pull_requests",
    "extra-label": "extra_labels",
    "initial-version": "initial_version",
    "exclude-paths": "exclude_paths",
    "date-format": "date_format",
}


def _extract(options: dict) -> dict[str, Any]:
    return {name: options.get(key) for key, name in _FIELDS.items()}


def _resolve_package(
    path: str,
    own: dict[str, Any],
    defaults: dict[str, Any],
    where: str,
    file: str,
    versions: Mapping[str, str],
    read: Callable[[str], str | None] | None,
) -> PackageConfig:
    def pick(name: str) -> Any:  # mergeReleaserConfig: pathConfig.x ?? defaultConfig.x
        return own[name] if own[name] is not None else defaults[name]

    release_type = pick("release_type") or "node"  # mergeReleaserConfig's default
    if release_type not in RELEASE_TYPES:  # only reachable through the implicit default
        raise ConfigError(file, where + ".release-type", f"unknown release type {release_type!r}")

    sections_raw = pick("changelog_sections")
    if sections_raw is not None:
        sections = tuple(
            ChangelogSection(
                s["type"], s["section"], bool(s.get("hidden") or False), s.get("scope")
            )
            for s in sections_raw
        )
    else:
        sections = PYTHON_SECTIONS if release_type == "python" else DEFAULT_SECTIONS

    extra_files = tuple(
        item
        if isinstance(item, str)
        else ExtraFile(
            item["type"],
            item["path"],
            item.get("jsonpath"),
            item.get("xpath"),
            bool(item.get("glob")),
        )
        for item in (pick("extra_files") or ())
    )
    component_opt = pick("component")
    package_name = pick("package_name")
    include_component = pick("include_component_in_tag")
    extra_labels = pick("extra_labels")
    pkg = PackageConfig(
        path=path,
        release_type=release_type,
        package_name=package_name,
        current_version=versions.get(path),
        include_component_in_tag=True if include_component is None else include_component,
        include_v_in_tag=True if pick("include_v_in_tag") is None else pick("include_v_in_tag"),
        # TagName's default parameter applies only to undefined: "" is kept.
        tag_separator="-" if pick("tag_separator") is None else pick("tag_separator"),
        changelog_path=pick("changelog_path") or "CHANGELOG.md",
        changelog_sections=sections,
        changelog_sections_configured=sections_raw is not None,
        changelog_type=pick("changelog_type") or "default",
        changelog_host=pick("changelog_host") or "https://github.com",
        bump_minor_pre_major=bool(pick("bump_minor_pre_major")),
        bump_patch_for_minor_pre_major=bool(pick("bump_patch_for_minor_pre_major")),
        release_as=pick("release_as") or None,
        initial_version=pick("initial_version") or None,
        versioning=pick("versioning") or "default",
        prerelease=bool(pick("prerelease")),
        prerelease_type=pick("prerelease_type"),
        pull_request_title_pattern=pick("pull_request_title_pattern") or DEFAULT_PR_TITLE_PATTERN,
        pull_request_header=pick("pull_request_header"),
        pull_request_footer=pick("pull_request_footer"),
        component_no_space=bool(pick("component_no_space")),
        extra_files=extra_files,
        exclude_paths=tuple(pick("exclude_paths") or ()),
        version_file=pick("version_file"),
        date_format=pick("date_format") or DEFAULT_DATE_FORMAT,
        draft=bool(pick("draft")),
        draft_pull_request=bool(pick("draft_pull_request")),
        skip_github_release=bool(pick("skip_github_release")),
        skip_changelog=bool(pick("skip_changelog")),
        separate_pull_requests=pick("separate_pull_requests"),
        extra_labels=tuple(extra_labels.split(",")) if extra_labels else (),
    )
    component, effective_name = _component(pkg, component_opt, read)
    return replace(pkg, component=component, package_name=effective_name)


def _normalize_component(release_type: str, name: str | None) -> str:
    if not name:
        return ""
    if release_type in ("node", "expo") and re.match(r"^@[\w-]+/", name):
        return name.split("/")[1]  # strategies/node.ts normalizeComponent
    return name


def _component(
    pkg: PackageConfig, component_opt: str | None, read: Callable[[str], str | None] | None
) -> tuple[str, str | None]:
    """(branch component, package name) as BaseStrategy computes them.

    component || normalize(packageName ?? getDefaultPackageName()); the package name is
    packageName ?? getDefaultPackageName(). The file is read only when the component needs it.
    """
    if pkg.package_name is not None:
        return component_opt or _normalize_component(
            pkg.release_type, pkg.package_name
        ), pkg.package_name
    if component_opt:
        return component_opt, None
    name = _default_package_name(pkg, read)
    return _normalize_component(pkg.release_type, name), name


def package_file(pkg: PackageConfig, file: str) -> str:
    """BaseStrategy.addPath: a file relative to the package ("/x" = relative to the root)."""
    if not pkg.path or pkg.path == ROOT_PATH or file.startswith("/"):
        file = file.lstrip("/")
    else:
        file = f"{pkg.path.rstrip('/')}/{file}"
    return file.rstrip("/")


def _default_package_name(
    pkg: PackageConfig, read: Callable[[str], str | None] | None
) -> str | None:
    """getDefaultPackageName() of the strategies that read one (none of the others do)."""
    kind = pkg.release_type
    source = {
        "node": "package.json",
        "expo": "package.json",
        "helm": "Chart.yaml",
        "rust": "Cargo.toml",
        "dart": "pubspec.yaml",
        "sfdx": "sfdx-project.json",
        "salesforce": "sfdx-project.json",
    }.get(kind)
    if source is None or read is None:
        return None
    path = package_file(pkg, source)
    text = read(path)
    if text is None:
        if kind == "rust":  # Rust.getManifest swallows a missing file
            return None
        # MissingRequiredFileError: the release type cannot work without it
        raise ConfigError(
            path,
            None,
            f"missing: release type {kind} reads the package name from it "
            "(or set component / package-name)",
        )
    try:
        if source.endswith(".json"):
            data = json.loads(text)
        elif source.endswith(".toml"):
            import tomllib

            data = tomllib.loads(text).get("package") or {}
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # noqa: BLE001 - any parse failure fails Release Please too
        raise ConfigError(path, None, f"cannot be parsed: {str(e).splitlines()[0]}") from None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)\Z")


def _js_key_order(obj: Mapping[str, Any]) -> list[str]:
    """Object key order as JavaScript iterates it: integer-like keys first, ascending."""
    ints = sorted((k for k in obj if _ARRAY_INDEX.match(k) and int(k) < 2**32 - 1), key=int)
    return ints + [k for k in obj if k not in ints]


# ---------------------------------------------------------------------------------------------
# Which packages a commit belongs to


def _normalize_path(path: str) -> str:
    # src/util/commit-utils.ts normalizePaths: drop one leading and one trailing slash.
    path = path.removesuffix("/")
    return path.removeprefix("/")


def packages_for_commit(config: ReleaseConfig, files: Sequence[str]) -> list[PackageConfig]:
    """The packages whose next release would include a commit touching `files`, in config order.

    Release Please gives the root package "." every commit; every other package gets the commits
    that touch a file under its path, the deepest package path winning when paths nest
    (CommitSplit sorts them longest first); a commit that touches no file goes to every package.
    A top-level file (no "/") is never split off to a package. A package whose configured path is
    not already normalized (e.g. "packages/api/") gets nothing: Manifest looks it up under the raw
    key. Then `exclude-paths` drops a commit from a package when every file it touches inside
    that package lies under one of the excluded paths (so an empty commit is dropped too).

    To split many commits, build a `CommitSplit` once and call it for each.
    """
    return CommitSplit(config)(files)


class CommitSplit:
    """`packages_for_commit` with the configuration's work done once: `split(files)`.

    `fixed` is the answer for every commit when it does not depend on the files (no package but
    the root, no `exclude-paths`), else None."""

    def __init__(self, config: ReleaseConfig):
        paths = [_normalize_path(p.path) for p in config.packages]
        deepest_first = sorted((path for path in paths if path != ROOT_PATH), key=lambda p: -len(p))
        self._prefixes = tuple((path + "/", path) for path in deepest_first)
        self._every = frozenset(deepest_first)  # what a commit that touches no file reaches
        self._packages = tuple(
            (p, p.path == ROOT_PATH, bool(p.exclude_paths)) for p in config.packages
        )
        self.fixed: tuple[PackageConfig, ...] | None = None
        if not self._prefixes and not any(p.exclude_paths for p in config.packages):
            self.fixed = tuple(p for p in config.packages if p.path == ROOT_PATH)

    def __call__(self, files: Sequence[str]) -> list[PackageConfig]:
        if self.fixed is not None:
            return list(self.fixed)
        if not files:
            claimed = self._every
        else:
            claimed = set()
            prefixes = self._prefixes
            for file in files:
                if "/" not in file:
                    continue
                for prefix, path in prefixes:
                    if file.startswith(prefix):
                        claimed.add(path)
                        break
        return [
            pkg
            for pkg, root, excludes in self._packages
            if (root or pkg.path in claimed) and not (excludes and _excluded(pkg, files))
        ]


def _excluded(pkg: PackageConfig, files: Sequence[str]) -> bool:
    if not pkg.exclude_paths:
        return False
    excludes = [_normalize_path(p) for p in pkg.exclude_paths]

    def relevant(file: str, path: str) -> bool:  # CommitExclude.isRelevant
        return path == ROOT_PATH or file.startswith(path + "/")

    inside = [f for f in files if relevant(f, pkg.path)]
    return all(any(relevant(f, ex) for ex in excludes) for f in inside)


def package_for_file(config: ReleaseConfig, path: str) -> PackageConfig | None:
    """The most specific package a change to `path` is released with (None: no package).

    That is the package claiming it by path unless its `exclude-paths` cover it; otherwise the
    root package ".", which sees every commit unless its own `exclude-paths` drop it.
    """
    owners = packages_for_commit(config, [path])
    specific = [p for p in owners if p.path != ROOT_PATH]
    if specific:
        return specific[0]
    return owners[0] if owners else None


__all__ = [
    "CHANGELOG_TYPES",
    "DEFAULT_GROUP_PR_TITLE_PATTERN",
    "DEFAULT_PR_TITLE_PATTERN",
    "PYTHON_SECTIONS",
    "RELEASE_TYPES",
    "VERSIONING_TYPES",
    "CommitSplit",
    "ConfigError",
    "ExtraFile",
    "PackageConfig",
    "ReleaseConfig",
    "default_config",
    "load_config",
    "package_file",
    "package_for_file",
    "packages_for_commit",
    "parse_version",
]
