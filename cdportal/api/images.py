"""GET /api/images/tags: the image tags in the registry now, with push time and digest."""

from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.inputs import Filter, Moment, Page
from cdportal.api.schemas import ImageTagOut
from cdportal.pipeline.models import ImageTag

router = Router(tags=["images"])


class TagFilter(Schema):
    image: Filter | None = None  # ghcr.io/owner/name
    tag: Filter | None = None
    pushed_after: Moment | None = None
    deleted: bool = False  # true: the deleted tags too (their `deleted_at` says when)


@router.get("/tags", response=list[ImageTagOut])
@paginate(Page)
def list_tags(request, filters: Query[TagFilter]):
    tags = ImageTag.objects.select_related("image").order_by("-pushed_at", "-pk")
    if not filters.deleted:
        tags = tags.filter(deleted_at__isnull=True)
    if filters.image:
        tags = tags.filter(image__name=filters.image.lower())
    if filters.tag:
        tags = tags.filter(tag=filters.tag)
    if filters.pushed_after:
        tags = tags.filter(pushed_at__gte=filters.pushed_after)
    return tags
