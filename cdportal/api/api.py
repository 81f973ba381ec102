"""cdportal's HTTP API: one NinjaAPI, one router per area, OpenAPI docs at /api/docs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import NinjaAPI

from cdportal.api import (
    action_log,
    actions,
    applications,
    argo,
    attention,
    events,
    history,
    images,
    releases,
    updater,
)
from cdportal.api.auth import AUTH

api = NinjaAPI(
    title="cdportal API",
    version="1",
    description="Releases, applications, images, rollouts and events of the delivery pipeline.",
    auth=AUTH,
    urls_namespace="api",
    docs_decorator=login_required,
)
api.add_router("/releases", releases.router)
api.add_router("/rollouts", releases.rollouts)
api.add_router("/applications", applications.router)
api.add_router("/applications", argo.router)  # sync, refresh, terminate
api.add_router("/images", images.router)
api.add_router("/events", events.router)
api.add_router("/repositories", actions.router)
api.add_router("/updater", updater.router)
api.add_router("/attention", attention.router)
api.add_router("/actions", action_log.router)
api.add_router("", history.router)


@api.exception_handler(DjangoValidationError)
def django_validation_error(request, exc):
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=422)
