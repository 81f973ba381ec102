"""ASGI entry point: HTTP through Django, websockets through Channels (`daphne cdportal.asgi:application`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdportal.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from cdportal.env import require_secret_key  # noqa: E402

require_secret_key(settings)

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from cdportal.edge import BodyLimit, TrustedProxies  # noqa: E402
from cdportal.live.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The Origin must be one of ALLOWED_HOSTS: another site cannot ride a user's cookie.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from cdportal.api import deliveries  # noqa: E402


def _with_delivery_worker(app):
    """Start this process's webhook delivery worker with the first request it serves (not at
    import: tests import this module without serving); it first takes what is waiting."""
    started = False

    async def application(scope, receive, send):
        nonlocal started
        if not started and scope["type"] == "http":
            started = True
            deliveries.start()
        return await app(scope, receive, send)

    return application if settings.WEBHOOK_WORKER_IN_WEB else app


# The client's address first (everything after, the login throttle included, sees the real one),
# then the body limit, before anything reads the body.
application = _with_delivery_worker(
    TrustedProxies(
        BodyLimit(
            router, default=settings.MAX_REQUEST_BYTES, per_path=settings.REQUEST_BODY_LIMITS
        ),
        settings.TRUSTED_PROXIES,
    )
)
