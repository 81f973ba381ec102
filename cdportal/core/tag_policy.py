"""Which tag Argo CD Image Updater would pick now, and why every other tag loses.

A pure-Python model of argocd-image-updater v1.3's tag selection (registry-scanner `GetTags`,
`GetNewestVersionFromTags`, the tag sorters and `needsUpdate`), summarized in
docs/image-updater.md and checked by the vectors in
tests/fixtures/image-policy/. Older releases differ in a few places; `select(..., regime=...)`
reproduces them (docs/image-updater.md §0).

The configuration side (annotations, the ImageUpdater custom resource) lives in `image_list`;
this module takes an `ImagePolicy` and the registry's tag list and returns a `Selection`. Go's
matching rules it relies on are their own modules: `go_glob` (ignore-tags) and `go_regexp`
(`regexp:` allow-tags); their names stay importable from here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import cached_property, lru_cache

from cdportal.core import masterminds
from cdportal.core.go_glob import compile_glob, glob_match, glob_valid
from cdportal.core.go_regexp import GoRegexpError, translate_go_regexp

__all__ = [
    "DEFAULT_PLATFORM",
    "GoRegexpError",
    "HelmTarget",
    "ImagePolicy",
    "Reason",
    "Regime",
    "Selection",
    "Strategy",
    "TagInfo",
    "TagMatch",
    "WriteBack",
    "glob_match",
    "glob_valid",
    "go_join",
    "parse_allow_tags",
    "parse_strategy",
    "parse_tagsortmode",
    "select",
    "translate_go_regexp",
]

# The updater process's own platform, wanted when an image configures none (runtime.GOOS/GOARCH of
# the official linux/amd64 image).
DEFAULT_PLATFORM = "linux/amd64"


class Strategy(str, Enum):
    SEMVER = "semver"
    NEWEST_BUILD = "newest-build"
    ALPHABETICAL = "alphabetical"
    DIGEST = "digest"


class Reason(str, Enum):
    UPDATE = "update"
    UP_TO_DATE = "up_to_date"
    NO_TAGS = "no_tags"
    NO_SEMVER_TAGS = "no_semver_tags"
    NO_MATCH_CONSTRAINT = "no_match_constraint"
    INVALID_CONSTRAINT = "invalid_constraint"
    DIGEST_REQUIRES_CONSTRAINT = "digest_requires_constraint"
    CURRENT_TAG_NOT_SEMVER = "current_tag_not_semver"  # legacy regime only


class Regime(str, Enum):
    """Updater releases whose tag selection differs (guide §0)."""

    V1_3 = "v1.3"  # v1.3.0 and later: no constraint means `*`, pre-releases excluded
    V1_2 = "v1.2"  # v1.2.0–v1.2.2: no constraint means every semver tag
    V1_1_1 = "v1.1.1"  # v1.1.1–v1.1.3: nothing eligible ⇒ the running tag comes back
    LEGACY = "legacy"  # v0.x, v1.0.x, v1.1.0: the running tag must itself be semver


# ---------------------------------------------------------------------------------------------
# update-strategy (registry-scanner/pkg/image/options.go: ParseUpdateStrategy)


def parse_strategy(value: str | None) -> tuple[Strategy, str | None]:
    """The strategy and the updater's warning, if it logs one. None means "not configured"."""
    if value is None:
        return Strategy.SEMVER, None
    lowered = value.lower()
    if lowered == "semver":
        return Strategy.SEMVER, None
    if lowered in ("latest", "newest-build"):
        warning = (
            None
            if lowered == "newest-build"
            else (
                '"latest" strategy has been renamed to "newest-build". Please switch to the new convention '
                "as support for the old naming convention will be removed in future versions."
            )
        )
        return Strategy.NEWEST_BUILD, warning
    if lowered in ("name", "alphabetical"):
        warning = (
            None
            if lowered == "alphabetical"
            else (
                '"name" strategy has been renamed to "alphabetical". Please switch to the new convention '
                "as support for the old naming convention will be removed in future versions."
            )
        )
        return Strategy.ALPHABETICAL, warning
    if lowered == "digest":
        return Strategy.DIGEST, None
    return Strategy.SEMVER, f"Unknown sort option {value} -- using semver"


def parse_tagsortmode(value: str | None) -> str:
    """registries.conf `tagsortmode`: "" (none), "latest-first" or "latest-last"; else ValueError."""
    lowered = (value or "").lower()
    if lowered in ("", "none"):
        return ""
    if lowered in ("latest-first", "latest-last"):
        return lowered
    raise ValueError(f"unknown tag sort mode for registry: {value}")


# ---------------------------------------------------------------------------------------------
# allow-tags (registry-scanner/pkg/image/options.go: ParseMatch; matchfunc.go)


@dataclass(frozen=True)
class TagMatch:
    """What an allow-tags value compiles to: `any`, `none` (matches no tag) or `regexp`."""

    func: str
    pattern: str | None = None
    warning: str | None = None
    search: Callable[[str], object] | None = field(default=None, repr=False, compare=False)

    def matches(self, tag: str) -> bool:
        if self.func == "any":
            return True
        if self.func == "none":
            return False
        return self.search(tag) is not None

    def to_dict(self) -> dict:
        return (
            {"func": self.func}
            if self.pattern is None
            else {"func": self.func, "pattern": self.pattern}
        )


@lru_cache(maxsize=512)
def parse_allow_tags(value: str | None) -> TagMatch:
    if not value:
        return TagMatch("any")
    if value.lower() == "any":
        return TagMatch("any")
    prefix, sep, expression = value.partition(":")
    if not sep:
        return TagMatch("none", warning=f"Invalid match option syntax '{value}', ignoring")
    if prefix.lower() != "regexp":
        return TagMatch("none", warning=f"Unknown match function: {prefix}")
    try:
        compiled = re.compile(translate_go_regexp(expression))
    except (GoRegexpError, re.error):
        return TagMatch("none", warning=f"Could not compile regexp '{expression}'")
    # Go's Regexp.Match is a search: an unanchored pattern matches anywhere in the tag.
    return TagMatch("regexp", expression, search=compiled.search)


# ---------------------------------------------------------------------------------------------
# The per-image configuration


@dataclass(frozen=True)
class HelmTarget:
    """Helm parameter names the updater writes (`image_spec` set ⇒ name/tag unused)."""

    image_name: str | None = "image.name"
    image_tag: str | None = "image.tag"
    image_spec: str | None = None

    def to_dict(self) -> dict:
        return {
            "image_name": self.image_name,
            "image_tag": self.image_tag,
            "image_spec": self.image_spec,
        }


@dataclass(frozen=True)
class WriteBack:
    method: str = "argocd"  # "argocd" | "git"
    creds: str | None = None
    branch: str | None = None
    write_branch: str | None = None
    repository: str | None = None  # None: the Application's own repoURL
    target: str | None = None
    kustomize_base: str | None = None

    def to_dict(self) -> dict:
        if self.method == "argocd":
            return {"method": "argocd"}
        return {
            "method": self.method,
            "creds": self.creds,
            "branch": self.branch,
            "write_branch": self.write_branch,
            "repository": self.repository,
            "target": self.target,
            "kustomize_base": self.kustomize_base,
        }


@dataclass(frozen=True)
class ImagePolicy:
    """One image as the updater is configured to track it (after all merging)."""

    image: str = ""  # registry/repository, as the updater's messages name it
    alias: str = ""
    image_name: str = ""  # as configured, e.g. "ghcr.io/x/app:~1.2"
    registry: str = ""
    repository: str = ""
    constraint: str = ""  # the tag part of image_name; "" = none
    constraint_digest: str | None = None
    strategy: str | None = None  # configured update-strategy value; None = not set (semver)
    allow_tags: str = ""
    ignore_tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    force_update: bool = False
    pull_secret: str | None = None
    helm: HelmTarget = HelmTarget()
    kustomize_image: str | None = None
    tagsortmode: str = ""  # the registry's registries.conf tagsortmode
    write_back: WriteBack | None = None
    application_ref: str | None = None  # ImageUpdater CR: the namePattern that selected the app
    skip_reason: str | None = None  # the updater skips this image (CR manifest-target conflict)

    @cached_property
    def update_strategy(self) -> Strategy:
        return parse_strategy(self.strategy)[0]

    @cached_property
    def tag_match(self) -> TagMatch:
        return parse_allow_tags(self.allow_tags)

    @property
    def identifier(self) -> str:
        """How the updater prints the configured image: `[alias=]image_name`."""
        name = self.image_name or self.image
        return f"{self.alias}={name}" if self.alias else name

    @property
    def warnings(self) -> list[str]:
        found = [parse_strategy(self.strategy)[1], self.tag_match.warning]
        if self.update_strategy is Strategy.NEWEST_BUILD and self.tagsortmode:
            found.append(
                f"taglistsort is set to '{self.tagsortmode}' but update strategy '{self.update_strategy.value}' "
                "requires metadata. Results may not be what you expect."
            )
        return [w for w in found if w]

    @cached_property
    def wanted_platforms(self) -> frozenset[str]:
        """GetPlatformOptions: configured `os/arch[/variant]` keys, else the updater's own platform."""
        if not self.platforms:
            return frozenset({DEFAULT_PLATFORM})
        keys = set()
        for entry in self.platforms:
            parts = entry.strip().split("/", 2)
            keys.add(
                _platform_key(*parts) if len(parts) >= 2 else f"{entry}/"
            )  # unparsable: impossible key
        return frozenset(keys)

    def wants_platform(self, platform: str) -> bool:
        """ManifestOptions.WantsPlatform for a manifest's `os/arch[/variant]`."""
        wanted = self.wanted_platforms
        parts = platform.split("/", 2)
        if len(parts) < 2:
            return False
        if _platform_key(*parts) in wanted:
            return True
        # A manifest with a variant also satisfies a configured os/arch without one.
        return len(parts) == 3 and bool(parts[2]) and _platform_key(parts[0], parts[1]) in wanted


def _platform_key(os: str, arch: str, variant: str = "") -> str:
    return f"{os}/{arch}/{variant}" if variant else f"{os}/{arch}"


# ---------------------------------------------------------------------------------------------
# Selection


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One registry tag. `created`/`digest` are what the updater reads from the manifest;
    `metadata=False` means it cannot get a usable manifest; `platforms` (optional) lists the
    `os/arch[/variant]` the manifest offers."""

    name: str
    created: datetime | None = None
    digest: str | None = None
    metadata: bool = True
    platforms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Selection:
    tag: str | None
    reason: Reason
    rejected: list[tuple[str, str]]
    digest: str | None = None  # digest strategy: the candidate's manifest digest
    log: str | None = None  # the updater's own message for this outcome
    log_level: str | None = None

    def to_json(self) -> dict:
        return {
            "tag": self.tag,
            "reason": self.reason.value,
            "rejected": [{"tag": tag, "why": why} for tag, why in self.rejected],
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def select(
    policy: ImagePolicy,
    tags: Sequence[TagInfo],
    *,
    current_tag: str | None = None,
    current_digest: str | None = None,
    regime: Regime | str = Regime.V1_3,
) -> Selection:
    """The tag the updater would pick for `policy` from `tags` (registry order), compared with
    the running image; every other tag comes back in `rejected` with the reason it lost."""
    return _Selector(policy, tags, current_tag, current_digest, Regime(regime)).run()


class _Selector:
    def __init__(self, policy, tags, current_tag, current_digest, regime):
        self.policy = policy
        self.tags = tags
        self.current_tag = current_tag
        self.current_digest = current_digest
        self.regime = regime
        self.strategy = policy.update_strategy
        self.constraint = policy.constraint or ""
        self.image = policy.image or policy.image_name or "<image>"
        self.why: dict[str, str] = {}
        self.order = list(dict.fromkeys([t.name for t in tags]))

    def run(self) -> Selection:
        if self.strategy is Strategy.DIGEST and not self.constraint:
            # GetTags refuses before filtering (after listing the tags).
            why = (
                "not evaluated: the digest strategy needs the tag to follow in the image reference"
            )
            self.why = dict.fromkeys(self.order, why)
            return self._result(
                None,
                Reason.DIGEST_REQUIRES_CONSTRAINT,
                log=f"Could not get tags from registry: cannot use update strategy 'digest' for image "
                f"'{self.policy.identifier}' without a version constraint",
                level="error",
            )
        listed = self._with_metadata(self._filtered())
        if self.strategy is Strategy.SEMVER:
            return self._semver(listed)
        if not listed:
            return self._nothing_eligible(Reason.NO_TAGS)
        if self.strategy is Strategy.NEWEST_BUILD:
            best = max(listed, key=lambda name: (listed[name][0], name))
            best_date = listed[best][0]
            for name, (date, _) in listed.items():
                if name != best:
                    self.why[name] = (
                        f"built at the same time as {best}, which sorts later"
                        if date == best_date
                        else f"older than {best}"
                    )
        else:  # alphabetical; digest keeps only the tracked tag
            best = max(listed)
            for name in listed:
                if name != best:
                    self.why[name] = f"sorts before {best}"
        return self._decide(best, listed[best][1])

    def _filtered(self) -> list[TagInfo]:
        """GetTags: allow-tags, then ignore-tags, then (digest) the tracked tag only."""
        match = self.policy.tag_match
        allow_why = f"does not match allow-tags {self.policy.allow_tags}"
        if match.func == "none":
            allow_why += " (not a valid match option: the updater matches no tag)"
            self.why.update(dict.fromkeys(self.order, allow_why))
            return []
        search = match.search if match.func == "regexp" else None
        ignores = [(pattern, compile_glob(pattern)) for pattern in self.policy.ignore_tags]
        only = self.constraint if self.strategy is Strategy.DIGEST else None
        if search is None and not ignores and only is None:
            return list(self.tags)
        why = self.why
        kept = []
        for tag in self.tags:
            name = tag.name
            if search is not None and search(name) is None:
                why[name] = allow_why
                continue
            if ignores:
                pattern = next((p for p, matches in ignores if matches(name)), None)
                if pattern is not None:
                    why[name] = f"ignored by glob {pattern}"
                    continue
            if only is not None and name != only:
                why[name] = f"not the tracked tag {only}"
                continue
            kept.append(tag)
        return kept

    def _with_metadata(self, kept: list[TagInfo]) -> dict[str, tuple[object, str]]:
        """name → (sort date, digest): synthetic dates when no manifest is fetched (§4.4)."""
        sortmode = parse_tagsortmode(self.policy.tagsortmode)
        if self.strategy in (Strategy.SEMVER, Strategy.ALPHABETICAL):
            # No manifest is fetched, and these sorts never look at the (synthetic) dates.
            return dict.fromkeys([tag.name for tag in kept], (0, ""))
        listed: dict[str, tuple[object, str]] = {}
        if sortmode:
            count = len(kept)
            for i, tag in enumerate(kept):
                listed[tag.name] = (count - i if sortmode == "latest-first" else i, "")
            return listed
        for tag in kept:
            problem = self._metadata_problem(tag)
            if problem is not None:
                if tag.name not in listed:
                    self.why[tag.name] = problem
                continue
            self.why.pop(tag.name, None)
            created = tag.created or _EPOCH
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            listed[tag.name] = (created, tag.digest if self.strategy is Strategy.DIGEST else "")
        return listed

    def _metadata_problem(self, tag: TagInfo) -> str | None:
        if not tag.metadata:
            return "no usable manifest for the wanted platforms (the updater drops the tag)"
        if tag.platforms is not None and not any(
            self.policy.wants_platform(p) for p in tag.platforms
        ):
            wanted = ", ".join(sorted(self.policy.wanted_platforms))
            return f"no image for the wanted platform ({wanted}) (the updater drops the tag)"
        if self.strategy is Strategy.NEWEST_BUILD and tag.created is None:
            return "no creation date known (the updater drops a tag without one)"
        if self.strategy is Strategy.DIGEST and not tag.digest:
            return "no manifest digest known"
        return None

    def _semver(self, listed: dict) -> Selection:
        why = self.why
        versions, not_versions = masterminds.parse_many(listed)
        why.update(dict.fromkeys(not_versions, "not a semantic version"))
        if not versions:
            return self._nothing_eligible(Reason.NO_SEMVER_TAGS if listed else Reason.NO_TAGS)
        if self.regime is Regime.LEGACY and self.current_tag:
            try:
                masterminds.parse_version(self.current_tag)
            except masterminds.SemverError as e:
                for v in versions:
                    why[v.original] = (
                        f"not evaluated: the running tag {self.current_tag} is not a semantic version"
                    )
                return self._result(
                    None,
                    Reason.CURRENT_TAG_NOT_SEMVER,
                    log=f"Unable to find newest version from available tags: {e}",
                    level="error",
                )
        text = self.constraint or ("*" if self.regime is Regime.V1_3 else "")
        eligible = versions
        if text:
            try:
                constraints = masterminds.parse_constraint(text)
            except masterminds.SemverError as e:
                for v in versions:
                    why[v.original] = f"not evaluated: invalid constraint {self.constraint}"
                return self._result(
                    None,
                    Reason.INVALID_CONSTRAINT,
                    log=f"invalid constraint '{self.constraint}' given: '{e}'",
                    level="error",
                )
            eligible = self._within(versions, constraints)
        if not eligible:
            return self._result(
                None,
                Reason.NO_MATCH_CONSTRAINT,
                log=None
                if self.regime in (Regime.V1_1_1, Regime.LEGACY)
                else f'no tags for image {self.image} matched constraint "{self.constraint}"',
                level="warn",
            )
        # semverCollection.Less: precedence, then the original strings byte-wise.
        best = max(eligible, key=lambda v: (v.key, v.original))
        top = best.key
        lower, same = (
            f"lower than {best.original}",
            f"same version as {best.original}, which wins the tie (sorts later)",
        )
        for v in eligible:
            if v is not best:
                why[v.original] = same if v.key == top else lower
        return self._decide(best.original, "")

    def _within(self, versions, constraints: masterminds.Constraints) -> list:
        why = self.why
        check = constraints.check
        implicit = not self.constraint
        outside = f"outside the constraint {self.constraint}"
        prerelease = (
            "prerelease"
            if implicit
            else f"prerelease (the constraint {self.constraint} admits none)"
        )
        eligible = []
        for v in versions:
            if check(v):
                eligible.append(v)
            elif v.pre and check(v, include_prerelease=True):
                why[v.original] = prerelease
            else:
                why[v.original] = outside
        return eligible

    def _nothing_eligible(self, reason: Reason) -> Selection:
        if self.regime in (Regime.V1_1_1, Regime.LEGACY):
            # Before #1505 GetNewestVersionFromTags returned the running tag: "up to date".
            if self.current_tag is None and self.current_digest is None:
                return self._result(None, reason)
            return self._decide(self.current_tag or "", self.current_digest or "", fallback=True)
        if reason is Reason.NO_SEMVER_TAGS:
            log = f"no tags for image {self.image} matched by the semver strategy"
        else:
            log = f"no tags found for image {self.image} in registry"
        return self._result(None, reason, log=log, level="warn")

    def _decide(self, tag: str, digest: str, fallback: bool = False) -> Selection:
        live_tag, live_digest = self.current_tag or "", self.current_digest or ""
        if self.strategy is Strategy.DIGEST and (not live_digest or live_digest != digest):
            update = True
        elif live_digest or digest:
            update = live_digest != digest  # tag.Equals compares digests when either side has one
        else:
            update = live_tag != tag
        shown = f"{self.image}:{tag}" + (f"@{digest}" if digest else "")
        if update:
            log, level = f"Setting new image to {shown}", "info"
        else:
            log, level = f"Image '{shown}' already on latest allowed version", "debug"
        return self._result(
            tag if (tag or not fallback) else None,
            Reason.UPDATE if update else Reason.UP_TO_DATE,
            digest=(digest or None) if self.strategy is Strategy.DIGEST else None,
            log=log,
            level=level,
        )

    def _result(self, tag, reason, *, digest=None, log=None, level=None) -> Selection:
        get = self.why.get
        rejected = [(name, get(name, "not considered")) for name in self.order if name != tag]
        return Selection(tag, reason, rejected, digest, log, level if log else None)


def go_join(*elements: str) -> str:
    """Go's path/filepath.Join on Unix: empty elements dropped, the result Cleaned."""
    parts = [e for e in elements if e]
    if not parts:
        return ""
    cleaned = posixpath.normpath("/".join(parts))
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned
