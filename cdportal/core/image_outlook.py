"""One configured image's outlook: what the Application runs and which tag Argo CD Image Updater would pick.

The one decision behind every "would update to" cdportal shows — the application page, its
policy API and `manage.py image-policy` — so they cannot disagree. It takes an `ImagePolicy`
(any image-list entry form: `image`, `alias=image`, `image:constraint`, `alias=image:constraint`,
`image@digest`), the registry's tags and the Application's live images, and follows the updater:
the tags are those of the policy's registry/repository (never of the configured entry with its
constraint or digest), the running tag is GetImagesFromApplication + ContainsImage's, and the pick
is `tag_policy.select`'s (docs/image-updater.md §3.1, §4.1, §4.5–4.8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdportal.core.image_list import parse_image_reference
from cdportal.core.tag_policy import ImagePolicy, Selection, TagInfo, select


@dataclass(frozen=True)
class Outlook:
    policy: ImagePolicy
    selection: Selection
    current_tag: str | None  # None: the image has no running tag (any pick is an update)
    current_digest: str | None
    warnings: tuple[str, ...] = ()
    known_tags: int = 0  # how many tags the registry listed


def repository_name(policy: ImagePolicy) -> str:
    """The image whose tags the updater lists: registry and repository, lower-case as cdportal
    stores them (`ghcr.io/x/app` for `app=ghcr.io/x/app:~1.3` and `ghcr.io/x/app@sha256:…`)."""
    return policy.image.lower()


def running_image(
    policy: ImagePolicy, images: Sequence[str]
) -> tuple[str | None, str | None] | None:
    """GetImagesFromApplication + ContainsImage: (tag, digest) of the running image with the same
    registry and name (the Kustomize override image is checked first), or None when none runs."""
    live = [parse_image_reference(image) for image in images]
    wanted = [(policy.registry, policy.repository)]
    if policy.kustomize_image:
        override = parse_image_reference(policy.kustomize_image)
        wanted.insert(0, (override.registry, override.name))
    for registry_and_name in wanted:
        for ref in live:
            if (ref.registry, ref.name) == registry_and_name:
                return ref.tag, ref.digest
    return None


def outlook(
    policy: ImagePolicy,
    tags: Sequence[TagInfo],
    *,
    live_images: Sequence[str] = (),
    current_tag: str | None = None,
    current_digest: str | None = None,
    where: str = "",
) -> Outlook:
    """The updater's pick for `policy` from `tags`. The running image is `current_tag` /
    `current_digest` when given, else found in `live_images` (an Application's
    status.summary.images; `where` names the Application in the warning when it does not run)."""
    notes = []
    if current_tag is None and current_digest is None and live_images:
        live = running_image(policy, live_images)
        if live is None:
            # An image that does not run is skipped (debug log), unless force-update adds it
            # without a tag.
            notes.append(
                f"{policy.image} does not run in application {where} (status.summary.images): "
                + (
                    "force-update is set, so the updater treats it as running with no tag"
                    if policy.force_update
                    else "the updater skips it (set force-update to change that)"
                )
            )
        else:
            current_tag, current_digest = live
    selection = select(policy, tags, current_tag=current_tag, current_digest=current_digest)
    return Outlook(
        policy, selection, current_tag, current_digest, (*policy.warnings, *notes), len(tags)
    )


__all__ = ["Outlook", "outlook", "repository_name", "running_image"]
