"""The websocket URLs: one live socket per page kind, and the updater log stream."""

from django.urls import path

from cdportal.live.consumers import LiveConsumer
from cdportal.live.logs import UpdaterLogConsumer

websocket_urlpatterns = [
    path("ws/live/overview/", LiveConsumer.as_asgi(), name="overview"),
    path("ws/live/releases/<int:release>/", LiveConsumer.as_asgi(), name="release"),
    path("ws/live/applications/<int:application>/", LiveConsumer.as_asgi(), name="application"),
    path("ws/live/components/<int:component>/", LiveConsumer.as_asgi(), name="component"),
    path("ws/updater/logs/", UpdaterLogConsumer.as_asgi(), name="updater-logs"),
    path("ws/live/updater/", LiveConsumer.as_asgi(), name="updater"),
    path("ws/live/actions/", LiveConsumer.as_asgi(), name="actions"),
    path("ws/live/versions/", LiveConsumer.as_asgi(), name="versions"),
]
