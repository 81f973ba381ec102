from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "cdportal.live"
    label = "live"
