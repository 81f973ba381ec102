"""`python manage.py image-policy --tags FILE [policy options | --annotations FILE.json --alias NAME] | --app NS/NAME --alias NAME [--json]`

"Would update to": the tag Argo CD Image Updater (v1.3) would pick now from the registry's tags in
FILE, the running tag, and for every other tag why it is not chosen.

With --app it answers from cdportal's database, as the application page and its policy API do: the
Application's policy (annotations or ImageUpdater resource), its running images and the tags the
registry has shown. Every form decides with core.image_outlook.outlook, the function those use.

FILE holds one tag per line, or a JSON list of `{name, created?, digest?, metadata?}` in registry
order (`metadata: false`: the registry returned no usable manifest for that tag). The policy comes
either from --strategy/--constraint/--allow-tags/--ignore-tags, or from an Application's annotations
(--annotations: a JSON object of annotations, or a whole Application manifest, whose
status.summary.images then also gives the running tag) and the image's --alias.

Exit status 0 on success, 2 on bad input (the error on stderr). Without --app: no database, no
SECRET_KEY.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cdportal.core.image_list import AppInfo, ConfigError, policies_from_annotations
from cdportal.core.image_outlook import Outlook, outlook
from cdportal.core.tag_policy import ImagePolicy, Reason, Selection, TagInfo, parse_tagsortmode
from cdportal.pipeline.models import Application
from cdportal.pipeline.policies import policies_for
from cdportal.pipeline.queries import policy_outlook

BAD_INPUT = 2
_POLICY_OPTIONS = ("strategy", "constraint", "allow_tags", "ignore_tags")


class Command(BaseCommand):
    help = "Which tag Argo CD Image Updater would pick now, and why every other tag is not chosen."
    # A tool for scripts and CI: it needs no database, no SECRET_KEY, no server settings.
    requires_system_checks = []

    def add_arguments(self, parser):
        # The tags come from a file, or with the rest of the Application from the database.
        given = parser.add_mutually_exclusive_group(required=True)
        given.add_argument(
            "--tags",
            metavar="FILE",
            help="The registry's tags: one per line, or a JSON list of {name, created?, digest?, "
            "metadata?} in registry order ('-' reads stdin)",
        )
        parser.add_argument(
            "--strategy",
            help="update-strategy: semver (default), newest-build, alphabetical, digest",
        )
        parser.add_argument(
            "--constraint",
            help="The tag part of the image-list entry (e.g. ~1.2, or the tag to "
            "follow with the digest strategy)",
        )
        parser.add_argument("--allow-tags", help="allow-tags: regexp:<RE2> or any")
        parser.add_argument(
            "--ignore-tags", metavar="G1,G2", help="ignore-tags: comma-separated globs"
        )
        parser.add_argument("--current", metavar="TAG", help="The tag the application runs now")
        parser.add_argument(
            "--current-digest", metavar="DIGEST", help="The digest the application runs now"
        )
        parser.add_argument(
            "--tagsortmode",
            metavar="MODE",
            help="The registry's registries.conf tagsortmode: none, latest-first, latest-last",
        )
        parser.add_argument(
            "--annotations",
            metavar="FILE.json",
            help="An Application's annotations (or the Application) instead of the policy options",
        )
        given.add_argument(
            "--app",
            metavar="NS/NAME",
            help="An Application cdportal knows: its policy, running images and the registry's "
            "tags from the database (what its page shows)",
        )
        parser.add_argument(
            "--alias",
            metavar="NAME",
            help="With --annotations or --app: the image-list alias (or image) to evaluate",
        )
        parser.add_argument("--json", action="store_true", help="One JSON object instead of text")

    def handle(self, *args, **options):
        try:
            found = self._outlook(options)
        # ConfigError: the updater itself would skip the Application (its message, verbatim).
        except (ValueError, TypeError, ConfigError) as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None
        selection = found.selection
        if options["json"]:
            for warning in found.warnings:
                self.stderr.write(f"warning: {warning}")
            self.stdout.write(json.dumps(selection.to_json(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(
                _text(
                    found.policy,
                    selection,
                    found.current_tag,
                    found.current_digest,
                    list(found.warnings),
                )
            )

    def _outlook(self, options) -> Outlook:
        tagsortmode = parse_tagsortmode(options["tagsortmode"])
        if options["app"]:
            return _from_database(options, tagsortmode)
        tags = _read_tags(options["tags"])
        current, current_digest = options["current"], options["current_digest"]
        live_images, where = [], ""
        if options["annotations"]:
            policy, app, live_images = _policy_from_annotations(options)
            where = f"{app.namespace}/{app.name}"
        else:
            if options["alias"]:
                raise ValueError("--alias needs --annotations or --app")
            policy = _policy_from_options(options)
        return outlook(
            _with_tagsortmode(policy, tagsortmode),
            tags,
            live_images=live_images,
            current_tag=current,
            current_digest=current_digest,
            where=where,
        )


def _from_database(options, tagsortmode: str) -> Outlook:
    """The Application's row and the registry's tags as cdportal holds them: the page's answer."""
    given = [
        f"--{name}"
        for name in ("annotations", *_POLICY_OPTIONS, "current", "current_digest")
        if options[name] is not None
    ]
    if given:
        raise ValueError(
            f"{', '.join(o.replace('_', '-') for o in given)} cannot be combined with --app "
            "(the database holds the policy, the tags and the running image)"
        )
    if not options["alias"]:
        raise ValueError("--app needs --alias NAME (the image-list alias to evaluate)")
    namespace, _, name = options["app"].partition("/")
    app = Application.objects.filter(namespace=namespace, name=name).first()
    if app is None:
        raise ValueError(f"no application {options['app']} is known (NS/NAME)")
    found = policies_for(app)
    if found.error:
        raise ConfigError(found.error)
    policy = _with_tagsortmode(_by_alias(found.policies, options["alias"]), tagsortmode)
    return policy_outlook(app, policy)


def _read_tags(path: str) -> list[TagInfo]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read --tags {path}: {e}") from None
    if not text.lstrip().startswith("["):
        names = (line.strip() for line in text.splitlines())
        return [TagInfo(name) for name in names if name and not name.startswith("#")]
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--tags {path} is not valid JSON: {e}") from None
    return [_tag(item, i) for i, item in enumerate(items)]


def _tag(item, index: int) -> TagInfo:
    where = f"--tags entry {index}"
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise TypeError(
            f"{where}: expected an object {{name, created?, digest?, metadata?}} or a string"
        )
    unknown = set(item) - {"name", "created", "digest", "metadata", "platforms"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: name must be a non-empty string")
    created = item.get("created")
    if created is not None:
        if not isinstance(created, str):
            raise ValueError(f"{where} ({name}): created must be an RFC 3339 string")
        try:
            created = datetime.fromisoformat(created)
        except ValueError:
            raise ValueError(
                f"{where} ({name}): created must be RFC 3339, got {item['created']!r}"
            ) from None
        if created.tzinfo is None:
            raise ValueError(
                f"{where} ({name}): created needs a time zone (RFC 3339), got {item['created']!r}"
            )
    digest = item.get("digest")
    if digest is not None and not isinstance(digest, str):
        raise ValueError(f"{where} ({name}): digest must be a string")
    metadata = item.get("metadata", True)
    if not isinstance(metadata, bool):
        raise TypeError(f"{where} ({name}): metadata must be true or false")
    platforms = item.get("platforms")
    if platforms is not None:
        if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
            raise ValueError(
                f"{where} ({name}): platforms must be a list of os/arch[/variant] strings"
            )
        platforms = tuple(platforms)
    return TagInfo(name, created, digest or None, metadata, platforms)


def _policy_from_options(options) -> ImagePolicy:
    ignore = options["ignore_tags"]
    return ImagePolicy(
        strategy=options["strategy"],
        constraint=options["constraint"] or "",
        allow_tags=options["allow_tags"] or "",
        # Split like the ignore-tags annotation: on commas, each entry trimmed.
        ignore_tags=tuple(g.strip() for g in ignore.split(",")) if ignore is not None else (),
    )


def _policy_from_annotations(options) -> tuple[ImagePolicy, AppInfo, list[str]]:
    given = [f"--{name.replace('_', '-')}" for name in _POLICY_OPTIONS if options[name] is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} cannot be combined with --annotations (the annotations are the policy)"
        )
    if not options["alias"]:
        raise ValueError("--annotations needs --alias NAME (the image-list alias to evaluate)")
    path = options["annotations"]
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read --annotations {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"--annotations {path} is not valid JSON: {e}") from None
    app, live_images = _application(document, path)
    policies = policies_from_annotations(app.annotations, app=app)
    return _by_alias(policies, options["alias"]), app, live_images


def _by_alias(policies: list[ImagePolicy], alias: str) -> ImagePolicy:
    """The image-list entry named `alias`; an entry without one is named by its image."""
    matches = [p for p in policies if p.alias == alias] or [
        p for p in policies if not p.alias and alias in (p.image_name, p.image)
    ]
    if not matches:
        known = ", ".join(p.alias or p.image_name for p in policies)
        raise ValueError(f"no image with alias {alias!r} in the image-list (it has: {known})")
    return matches[0]


def _application(document, path: str) -> tuple[AppInfo, list[str]]:
    """Flat annotations, or an Application manifest (metadata.annotations, status.summary.images)."""
    if not isinstance(document, dict):
        raise TypeError(f"--annotations {path}: expected a JSON object")
    if "metadata" in document:
        metadata = document.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        source = (document.get("spec") or {}).get("source") or {}
        images = ((document.get("status") or {}).get("summary") or {}).get("images") or []
        app = AppInfo(
            name=metadata.get("name") or "",
            namespace=metadata.get("namespace") or "",
            source_path=source.get("path") or "",
            labels=metadata.get("labels") or {},
            annotations=annotations,
        )
    else:
        annotations, images, app = document, [], AppInfo(annotations=document)
    if not isinstance(annotations, dict) or not all(
        isinstance(v, str) for v in annotations.values()
    ):
        raise ValueError(f"--annotations {path}: annotations must map names to strings")
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError(f"--annotations {path}: status.summary.images must be a list of strings")
    return app, images


def _with_tagsortmode(policy: ImagePolicy, tagsortmode: str) -> ImagePolicy:
    if not tagsortmode:
        return policy
    return replace(policy, tagsortmode=tagsortmode)


def _text(
    policy: ImagePolicy,
    selection: Selection,
    current: str | None,
    current_digest: str | None,
    warnings: list[str],
) -> str:
    lines = []
    if policy.image or policy.alias:
        lines.append(
            f"Image:    {policy.image}" + (f" (alias {policy.alias})" if policy.alias else "")
        )
    lines.append(f"Policy:   {_describe(policy)}")
    running = (current or "(no tag)") + (f"@{current_digest}" if current_digest else "")
    if not (current or current_digest):
        running = "unknown (any pick counts as an update)"
    lines.append(f"Current:  {running}")
    picked = (selection.tag or "") + (f"@{selection.digest}" if selection.digest else "")
    if selection.reason is Reason.UPDATE:
        lines.append(f"Would update to: {picked}")
    elif selection.reason is Reason.UP_TO_DATE:
        lines.append(f"Up to date: {picked} is the tag the updater would pick")
    else:
        lines.append(f"Would not update ({selection.reason.value}): {selection.log}")
    for warning in warnings:
        lines.append(f"Warning:  {warning}")
    if selection.rejected:
        width = min(max(len(tag) for tag, _ in selection.rejected), 40)
        lines.append(f"Not chosen ({len(selection.rejected)}):")
        for tag, why in selection.rejected:
            marker = "  (current)" if tag == current else ""
            lines.append(f"  {tag:<{width}}  {why}{marker}")
    return "\n".join(lines) + "\n"


def _describe(policy: ImagePolicy) -> str:
    strategy = policy.update_strategy.value
    if strategy == "semver":
        constraint = (
            f"constraint {policy.constraint}"
            if policy.constraint
            else "no constraint (an implicit * that excludes pre-releases)"
        )
    elif strategy == "digest":
        constraint = f"follows tag {policy.constraint}" if policy.constraint else "no tag to follow"
    else:
        constraint = (
            f"constraint {policy.constraint} (ignored by this strategy)"
            if policy.constraint
            else ""
        )
    parts = [
        strategy,
        constraint,
        f"allow-tags {policy.allow_tags}" if policy.allow_tags else "",
        f"ignore-tags {', '.join(policy.ignore_tags)}" if policy.ignore_tags else "",
        f"tagsortmode {policy.tagsortmode}" if policy.tagsortmode else "",
    ]
    return ", ".join(p for p in parts if p)
