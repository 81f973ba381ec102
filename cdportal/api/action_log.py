"""The action log over the API: who did what to which target, and how it ended."""

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.inputs import Day, Filter, Id, Page
from cdportal.api.schemas import ActionOut, ErrorOut
from cdportal.pipeline import queries
from cdportal.pipeline.models import Action

router = Router(tags=["actions"])


class ActionFilter(Schema):
    kind: Filter | None = (
        None  # force_sync, hard_refresh, terminate, restart_updater, create_tag, dispatch_workflow
    )
    status: Filter | None = None  # running, succeeded, failed, refused
    by: Filter | None = None
    target: Filter | None = (
        None  # argocd/controller, argocd/argocd-image-updater-controller, 5dlabs/cto
    )
    since: Day | None = None


@router.get("", response=list[ActionOut])
@paginate(Page)
def action_log(request, filters: Query[ActionFilter]):
    """Newest first. Every attempt is here, refused ones included, with the outside system's answer."""
    return queries.actions(**{k: v for k, v in filters.dict().items() if v})


@router.get("/{action_id}", response={200: ActionOut, 404: ErrorOut})
def action(request, action_id: Id):
    return get_object_or_404(Action, pk=action_id)
