"""The version truth table: per application and image, the latest release, the tag its policy
would take, the Helm override the Image Updater wrote and what runs — side by side, with drift.

Read from the models only (what the sources last reported): the release by the component that
builds the image, the policy's pick by core.image_outlook (as the application page shows it), the
override from the Application's Helm parameters, and what runs from status.summary.images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import semver

from cdportal.core.events import split_image_reference
from cdportal.core.image_list import DEFAULT_TAG_PARAMETER
from cdportal.core.image_outlook import repository_name
from cdportal.pipeline.models import Application, ImageRepository, Release
from cdportal.pipeline.policies import policies_for
from cdportal.pipeline.queries import policy_outlook


@dataclass(frozen=True)
class VersionRow:
    application: Application
    image: str
    latest_release: Release | None = None
    policy_tag: str = ""  # what the updater would take now ("" none)
    written: str = ""  # the Helm override (image.tag) the updater wrote
    parameter: str = DEFAULT_TAG_PARAMETER
    running: str = ""  # from status.summary.images
    error: str = ""  # the policy cannot be read
    drift: tuple[str, ...] = field(default=())

    @property
    def latest_tag(self) -> str:
        return self.latest_release.tag if self.latest_release else ""

    def to_json(self) -> dict:
        release = self.latest_release
        return {
            "application": self.application.key,
            "image": self.image,
            "latest_release": release.tag if release else None,
            "latest_release_id": release.pk if release else None,
            "policy_tag": self.policy_tag or None,
            "parameter": self.parameter,
            "written": self.written or None,
            "running": self.running or None,
            "drift": list(self.drift),
            "error": self.error,
        }


def rows(apps=None) -> list[VersionRow]:
    """One row per (application, tracked image), applications by namespace and name."""
    if apps is None:
        apps = Application.objects.filter(deleted_at__isnull=True).order_by("namespace", "name")
    found = []
    for app in apps:
        policies = policies_for(app)
        if policies.error or not policies.policies:
            found.append(
                VersionRow(
                    app,
                    "",
                    running=", ".join(app.live_images or []),
                    error=policies.error or "no image is followed by the Image Updater",
                )
            )
            continue
        for policy in policies.policies:
            found.append(_row(app, policy))
    return found


def _row(app: Application, policy) -> VersionRow:
    image = repository_name(policy)
    parameter = policy.helm.image_tag or DEFAULT_TAG_PARAMETER
    outlook = policy_outlook(app, policy)
    running = _running(app, image)
    row = VersionRow(
        app,
        image,
        latest_release=latest_release(image),
        policy_tag=outlook.selection.tag or "",
        written=(app.parameters or {}).get(parameter, ""),
        parameter=parameter,
        running=running,
    )
    return VersionRow(**{**row.__dict__, "drift": drift(row)})


def drift(row: VersionRow) -> tuple[str, ...]:
    """What disagrees, in pipeline order: the policy does not take the latest release; the
    updater has not written what the policy takes; Argo CD does not run what was written."""
    found = []
    if row.latest_tag and row.policy_tag != row.latest_tag:
        found.append("policy_behind_release")
    if row.policy_tag and row.written and row.policy_tag != row.written:
        found.append("override_behind_policy")
    if row.written and row.running != row.written:
        found.append("running_behind_override")
    return tuple(found)


def _running(app: Application, image: str) -> str:
    for reference in app.live_images or []:
        name, tag = split_image_reference(reference)
        if name == image and tag:
            return tag
    return ""


def latest_release(image: str) -> Release | None:
    """The highest released version of the component that builds `image`."""
    row = ImageRepository.objects.filter(name=image).first()
    if row is None or row.component_id is None:
        return None
    released = Release.objects.filter(component_id=row.component_id, released_at__isnull=False)
    best, best_version = None, None
    for release in released.exclude(tag=""):
        try:
            version = semver.Version.parse(release.version)
        except ValueError:
            continue
        if best_version is None or version > best_version:
            best, best_version = release, version
    return best


__all__ = ["VersionRow", "drift", "latest_release", "rows"]
