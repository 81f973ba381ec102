"""The live app; registers the broadcaster as pipeline's publisher when Django is ready."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out

from cdportal.pipeline import publish


class LiveConfig(AppConfig):
    name = "cdportal.live"
    label = "live"

    def ready(self) -> None:
        # Data flows one way: pipeline publishes committed changes to whoever registered,
        # and never imports live. broadcast reads the models, so it loads once they are ready.
        from cdportal.live import broadcast

        publish.register(broadcast.PUBLISHER)
        user_logged_out.connect(broadcast.close_live_sockets, dispatch_uid="cdportal-live-logout")
