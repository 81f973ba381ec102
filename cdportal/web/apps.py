"""The web app: pages, their views and template tags."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cdportal.web"
    label = "web"
