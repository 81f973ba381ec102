"""The demo app: the simulated pipeline and cluster behind `make demo`."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "cdportal.demo"
    label = "demo"
