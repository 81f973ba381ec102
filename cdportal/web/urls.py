"""The pages' URLs."""

from django.contrib.auth import views as auth_views
from django.urls import path

from cdportal.web import argo_actions, release_actions, updater, views

app_name = "web"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("releases/<int:pk>/", views.release, name="release"),
    path(
        "releases/<int:pk>/dispatch-build/review/",
        release_actions.review_dispatch_build,
        name="release-dispatch-build-review",
    ),
    path(
        "releases/<int:pk>/dispatch-build/",
        release_actions.dispatch_build,
        name="release-dispatch-build",
    ),
    path(
        "releases/<int:pk>/relabel/review/",
        release_actions.review_relabel,
        name="release-relabel-review",
    ),
    path("releases/<int:pk>/relabel/", release_actions.relabel, name="release-relabel"),
    path("applications/versions/", views.versions_page, name="versions"),
    path("applications/", views.applications, name="applications"),
    path("applications/<str:namespace>/<str:name>/", views.application, name="application"),
    path(
        "applications/<str:namespace>/<str:name>/<str:verb>/review/",
        argo_actions.review,
        name="argo-action-review",
    ),
    path(
        "applications/<str:namespace>/<str:name>/<str:verb>/", argo_actions.act, name="argo-action"
    ),
    path("components/<int:pk>/", views.component, name="component"),
    path("actions/", views.action_log, name="actions"),
    path(
        "repositories/<str:owner>/<str:name>/tag/",
        release_actions.manual_release,
        name="manual-release",
    ),
    path(
        "repositories/<str:owner>/<str:name>/tag/review/",
        release_actions.review_tag,
        name="manual-release-review",
    ),
    path(
        "repositories/<str:owner>/<str:name>/tag/create/",
        release_actions.create_tag,
        name="manual-release-create",
    ),
    path(
        "repositories/<str:owner>/<str:name>/release-please/review/",
        release_actions.review_release_please,
        name="release-please-review",
    ),
    path(
        "repositories/<str:owner>/<str:name>/release-please/run/",
        release_actions.rerun_release_please,
        name="release-please-run",
    ),
    path("updater/", updater.updater_page, name="updater"),
    path("updater/restart/review/", updater.review_restart, name="updater-review"),
    path("updater/restart/", updater.restart, name="updater-restart"),
    path("updater/credentials/", updater.check_credentials, name="updater-credentials"),
    path("history/", views.history, name="history"),
    path("history/diff/", views.history_diff, name="history-diff"),
    path("history.md", views.history_markdown, name="history-markdown"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
]
