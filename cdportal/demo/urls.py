"""The demo's own page at /demo/ (cdportal.urls): a 404 unless DEMO_BREAK_FILE is set."""

from django.urls import path

from cdportal.demo import views

app_name = "demo"

urlpatterns = [
    path("", views.demo_page, name="page"),
    path("break/", views.set_break, name="break"),
]
