"""The argocd-image-updater's logs, followed live: `kubectl logs -l app.kubernetes.io/name=
argocd-image-updater -f` in the browser, filtered and with the registry errors highlighted.

/ws/updater/logs/?application=…&image=…&errors=1

Who may read: every signed-in person, viewers included. The updater logs what it checks and
changes (applications, images, tags, registry answers), which the pages already show; it does
not log credentials, and any that slip into a URL or an auth header are masked
(core.updater_logs.redact) before a line leaves the server. The session rules are LiveConsumer's:
accept, then close with 4401 without a valid session; the Origin check is asgi.py's.

Each updater pod's log is followed in its own thread with the blocking kubernetes client; lines
that pass the filters cross to the event loop with call_soon_threadsafe and go out in small
batches as htmx out-of-band appends to <ol id="updater-log">. Closing the socket shuts the
HTTP streams down, which ends the threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.html import format_html

from cdportal.adapters.kubernetes import client as kube
from cdportal.adapters.kubernetes import logs as kube_logs
from cdportal.core.updater_logs import LogLine, matches, parse_line
from cdportal.live import broadcast, consumers
from cdportal.pipeline.updater_actions import namespace as updater_namespace

log = logging.getLogger(__name__)

TAIL_LINES = kube_logs.TAIL_LINES
BATCH_LINES = 50  # lines per frame at most
BATCH_SECONDS = 0.1  # how long a frame waits for more lines
# Tests set this to a function returning a kubernetes ApiClient (the emulator's).
client_factory = None
# The follow threads still running, for tests and the curious.
following: set[threading.Thread] = set()


def _api_client():
    if client_factory is not None:
        return client_factory()
    return kube.configured()


class UpdaterLogConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.stop = threading.Event()
        self.responses: list = []  # the open log streams, to shut down on disconnect
        self.lock = threading.Lock()
        await self.accept()
        expires_in = await self._session_expires_in()
        if expires_in is None:
            await self.close(code=consumers.SESSION_EXPIRED)
            return
        self.session_group = broadcast.session_group(self.scope["session"].session_key)
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        query = parse_qs(self.scope.get("query_string", b"").decode(), keep_blank_values=True)
        self.filters = {
            "application": (query.get("application") or [""])[0].strip()[:253],
            "image": (query.get("image") or [""])[0].strip()[:512],
            "errors_only": (query.get("errors") or [""])[0] in ("1", "true", "on", "yes"),
        }
        self.queue: asyncio.Queue = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.tasks = [
            asyncio.create_task(self._start()),
            asyncio.create_task(self._send_batches()),
            asyncio.create_task(self._watch_session(expires_in)),
        ]

    async def disconnect(self, code):
        stop = getattr(self, "stop", None)
        if stop is None:
            return
        stop.set()
        if hasattr(self, "session_group"):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)
        for task in getattr(self, "tasks", []):
            task.cancel()
        with self.lock:
            responses, self.responses = self.responses, []
        for response in responses:
            kube_logs.shutdown(response)

    async def receive(self, text_data=None, bytes_data=None):
        """Filters change by reconnecting with another query string; ignore what htmx sends."""

    async def session_ended(self, message):
        await self.close(code=consumers.SESSION_EXPIRED)

    # -- pods and their logs ------------------------------------------------------------------

    async def _start(self):
        try:
            api_client = await asyncio.to_thread(_api_client)
            pods = await asyncio.to_thread(
                kube_logs.updater_pods, api_client, [updater_namespace()]
            )
        except Exception as e:  # noqa: BLE001  (AdapterError, ApiException, connection errors: told to the page)
            log.warning("cannot list the argocd-image-updater pods: %s", e)
            await self._note(
                f"Cannot list the argocd-image-updater pods: {kube_logs.reason(e)}", error=True
            )
            return
        if not pods:
            await self._note(f"No running argocd-image-updater pod in {updater_namespace()}.")
            return
        for namespace, name in pods:
            thread = threading.Thread(
                target=self._follow,
                args=(api_client, namespace, name),
                name=f"updater-log {name}",
                daemon=True,
            )
            following.add(thread)
            thread.start()

    def _follow(self, api_client, namespace: str, name: str) -> None:
        """In a worker thread: read one pod's log until it ends or the socket closes."""
        try:
            response = kube_logs.follow(api_client, namespace, name, tail_lines=TAIL_LINES)
            with self.lock:
                if self.stop.is_set():
                    kube_logs.shutdown(response)
                    return
                self.responses.append(response)
            pending = b""
            for chunk in response.stream(8192, decode_content=True):
                if self.stop.is_set():
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    self._offer(name, raw)
            if pending and not self.stop.is_set():
                self._offer(name, pending)
            if not self.stop.is_set():
                self._call(self._note, f"The log of {name} ended (pod stopped or restarted).")
        except Exception as e:  # noqa: BLE001  (a broken stream is told to the page, not raised in a thread)
            if not self.stop.is_set():
                log.warning("cannot follow the log of %s/%s: %s", namespace, name, e)
                self._call(
                    self._note, f"Cannot follow the log of {name}: {kube_logs.reason(e)}", True
                )
        finally:
            following.discard(threading.current_thread())

    def _offer(self, pod: str, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        line = parse_line(text)
        if matches(line, **self.filters):
            self._call_nowait((pod, line))

    def _call_nowait(self, item) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the socket is long gone
            self.stop.set()

    def _call(self, coroutine_function, *args) -> None:
        try:
            asyncio.run_coroutine_threadsafe(coroutine_function(*args), self.loop)
        except RuntimeError:
            self.stop.set()

    # -- to the browser -------------------------------------------------------------------------

    async def _send_batches(self):
        while True:
            batch = [await self.queue.get()]
            deadline = self.loop.time() + BATCH_SECONDS
            while len(batch) < BATCH_LINES:
                try:
                    batch.append(
                        await asyncio.wait_for(
                            self.queue.get(), max(0.0, deadline - self.loop.time())
                        )
                    )
                except TimeoutError:
                    break
            await self.send(
                text_data=_append("".join(render_line(pod, line) for pod, line in batch))
            )

    async def _note(self, text: str, error: bool = False):
        css = "log-note log-error" if error else "log-note"
        await self.send(text_data=_append(format_html('<li class="{}">{}</li>', css, text)))

    async def _watch_session(self, expires_in: float):
        while True:
            await asyncio.sleep(min(expires_in, consumers.SESSION_RECHECK_SECONDS))
            remaining = await self._session_expires_in()
            if remaining is None:
                await self.close(code=consumers.SESSION_EXPIRED)
                return
            await self.channel_layer.group_add(self.session_group, self.channel_name)
            expires_in = max(remaining, 1)

    async def _session_expires_in(self) -> float | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        return await database_sync_to_async(consumers._seconds_left)(self.scope.get("session"))


def render_line(pod: str, line: LogLine) -> str:
    """One <li>; every part escaped (the line is whatever the pod printed)."""
    classes = [
        "log-line",
        f"log-{line.level}" if line.level else "",
        "log-error" if line.error else "",
    ]
    css = " ".join(dict.fromkeys(c for c in classes if c))
    context = " ".join(
        f"{k}={line.fields[k]}"
        for k in ("application", "image_name", "image_tag")
        if line.fields.get(k)
    )
    return format_html(
        '<li class="{}" title="{}"><time>{}</time> <span class="log-level">{}</span> '
        '<span class="log-msg">{}</span> <span class="log-fields">{}</span> <span class="log-pod">{}</span></li>',
        css,
        line.text,
        line.time,
        line.level or "-",
        line.message,
        context,
        pod,
    )


def _append(items_html: str) -> str:
    return f'<ol id="updater-log" hx-swap-oob="beforeend">{items_html}</ol>'
