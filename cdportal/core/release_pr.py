"""The Release PR Release Please would open: tag, branch, title, header and the files it changes.

Reproduces release-please 17.1.3: src/util/tag-name.ts, branch-name.ts, pull-request-title.ts,
pull-request-body.ts, src/plugins/merge.ts (grouped pull requests), src/strategies/base.ts
(extra files, addPath) and the strategies and updaters of the release types cdportal supports
(simple, node, python, rust, helm, go). The updaters are ported to behave byte for byte like the
JavaScript ones, including where that is surprising:

- `yaml` extra files are re-serialized by js-yaml (`yaml.dump`): comments go, sequences are
  re-indented, quotes dropped where YAML does not need them. core/js_yaml.py ports js-yaml's dumper.
- `json` extra files, package.json and lock files are re-serialized with JSON.stringify using the
  indentation detect-indent finds (none found: one line); see core/js_json.py.
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
from typing import Any

import yaml

from cdportal.core import js_json, js_yaml, jsonpath
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


def branch_name(
    config: ReleaseConfig, pkg: PackageConfig | None, target_branch: str | None = None
) -> str:
    """release-please--branches--<target>[--components--<component>]; pkg None = grouped PR.

    The component stays even when include-component-in-tag is false (getBranchComponent).
    `target_branch` defaults to the configuration's ("main" unless given).
    """
    target_branch = target_branch or config.target_branch
    if pkg is None or not pkg.component:
        return f"release-please--branches--{target_branch}"
    return f"release-please--branches--{target_branch}--components--{pkg.component}"


def pr_title(
    config: ReleaseConfig, pkg: PackageConfig, version: str, target_branch: str | None = None
) -> str:
    """PullRequestTitle.ofComponentTargetBranchVersion(...).toString()."""
    target_branch = target_branch or config.target_branch
    return _render_title(
        pkg.pull_request_title_pattern,
        pkg.tag_component,
        target_branch,
        _version(version),
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
    before, after = text[:i], text[i + len(search) :]
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


def manifest_change(
    manifest_text: str | None,
    versions: Mapping[str, str],
    *,
    path: str = ".release-please-manifest.json",
) -> FileChange:
    """The new .release-please-manifest.json (updaters/release-please-manifest.ts).

    Existing keys keep their order and new ones are appended; the indentation detect-indent finds
    is kept (a one-line manifest stays on one line), as is what surrounds the outer braces, so the
    trailing newline stays if there was one. No file: 2-space JSON without a trailing newline.
    """
    data: dict[str, Any] = js_json.parse(manifest_text) if manifest_text else {}
    if not isinstance(data, dict):
        raise BumpError(path, "is not a JSON object")
    for key, version in versions.items():
        data[key] = _version(version)
    after = (
        js_json.stringify_like(data, manifest_text)
        if manifest_text
        else js_json.stringify(data, "  ")
    )
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
                out.append(
                    (path, _chain(lambda c: _generic_json(c, "$.version", version), generic))
                )
            elif entry.endswith((".yaml", ".yml")):
                out.append(
                    (path, _chain(lambda c: _generic_yaml(c, "$.version", version), generic))
                )
            elif entry.endswith(".toml"):
                out.append(
                    (path, _chain(lambda c: _generic_toml(c, "$.version", version), generic))
                )
            elif entry.endswith(".xml"):
                out.append((path, _unsupported("xml")))
            else:
                out.append((path, generic))
            continue
        for path in _extra_file_paths(pkg, entry, files):
            path = _add_path(pkg, path)
            out.append((path, _extra_file_updater(entry, version, generic)))
    return out


def _extra_file_updater(
    entry: ExtraFile, version: str, generic: Callable[[str], str]
) -> Callable[[str], str]:
    expression = entry.jsonpath or "$"
    if entry.type == "generic":
        return generic
    if entry.type == "json":
        return lambda c: _generic_json(c, expression, version)
    if entry.type == "yaml":
        return lambda c: _generic_yaml(c, expression, version)
    if entry.type == "toml":
        return lambda c: _generic_toml(c, expression, version)
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


def _extra_file_paths(
    pkg: PackageConfig, entry: ExtraFile, files: Sequence[str] | None
) -> list[str]:
    if not entry.glob:
        return [entry.path]
    if files is None:
        return []
    # findFilesByGlobAndRef: minimatch against the full path, then made relative to the prefix.
    if entry.path.startswith("/"):
        return ["/" + f for f in files if _glob_match(entry.path[1:], f)]
    prefix = "" if pkg.path == ROOT_PATH else pkg.path.strip("/")
    matched = [
        f for f in files if (not prefix or f.startswith(prefix)) and _glob_match(entry.path, f)
    ]
    if not prefix:
        return matched
    return [f[len(prefix) + 1 :] for f in matched if f.startswith(prefix + "/")]


def _glob_match(pattern: str, path: str) -> bool:
    """minimatch (default options) for the patterns extra-files use: * ? ** [..] {a,b}."""
    return re.fullmatch(_glob_regex(pattern), path) is not None


def _glob_regex(pattern: str) -> str:
    braces = re.match(r"(.*?)\{([^{}]*)\}(.*)", pattern)
    if braces:
        return (
            "(?:"
            + "|".join(
                _glob_regex(braces.group(1) + alt + braces.group(3))
                for alt in braces.group(2).split(",")
            )
            + ")"
        )
    out = []
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(
                "(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*/)?"
                if not last
                else "(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*)?"
            )
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
                    body = part[j + 1 : k].replace("\\", "\\\\")
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
    name = _parse_json(text, path).get("name")
    return name if isinstance(name, str) else None


def _parse_json(text: str, path: str) -> Any:
    try:
        return js_json.parse(text)
    except js_json.JSONSyntaxError as e:
        raise BumpError(path, str(e)) from None


def _package_json(content: str, version: str) -> str:
    data = js_json.parse(content)
    data["version"] = version
    return js_json.stringify_like(data, content)


def _package_lock_json(content: str, version: str) -> str:
    data = js_json.parse(content)
    data["version"] = version
    if data.get("lockfileVersion") in (2, 3):
        packages = data.get("packages")
        if not isinstance(packages, dict) or not isinstance(packages.get(""), dict):
            raise TypeError("Cannot set properties of undefined (setting 'version')")
        packages[""]["version"] = version
    if not isinstance(data.get("packages"), dict | list):
        # The strategy passes an (empty) versions map, so this loop always runs.
        raise TypeError("Cannot convert undefined or null to object")
    return js_json.stringify_like(data, content)


def _samples_package_json(content: str, version: str, name: str) -> str:
    data = js_json.parse(content)
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(deps, dict) or not deps.get(name):
        return content
    deps[name] = f"^{version}"
    return js_json.stringify_like(data, content)


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
                rel = f[len(prefix) + 1 :] if prefix else f
                updates.append((at(rel), lambda c: _py_version_string(r"__version__", c, version)))
    return updates


def _setup_cfg(content: str, version: str) -> str:
    return _js_sub(
        r"(version ?= ?)[0-9]+\.[0-9]+\.[0-9]+(?:-\w+)?", lambda m: m.group(1) + version, content
    )


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
                payload = replace_toml_value(
                    payload, ["target", target, kind, name, "version"], new
                )
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
        out = (
            content[: m.start()]
            + f"version: {_yaml_plain_or_quoted(version)}"
            + m.group(3)
            + content[m.end() :]
        )
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
    out = _yaml_lib_layout(content[: m.start(2)] + new + content[m.end(2) :])
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
            while regions and (
                indent < regions[-1][0]
                or (indent == regions[-1][0] and not stripped.startswith("- ") and stripped != "-")
            ):
                regions.pop()
        shift = sum(s for _, s in regions)
        out.append(" " * shift + line if shift else line)
        if _BLOCK_SCALAR_START.match(line):
            block_indent = indent
            continue
        m = _EMPTY_VALUE_KEY.match(line)
        if m and not stripped.startswith("#"):
            key_indent = indent + (
                len(stripped) - len(stripped.lstrip("- ")) if stripped.startswith("- ") else 0
            )
            following = next(
                (ln for ln in lines[i + 1 :] if ln.strip() and not ln.strip().startswith("#")), ""
            )
            f_indent = len(following) - len(following.lstrip(" "))
            if (
                f_indent == key_indent
                and following.strip().startswith(("- ", "-"))
                and following.strip()[:2] in ("- ", "-")
            ):
                regions.append((key_indent, 2))
    return "\n".join(out)


def _yaml_plain_or_quoted(text: str) -> str:
    return (
        text
        if re.fullmatch(r"[0-9A-Za-z][\w.+-]*", text) and not js_yaml.is_ambiguous(text)
        else json.dumps(text)
    )


# --- generic ---------------------------------------------------------------------------------

_GENERIC_VERSION = re.compile(
    r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(-(?P<pre>[\w.]+))?(\+(?P<build>[-\w.]+))?",
    re.ASCII,
)
_INLINE = re.compile(r"x-release-please-(?P<scope>major|minor|patch|version-date|version|date)")
_BLOCK_START = re.compile(
    r"x-release-please-start-(?P<scope>major|minor|patch|version-date|version|date)"
)
_BLOCK_END = re.compile(r"x-release-please-end")


def _generic(content: str, version: str, today: dt.date, date_format: str) -> str:
    """updaters/generic.ts: x-release-please-* markers, line by line; lines end up joined by \\n."""
    if not content:
        return ""
    major, minor, patch = (int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())
    date_text = re.sub(
        r"%[Ymd]",
        lambda m: {"%Y": f"{today.year}", "%m": f"{today.month:02d}", "%d": f"{today.day:02d}"}[
            m.group()
        ],
        date_format,
    )
    date_re = re.compile(
        re.sub(r"%[Ymd]", lambda m: r"(\d{4})" if m.group() == "%Y" else r"(\d{2})", date_format),
        re.ASCII,
    )
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
        return (
            float(parts[int(index)]) if index.is_integer() and 0 <= index < len(parts) else math.nan
        )

    year, month, day = part("%Y"), part("%m"), part("%d")
    if any(math.isnan(x) for x in (year, month, day)):
        return False
    if year < 1 or month < 1 or month > 12 or day < 1 or day > 31:
        return False
    days = (
        dt.date(int(year) + int(month) // 12, int(month) % 12 + 1, 1) - dt.timedelta(days=1)
    ).day
    return day <= days


# --- generic json ----------------------------------------------------------------------------


def _generic_json(content: str, expression: str, version: str) -> str:
    data = js_json.parse(content)
    for match in jsonpath.find(data, expression):
        value = match.value
        if not isinstance(value, str) or not _GENERIC_VERSION.search(value):
            continue  # "No string in …" / "No version found in …": skipped with a warning
        if match.parent is None:
            raise TypeError("Cannot set properties of null")
        match.parent[match.key] = _GENERIC_VERSION.sub(lambda m: version, value, count=1)
    return js_json.stringify_like(data, content)


# --- generic yaml ----------------------------------------------------------------------------


def _generic_yaml(content: str, expression: str, version: str) -> str:
    try:
        docs = js_yaml.load_all(content)
    except (yaml.YAMLError, ValueError):
        return content  # "Invalid yaml, cannot be parsed": left alone
    modified = False
    for doc in docs:
        for match in jsonpath.find(doc, expression):
            if not isinstance(match.value, str):
                continue
            modified = True
            if match.parent is None:
                raise TypeError("Cannot set properties of null")
            match.parent[match.key] = version
    if not modified:
        return content
    if len(docs) == 1:
        return js_yaml.dump(docs[0])
    return "".join("---\n" + js_yaml.dump(doc) for doc in docs)


# --- generic toml ----------------------------------------------------------------------------


def _generic_toml(content: str, expression: str, version: str) -> str:
    try:
        data = tagged(tomllib.loads(content))
    except tomllib.TOMLDecodeError:
        return content  # "Invalid toml, cannot be parsed"
    paths = [m.pointer for m in jsonpath.find(data, expression)]
    out = content
    for path in paths:
        out = replace_toml_value(out, [p for p in path.split("/") if p], version)
    return out


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
