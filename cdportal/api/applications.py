
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.schemas import ApplicationOut
from cdportal.pipeline.models import Application

router = Router(tags=["applications"])


class ApplicationFilter(Schema):
    namespace: str | None = None
    project: str | None = None
    sync_status: str | None = None
    health_status: str | None = None
    image: str | None = None


@router.get("", response=list[ApplicationOut])
@paginate
def list_applications(request, filters: Query[ApplicationFilter]):
    apps = Application.objects.prefetch_related("images").order_by("namespace", "name")
    for field in ("namespace", "project", "sync_status", "health_status"):
        value = getattr(filters, field)
        if value:
            apps = apps.filter(**{field: value})
    if filters.image:
        apps = apps.filter(images__name=filters.image.lower())
    return apps


@router.get("/{namespace}/{name}", response=ApplicationOut)
def get_application(request, namespace: str, name: str):
    return get_object_or_404(Application.objects.prefetch_related("images"), namespace=namespace, name=name)


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


class ImagePolicyOut(Schema):
    error: str
    images: list[OutlookOut]


@router.get("/{namespace}/{name}/image-policy", response=ImagePolicyOut)
def image_policy(request, namespace: str, name: str):
    """Per tracked image: the tag Argo CD Image Updater would pick now from the tags cdportal
    knows, the running tag, and why each other tag is not chosen."""
    from cdportal.pipeline.queries import image_outlook

    app = get_object_or_404(Application, namespace=namespace, name=name)
    images, error = image_outlook(app)
    return {"error": error, "images": images}
