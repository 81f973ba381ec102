"""cdportal's HTTP API: one NinjaAPI, one router per area, OpenAPI docs at /api/docs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import NinjaAPI
from ninja.errors import ValidationError

from cdportal.api import (
    action_log,
    applications,
    argo,
    attention,
    events,
    history,
    images,
    releases,
    repositories,
    updater,
)
from cdportal.api.auth import AUTH
from cdportal.api.schemas import ErrorOut

# Answers any operation can give besides its own, all {"detail": "..."}: documented on each
# operation that can give them, so the OpenAPI document lists every status a caller sees.
COMMON_ANSWERS = {
    "400": "A malformed body, or a control character in the path",
    "401": "Neither a session nor a valid bearer token",
    "403": "Not allowed for your role, or a session request without its CSRF token",
    "404": "No such object",
    "422": "A parameter or the body does not validate; `detail` names it",
}


class Api(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"].setdefault("schemas", {}).setdefault(
            "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                _document_errors(path, method, operation)
        return schema


def _document_errors(path: str, method: str, operation: dict) -> None:
    codes = {"400"}
    if operation.get("security"):
        codes |= {"401", "403"} if method != "get" else {"401"}
    if "{" in path:
        codes.add("404")
    if operation.get("parameters") or operation.get("requestBody"):
        codes.add("422")
    responses = operation.setdefault("responses", {})
    # django-ninja keys an operation's own answers by int: the same code as a str key would be
    # a second "404" in the JSON document (Swagger UI refuses the whole document then).
    documented = {str(code) for code in responses}
    for code in sorted(codes - documented):
        responses[int(code)] = {
            "description": COMMON_ANSWERS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }


api = Api(
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
api.add_router("/repositories", repositories.router)
api.add_router("/updater", updater.router)
api.add_router("/attention", attention.router)
api.add_router("/actions", action_log.router)
api.add_router("", history.router)


@api.exception_handler(DjangoValidationError)
def django_validation_error(request, exc):
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=422)


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    """One sentence per problem ("query.limit: Input should be less than or equal to 500"),
    the shape of every other error; the offending value is not echoed back."""
    problems = [
        "{}: {}".format(".".join(str(part) for part in e.get("loc", ())), e.get("msg", "invalid"))
        for e in exc.errors
    ]
    return api.create_response(
        request, {"detail": "; ".join(problems) or "invalid request"}, status=422
    )
