"""POST /api/events (a source hands in one normalized event) and GET /api/events (the event log)."""

from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from cdportal.api.inputs import Filter, Id, Moment, Page
from cdportal.api.schemas import ErrorOut, EventOut, IngestOut
from cdportal.core.events import EVENT_KINDS, InvalidEvent, event_from_json
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import PipelineEvent

router = Router(tags=["events"])


class EventFilter(Schema):
    kind: Filter | None = None
    source: Filter | None = None
    release: Id | None = None
    application: Id | None = None
    since: Moment | None = None


@router.get("", response=list[EventOut])
@paginate(Page)
def list_events(request, filters: Query[EventFilter]):
    rows = PipelineEvent.objects.order_by("-received_at", "-pk")
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.source:
        rows = rows.filter(source=filters.source)
    if filters.release:
        rows = rows.filter(release_id=filters.release)
    if filters.application:
        rows = rows.filter(application_id=filters.application)
    if filters.since:
        rows = rows.filter(received_at__gte=filters.since)
    return rows


@router.post(
    "",
    response={201: IngestOut, 200: IngestOut, 403: ErrorOut, 422: ErrorOut},
    summary="Ingest one normalized pipeline event",
    description=(
        "Body: one event object with `kind` in "
        + ", ".join(f"`{k}`" for k in EVENT_KINDS)
        + ". 201 when recorded, 200 when this (source, source_id) was already recorded (nothing "
        "changes), 422 with the offending field when the event is malformed."
    ),
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
def post_event(request):
    if not request.user.has_perm("pipeline.ingest_event"):
        return Status(
            403,
            {
                "detail": "ingesting events needs the pipeline.ingest_event permission (role: source)"
            },
        )
    try:
        event = event_from_json(request.body)
    except InvalidEvent as e:
        return Status(422, {"detail": f"invalid event: {e}"})
    result = ingest(event)
    row = result.event
    body = {"id": row.pk, "created": result.created, "summary": row.summary}
    return Status(201 if result.created else 200, body)
