"""The action log over the API: who did what to which target, and how it ended."""

from datetime import date

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cdportal.api.actions import ActionOut
from cdportal.pipeline import queries
from cdportal.pipeline.models import Action

router = Router(tags=["actions"])


class ActionFilter(Schema):
    kind: str | None = None  # force_sync, hard_refresh, terminate, restart_updater, create_tag, dispatch_workflow
    status: str | None = None  # running, succeeded, failed
    by: str | None = None
    target: str | None = None  # argocd/controller, argocd/argocd-image-updater-controller, 5dlabs/cto
    since: date | None = None


@router.get("", response=list[ActionOut])
@paginate
def action_log(request, filters: Query[ActionFilter]):
    """Newest first. Every attempt is here, refused ones included, with the outside system's answer."""
    return queries.actions(**{k: v for k, v in filters.dict().items() if v})


@router.get("/{int:action_id}", response=ActionOut)
def action(request, action_id: int):
    return get_object_or_404(Action, pk=action_id)
