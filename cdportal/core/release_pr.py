"""The Release PR Release Please would open: tag, branch, title, header and the files it changes.

Reproduces release-please 17.1.3: src/util/tag-name.ts, branch-name.ts, pull-request-title.ts,
pull-request-body.ts, src/plugins/merge.ts (grouped pull requests), src/strategies/base.ts
(extra files, addPath) and the strategies and updaters of the release types cdportal supports
(simple, node, python, rust, helm, go). The updaters are ported to behave byte for byte like the
JavaScript ones, including where that is surprising:

- `yaml` extra files are re-serialized by js-yaml (`yaml.dump`): comments go, sequences are
  re-indented, quotes dropped where YAML does not need them. `_js_yaml_dump` ports js-yaml's dumper.
- `json` extra files, package.json and lock files are re-serialized with JSON.stringify using the
  indentation detect-indent finds (none found: one line).
- `toml` extra files, Cargo.toml, Cargo.lock and pyproject.toml keep their formatting: only the
  value's characters are replaced, always by a double-quoted string (toml-edit.ts). Integers and
  plain floats cannot be replaced at all (Release Please fails: "path not found in object").
- Helm's Chart.yaml gets `version` only, never `appVersion`.
- version.txt is rewritten to "<version>\\n" whatever it held.

Plain Python, no Django. TOML values are replaced in place (core/toml_edit.py); PyYAML only reads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from cdportal.core.release_config import (
    ROOT_PATH,
    ExtraFile,
    PackageConfig,
    ReleaseConfig,
    package_file,
    parse_version,
)
from cdportal.core.toml_edit import replace_toml_value, tagged

DEFAULT_PR_HEADER = ":robot: I have created a release *beep* *boop*"
DEFAULT_PR_FOOTER = (
    "This PR was generated with [Release Please](https://github.com/googleapis/release-please). "
    "See [documentation](https://github.com/googleapis/release-please#release-please)."
)
# Release types whose version files bumped_files knows; for any other type only `extra-files`
# are computed (go has nothing but the changelog, so it is complete too).
SUPPORTED_RELEASE_TYPES = ("go", "helm", "node", "python", "rust", "simple")

Read = Callable[[str], "str | None"]


class BumpError(ValueError):
    """Release Please itself would fail while preparing this file (the whole run stops)."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the repository root
    before: str | None  # None: the file is created
    after: str


# ---------------------------------------------------------------------------------------------
# Names: tag, release, branch, title, body header


def _version(version: str) -> str:
    parsed = parse_version(version)
    if parsed is None:
        raise ValueError(f"{version!r} is not a semantic version")
    return parsed


def tag_name(pkg: PackageConfig, version: str) -> str:
    """TagName(version, component if include-component-in-tag, tag-separator, include-v-in-tag)."""
    v = ("v" if pkg.include_v_in_tag else "") + _version(version)
    return f"{pkg.tag_component}{pkg.tag_separator}{v}" if pkg.tag_component else v


def release_name(pkg: PackageConfig, version: str) -> str:
    """The GitHub release's name: always with a `v`, `component: ` in front when tagged with it."""
    version = _version(version)
    return f"{pkg.tag_component}: v{version}" if pkg.tag_component else f"v{version}"


def branch_name(config: ReleaseConfig, pkg: PackageConfig | None, target_branch: str | None = None) -> str:
    """release-please--branches--<target>[--components--<component>]; pkg None = grouped PR.

    The component stays even when include-component-in-tag is false (getBranchComponent).
    `target_branch` defaults to the configuration's ("main" unless given).
    """
    target_branch = target_branch or config.target_branch
    if pkg is None or not pkg.component:
        return f"release-please--branches--{target_branch}"
    return f"release-please--branches--{target_branch}--components--{pkg.component}"


def pr_title(config: ReleaseConfig, pkg: PackageConfig, version: str, target_branch: str | None = None) -> str:
    """PullRequestTitle.ofComponentTargetBranchVersion(...).toString()."""
    target_branch = target_branch or config.target_branch
    return _render_title(
        pkg.pull_request_title_pattern, pkg.tag_component, target_branch, _version(version),
        pkg.component_no_space,
    )


def group_pr_title(
    config: ReleaseConfig, versions: Mapping[str, str], target_branch: str | None = None
) -> str:
    """The merged pull request's title (plugins/merge.ts); `versions` maps path -> new version.

    `${component}` and `${version}` come from the root package "." when it is part of the
    grouped release, and are empty otherwise; `component-no-space` comes from the first package.
    """
    target_branch = target_branch or config.target_branch
    root = config.package(ROOT_PATH) if ROOT_PATH in versions else None
    if root is not None and not is_grouped(config, root):
        root = None
    component = root.tag_component if root else ""
    version = _version(versions[ROOT_PATH]) if root else ""
    no_space = config.packages[0].component_no_space if config.packages else False
    return _render_title(
        config.group_pull_request_title_pattern, component, target_branch, version, no_space
    )


def pr_body_header(pkg: PackageConfig) -> str:
    """`pull-request-header`, literally (no `${version}` substitution), or the default."""
    return pkg.pull_request_header or DEFAULT_PR_HEADER


def pr_body_footer(pkg: PackageConfig) -> str:
    return pkg.pull_request_footer or DEFAULT_PR_FOOTER


def group_pr_body_header(config: ReleaseConfig) -> str:
    """A grouped PR takes header and footer from the *first* package only (Manifest: the key is
    always present after mergeReleaserConfig, even when its value is undefined)."""
    return pr_body_header(config.packages[0]) if config.packages else DEFAULT_PR_HEADER


def group_pr_body_footer(config: ReleaseConfig) -> str:
    return pr_body_footer(config.packages[0]) if config.packages else DEFAULT_PR_FOOTER


def is_grouped(config: ReleaseConfig, pkg: PackageConfig) -> bool:
    """Does this package's release go into the single merged pull request?"""
    return not config.separate_pull_requests and not pkg.separate_pull_requests


def _render_title(pattern: str, component: str, branch: str, version: str, no_space: bool) -> str:
    scope = f"({branch})" if branch else ""
    if no_space:
        shown = component
        if not component:
            pattern = _js_replace(pattern, "${component} ", "")
    else:
        shown = f" {component}" if component else ""
    out = _js_replace(pattern, "${scope}", scope)
    out = _js_replace(out, "${component}", shown)
    out = _js_replace(out, "${version}", version)
    out = _js_replace(out, "${branch}", branch)
    return out.strip()


def _js_replace(text: str, search: str, replacement: str) -> str:
    """String.prototype.replace with a string pattern: first occurrence, `$` patterns honoured."""
    i = text.find(search)
    if i < 0:
        return text
    before, after = text[:i], text[i + len(search):]
    expanded = re.sub(
        r"\$([$&`'])",
        lambda m: {"$": "$", "&": search, "`": before, "'": after}[m.group(1)],
        replacement,
    )
    return before + expanded + after


# ---------------------------------------------------------------------------------------------
# Files


@dataclass
class _Update:
    path: str
    updaters: list[Callable[[str], str]]


def bumped_files(
    pkg: PackageConfig,
    version: str,
    read: Read,
    *,
    files: Sequence[str] | None = None,
    today: dt.date | None = None,
) -> list[FileChange]:
    """The files Release Please changes for this release, besides the changelog and manifest.

    Strategy files first, then `extra-files`, merged per path in first-seen order like
    mergeUpdates; a missing file is skipped (Release Please logs "file X did not exist"), as is a
    file whose content would not change. `files` (every path in the repository) is needed only
    for glob extra files and python's version.py search; without it those are skipped. `today`
    feeds `x-release-please-date` markers (default: today in UTC). Raises BumpError where Release
    Please would fail; nothing is returned then.
    """
    version = _version(version)
    today = today or dt.datetime.now(dt.UTC).date()
    updates: list[_Update] = []

    def add(path: str, updater: Callable[[str], str]) -> None:
        for u in updates:
            if u.path == path:
                u.updaters.append(updater)
                return
        updates.append(_Update(path, [updater]))

    for path, updater in _strategy_updates(pkg, version, read, files):
        add(path, updater)
    for path, updater in _extra_file_updates(pkg, version, files, today):
        add(path, updater)

    changes = []
    for update in updates:
        before = read(update.path)
        if before is None:
            continue
        content: str = before
        try:
            for updater in update.updaters:
                content = updater(content)
        except (BumpError, NotImplementedError):
            raise
        except Exception as e:  # noqa: BLE001 - an updater that throws stops Release Please
            raise BumpError(update.path, str(e) or type(e).__name__) from None
        if content and content != before:
            changes.append(FileChange(update.path, before, content))
    return changes


def manifest_change(manifest_text: str | None, versions: Mapping[str, str], *,
                    path: str = ".release-please-manifest.json") -> FileChange:
    """The new .release-please-manifest.json (updaters/release-please-manifest.ts).

    Existing keys keep their order and new ones are appended; the indentation detect-indent finds
    is kept (a one-line manifest stays on one line), as is what surrounds the outer braces, so the
    trailing newline stays if there was one. No file: 2-space JSON without a trailing newline.
    """
    data: dict[str, Any] = _json_parse(manifest_text) if manifest_text else {}
    if not isinstance(data, dict):
        raise BumpError(path, "is not a JSON object")
    for key, version in versions.items():
        data[key] = _version(version)
    after = _json_stringify_like(data, manifest_text) if manifest_text else _js_json(data, "  ")
    return FileChange(path, manifest_text, after)


def _strategy_updates(
    pkg: PackageConfig, version: str, read: Read, files: Sequence[str] | None
) -> list[tuple[str, Callable[[str], str]]]:
    at = lambda file: _add_path(pkg, file)
    kind = pkg.release_type
    if kind == "simple":
        version_file = pkg.version_file if pkg.version_file is not None else "version.txt"
        return [(at(version_file), lambda c: version + "\n")]
    if kind == "node":
        name = pkg.package_name if pkg.package_name is not None else _node_package_name(pkg, read)
        return [
            (at("package-lock.json"), lambda c: _package_lock_json(c, version)),
            (at("npm-shrinkwrap.json"), lambda c: _package_lock_json(c, version)),
            (at("samples/package.json"), lambda c: _samples_package_json(c, version, name or "")),
            (at("package.json"), lambda c: _package_json(c, version)),
        ]
    if kind == "python":
        return _python_updates(pkg, version, read, files)
    if kind == "rust":
        return _rust_updates(pkg, version, read)
    if kind == "helm":
        return [(at("Chart.yaml"), lambda c: _chart_yaml(c, version))]
    return []


def _extra_file_updates(
    pkg: PackageConfig, version: str, files: Sequence[str] | None, today: dt.date
) -> list[tuple[str, Callable[[str], str]]]:
    out: list[tuple[str, Callable[[str], str]]] = []
    generic = lambda c: _generic(c, version, today, pkg.date_format)
    for entry in pkg.extra_files:
        if isinstance(entry, str):
            path = _add_path(pkg, entry)
            # Default updaters by file extension (release-please 16+), then the Generic one.
            if entry.endswith(".json"):
                out.append((path, _chain(lambda c: _generic_json(c, "$.version", version), generic)))
            elif entry.endswith((".yaml", ".yml")):
                out.append((path, _chain(lambda c: _generic_yaml(c, "$.version", version), generic)))
            elif entry.endswith(".toml"):
                out.append((path, _chain(lambda c: _generic_toml(c, "$.version", version), generic)))
            elif entry.endswith(".xml"):
                out.append((path, _unsupported("xml")))
            else:
                out.append((path, generic))
            continue
        for path in _extra_file_paths(pkg, entry, files):
            path = _add_path(pkg, path)
            out.append((path, _extra_file_updater(entry, version, generic)))
    return out


def _extra_file_updater(entry: ExtraFile, version: str, generic: Callable[[str], str]) -> Callable[[str], str]:
    jsonpath = entry.jsonpath or "$"
    if entry.type == "generic":
        return generic
    if entry.type == "json":
        return lambda c: _generic_json(c, jsonpath, version)
    if entry.type == "yaml":
        return lambda c: _generic_yaml(c, jsonpath, version)
    if entry.type == "toml":
        return lambda c: _generic_toml(c, jsonpath, version)
    return _unsupported(entry.type)


def _unsupported(kind: str) -> Callable[[str], str]:
    def fail(content: str) -> str:
        raise NotImplementedError(f"cdportal does not reproduce {kind} extra-file updates")

    return fail


def _chain(*updaters: Callable[[str], str]) -> Callable[[str], str]:
    def run(content: str) -> str:  # CompositeUpdater
        for updater in updaters:
            content = updater(content)
        return content or ""

    return run


def _extra_file_paths(pkg: PackageConfig, entry: ExtraFile, files: Sequence[str] | None) -> list[str]:
    if not entry.glob:
        return [entry.path]
    if files is None:
        return []
    # findFilesByGlobAndRef: minimatch against the full path, then made relative to the prefix.
    if entry.path.startswith("/"):
        return ["/" + f for f in files if _glob_match(entry.path[1:], f)]
    prefix = "" if pkg.path == ROOT_PATH else pkg.path.strip("/")
    matched = [f for f in files if (not prefix or f.startswith(prefix)) and _glob_match(entry.path, f)]
    if not prefix:
        return matched
    return [f[len(prefix) + 1:] for f in matched if f.startswith(prefix + "/")]


def _glob_match(pattern: str, path: str) -> bool:
    """minimatch (default options) for the patterns extra-files use: * ? ** [..] {a,b}."""
    return re.fullmatch(_glob_regex(pattern), path) is not None


def _glob_regex(pattern: str) -> str:
    braces = re.match(r"(.*?)\{([^{}]*)\}(.*)", pattern)
    if braces:
        return "(?:" + "|".join(
            _glob_regex(braces.group(1) + alt + braces.group(3)) for alt in braces.group(2).split(",")
        ) + ")"
    out = []
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append("(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*/)?" if not last else "(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*)?")
            continue
        seg = "" if part.startswith(".") else "(?!\\.)"
        j = 0
        while j < len(part):
            c = part[j]
            if c == "*":
                seg += "[^/]*"
            elif c == "?":
                seg += "[^/]"
            elif c == "[":
                k = part.find("]", j + 1)
                if k < 0:
                    seg += re.escape(c)
                else:
                    body = part[j + 1:k].replace("\\", "\\\\")
                    seg += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                    j = k
            else:
                seg += re.escape(c)
            j += 1
        out.append(seg + ("" if last else "/"))
    return "".join(out)


def _add_path(pkg: PackageConfig, file: str) -> str:
    path = package_file(pkg, file)
    if re.search(r"((^|/)\.{1,2}|^~|^/*)+/", path):
        raise BumpError(path, f"illegal pathing characters in path: {path}")
    return path


# --- node ------------------------------------------------------------------------------------


def _node_package_name(pkg: PackageConfig, read: Read) -> str | None:
    path = _add_path(pkg, "package.json")
    text = read(path)
    if text is None:  # Node.getPkgJsonContents: MissingRequiredFileError
        raise BumpError(path, "missing: the node release type requires it")
    name = _json_parse(text, path).get("name")
    return name if isinstance(name, str) else None


def _package_json(content: str, version: str) -> str:
    data = _json_parse(content)
    data["version"] = version
    return _json_stringify_like(data, content)


def _package_lock_json(content: str, version: str) -> str:
    data = _json_parse(content)
    data["version"] = version
    if data.get("lockfileVersion") in (2, 3):
        packages = data.get("packages")
        if not isinstance(packages, dict) or not isinstance(packages.get(""), dict):
            raise TypeError("Cannot set properties of undefined (setting 'version')")
        packages[""]["version"] = version
    if not isinstance(data.get("packages"), dict | list):
        # The strategy passes an (empty) versions map, so this loop always runs.
        raise TypeError("Cannot convert undefined or null to object")
    return _json_stringify_like(data, content)


def _samples_package_json(content: str, version: str, name: str) -> str:
    data = _json_parse(content)
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, dict) or not deps.get(name):
        return content
    deps[name] = f"^{version}"
    return _json_stringify_like(data, content)


# --- python ----------------------------------------------------------------------------------


def _python_updates(pkg: PackageConfig, version: str, read: Read, files: Sequence[str] | None):
    at = lambda file: _add_path(pkg, file)
    updates = [
        (at("setup.cfg"), lambda c: _setup_cfg(c, version)),
        (at("setup.py"), lambda c: _py_version_string(r"version", c, version)),
    ]
    pyproject_text = read(at("pyproject.toml"))
    project = None
    if pyproject_text is not None:
        try:
            project = _pyproject_section(tomllib.loads(pyproject_text))
        except tomllib.TOMLDecodeError:
            project = None
    # projectName = this.component (component || package-name), replaced by pyproject's name.
    name = pkg.component or None
    if project is not None:
        updates.append((at("pyproject.toml"), lambda c: _pyproject_toml(c, version)))
        name = project.get("name") if isinstance(project, dict) else None
        name = name if isinstance(name, str) else None
    if name:
        for candidate in (name, name.replace("-", "_")):
            for file in (f"{candidate}/__init__.py", f"src/{candidate}/__init__.py"):
                updates.append((at(file), lambda c: _py_version_string(r"__version__", c, version)))
    if files is not None:
        prefix = "" if pkg.path == ROOT_PATH else pkg.path.strip("/")
        for f in files:
            if f.rsplit("/", 1)[-1] == "version.py" and (not prefix or f.startswith(prefix + "/")):
                rel = f[len(prefix) + 1:] if prefix else f
                updates.append((at(rel), lambda c: _py_version_string(r"__version__", c, version)))
    return updates


def _setup_cfg(content: str, version: str) -> str:
    return _js_sub(r"(version ?= ?)[0-9]+\.[0-9]+\.[0-9]+(?:-\w+)?", lambda m: m.group(1) + version, content)


def _py_version_string(key: str, content: str, version: str) -> str:
    pattern = rf"({key} ?= ?[\"'])[0-9]+\.[0-9]+\.[0-9]+(?:-\w+)?([\"'])"
    return _js_sub(pattern, lambda m: m.group(1) + version + m.group(2), content)


def _pyproject_section(parsed: dict) -> Any:
    """`parsed.project || parsed.tool?.poetry` (an empty table is still truthy in JavaScript)."""
    if parsed.get("project") is not None:
        return parsed["project"]
    tool = parsed.get("tool")
    return tool.get("poetry") if isinstance(tool, dict) else None


def _pyproject_toml(content: str, version: str) -> str:
    parsed = tomllib.loads(content)
    in_project = parsed.get("project") is not None
    project = _pyproject_section(parsed)
    if not isinstance(project, dict) or not project.get("version"):
        if isinstance(project, dict) and "version" in (project.get("dynamic") or []):
            return content  # "dynamic version found in 'pyproject.toml'. Skipping update."
        raise ValueError("invalid file")
    path = ["project", "version"] if in_project else ["tool", "poetry", "version"]
    return replace_toml_value(content, path, version)


def _js_sub(pattern: str, repl: Callable[[re.Match], str], content: str) -> str:
    """String.replace with a non-global regex: the first match only."""
    return re.sub(pattern, repl, content, count=1, flags=re.ASCII)


# --- rust ------------------------------------------------------------------------------------


def _rust_updates(pkg: PackageConfig, version: str, read: Read):
    at = lambda file: _add_path(pkg, file)
    manifest_text = read(at("Cargo.toml"))
    manifest = _toml_or_fail(manifest_text, at("Cargo.toml")) if manifest_text is not None else None
    names: dict[str, str] = {}
    updates = []
    members = ((manifest or {}).get("workspace") or {}).get("members")
    if members is not None:  # an empty array is truthy in JavaScript
        own = ((manifest or {}).get("package") or {}).get("name")
        if own:
            names[own] = version
        member_paths = []
        for member in members:
            try:
                path = at(f"{member}/Cargo.toml")
            except BumpError:  # Rust.getContent swallows addPath's error too
                continue
            text = read(path)
            if text is None:  # "member X declared but did not find Cargo.toml" (globs too)
                continue
            member_paths.append(path)
            member_name = (_toml_or_fail(text, path).get("package") or {}).get("name")
            if member_name:
                names[member_name] = version
        for path in member_paths:
            updates.append((path, lambda c: _cargo_toml(c, version, names)))
        updates.append((at("Cargo.toml"), lambda c: _cargo_toml(c, version, names)))
    else:
        own = ((manifest or {}).get("package") or {}).get("name")
        if own:
            names[own] = version
        updates.append((at("Cargo.toml"), lambda c: _cargo_toml(c, version, names)))
    updates.append((at("Cargo.lock"), lambda c: _cargo_lock(c, names)))
    return updates


def _toml_or_fail(text: str, path: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BumpError(path, f"invalid TOML: {e}") from None


_DEP_KINDS = ("dependencies", "dev-dependencies", "build-dependencies")


def _cargo_toml(content: str, version: str, names: Mapping[str, str]) -> str:
    parsed = tomllib.loads(content)
    if not parsed.get("package"):
        raise ValueError("is not a package manifest (might be a cargo workspace)")
    payload = replace_toml_value(content, ["package", "version"], version)
    for name, new in names.items():
        for kind in _DEP_KINDS:
            dep = (parsed.get(kind) or {}).get(name)
            if not dep or isinstance(dep, str) or "path" not in dep or "version" not in dep:
                continue
            payload = replace_toml_value(payload, [kind, name, "version"], new)
        for target, table in (parsed.get("target") or {}).items():
            for kind in _DEP_KINDS:
                dep = (table.get(kind) or {}).get(name)
                if not dep or isinstance(dep, str) or "path" not in dep:
                    continue
                payload = replace_toml_value(payload, ["target", target, kind, name, "version"], new)
    return payload


def _cargo_lock(content: str, names: Mapping[str, str]) -> str:
    parsed = tomllib.loads(content)
    packages = parsed.get("package")
    if packages is None:
        raise ValueError("is not a Cargo lockfile")
    payload = content
    for i, entry in enumerate(packages):
        new = names.get(entry.get("name")) if entry.get("name") else None
        if new:
            payload = replace_toml_value(payload, ["package", str(i), "version"], new)
    return payload


# --- helm ------------------------------------------------------------------------------------

_CHART_VERSION = re.compile(
    r"^(version[ \t]*:[ \t]*)(\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'|[^\s#][^\n#]*?)?([ \t]*(?:#[^\n]*)?)$",
    re.MULTILINE,
)


def _chart_yaml(content: str, version: str) -> str:
    """updaters/helm/chart-yaml.ts: yaml's Document.set('version', v), then toString().

    The `yaml` library keeps comments and the scalar's quoting; we edit the top-level `version`
    line in place, which is what it prints for the usual Chart.yaml layout.
    """
    m = _CHART_VERSION.search(content)
    if m is not None and not m.group(2):
        out = content[: m.start()] + f"version: {_yaml_plain_or_quoted(version)}" + m.group(3) + content[m.end():]
        return out if out.endswith("\n") else out + "\n"
    if m is None:
        out = content if content.endswith("\n") or not content else content + "\n"
        return out + f"version: {_yaml_plain_or_quoted(version)}\n"
    old = m.group(2) or ""
    if old.startswith('"'):
        new = json.dumps(version)
    elif old.startswith("'"):
        new = "'" + version.replace("'", "''") + "'"
    else:
        new = _yaml_plain_or_quoted(version)
    out = _yaml_lib_layout(content[: m.start(2)] + new + content[m.end(2):])
    return out if out.endswith("\n") else out + "\n"


_BLOCK_SCALAR_START = re.compile(r"^\s*(?:-\s+)?(?:[^#\s][^#]*?:\s+)?[|>][-+0-9]*\s*(?:#.*)?$")
_EMPTY_VALUE_KEY = re.compile(r"^(\s*)(?:-\s+)?[^#\s-][^#]*?:\s*(?:#.*)?$")


def _yaml_lib_layout(content: str) -> str:
    """Two layout rules the `yaml` library applies when it prints a document back: a block
    sequence under a mapping key is indented by two spaces, and runs of blank lines shrink to
    one. (It also folds lines longer than 80 characters and respaces flow collections; those
    are not reproduced.)"""
    lines = content.split("\n")
    out: list[str] = []
    regions: list[tuple[int, int]] = []  # (key indent, shift) of sequences being re-indented
    block_indent: int | None = None  # inside a block scalar owned by a line at this indent
    blank_run = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not stripped or indent > block_indent:
                out.append((" " * sum(s for _, s in regions)) + line if stripped else line)
                continue
            block_indent = None
        if not stripped:
            blank_run += 1
            if blank_run == 1 or i == len(lines) - 1:
                out.append(line)
            continue
        blank_run = 0
        if not stripped.startswith("#"):
            while regions and (indent < regions[-1][0] or (
                    indent == regions[-1][0] and not stripped.startswith("- ") and stripped != "-")):
                regions.pop()
        shift = sum(s for _, s in regions)
        out.append(" " * shift + line if shift else line)
        if _BLOCK_SCALAR_START.match(line):
            block_indent = indent
            continue
        m = _EMPTY_VALUE_KEY.match(line)
        if m and not stripped.startswith("#"):
            key_indent = indent + (len(stripped) - len(stripped.lstrip("- ")) if stripped.startswith("- ") else 0)
            following = next((ln for ln in lines[i + 1:] if ln.strip() and not ln.strip().startswith("#")), "")
            f_indent = len(following) - len(following.lstrip(" "))
            if f_indent == key_indent and following.strip().startswith(("- ", "-")) and following.strip()[:2] in ("- ", "-"):
                regions.append((key_indent, 2))
    return "\n".join(out)


def _yaml_plain_or_quoted(text: str) -> str:
    return text if re.fullmatch(r"[0-9A-Za-z][\w.+-]*", text) and not _yaml_ambiguous(text) else json.dumps(text)


# --- generic ---------------------------------------------------------------------------------

_GENERIC_VERSION = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-(?P<pre>[\w.]+))?(\+(?P<build>[-\w.]+))?", re.ASCII
)
_INLINE = re.compile(r"x-release-please-(?P<scope>major|minor|patch|version-date|version|date)")
_BLOCK_START = re.compile(r"x-release-please-start-(?P<scope>major|minor|patch|version-date|version|date)")
_BLOCK_END = re.compile(r"x-release-please-end")


def _generic(content: str, version: str, today: dt.date, date_format: str) -> str:
    """updaters/generic.ts: x-release-please-* markers, line by line; lines end up joined by \\n."""
    if not content:
        return ""
    major, minor, patch = (int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())
    date_text = re.sub(r"%[Ymd]", lambda m: {"%Y": f"{today.year}", "%m": f"{today.month:02d}",
                                               "%d": f"{today.day:02d}"}[m.group()], date_format)
    date_re = re.compile(re.sub(r"%[Ymd]", lambda m: r"(\d{4})" if m.group() == "%Y" else r"(\d{2})",
                                date_format), re.ASCII)
    date_ok = _valid_date(date_text, date_format)

    def replace(line: str, scope: str) -> str:
        if scope == "date":
            return date_re.sub(lambda m: date_text, line, count=1) if date_ok else line
        if scope == "version-date":
            line = date_re.sub(lambda m: date_text, line, count=1) if date_ok else line
            return _GENERIC_VERSION.sub(lambda m: version, line, count=1)
        if scope == "major":
            return re.sub(r"\d+\b", str(major), line, count=1, flags=re.ASCII)
        if scope == "minor":
            return re.sub(r"\b\d+\b", str(minor), line, count=1, flags=re.ASCII)
        if scope == "patch":
            return re.sub(r"\b\d+\b", str(patch), line, count=1, flags=re.ASCII)
        return _GENERIC_VERSION.sub(lambda m: version, line, count=1)

    out = []
    block: str | None = None
    for line in re.split(r"\r?\n", content):
        inline = _INLINE.search(line)
        if inline:
            out.append(replace(line, inline.group("scope") or "version"))
        elif block:
            out.append(replace(line, block))
            if _BLOCK_END.search(line):
                block = None
        else:
            start = _BLOCK_START.search(line)
            if start:
                block = start.group("scope") or "version"
            out.append(line)
    return "\n".join(out)


def _valid_date(text: str, date_format: str) -> bool:
    """generic.ts isValidDate: the parts found where %Y, %m and %d sit in the format."""
    parts = re.findall(r"\d+", text, re.ASCII)
    if not parts:
        return False

    def part(token: str) -> float:
        index = date_format.find(token) / 3
        return float(parts[int(index)]) if index.is_integer() and 0 <= index < len(parts) else math.nan

    year, month, day = part("%Y"), part("%m"), part("%d")
    if any(math.isnan(x) for x in (year, month, day)):
        return False
    if year < 1 or month < 1 or month > 12 or day < 1 or day > 31:
        return False
    days = (dt.date(int(year) + int(month) // 12, int(month) % 12 + 1, 1) - dt.timedelta(days=1)).day
    return day <= days


# --- generic json ----------------------------------------------------------------------------


def _generic_json(content: str, jsonpath: str, version: str) -> str:
    data = _json_parse(content)
    for match in _jsonpath(data, jsonpath):
        value = match.value
        if not isinstance(value, str) or not _GENERIC_VERSION.search(value):
            continue  # "No string in …" / "No version found in …": skipped with a warning
        if match.parent is None:
            raise TypeError("Cannot set properties of null")
        match.parent[match.key] = _GENERIC_VERSION.sub(lambda m: version, value, count=1)
    return _json_stringify_like(data, content)


# --- generic yaml ----------------------------------------------------------------------------


def _generic_yaml(content: str, jsonpath: str, version: str) -> str:
    try:
        docs = list(yaml.load_all(content, Loader=_JsYamlLoader))
    except (yaml.YAMLError, ValueError):
        return content  # "Invalid yaml, cannot be parsed": left alone
    modified = False
    for doc in docs:
        for match in _jsonpath(doc, jsonpath):
            if not isinstance(match.value, str):
                continue
            modified = True
            if match.parent is None:
                raise TypeError("Cannot set properties of null")
            match.parent[match.key] = version
    if not modified:
        return content
    if len(docs) == 1:
        return _js_yaml_dump(docs[0])
    return "".join("---\n" + _js_yaml_dump(doc) for doc in docs)


# --- generic toml ----------------------------------------------------------------------------


def _generic_toml(content: str, jsonpath: str, version: str) -> str:
    try:
        data = tagged(tomllib.loads(content))
    except tomllib.TOMLDecodeError:
        return content  # "Invalid toml, cannot be parsed"
    paths = [m.pointer for m in _jsonpath(data, jsonpath)]
    out = content
    for path in paths:
        out = replace_toml_value(out, [p for p in path.split("/") if p], version)
    return out


# ---------------------------------------------------------------------------------------------
# JSON as JavaScript reads and writes it


def _json_parse(text: str, path: str | None = None) -> Any:
    def number(s: str) -> Any:
        f = float(s)
        return int(f) if f.is_integer() and abs(f) < 2**53 and "." not in s and "e" not in s.lower() else f

    def reject(name: str) -> Any:
        raise ValueError(f"Unexpected token {name[0]} in JSON")

    def js_keys(pairs: list[tuple[str, Any]]) -> dict:
        obj: dict[str, Any] = {}
        for k, v in pairs:
            obj[k] = v
        return _js_ordered(obj)

    try:
        return json.loads(text, parse_int=number, parse_float=number, parse_constant=reject,
                          object_pairs_hook=js_keys)
    except json.JSONDecodeError as e:
        message = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        if path:
            raise BumpError(path, message) from None
        raise ValueError(message) from None


_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)\Z")


def _js_ordered(obj: dict) -> dict:
    """Object property order in JavaScript: integer-like keys first, ascending."""
    ints = [k for k in obj if isinstance(k, str) and _ARRAY_INDEX.match(k) and int(k) < 2**32 - 1]
    if not ints:
        return obj
    ints.sort(key=int)
    return {**{k: obj[k] for k in ints}, **{k: v for k, v in obj.items() if k not in ints}}


def _json_stringify_like(data: Any, original: str) -> str:
    """util/json-stringify.ts: keep what surrounds the outer braces, indent as detect-indent says."""
    # content.slice(0, indexOf('{')) and slice(lastIndexOf('}') + 1), -1 included.
    head = original[: original.find("{")] if "{" in original else original[:-1]
    tail = original[original.rfind("}") + 1:]
    return head + _js_json(data, _detect_indent(original.strip())) + tail


def _js_json(value: Any, gap: str, indent: str = "") -> str:
    """JSON.stringify(value, null, gap)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _js_number(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    inner = indent + gap
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [_js_json(v, gap, inner) for v in value]
        if not gap:
            return "[" + ",".join(items) + "]"
        return "[\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "]"
    if isinstance(value, dict):
        value = _js_ordered(value)
        if not value:
            return "{}"
        sep = ": " if gap else ":"
        items = [json.dumps(str(k), ensure_ascii=False) + sep + _js_json(v, gap, inner) for k, v in value.items()]
        if not gap:
            return "{" + ",".join(items) + "}"
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "}"
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _js_number(x: float) -> str:
    """Number.prototype.toString()."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if x == 0:
        return "0"
    if isinstance(x, int) and abs(x) < 10**21:
        return str(x)
    sign, digits, exp = Decimal(repr(float(x))).normalize().as_tuple()
    ds = "".join(map(str, digits))
    k = len(ds)
    n = exp + k
    out = ""
    if k <= n <= 21:
        out = ds + "0" * (n - k)
    elif 0 < n <= 21:
        out = ds[:n] + "." + ds[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + ds
    else:
        e = n - 1
        mant = ds if k == 1 else ds[0] + "." + ds[1:]
        out = f"{mant}e{'+' if e > 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + out


def _detect_indent(text: str) -> str:
    """detect-indent 6.1: the most used indentation step ('' when there is none)."""

    def indents_map(ignore_single_spaces: bool) -> dict:
        indents: dict[Any, list[int]] = {}
        previous_size = 0
        previous_type = None
        key = None
        for line in text.split("\n"):
            if not line:
                continue
            m = re.match(r"^(?:( )+|\t+)", line)
            if m is None:
                previous_size = 0
                previous_type = ""
                continue
            size = len(m.group(0))
            kind = "s" if m.group(1) else "t"
            if ignore_single_spaces and kind == "s" and size == 1:
                continue
            if kind != previous_type:
                previous_size = 0
            previous_type = kind
            weight = 0
            difference = size - previous_size
            previous_size = size
            if difference == 0:
                weight += 1
            else:
                key = f"{kind}{abs(difference)}"
            entry = indents.get(key)
            indents[key] = [1, 0] if entry is None else [entry[0] + 1, entry[1] + weight]
        return indents

    indents = indents_map(True) or indents_map(False)
    best, used, weight = None, 0, 0
    for key, (count, w) in indents.items():
        if count > used or (count == used and w > weight):
            best, used, weight = key, count, w
    if best is None:
        return ""
    return (" " if best[0] == "s" else "\t") * int(best[1:])


# ---------------------------------------------------------------------------------------------
# JSONPath as jsonpath-plus evaluates it (the subset configurations use)


@dataclass
class _Match:
    value: Any
    parent: Any
    key: Any
    pointer: str


def _jsonpath(data: Any, expression: str) -> list[_Match]:
    steps = _jsonpath_steps(expression)
    results: list[_Match] = []
    _trace(steps, data, None, None, [], results)
    return results


def _jsonpath_steps(expression: str) -> list[tuple[str, Any]]:
    expr = expression.strip()
    if not expr.startswith("$"):  # jsonpath-plus reads "a.b" as "$.a.b"
        expr = "$" + ("" if expr.startswith("[") else ".") + expr
    i, steps = 1, []
    while i < len(expr):
        if expr.startswith("..", i):
            steps.append(("descend", None))
            i += 2
            if i < len(expr) and expr[i] != "[":
                m = re.match(r"[^.\[]+", expr[i:])
                steps.append(("name", m.group(0)))
                i += len(m.group(0))
        elif expr[i] == ".":
            m = re.match(r"[^.\[]+", expr[i + 1:])
            if not m:
                raise ValueError(f"unsupported jsonpath {expression!r}")
            steps.append(("name", m.group(0)))
            i += 1 + len(m.group(0))
        elif expr[i] == "[":
            j, depth, quote = i + 1, 1, None
            while j < len(expr) and depth:
                c = expr[j]
                if quote:
                    if c == "\\":
                        j += 1
                    elif c == quote:
                        quote = None
                elif c in "'\"":
                    quote = c
                elif c == "[":
                    depth += 1
                elif c == "]":
                    depth -= 1
                j += 1
            steps.append(_bracket(expr[i + 1:j - 1].strip(), expression))
            i = j
        else:
            raise ValueError(f"unsupported jsonpath {expression!r}")
    return steps


def _bracket(body: str, expression: str) -> tuple[str, Any]:
    if body.startswith("?"):
        m = re.fullmatch(r"\?\((.*)\)", body, re.DOTALL)
        if not m:
            raise ValueError(f"unsupported jsonpath filter in {expression!r}")
        return ("filter", _FilterExpr(m.group(1), expression))
    if body == "*":
        return ("name", "*")
    if re.fullmatch(r"-?\d*:-?\d*(:-?\d*)?", body):
        parts = [int(p) if p else None for p in body.split(":")]
        return ("slice", tuple(parts + [None] * (3 - len(parts))))
    names = []
    for part in re.findall(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,]+", body):
        part = part.strip()
        if part[:1] in "'\"":
            part = part[1:-1]
        if part:
            names.append(part)
    return ("names", names) if len(names) > 1 else ("name", names[0] if names else "")


def _children(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def _escape_pointer(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _trace(steps, value, parent, key, path, out) -> None:
    if not steps:
        pointer = "".join("/" + _escape_pointer(p) for p in path)
        out.append(_Match(value, parent, key, pointer))
        return
    kind, arg = steps[0]
    rest = steps[1:]
    if kind == "descend":
        _trace(rest, value, parent, key, path, out)
        for k, child in _children(value):
            if isinstance(child, dict | list):
                _trace(steps, child, value, k, path + [k], out)
        return
    if kind == "name" and arg == "*":
        for k, child in _children(value):
            _trace(rest, child, value, k, path + [k], out)
        return
    if kind in ("name", "names"):
        for name in ([arg] if kind == "name" else arg):
            if isinstance(value, dict) and name in value:
                _trace(rest, value[name], value, name, path + [name], out)
            elif isinstance(value, list) and re.fullmatch(r"0|[1-9]\d*", name) and int(name) < len(value):
                _trace(rest, value[int(name)], value, int(name), path + [int(name)], out)
        return
    if kind == "slice" and isinstance(value, list):
        for idx in range(len(value))[slice(*arg)]:
            _trace(rest, value[idx], value, idx, path + [idx], out)
        return
    if kind == "filter":
        for k, child in _children(value):
            if arg.test(child, k):
                _trace(rest, child, value, k, path + [k], out)


class _FilterExpr:
    """A jsonpath-plus filter `?(...)`: @-paths, literals, comparisons, && || ! and parentheses,
    with JavaScript's comparison rules (so a tagged TOML string never equals a string)."""

    _TOKEN = re.compile(
        r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+(?:\.\d+)?)"
        r"|(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[<>!()])|(?P<at>@(?:\.[A-Za-z_$][\w$-]*|\[[^\]]*\])*)"
        r"|(?P<word>true|false|null|undefined))"
    )

    def __init__(self, source: str, expression: str):
        self.tokens = []
        pos = 0
        source = source.strip()
        while pos < len(source):
            m = self._TOKEN.match(source, pos)
            if not m or m.end() == pos:
                raise ValueError(f"unsupported jsonpath filter in {expression!r}")
            self.tokens.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
            while pos < len(source) and source[pos].isspace():
                pos += 1
        self.expression = expression

    def test(self, value: Any, key: Any) -> bool:
        self.pos, self.value = 0, value
        result = self._or()
        return _js_truthy(result)

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _take(self):
        token = self._peek()
        self.pos += 1
        return token

    def _or(self):
        left = self._and()
        while self._peek() == ("op", "||"):
            self._take()
            right = self._and()
            left = left if _js_truthy(left) else right
        return left

    def _and(self):
        left = self._cmp()
        while self._peek() == ("op", "&&"):
            self._take()
            right = self._cmp()
            left = right if _js_truthy(left) else left
        return left

    def _cmp(self):
        left = self._unary()
        while self._peek()[0] == "op" and self._peek()[1] in ("===", "!==", "==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._unary()
            left = _js_compare(op, left, right)
        return left

    def _unary(self):
        kind, text = self._take()
        if (kind, text) == ("op", "!"):
            return not _js_truthy(self._unary())
        if (kind, text) == ("op", "("):
            inner = self._or()
            if self._take() != ("op", ")"):
                raise ValueError(f"unsupported jsonpath filter in {self.expression!r}")
            return inner
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word":
            return {"true": True, "false": False, "null": None, "undefined": _UNDEFINED}[text]
        if kind == "at":
            current: Any = self.value
            for part in re.findall(r"\.([A-Za-z_$][\w$-]*)|\[([^\]]*)\]", text[1:]):
                name = part[0] or part[1].strip().strip("'\"")
                if isinstance(current, dict) and name in current:
                    current = current[name]
                elif isinstance(current, list) and name.isdigit() and int(name) < len(current):
                    current = current[int(name)]
                elif isinstance(current, str | list) and name == "length":
                    current = len(current)
                else:
                    current = _UNDEFINED
                    break
            return current
        raise ValueError(f"unsupported jsonpath filter in {self.expression!r}")


_UNDEFINED = object()


def _js_truthy(v: Any) -> bool:
    if v is _UNDEFINED or v is None or v is False:
        return False
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v != 0 and not math.isnan(v)
    if isinstance(v, str):
        return v != ""
    return True


def _js_compare(op: str, a: Any, b: Any) -> bool:
    def primitive(v):
        return v is None or v is _UNDEFINED or isinstance(v, str | int | float | bool)

    if op in ("===", "!=="):
        same = (type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)
                and not isinstance(a, bool) and not isinstance(b, bool))) and (
            a == b if primitive(a) else a is b)
        return same if op == "===" else not same
    if op in ("==", "!="):
        if not primitive(a) or not primitive(b):
            same = a is b
        elif a in (None, _UNDEFINED) or b in (None, _UNDEFINED):
            same = a in (None, _UNDEFINED) and b in (None, _UNDEFINED)
        elif isinstance(a, str) and isinstance(b, str):
            same = a == b
        else:
            same = _js_to_number(a) == _js_to_number(b)
        return same if op == "==" else not same
    if not primitive(a) or not primitive(b):
        return False
    if isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        x, y = _js_to_number(a), _js_to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def _js_to_number(v: Any) -> float:
    if v is None or v is False:
        return 0.0
    if v is True:
        return 1.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


# ---------------------------------------------------------------------------------------------
# YAML as js-yaml 4 reads (DEFAULT_SCHEMA, json: true) and dumps it


class _JsDate:
    """A js-yaml timestamp: a JavaScript Date, dumped with toISOString()."""

    def __init__(self, moment: dt.datetime):
        self.moment = moment

    def iso(self) -> str:
        return self.moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.moment.microsecond // 1000:03d}Z"


_YAML_INT = re.compile(r"^[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)$")
_YAML_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_YAML_FLOAT_SPECIAL = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_YAML_DATE = re.compile(r"^([0-9][0-9][0-9][0-9])-([0-9][0-9])-([0-9][0-9])$")
_YAML_TIMESTAMP = re.compile(
    r"^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9])"
    r":([0-9][0-9])(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?$"
)


def _js_parse_float_prefix(text: str) -> float:
    m = re.match(r"\s*([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))", text, re.ASCII)
    return float(m.group(1)) if m else math.nan


def _yaml_is_int(text: str) -> bool:
    if not _YAML_INT.match(text):
        return False
    try:
        return math.isfinite(float(_yaml_int_value(text)))
    except OverflowError:  # parseInt gives Infinity
        return False


def _yaml_int_value(text: str) -> float:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0b", "0x", "0o"):
        return sign * int(body[2:], {"0b": 2, "0x": 16, "0o": 8}[body[:2]])
    return sign * int(body, 10)


def _yaml_is_float(text: str) -> bool:
    if not _YAML_FLOAT.match(text):
        return False
    return math.isfinite(_js_parse_float_prefix(text)) or bool(_YAML_FLOAT_SPECIAL.match(text))


def _yaml_ambiguous(text: str) -> bool:
    """js-yaml's testImplicitResolving: would the plain scalar read back as something else?"""
    return (
        text in ("~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "<<")
        or _yaml_is_int(text) or _yaml_is_float(text)
        or bool(_YAML_DATE.match(text) or _YAML_TIMESTAMP.match(text))
    )


class _JsYamlLoader(yaml.SafeLoader):
    """PyYAML reading scalars the way js-yaml's DEFAULT_SCHEMA does (YAML 1.2 core + timestamp)."""


_JsYamlLoader.yaml_implicit_resolvers = {}
for _tag_name, _regex, _first in (
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), list("~nN") + [""]),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    ("tag:yaml.org,2002:int", _YAML_INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789.")),
    ("tag:yaml.org,2002:timestamp", re.compile(_YAML_DATE.pattern + "|" + _YAML_TIMESTAMP.pattern), list("0123456789")),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"]),
):
    _JsYamlLoader.add_implicit_resolver(_tag_name, _regex, _first)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    if not _yaml_is_int(text):  # too large: js-yaml falls through to float or string
        return float(text) if _yaml_is_float(text) and math.isfinite(float(text)) else text
    value = _yaml_int_value(text)
    return int(value) if abs(value) < 2**53 else float(value)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    if not _yaml_is_float(text):
        return text
    lowered = text.lower()
    sign = -1.0 if lowered.startswith("-") else 1.0
    body = lowered.lstrip("+-")
    if body == ".inf":
        return sign * math.inf
    if body == ".nan":
        return math.nan
    return sign * _js_parse_float_prefix(body)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return loader.construct_scalar(node) in ("true", "True", "TRUE")


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)
    m = _YAML_DATE.match(text)
    if m:
        return _JsDate(dt.datetime(int(m[1]), int(m[2]), int(m[3])))
    m = _YAML_TIMESTAMP.match(text)
    if not m:
        return text
    fraction = int((m[7] or "")[:3].ljust(3, "0")) if m[7] else 0
    moment = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), fraction * 1000)
    if m[9]:
        delta = dt.timedelta(hours=int(m[10]), minutes=int(m[11] or 0))
        moment = moment - delta if m[9] == "+" else moment + delta
    return _JsDate(moment)


def _js_string(value: Any) -> str:
    """String(value) for a mapping key."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_number(value) if math.isfinite(value) else ("NaN" if math.isnan(value) else
                                                                ("Infinity" if value > 0 else "-Infinity"))
    if isinstance(value, list):
        return ",".join("" if v is None else ("[object Object]" if isinstance(v, dict) else _js_string(v))
                        for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    data: dict[str, Any] = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[_js_string(key)] = loader.construct_object(value_node, deep=True)


for _tag_name, _constructor in (
    ("tag:yaml.org,2002:int", _construct_int),
    ("tag:yaml.org,2002:float", _construct_float),
    ("tag:yaml.org,2002:bool", _construct_bool),
    ("tag:yaml.org,2002:timestamp", _construct_timestamp),
    ("tag:yaml.org,2002:map", _construct_map),
):
    _JsYamlLoader.add_constructor(_tag_name, _constructor)


# js-yaml dumper (lib/dumper.js), default options: indent 2, lineWidth 80, single quotes.
_ESCAPES = {0x00: "\\0", 0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v",
            0x0C: "\\f", 0x0D: "\\r", 0x1B: "\\e", 0x22: '\\"', 0x5C: "\\\\", 0x85: "\\N",
            0xA0: "\\_", 0x2028: "\\L", 0x2029: "\\P"}
_DEPRECATED_BOOLEANS = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
                        "n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_BASE60 = re.compile(r"^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$")
_PLAIN, _SINGLE, _LITERAL, _FOLDED, _DOUBLE = range(1, 6)


def _to_utf16(text: str) -> str:
    """Astral characters as surrogate pairs, so indices count like JavaScript's."""
    return "".join(
        c if ord(c) < 0x10000 else chr(0xD800 + ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 + ((ord(c) - 0x10000) & 0x3FF))
        for c in text
    )


def _from_utf16(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _code_point_at(s: str, i: int) -> int:
    first = ord(s[i])
    if 0xD800 <= first <= 0xDBFF and i + 1 < len(s):
        second = ord(s[i + 1])
        if 0xDC00 <= second <= 0xDFFF:
            return (first - 0xD800) * 0x400 + second - 0xDC00 + 0x10000
    return first


def _printable(c: int) -> bool:
    return (0x20 <= c <= 0x7E or (0xA1 <= c <= 0xD7FF and c not in (0x2028, 0x2029))
            or (0xE000 <= c <= 0xFFFD and c != 0xFEFF) or 0x10000 <= c <= 0x10FFFF)


def _ns_char_or_white(c: int) -> bool:
    return _printable(c) and c != 0xFEFF and c != 0x0D and c != 0x0A


def _plain_safe(c: int, prev: int | None, inblock: bool) -> bool:
    c_ns_or_white = _ns_char_or_white(c)
    c_ns = c_ns_or_white and c not in (0x20, 0x09)
    safe = (c_ns_or_white if inblock else c_ns_or_white and c not in (0x2C, 0x5B, 0x5D, 0x7B, 0x7D))
    return (
        (safe and c != 0x23 and not (prev == 0x3A and not c_ns))
        or (prev is not None and _ns_char_or_white(prev) and prev not in (0x20, 0x09) and c == 0x23)
        or (prev == 0x3A and c_ns)
    )


def _plain_safe_first(c: int) -> bool:
    return _printable(c) and c != 0xFEFF and c not in (0x20, 0x09) and chr(c) not in "-?:,[]{}#&*!|=>'\"%@`"


def _choose_style(s: str, single_line_only: bool, line_width: int, inblock: bool) -> int:
    plain = _plain_safe_first(_code_point_at(s, 0)) and (
        _code_point_at(s, len(s) - 1) not in (0x20, 0x09, 0x3A))
    has_line_break = False
    has_foldable = False
    previous_break = -1
    prev = None
    i = 0
    char = 0
    while i < len(s):
        char = _code_point_at(s, i)
        if not single_line_only and char == 0x0A:
            has_line_break = True
            has_foldable = has_foldable or (i - previous_break - 1 > line_width and s[previous_break + 1] != " ")
            previous_break = i
        elif not _printable(char):
            return _DOUBLE
        plain = plain and _plain_safe(char, prev, inblock)
        prev = char
        i += 2 if char >= 0x10000 else 1
    if not single_line_only:
        has_foldable = has_foldable or (i - previous_break - 1 > line_width and s[previous_break + 1] != " ")
    if not has_line_break and not has_foldable:
        return _PLAIN if plain and not _yaml_ambiguous(s) else _SINGLE
    return _FOLDED if has_foldable else _LITERAL


def _indent_string(s: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line and line != "\n" else line for line in re.findall(r"[^\n]*\n|[^\n]+$", s))


def _block_header(s: str) -> str:
    indicator = "2" if re.match(r"^\n* ", s) else ""
    clip = s.endswith("\n")
    keep = clip and (s[-2:-1] == "\n" or s == "\n")
    return indicator + ("+" if keep else ("" if clip else "-")) + "\n"


def _drop_ending_newline(s: str) -> str:
    return s.removesuffix("\n")


def _fold_line(line: str, width: int) -> str:
    if line == "" or line[0] == " ":
        return line
    start = curr = 0
    result = ""
    for m in re.finditer(r" [^ ]", line):
        nxt = m.start()
        if nxt - start > width:
            end = curr if curr > start else nxt
            result += "\n" + line[start:end]
            start = end + 1
        curr = nxt
    result += "\n"
    if len(line) - start > width and curr > start:
        result += line[start:curr] + "\n" + line[curr + 1:]
    else:
        result += line[start:]
    return result[1:]


def _fold_string(s: str, width: int) -> str:
    next_lf = s.find("\n")
    next_lf = next_lf if next_lf != -1 else len(s)
    result = _fold_line(s[:next_lf], width)
    prev_more_indented = s[:1] in ("\n", " ")
    for m in re.compile(r"(\n+)([^\n]*)").finditer(s, next_lf):
        prefix, line = m.group(1), m.group(2)
        more_indented = line[:1] == " "
        result += prefix + ("\n" if not prev_more_indented and not more_indented and line != "" else "") + _fold_line(line, width)
        prev_more_indented = more_indented
    return result


def _escape_double(s: str) -> str:
    out = ""
    i = 0
    while i < len(s):
        c = _code_point_at(s, i)
        if c not in _ESCAPES and _printable(c):
            out += s[i:i + (2 if c >= 0x10000 else 1)]
        else:
            out += _ESCAPES.get(c) or (
                f"\\x{c:02X}" if c <= 0xFF else (f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}"))
        i += 2 if c >= 0x10000 else 1
    return out


class _YamlDumper:
    def __init__(self, value: Any):
        self.dump: Any = None
        self.tag: str | None = None
        self.duplicates: list[Any] = []
        self.used: list[bool] = []
        seen: list[Any] = []
        dup_indexes: list[int] = []
        self._inspect(value, seen, dup_indexes)
        self.duplicates = [seen[i] for i in dup_indexes]
        self.used = [False] * len(self.duplicates)

    def _inspect(self, value: Any, seen: list, dups: list) -> None:
        if isinstance(value, dict | list):
            index = next((i for i, o in enumerate(seen) if o is value), -1)
            if index != -1:
                if index not in dups:
                    dups.append(index)
                return
            seen.append(value)
            for _, child in _children(value):
                self._inspect(child, seen, dups)

    def scalar(self, s: str, level: int, iskey: bool, inblock: bool) -> str:
        if not s:
            return "''"
        if s in _DEPRECATED_BOOLEANS or _BASE60.match(s):
            return "'" + s + "'"
        indent = 2 * max(1, level)
        width = max(min(80, 40), 80 - indent)
        style = _choose_style(s, iskey, width, inblock)
        if style == _PLAIN:
            return s
        if style == _SINGLE:
            return "'" + s.replace("'", "''") + "'"
        if style == _LITERAL:
            return "|" + _block_header(s) + _drop_ending_newline(_indent_string(s, indent))
        if style == _FOLDED:
            return ">" + _block_header(s) + _drop_ending_newline(_indent_string(_fold_string(s, width), indent))
        return '"' + _escape_double(s) + '"'

    def represent(self, value: Any) -> str | None:
        """detectType over the implicit types: null, bool, int, float, timestamp."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            if isinstance(value, float) and math.isnan(value):
                return ".nan"
            if isinstance(value, float) and math.isinf(value):
                return ".inf" if value > 0 else "-.inf"
            if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
                return "-0.0"
            if isinstance(value, int) or value.is_integer():  # js-yaml int type: toString()
                return _js_number(value)
            text = _js_number(value)  # float type: "5e-7" needs a dot in YAML
            return text.replace("e", ".e", 1) if re.match(r"^[-+]?[0-9]+e", text) else text
        if isinstance(value, _JsDate):
            return value.iso()
        return None

    def node(self, level: int, value: Any, block: bool, compact: bool, iskey: bool = False) -> bool:
        represented = self.represent(value)
        if represented is not None:
            self.tag = "?"
            self.dump = represented
            return True
        self.tag = None
        inblock = block
        duplicate_index = -1
        if isinstance(value, dict | list):
            duplicate_index = next((i for i, o in enumerate(self.duplicates) if o is value), -1)
        duplicate = duplicate_index != -1
        if duplicate:
            compact = False
        if duplicate and self.used[duplicate_index]:
            self.dump = f"*ref_{duplicate_index}"
            return True
        if duplicate:
            self.used[duplicate_index] = True
        if isinstance(value, dict):
            if value:
                self.mapping(level, value, compact)
                if duplicate:
                    self.dump = f"&ref_{duplicate_index}" + self.dump
            else:
                self.dump = "{}" if not duplicate else f"&ref_{duplicate_index} {{}}"
        elif isinstance(value, list):
            if value:
                self.sequence(level, value, compact)
                if duplicate:
                    self.dump = f"&ref_{duplicate_index}" + self.dump
            else:
                self.dump = "[]" if not duplicate else f"&ref_{duplicate_index} []"
        elif isinstance(value, str):
            self.dump = self.scalar(_to_utf16(value), level, iskey, inblock)
        else:
            raise TypeError(f"unacceptable kind of an object to dump: {type(value).__name__}")
        return True

    def sequence(self, level: int, items: list, compact: bool) -> None:
        result = ""
        for item in items:
            self.node(level + 1, item, True, True)
            if not compact or result:
                result += "\n" + "  " * level
            result += "-" if self.dump.startswith("\n") else "- "
            result += self.dump
        self.dump = result or "[]"

    def mapping(self, level: int, mapping: dict, compact: bool) -> None:
        result = ""
        for key, value in _js_ordered(mapping).items():
            pair = "" if compact and not result else "\n" + "  " * level
            self.node(level + 1, _js_string(key), True, True, iskey=True)
            explicit = len(self.dump) > 1024
            if explicit:
                pair += "?" if self.dump.startswith("\n") else "? "
            pair += self.dump
            if explicit:
                pair += "\n" + "  " * level
            self.node(level + 1, value, True, explicit)
            pair += ":" if self.dump.startswith("\n") else ": "
            pair += self.dump
            result += pair
        self.dump = result or "{}"


def _js_yaml_dump(value: Any) -> str:
    dumper = _YamlDumper(value)
    dumper.node(0, value, True, True)
    return _from_utf16(dumper.dump) + "\n"


__all__ = [
    "DEFAULT_PR_FOOTER",
    "DEFAULT_PR_HEADER",
    "SUPPORTED_RELEASE_TYPES",
    "BumpError",
    "FileChange",
    "branch_name",
    "bumped_files",
    "group_pr_body_footer",
    "group_pr_body_header",
    "group_pr_title",
    "is_grouped",
    "manifest_change",
    "pr_body_footer",
    "pr_body_header",
    "pr_title",
    "release_name",
    "tag_name",
]
