"""The API app: API tokens and their commands."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cdportal.api"
    label = "api"
    verbose_name = "API"
