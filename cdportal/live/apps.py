from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


class LiveConfig(AppConfig):
    name = "cdportal.live"
    label = "live"

    def ready(self) -> None:
        user_logged_out.connect(_close_live_sockets, dispatch_uid="cdportal-live-logout")


def _close_live_sockets(sender, request, user, **kwargs):
    from cdportal.live.broadcast import end_session

    # Sent before the session is flushed: the key still names the sockets to close.
    end_session(request.session.session_key)
