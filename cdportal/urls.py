"""The site's URLs: the admin, the two webhooks, the API and the pages."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from cdportal.api import registry_webhook, webhooks
from cdportal.api.api import api


def _api_urls():
    """The API answers anonymous callers with 401 itself; LoginRequiredMiddleware would
    redirect them to the HTML login page instead. The docs pages keep their login_required."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/webhooks/github", webhooks.github, name="github-webhook"),  # signed, not logged in
    path(
        "api/webhooks/registry", registry_webhook.registry, name="registry-webhook"
    ),  # bearer token
    path("api/", _api_urls()),
    path("demo/", include("cdportal.demo.urls")),  # 404 unless `manage.py demo` serves
    path("", include("cdportal.web.urls")),
]
