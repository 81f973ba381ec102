"""GET /api/applications: Argo CD Applications, one by namespace/name, what its policy would update to, and the version truth table."""

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.inputs import Filter, Page, Segment
from cdportal.api.schemas import ApplicationOut, ErrorOut
from cdportal.pipeline import versions
from cdportal.pipeline.models import Application
from cdportal.pipeline.queries import image_outlook

router = Router(tags=["applications"])


class ApplicationFilter(Schema):
    namespace: Filter | None = None
    project: Filter | None = None
    sync_status: Filter | None = None
    health_status: Filter | None = None
    image: Filter | None = None
    deleted: bool = False  # true: the deleted applications too (their `deleted_at` says when)


@router.get("", response=list[ApplicationOut])
@paginate(Page)
def list_applications(request, filters: Query[ApplicationFilter]):
    apps = Application.objects.prefetch_related("images").order_by("namespace", "name")
    if not filters.deleted:
        apps = apps.filter(deleted_at__isnull=True)
    for field in ("namespace", "project", "sync_status", "health_status"):
        value = getattr(filters, field)
        if value:
            apps = apps.filter(**{field: value})
    if filters.image:
        apps = apps.filter(images__name=filters.image.lower())
    return apps


class VersionRowOut(Schema):
    application: str  # namespace/name
    image: str  # registry/repository ("" when the application follows none: `error` says why)
    latest_release: str | None  # the newest release's tag of the component building the image
    latest_release_id: int | None
    policy_tag: str | None  # the tag the Image Updater's policy would take now
    parameter: str  # the Helm parameter the updater writes (image.tag)
    written: str | None  # its value: the override the updater wrote
    running: str | None  # what runs (status.summary.images)
    drift: list[str]  # policy_behind_release, override_behind_policy, running_behind_override
    error: str


@router.get(
    "/versions",
    response=list[VersionRowOut],
    summary="The version truth table",
    description=(
        "Per application and followed image, side by side: the latest release, the tag the "
        "policy would take, the Helm override the Image Updater wrote and what runs, with the "
        "drift between them (each flag: a column behind the one before it)."
    ),
)
def version_table(request):
    return [row.to_json() for row in versions.rows()]


@router.get("/{namespace}/{name}", response={200: ApplicationOut, 404: ErrorOut})
def get_application(request, namespace: Segment, name: Segment):
    return get_object_or_404(
        Application.objects.prefetch_related("images"), namespace=namespace, name=name
    )


class RejectedOut(Schema):
    tag: str
    why: str


class OutlookOut(Schema):
    alias: str
    image: str
    strategy: str
    constraint: str
    current: str
    tag: str | None
    reason: str
    message: str
    rejected: list[RejectedOut]
    known_tags: int
    warnings: list[str]


class ImagePolicyOut(Schema):
    error: str
    images: list[OutlookOut]


@router.get("/{namespace}/{name}/image-policy", response={200: ImagePolicyOut, 404: ErrorOut})
def image_policy(request, namespace: Segment, name: Segment):
    """Per tracked image: the tag Argo CD Image Updater would pick now from the tags cdportal
    knows, the running tag, and why each other tag is not chosen."""
    app = get_object_or_404(Application, namespace=namespace, name=name)
    images, error = image_outlook(app)
    return {"error": error, "images": images}
