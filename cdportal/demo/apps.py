from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "cdportal.demo"
    label = "demo"
