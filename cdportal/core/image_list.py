"""Argo CD Image Updater's configuration: which images an Application tracks, and how.

Two sources, as in argocd-image-updater v1.x:

- the `argocd-image-updater.argoproj.io/*` annotations on the Application (`policies_from_annotations`;
  v1.x reads them when an ImageUpdater applicationRef has `useAnnotations: true`, v0.x always);
- the `ImageUpdater` custom resource (`policies_from_image_updater`).

Both give `tag_policy.ImagePolicy` objects, the effective per-image settings after the updater's own
merging. Semantics: docs/image-updater.md §2–§3 (pkg/argocd/annotations.go, argocd.go,
update.go; registry-scanner/pkg/image/image.go, credentials.go).

`tracked_images` / `tag_parameter` keep serving ingest's simpler question: which image repositories,
under which alias, and which Helm parameter holds the tag.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cdportal.core.credentials import (
    CredentialReference,
    CredentialReferenceError,
    parse_credential_reference,
)
from cdportal.core.go_glob import glob_match, glob_valid
from cdportal.core.tag_policy import HelmTarget, ImagePolicy, WriteBack, go_join

PREFIX = "argocd-image-updater.argoproj.io/"
IMAGE_LIST = PREFIX + "image-list"
DEFAULT_TAG_PARAMETER = "image.tag"
DEFAULT_NAME_PARAMETER = "image.name"

# Go's unicode.IsSpace, which strings.TrimSpace uses (Python's str.strip also trims \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _trim(value: str) -> str:
    return value.strip(_GO_SPACE)


class ConfigError(ValueError):
    """The updater skips the Application; str() is the message it logs."""


@dataclass(frozen=True)
class AppInfo:
    """The parts of an Argo CD Application the configuration depends on."""

    name: str = ""
    namespace: str = ""
    source_path: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # The updater's namespace; None = the Application's (the default write-back file name then
    # omits the namespace).
    controller_namespace: str | None = None


# ---------------------------------------------------------------------------------------------
# Image identifiers (registry-scanner/pkg/image/image.go: NewFromIdentifier)


@dataclass(frozen=True)
class ImageReference:
    alias: str
    registry: str
    name: str
    tag: str | None  # None: no tag at all; in the image-list this is the version constraint
    digest: str | None
    original: str

    @property
    def full_name(self) -> str:
        """GetFullNameWithoutTag."""
        if self.registry and not self.name.startswith(self.registry + "/"):
            return f"{self.registry}/{self.name}"
        return self.name


# distribution/reference v0.6.0 grammar (regexp.go); Go's \w in tags is ASCII.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_AND_PORT = (
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])(?::[0-9]+)?"
)
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(
    rf"((?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME})"
    r"(?::([0-9A-Za-z_][0-9A-Za-z_.-]{0,127}))?"
    r"(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?\Z"
)
_ANCHORED_NAME = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})\Z")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def _parse_normalized_named(ref: str) -> tuple[str, str, str, str] | None:
    """reference.ParseNormalizedNamed: (domain, path, tag, digest) or None when it fails."""
    if re.fullmatch(r"[a-f0-9]{64}", ref):
        return None
    slash = ref.find("/")
    head = ref[:slash]
    if slash == -1 or (
        not any(c in head for c in ".:") and head != "localhost" and head.lower() == head
    ):
        domain, remainder = "docker.io", ref
    else:
        domain, remainder = head, ref[slash + 1 :]
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        return None
    m = _REFERENCE.match(f"{domain}/{remainder}")
    if m is None or len(m.group(1)) > 255:
        return None
    digest = m.group(3) or ""
    if digest:
        algorithm, _, encoded = digest.partition(":")
        if _DIGEST_LENGTHS.get(algorithm) != len(encoded) or not re.fullmatch(
            r"[a-f0-9]+", encoded
        ):
            return None
    name = _ANCHORED_NAME.match(m.group(1))
    return name.group(1) or "", name.group(2), m.group(2) or "", digest


def parse_image_reference(identifier: str) -> ImageReference:
    """`[alias=]image[:tag][@digest]` as NewFromIdentifier reads it, including the legacy fallback
    parser for references Docker's grammar rejects (constraints like `~1.2`, upper case)."""
    alias, ref = "", identifier
    if "=" in identifier:
        alias, ref = identifier.split("=", 1)
    parsed = _parse_normalized_named(ref)
    if parsed is not None:
        domain, path, tag, digest = parsed
        registry = "" if domain == "docker.io" and not ref.startswith("docker.io") else domain
        if domain == "docker.io" and not ref.startswith("library/"):
            path = path.removeprefix("library/")  # only Docker Hub's implicit namespace (#1783)
        return ImageReference(alias, registry, path, tag or None, digest or None, identifier)
    # getRegistryFromIdentifier / getImageTagFromIdentifier
    parts = identifier.split("=")
    image_string = parts[1] if len(parts) > 1 else identifier
    components = image_string.split("/")
    registry = components[0] if len(components) > 1 and "." in components[0] else ""
    source, image_string = ("", identifier)
    if "=" in identifier:
        source, image_string = identifier.split("=", 1)
    components = image_string.split("/")
    if len(components) > 1 and "." in components[0]:
        image_string = "/".join(components[1:])
    if "@" in image_string:
        before, digest = image_string.split("@", 1)
        colon, slash = before.rfind(":"), before.rfind("/")
        if colon > slash:
            return ImageReference(
                source, registry, before[:colon], before[colon + 1 :], digest, identifier
            )
        return ImageReference(source, registry, before, "", digest, identifier)
    if ":" not in image_string:
        return ImageReference(source, registry, image_string, None, None, identifier)
    name, tag = image_string.split(":", 1)
    return ImageReference(source, registry, name, tag, None, identifier)


# ---------------------------------------------------------------------------------------------
# Pull secrets (parsed by core/credentials.py)


def _source_dict(ref: CredentialReference) -> dict:
    """The reference as the Image Updater's CredentialSource fields (what the image list reports)."""
    if ref.is_secret:
        source = {
            "type": ref.kind,
            "namespace": ref.namespace,
            "name": ref.name,
            "field": ref.field,
        }
    elif ref.kind == "env":
        source = {"type": "env", "env": ref.variable}
    else:
        source = {"type": "ext", "script": ref.script}
    return {**source, "registry": ref.registry} if ref.registry else source


def pull_secret_source(policy: ImagePolicy, app: AppInfo | None = None) -> dict | None:
    """The parsed pull secret; `error` when it cannot be parsed, `update_error` when v1.x refuses it
    at update time because the secret lives outside the Application's namespace (#1733)."""
    if not policy.pull_secret:
        return None
    try:
        source = _source_dict(parse_credential_reference(policy.pull_secret))
    except CredentialReferenceError as e:
        return {"error": str(e)}
    if (
        app is not None
        and app.namespace
        and source["type"] in ("secret", "pullsecret")
        and source["namespace"] != app.namespace
    ):
        source["update_error"] = (
            f"commonUpdateSettings.pullSecret namespace '{source['namespace']}' differs from app "
            f"namespace '{app.namespace}'"
        )
    return source


def describe_policy(policy: ImagePolicy, app: AppInfo | None = None) -> dict:
    """The effective per-image configuration as a plain dict (the shape of the annotation vectors)."""
    kustomize = None
    if policy.kustomize_image:
        ref = parse_image_reference(policy.kustomize_image)
        kustomize = {"registry": ref.registry, "image": ref.name}
    return {
        "alias": policy.alias,
        "image_name": policy.image_name,
        "registry": policy.registry,
        "image": policy.repository,
        "constraint": policy.constraint or None,
        "constraint_digest": policy.constraint_digest,
        "update_strategy": policy.update_strategy.value,
        "force_update": policy.force_update,
        "allow_tags": policy.allow_tags,
        "match": policy.tag_match.to_dict(),
        "ignore_tags": list(policy.ignore_tags),
        "pull_secret": policy.pull_secret,
        "pull_secret_source": pull_secret_source(policy, app),
        "platforms": list(policy.platforms),
        "helm": policy.helm.to_dict(),
        "kustomize_image": kustomize,
    }


# ---------------------------------------------------------------------------------------------
# Annotations, v1.x (pkg/argocd/annotations.go) and v0.x (registry-scanner options.go GetParameter*)


def _go_quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _parse_bool(value: str) -> bool:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {_go_quote(value)}: invalid syntax")


def _settings_from_annotations(annotations: Mapping[str, str], alias: str) -> dict:
    """getCommonUpdateSettingsFromAnnotations: only the keys that are set (trimmed, non-empty,
    except ignore-tags, whose empty entries count). Raises ValueError for a bad force-update."""
    key = (lambda name: f"{PREFIX}{alias}.{name}") if alias else (lambda name: PREFIX + name)
    settings: dict = {}
    if (value := annotations.get(key("update-strategy"))) is not None and _trim(value):
        settings["update_strategy"] = _trim(value)
    if (value := annotations.get(key("force-update"))) is not None:
        try:
            settings["force_update"] = _parse_bool(_trim(value))
        except ValueError as e:
            raise ValueError(f"error parsing force update settings: {e}") from None
    if (value := annotations.get(key("allow-tags"))) is not None and _trim(value):
        settings["allow_tags"] = _trim(value)
    if (value := annotations.get(key("ignore-tags"))) is not None:
        settings["ignore_tags"] = tuple(_trim(t) for t in value.split(","))
    if (value := annotations.get(key("pull-secret"))) is not None and _trim(value):
        settings["pull_secret"] = _trim(value)
    if alias and (value := annotations.get(key("platforms"))) is not None:
        platforms = tuple(p for p in (_trim(p) for p in value.split(",")) if p)
        if platforms:
            settings["platforms"] = platforms
    return settings


def _targets_from_annotations(annotations: Mapping[str, str], alias: str) -> dict:
    """getManifestTargetsFromAnnotations."""
    targets = {}
    for name, key in (
        ("kustomize", "kustomize.image-name"),
        ("helm_name", "helm.image-name"),
        ("helm_tag", "helm.image-tag"),
        ("helm_spec", "helm.image-spec"),
    ):
        value = annotations.get(f"{PREFIX}{alias}.{key}")
        if value is not None and _trim(value):
            targets[name] = _trim(value)
    if "kustomize" in targets and any(k.startswith("helm") for k in targets):
        raise ValueError(
            f"both helm and kustomize manifest targets configured for alias {_go_quote(alias)}"
        )
    return targets


def policies_from_annotations(
    annotations: Mapping[str, str],
    *,
    app: AppInfo | None = None,
    flavor: str = "v1",
) -> list[ImagePolicy]:
    """The images an Application's annotations configure, as the v1.x controller reads them with
    `useAnnotations: true` (flavor "v1") or as v0.x did (flavor "v0").

    v1 raises ConfigError with the updater's message when it would skip the Application; v0 returns
    [] for an Application without an image-list (v0.x does not select it)."""
    app = app or AppInfo()
    if flavor == "v0":
        return _policies_v0(annotations, app)
    if flavor != "v1":
        raise ValueError(f"unknown annotation flavor {flavor!r}")
    where = f"app {app.namespace}/{app.name}"
    if IMAGE_LIST not in annotations:
        raise ConfigError(
            f"Could not create image list, skipping: {IMAGE_LIST} annotation not found on {where}"
        )
    images = []
    for entry in annotations[IMAGE_LIST].split(","):
        entry = _trim(entry)
        if not entry:
            continue
        alias, image_name, settings, targets = "", entry, {}, {}
        if "=" in entry:
            alias, image_name = (_trim(part) for part in entry.split("=", 1))
            if not image_name:
                raise ConfigError(
                    f"Could not create image list, skipping: empty image name in {IMAGE_LIST} "
                    f"annotation on {where}"
                )
            if alias:
                try:
                    settings = _settings_from_annotations(annotations, alias)
                except ValueError as e:
                    raise ConfigError(
                        f"Could not create image list, skipping: parse common update settings "
                        f"for alias {_go_quote(alias)}: {e}"
                    ) from None
                try:
                    targets = _targets_from_annotations(annotations, alias)
                except ValueError as e:
                    raise ConfigError(
                        f"Could not create image list, skipping: parse manifest targets for "
                        f"alias {_go_quote(alias)}: {e}"
                    ) from None
        images.append((alias, image_name, settings, targets))
    if not images:
        raise ConfigError(
            f"Could not create image list, skipping: {IMAGE_LIST} annotation is empty on {where}"
        )
    try:
        write_back = write_back_from_settings(_write_back_from_annotations(annotations), app)
    except ValueError as e:
        raise ConfigError(f"Could not create write-back config, skipping: {e}") from None
    try:
        app_settings = _settings_from_annotations(annotations, "")
    except ValueError as e:
        raise ConfigError(f"Could not create common update settings, skipping: {e}") from None
    return [
        _policy(alias, image_name, {**app_settings, **settings}, targets, write_back)
        for alias, image_name, settings, targets in images
    ]


def _policy(
    alias: str,
    image_name: str,
    settings: Mapping,
    targets: Mapping,
    write_back: WriteBack | None,
    **extra,
) -> ImagePolicy:
    """newImageFromCommonUpdateSettings + newImageFromManifestTargetSettings + NewFromIdentifier."""
    ref = parse_image_reference(f"{alias}={image_name}")
    if not alias:
        helm = HelmTarget()  # getHelmParamNames: images without alias use the defaults
    elif targets.get("helm_spec"):
        helm = HelmTarget(None, None, _trim(targets["helm_spec"]))
    else:
        helm = HelmTarget(
            targets.get("helm_name") or DEFAULT_NAME_PARAMETER,
            targets.get("helm_tag") or DEFAULT_TAG_PARAMETER,
            None,
        )
    return ImagePolicy(
        image=ref.full_name,
        alias=alias,
        image_name=image_name,
        registry=ref.registry,
        repository=ref.name,
        constraint=ref.tag or "",
        constraint_digest=ref.digest,
        strategy=settings.get("update_strategy"),
        allow_tags=settings.get("allow_tags") or "",
        ignore_tags=tuple(settings.get("ignore_tags") or ()),
        platforms=tuple(settings.get("platforms") or ()),
        force_update=bool(settings.get("force_update", False)),
        pull_secret=settings.get("pull_secret") or None,
        helm=helm,
        kustomize_image=targets.get("kustomize"),
        write_back=write_back,
        **extra,
    )


def _policies_v0(annotations: Mapping[str, str], app: AppInfo) -> list[ImagePolicy]:
    """v0.x: per-image key if present (even empty), else the app-wide one; key built from the
    alias with '/' replaced by '_'; every comma-separated entry is an image."""
    if IMAGE_LIST not in annotations:
        return []
    policies = []
    for entry in annotations[IMAGE_LIST].split(","):
        ref = parse_image_reference(_trim(entry))
        lookup = _v0_lookup(annotations, ref.alias.replace("/", "_"))

        allow = lookup("allow-tags") or lookup("tag-match", app_wide=False) or ""
        ignore = lookup("ignore-tags") or ""
        secret = lookup("pull-secret")
        try:
            secret = secret if secret and parse_credential_reference(secret) else None
        except CredentialReferenceError:
            secret = None  # logged and ignored by v0.x
        spec = lookup("helm.image-spec", app_wide=False) or ""
        helm = (
            HelmTarget(None, None, spec)
            if spec
            else HelmTarget(
                lookup("helm.image-name", app_wide=False) or DEFAULT_NAME_PARAMETER,
                lookup("helm.image-tag", app_wide=False) or DEFAULT_TAG_PARAMETER,
                "",
            )
        )
        platforms = lookup("platforms", app_wide=False) or ""
        policies.append(
            ImagePolicy(
                image=ref.full_name,
                alias=ref.alias,
                image_name=entry.strip(_GO_SPACE).split("=", 1)[-1],
                registry=ref.registry,
                repository=ref.name,
                constraint=ref.tag or "",
                constraint_digest=ref.digest,
                strategy=lookup("update-strategy") or None,
                allow_tags=allow,
                ignore_tags=tuple(t for t in (_trim(t) for t in _trim(ignore).split(",")) if t),
                platforms=tuple(p for p in (_trim(p) for p in platforms.split(",")) if p),
                force_update=lookup("force-update") == "true",
                pull_secret=secret,
                helm=helm,
                kustomize_image=lookup("kustomize.image-name", app_wide=False) or None,
                write_back=None,
            )
        )
    return policies


def _v0_lookup(annotations: Mapping[str, str], symbolic: str):
    def lookup(name: str, app_wide: bool = True) -> str | None:
        if f"{PREFIX}{symbolic}.{name}" in annotations:
            return annotations[f"{PREFIX}{symbolic}.{name}"]
        return annotations.get(PREFIX + name) if app_wide else None

    return lookup


# ---------------------------------------------------------------------------------------------
# Write-back (pkg/argocd/argocd.go newWBCFromSettings; update.go parseTarget/parseGitConfig)


def _write_back_from_annotations(annotations: Mapping[str, str]) -> dict:
    settings, git = {}, {}
    for key, name, bucket in (
        ("write-back-method", "method", settings),
        ("write-back-target", "writeBackTarget", git),
        ("git-branch", "branch", git),
        ("git-repository", "repository", git),
    ):
        value = annotations.get(PREFIX + key)
        if value is not None and _trim(value):
            bucket[name] = _trim(value)
    if git:
        settings["gitConfig"] = git
    return settings


_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def write_back_from_settings(settings: Mapping | None, app: AppInfo) -> WriteBack:
    """A CR-style writeBackConfig (`{method, gitConfig: {repository, branch, writeBackTarget}}`)
    resolved for `app`; ValueError with the updater's message when it is invalid."""
    settings = settings or {}
    raw_method = settings.get("method")
    if raw_method is None or _trim(raw_method) == "argocd":
        return WriteBack()
    method, creds = _trim(raw_method), "repocreds"
    if (index := method.find(":")) > 0:
        method, creds = method[:index], method[index + 1 :]
    if method != "git":
        raise ValueError(f"invalid update mechanism: {raw_method}")
    git = settings.get("gitConfig") or {}
    controller = app.controller_namespace or app.namespace
    # parseDefaultTarget: the namespace joins the file name only for apps outside the controller's.
    if app.namespace == controller or controller == "default" or not app.namespace:
        target = go_join(app.source_path, f".argocd-source-{app.name}.yaml")
    else:
        target = go_join(app.source_path, f".argocd-source-{app.namespace}_{app.name}.yaml")
    kustomize_base = None
    if (wanted := git.get("writeBackTarget")) is not None:
        if wanted.startswith("kustomization"):
            kustomize_base = _relative_target(wanted, "kustomization", app.source_path, ".")
        elif wanted.startswith("helmvalues"):
            target = _relative_target(wanted, "helmvalues", app.source_path, "values.yaml")
        elif posixpath.basename(wanted) in _KUSTOMIZATION_FILES:
            raise ValueError(
                f"git write-back target {_go_quote(wanted)} looks like a standard kustomization file; writing "
                "image parameter overrides to it would discard its existing content. Use writeBackTarget: "
                '"kustomization:<path>" to update it in place instead, or point the target at a dedicated '
                "override file"
            )
        else:
            target = wanted
    branch = write_branch = None
    if (value := git.get("branch")) is not None:
        branches = _trim(value).split(":")
        if len(branches) > 2:
            raise ValueError(f"invalid format for git-branch: {value}")
        branch = branches[0] or None
        write_branch = (branches[1] or None) if len(branches) == 2 else None
    if creds != "repocreds" and not creds.startswith("secret:"):
        raise ValueError(
            "invalid git credentials source: unexpected credentials format. Expected 'repocreds' or "
            f"'secret:<namespace>/<secret>' but got '{creds}'"
        )
    return WriteBack(
        "git", creds, branch, write_branch, git.get("repository"), target, kustomize_base
    )


def _relative_target(target: str, prefix: str, source_path: str, default: str) -> str:
    """parseTarget / parseKustomizeBase: `<prefix>`, `<prefix>:<rel>` or `<prefix>:/<from repo root>`."""
    if target == prefix:
        return go_join(source_path, default)
    base = target[len(prefix) + 1 :]
    return base[1:] if base.startswith("/") else go_join(source_path, base)


# ---------------------------------------------------------------------------------------------
# The ImageUpdater custom resource (api/v1alpha1/imageupdater_types.go; argocd.go)

_CR_SETTINGS = {
    "updateStrategy": "update_strategy",
    "forceUpdate": "force_update",
    "allowTags": "allow_tags",
    "ignoreTags": "ignore_tags",
    "pullSecret": "pull_secret",
    "platforms": "platforms",
}


def _cr_settings(*layers: Mapping | None) -> dict:
    """mergeCommonUpdateSettings: a field that is set replaces; lists are replaced, not joined."""
    merged: dict = {}
    for layer in layers:
        for key, name in _CR_SETTINGS.items():
            if layer and layer.get(key) is not None:
                merged[name] = layer[key]
    return merged


def _cr_write_back(global_config: Mapping | None, ref_config: Mapping | None) -> dict:
    """mergeWBCSettings."""
    merged = {
        "method": (global_config or {}).get("method"),
        "gitConfig": dict((global_config or {}).get("gitConfig") or {}),
    }
    if ref_config:
        if ref_config.get("method") is not None:
            merged["method"] = ref_config["method"]
        for key in ("repository", "branch", "writeBackTarget"):
            if (ref_config.get("gitConfig") or {}).get(key) is not None:
                merged["gitConfig"][key] = ref_config["gitConfig"][key]
    return {k: v for k, v in merged.items() if v is not None}


def specificity(ref: Mapping) -> int:
    """calculateSpecificity: how specific an applicationRef is (higher wins)."""
    pattern = ref.get("namePattern") or ""
    score = 0 if any(c in pattern for c in "*?[]") else 1_000_000
    literals = re.sub(r"\[.*?]", "", pattern).replace("*", "").replace("?", "")
    score += len(literals.encode())
    selectors = ref.get("labelSelectors")
    if selectors is not None:
        score += (
            10_000
            + 100 * len(selectors.get("matchLabels") or {})
            + 100 * len(selectors.get("matchExpressions") or [])
        )
    return score


def _labels_match(labels: Mapping[str, str], selectors: Mapping | None) -> bool:
    """metav1.LabelSelectorAsSelector(...).Matches; an invalid selector matches nothing."""
    if selectors is None:
        return True
    for key, value in (selectors.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selectors.get("matchExpressions") or []:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator == "In":
            if not values or labels.get(key) not in values:
                return False
        elif operator == "NotIn":
            if not values or (key in labels and labels[key] in values):
                return False
        elif operator == "Exists":
            if values or key not in labels:
                return False
        elif operator == "DoesNotExist":
            if values or key in labels:
                return False
        else:
            return False
    return True


def policies_from_image_updater(cr: Mapping, app: AppInfo | None = None) -> list[ImagePolicy]:
    """The images an ImageUpdater CR (v1.x) configures for `app`.

    The first applicationRef (by specificity) whose namePattern and labelSelectors match the
    Application decides; with `useAnnotations: true` the Application's annotations are read instead
    (`policies_from_annotations`). [] when no ref selects the Application (or it lives in another
    namespace than the CR). Without `app`, every ref that lists images contributes its images.
    Raises ConfigError for what makes the controller reject the CR or skip the Application."""
    spec = cr.get("spec") or {}
    refs = list(spec.get("applicationRefs") or [])
    if not refs:
        raise ConfigError("no application references defined in ImageUpdater CR")
    for ref in refs:
        if not glob_valid(ref.get("namePattern") or ""):
            raise ConfigError(
                f"invalid application name pattern '{ref.get('namePattern')}': syntax error in pattern"
            )
    refs.sort(key=specificity, reverse=True)  # stable: ties keep CR order
    if app is None:
        return [
            p
            for ref in refs
            if not ref.get("useAnnotations")
            for p in _ref_policies(spec, ref, AppInfo())
        ]
    ref = selecting_ref(cr, app, refs=refs)
    if ref is None:
        return []
    if ref.get("useAnnotations"):
        return policies_from_annotations(app.annotations, app=app)
    return _ref_policies(spec, ref, app)


def selecting_ref(cr: Mapping, app: AppInfo, *, refs: list | None = None) -> Mapping | None:
    """The applicationRef of an ImageUpdater CR that selects `app` (the most specific first), or
    None — also when the Application lives in another namespace than the CR."""
    cr_namespace = (cr.get("metadata") or {}).get("namespace")
    if cr_namespace and app.namespace and app.namespace != cr_namespace:
        return None
    if refs is None:
        refs = sorted(
            (cr.get("spec") or {}).get("applicationRefs") or [], key=specificity, reverse=True
        )
    for ref in refs:
        if glob_match(ref.get("namePattern") or "", app.name) and _labels_match(
            app.labels, ref.get("labelSelectors")
        ):
            return ref
    return None


def _ref_policies(spec: Mapping, ref: Mapping, app: AppInfo) -> list[ImagePolicy]:
    try:
        write_back = write_back_from_settings(
            _cr_write_back(spec.get("writeBackConfig"), ref.get("writeBackConfig")), app
        )
    except ValueError as e:
        raise ConfigError(f"Could not create write-back config, skipping: {e}") from None
    policies = []
    for image in ref.get("images") or []:
        settings = _cr_settings(
            spec.get("commonUpdateSettings"),
            ref.get("commonUpdateSettings"),
            image.get("commonUpdateSettings"),
        )
        targets_in = image.get("manifestTargets") or {}
        helm, kustomize = targets_in.get("helm"), targets_in.get("kustomize")
        targets, skip = {}, None
        if helm is not None and kustomize is not None:
            skip = (
                f"Could not set manifest target config for image {image.get('imageName', '')}, skipping: only one "
                "of the fields (Helm, Kustomize) should be set, dictating the update method"
            )
        else:
            for name, key in (("helm_name", "name"), ("helm_tag", "tag"), ("helm_spec", "spec")):
                if (helm or {}).get(key):
                    targets[name] = helm[key]
            if (kustomize or {}).get("name"):
                targets["kustomize"] = kustomize["name"]
        policies.append(
            _policy(
                image.get("alias") or "",
                image.get("imageName") or "",
                settings,
                targets,
                write_back,
                application_ref=ref.get("namePattern"),
                skip_reason=skip,
            )
        )
    return policies


# ---------------------------------------------------------------------------------------------
# ingest's view: image repositories and the Helm tag parameter


@dataclass(frozen=True)
class TrackedImage:
    alias: str
    image: str
    constraint: str = ""


def parse_image_list(value: str) -> list[TrackedImage]:
    """A lenient reading for matching live images: `localhost:5000/x:~1.2` keeps its registry port
    (the updater's own parser would not; see parse_image_reference), un-aliased images get their last
    path component as alias."""
    images = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        alias, _, path = entry.rpartition("=")
        image, constraint = _split_constraint(path)
        images.append(
            TrackedImage(
                alias=alias or image.rsplit("/", 1)[-1], image=image.lower(), constraint=constraint
            )
        )
    return images


def _split_constraint(path: str) -> tuple[str, str]:
    # A colon after the last slash starts the constraint; one before it is a registry port.
    slash = path.rfind("/")
    colon = path.find(":", slash + 1)
    if colon == -1:
        return path, ""
    return path[:colon], path[colon + 1 :]


def tag_parameter(annotations: Mapping[str, str], alias: str) -> str:
    """The Helm parameter the updater writes this image's tag to (a blank value counts as unset)."""
    return _trim(annotations.get(f"{PREFIX}{alias}.helm.image-tag", "")) or DEFAULT_TAG_PARAMETER


def tracked_images(annotations: Mapping[str, str]) -> list[TrackedImage]:
    return parse_image_list(annotations.get(IMAGE_LIST, ""))


__all__ = [
    "AppInfo",
    "ConfigError",
    "ImageReference",
    "TrackedImage",
    "describe_policy",
    "parse_image_list",
    "parse_image_reference",
    "policies_from_annotations",
    "policies_from_image_updater",
    "selecting_ref",
    "pull_secret_source",
    "specificity",
    "tag_parameter",
    "tracked_images",
    "write_back_from_settings",
]
