"""Which image policies apply to an Application, as the Image Updater would read them.

v1.x reads `ImageUpdater` custom resources: the first one of the Application's namespace whose
applicationRefs select it (by name pattern and labels) decides — its own images, or the
Application's annotations when the ref says `useAnnotations: true`. v0.x has no such resource
and reads the annotations alone. cdportal cannot always tell which version runs, so a resource
that selects the Application wins, and the annotations apply otherwise.

The decisions are core.image_list's (pure); this module only fetches what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdportal.core.image_list import (
    DEFAULT_TAG_PARAMETER,
    AppInfo,
    ConfigError,
    TrackedImage,
    parse_image_list,
    policies_from_annotations,
    policies_from_image_updater,
    selecting_ref,
)
from cdportal.core.tag_policy import ImagePolicy
from cdportal.pipeline.models import Application, ImageUpdaterConfig


@dataclass(frozen=True)
class AppPolicies:
    policies: list[ImagePolicy] = field(default_factory=list)
    error: str = ""  # why the updater would skip the application
    # "imageupdater" (a CR's own images), "imageupdater+annotations" (useAnnotations), "annotations", ""
    source: str = ""
    config: ImageUpdaterConfig | None = None  # the CR that selected it

    @property
    def from_resource(self) -> bool:
        return self.source == "imageupdater"


def app_info(app: Application) -> AppInfo:
    return AppInfo(
        name=app.name,
        namespace=app.namespace,
        labels=dict(app.labels or {}),
        annotations=dict(app.image_policy or {}),
    )


def policies_for(app: Application, configs: list[ImageUpdaterConfig] | None = None) -> AppPolicies:
    """The policies for `app`; `configs` (the CRs of its namespace) when the caller has them."""
    if configs is None:
        configs = list(ImageUpdaterConfig.objects.filter(namespace=app.namespace))
    info = app_info(app)
    for config in sorted(configs, key=lambda c: c.name):
        try:
            policies = policies_from_image_updater(config.as_object(), info)
        except ConfigError as e:
            return AppPolicies(
                error=f"ImageUpdater {config}: {e}", source="imageupdater", config=config
            )
        if policies:
            ref = selecting_ref(config.as_object(), info) or {}
            source = "imageupdater+annotations" if ref.get("useAnnotations") else "imageupdater"
            return AppPolicies(policies=policies, source=source, config=config)
    if not app.image_policy:
        return AppPolicies()
    try:
        return AppPolicies(
            policies=policies_from_annotations(app.image_policy), source="annotations"
        )
    except ConfigError as e:
        return AppPolicies(error=str(e), source="annotations")


def tracked_from_resource(found: AppPolicies) -> list[tuple[TrackedImage, str]]:
    """(image, Helm tag parameter) per image a CR configures — what ingestion needs to follow a
    release into the Application (the annotations path reads the same from the annotations)."""
    tracked = []
    for policy in found.policies:
        images = parse_image_list(
            f"{policy.alias}={policy.image_name}" if policy.alias else policy.image_name
        )
        tag_parameter = policy.helm.image_tag or DEFAULT_TAG_PARAMETER
        tracked += [(image, tag_parameter) for image in images]
    return tracked
