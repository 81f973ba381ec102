from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cdportal.web"
    label = "web"
