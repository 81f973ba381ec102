"""Argo CD Image Updater's ``image-list`` annotation: which images an Application tracks.

Syntax (argocd-image-updater docs, "Configuring images for update"):
``[<alias>=]<image_path>[:<version_constraint>]``, comma-separated.
The full tag policy (strategies, allow/ignore tags) lives with the policy engine; this module
only answers "which image repositories, under which alias, and which Helm parameter holds the tag".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "argocd-image-updater.argoproj.io/"
IMAGE_LIST = PREFIX + "image-list"
DEFAULT_TAG_PARAMETER = "image.tag"


@dataclass(frozen=True)
class TrackedImage:
    alias: str
    image: str
    constraint: str = ""


def parse_image_list(value: str) -> list[TrackedImage]:
    images = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        alias, _, path = entry.rpartition("=")
        image, constraint = _split_constraint(path)
        images.append(TrackedImage(alias=alias or image.rsplit("/", 1)[-1], image=image.lower(), constraint=constraint))
    return images


def _split_constraint(path: str) -> tuple[str, str]:
    # A colon after the last slash starts the constraint; one before it is a registry port.
    slash = path.rfind("/")
    colon = path.find(":", slash + 1)
    if colon == -1:
        return path, ""
    return path[:colon], path[colon + 1 :]


def tag_parameter(annotations: Mapping[str, str], alias: str) -> str:
    """The Helm parameter the updater writes this image's tag to."""
    return annotations.get(f"{PREFIX}{alias}.helm.image-tag", DEFAULT_TAG_PARAMETER)


def tracked_images(annotations: Mapping[str, str]) -> list[TrackedImage]:
    return parse_image_list(annotations.get(IMAGE_LIST, ""))
