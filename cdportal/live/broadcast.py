"""Push changed fragments to the browsers that show them. Owns the group names.

The live app registers ``publish`` with ``cdportal.pipeline.publish`` when Django is ready
(cdportal/live/apps.py); ingest, and an Action starting or finishing, hand it the changed ids
after their transaction commits. pipeline never imports this module. Publishing runs
off the caller's thread: in a process that serves websockets it is handed to the server's event
loop, elsewhere to a background thread. Either way the changes that arrive while a render is
under way are merged and rendered once, from the database as it is then — so a burst of a hundred
events for one release costs one render, and the ingest call waits for neither rendering nor
fan-out. (The event loop matters: the in-memory channel layer only wakes consumers from the loop
they run on.) Only the groups someone listens to are rendered for (`listening`). Each
fragment is rendered once, from the same partial and context the page uses, and every group gets
one message holding all of its fragments; each consumer then merges what arrives within its
coalescing window (see consumers). The overview's event log and release list get only what
changed (docs/operations.md). Fragments are viewer-neutral: nothing depends on who looks.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import logging
import operator
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import reduce

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import Q
from django.template.loader import render_to_string

from cdportal.pipeline import automation, queries, versions
from cdportal.pipeline import explain as explainer
from cdportal.pipeline.attention import problems
from cdportal.pipeline.changes import Changes
from cdportal.pipeline.models import Action, Application, Component, UpdaterDeployment
from cdportal.pipeline.publish import Publisher

log = logging.getLogger(__name__)

OVERVIEW = "overview"
UPDATER = "updater"  # the Image Updater page
ACTIONS = "actions"  # the action log page
VERSIONS = "versions"  # the version truth table
MESSAGE_TYPE = "live.fragments"  # handled by LiveConsumer.live_fragments


def release_group(pk: int) -> str:
    return f"release-{pk}"


def application_group(pk: int) -> str:
    return f"application-{pk}"


def component_group(pk: int) -> str:
    return f"component-{pk}"


def session_group(session_key: str) -> str:
    # Group names travel through Redis; a digest keeps the session key itself out of it.
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


# group -> {DOM id of the fragment's root (the coalescing key): html}
Fragments = dict[str, dict[str, str]]


def publish(changes: Changes) -> None:
    """Queue what an ingested event changed for the browsers. Returns at once."""
    loop = _server_loop
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(_loop_publisher.submit, changes)
    else:
        _thread_publisher.submit(changes)


def serving_on(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the consumers: this process holds websockets, on this loop."""
    global _server_loop
    _server_loop = loop


def flush(timeout: float = 10.0) -> bool:
    """Wait until the background thread has sent everything (short-lived commands)."""
    return _thread_publisher.flush(timeout)


def publish_now(changes: Changes) -> None:
    """Render and send, waiting for both. Never raises: the events are already committed, and a
    broken channel layer must not break ingestion; open pages catch up on their next update."""
    try:
        async_to_sync(_publish)(changes, _in_thread)
    except Exception:
        log.exception("live broadcast failed")


async def _publish(changes: Changes, render) -> None:
    """Render what the groups with listeners show, and send it to them."""
    groups = await listening(audience(changes))
    if not groups:
        return
    fragments = await render(_render_batch, changes, groups)
    if fragments:
        await send_fragments(fragments)


async def _in_thread(fn, *args):
    return await asyncio.wrap_future(_renderer.submit(fn, *args))


def audience(changes: Changes) -> set[str]:
    """The groups whose pages show something `changes` touched. (An action's application page
    is found while rendering: render_fragments renders it without asking.)"""
    groups = {release_group(pk) for pk in changes.releases}
    groups |= {component_group(pk) for pk in changes.components}
    groups |= {application_group(pk) for pk in changes.applications}
    if (
        changes.releases
        or changes.applications
        or changes.images
        or changes.events
        or changes.updaters  # "Needs attention"
    ):
        groups.add(OVERVIEW)
    if changes.updaters:
        groups.add(UPDATER)
    if changes.actions:
        groups.add(ACTIONS)
    return groups


async def listening(groups: set[str]) -> set[str]:
    """The groups someone listens to now, in any process: nothing is rendered for the others.
    Redis' pub/sub layer asks Redis (cdportal/live/layers.py); the in-memory layer's groups are
    this process's; another layer is taken to have listeners everywhere."""
    layer = get_channel_layer()
    if hasattr(layer, "groups_with_members"):
        return await layer.groups_with_members(groups)
    members = getattr(layer, "groups", None)
    if isinstance(members, dict):
        return {g for g in groups if members.get(g)}
    return groups


ISOLATED = (
    "the channel layer is in-memory (no REDIS_URL): this process records changes in the database, "
    "but open pages see them only when reloaded; set REDIS_URL for the server and this command "
    "to make them live"
)


def isolated() -> bool:
    """True when broadcasts from this process cannot reach another process's browsers."""
    return (
        settings.CHANNEL_LAYERS.get("default", {})
        .get("BACKEND", "")
        .endswith("InMemoryChannelLayer")
    )


def isolation() -> str:
    """The warning for commands whose changes no open page sees ("" when pages see them)."""
    return ISOLATED if isolated() else ""


def close_connections() -> None:
    """Close the render thread's database connection (test teardown, shutdown)."""
    _renderer.submit(connections.close_all).result()


def _render_batch(changes: Changes, groups: set[str] | None = None) -> Fragments:
    try:
        return render_fragments(changes, groups)
    finally:
        close_old_connections()


async def send_fragments(fragments: Fragments) -> None:
    layer = get_channel_layer()
    for group, by_id in fragments.items():
        await layer.group_send(group, {"type": MESSAGE_TYPE, "fragments": by_id})


def close_live_sockets(sender, request, user, **kwargs) -> None:
    """user_logged_out's receiver (connected in cdportal/live/apps.py). It is sent before the
    session is flushed: the key still names the sockets to close."""
    end_session(request.session.session_key)


def end_session(session_key: str | None) -> None:
    """Close every live socket of a login session that just ended (logout)."""
    if not session_key:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(
            session_group(session_key), {"type": "session.ended"}
        )
    except Exception:
        log.exception("could not close the live sockets of an ended session")


def render_fragments(changes: Changes, groups: set[str] | None = None) -> Fragments:
    """The fragments `changes` alter, for `groups` (None: every group)."""
    fragments: Fragments = defaultdict(dict)

    def wanted(group: str) -> bool:
        return groups is None or group in groups

    if wanted(OVERVIEW):
        _render_overview(fragments[OVERVIEW], changes)
    releases = [pk for pk in changes.releases if wanted(release_group(pk))]
    for release in queries.releases_queryset().filter(pk__in=releases):
        context = {**queries.release_context(release), **explainer.panel_context(release)}
        for part in ("header", "builds", "explain", "rollouts", "commits", "events"):
            fragments[release_group(release.pk)][f"release-{release.pk}-{part}"] = _partial(
                "web/release.html", f"release-{part}", context
            )
    _render_explanations(fragments, changes, wanted)
    components = [pk for pk in changes.components if wanted(component_group(pk))]
    for component in Component.objects.select_related("repository").filter(pk__in=components):
        fragments[component_group(component.pk)][f"component-{component.pk}-plan"] = _partial(
            "web/component.html", "component-plan", {"component": component}
        )
    applications = [pk for pk in changes.applications if wanted(application_group(pk))]
    for app in Application.objects.filter(pk__in=applications):
        context = {**queries.application_context(app), "version_rows": versions.rows([app])}
        for part in ("status", "versions", "policy", "history", "events"):
            fragments[application_group(app.pk)][f"app-{app.pk}-{part}"] = _partial(
                "web/application.html", f"app-{part}", context
            )
    if changes.actions:
        _render_actions(fragments, changes.actions, wanted)
    if wanted(VERSIONS) and (changes.applications or changes.releases or changes.images):
        fragments[VERSIONS]["versions-table"] = _partial(
            "web/versions.html", "versions-table", {"version_rows": versions.rows()}
        )
    if wanted(UPDATER):
        for row in UpdaterDeployment.objects.filter(pk__in=changes.updaters):
            fragments[UPDATER]["updater-status"] = _partial(
                "web/updater.html", "updater-status", updater_context(row)
            )
    return {group: by_id for group, by_id in fragments.items() if by_id}


def _render_overview(fragments: dict[str, str], changes: Changes) -> None:
    overview = {}
    in_flight = None
    if changes.releases:
        in_flight = queries.releases_in_flight()
        deployed = queries.recently_deployed()
        if in_flight:
            _render_changed_releases(fragments, changes.releases, in_flight, deployed)
        else:
            overview["releases"] = {"releases": in_flight, "deployed": deployed}
    if changes.applications:
        overview["applications"] = queries.fleet()
    if changes.images:
        overview["tags"] = {"tags": queries.newest_tags()}
    if changes.applications or changes.releases or changes.updaters:
        overview["attention"] = {"problems": problems(in_flight)}
    if changes.releases or changes.components:
        overview["automation"] = {"automation": automation.health()}
    for partial, context in overview.items():
        fragments[partial] = _partial("web/overview.html", partial, context)
    if changes.events:
        _render_new_events(fragments, changes.events)


def _render_changed_releases(fragments, pks: set[int], releases: list, deployed: list) -> None:
    """The overview's releases card: the changed releases' cards, added to the list, then the
    count carrying the list's order; the browser puts the cards in that order, dropping older
    copies and the releases no longer listed (static/cdportal.js). Should a listed card be
    missing there (listed without having changed), the browser fetches the card whole."""
    changed = [r for r in releases if r.pk in pks]
    if changed:
        fragments["release-cards-" + "-".join(str(r.pk) for r in changed)] = _partial(
            "web/overview.html", "changed-release-cards", {"releases": changed}
        )
    parts = {"releases": releases, "deployed": deployed, "part_oob": True}
    # Added last: consumers send a fragment they got again after the others (consumers.py).
    fragments["releases-count"] = _partial("web/overview.html", "releases-count", parts)
    fragments["recently-deployed"] = _partial("web/overview.html", "recently-deployed", parts)


def _render_new_events(fragments: dict[str, str], pks: list[int]) -> None:
    """The overview's event log, newest first. Only its top travels: the rows down to the
    lowest of the changed ones, put on top of the list in the browser, which drops the older
    copies of those rows and keeps the list's length (static/cdportal.js). Normally that is just
    the new rows; when another event got in between (ingested meanwhile, or by another process)
    it is sent again with them, in its place. Changed events too old to be listed send nothing."""
    events = queries.recent_events()
    changed = set(pks)
    listed = [i for i, e in enumerate(events) if e.pk in changed]
    if not listed:
        return
    top = events[: listed[-1] + 1]
    # Keyed by the rows it holds: in a consumer's coalescing window (consumers.py) only the
    # same rows replace it; a top that ends elsewhere (the new rows alone, after a top that
    # reached down to a late one) travels too.
    fragments[f"events-{top[0].pk}-{top[-1].pk}"] = _partial(
        "web/overview.html", "new-events", {"events": top}
    )


def _render_explanations(fragments: Fragments, changes: Changes, wanted) -> None:
    """The "Why isn't vX live?" panels of releases in flight that an application change or the
    Image Updater's (its Deployment, its log) may move, though no release row changed."""
    if changes.updaters:
        releases = [r for r in queries.releases_in_flight() if r.pk not in changes.releases]
    elif changes.applications:
        releases = [
            r
            for r in explainer.releases_tracked_by(changes.applications)
            if r.pk not in changes.releases
        ]
    else:
        return
    for release in releases:
        if not wanted(release_group(release.pk)):
            continue
        fragments[release_group(release.pk)][f"release-{release.pk}-explain"] = _partial(
            "web/release.html",
            "release-explain",
            {"release": release, **explainer.panel_context(release)},
        )


def _render_actions(fragments: Fragments, pks: set[int], wanted) -> None:
    """The action log page (unfiltered), and the on-call card of the applications acted on."""
    if wanted(ACTIONS):
        newest = list(queries.actions()[: queries.ACTION_LOG_LIMIT])
        fragments[ACTIONS]["action-log"] = _partial(
            "web/actions.html", "action-table", {"actions": newest}
        )
    targets = set(Action.objects.filter(pk__in=pks).values_list("target", flat=True))
    acted_on = [Q(namespace=ns, name=name) for ns, _, name in (t.partition("/") for t in targets)]
    for app in Application.objects.filter(reduce(operator.or_, acted_on, Q(pk__in=[]))):
        fragments[application_group(app.pk)][f"app-{app.pk}-recent-actions"] = _partial(
            "web/application.html",
            "app-recent-actions",
            {"app": app, "recent_actions": list(queries.actions(target=app.key)[:5])},
        )


def updater_context(row) -> dict:
    """The updater status partial's context from what the watcher recorded."""
    return {"status": row, "last_restart": queries.latest_restart(row.namespace, row.name)}


def _partial(template: str, partial: str, context: dict) -> str:
    return render_to_string(f"{template}#{partial}", {**context, "oob": True})


class _LoopPublisher:
    """Runs on the server's event loop; renders in a worker thread, sends from the loop."""

    def __init__(self) -> None:
        self._pending = None
        self._task: asyncio.Task | None = None

    def submit(self, changes: Changes) -> None:
        if self._pending is None:
            self._pending = Changes()
        self._pending.merge(changes)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is not None:
            batch, self._pending = self._pending, None
            try:
                # Rendering in its own thread: it must not queue behind the sync views.
                await _publish(batch, _in_thread)
            except Exception:
                log.exception("live broadcast failed")


class _ThreadPublisher:
    """For processes without websockets (pollers, commands) talking to a Redis layer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending = None
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, changes: Changes) -> None:
        with self._lock:
            if self._pending is None:
                self._pending = Changes()
            self._pending.merge(changes)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cdportal-live-publisher", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def flush(self, timeout: float) -> bool:
        with self._lock:
            return self._wake.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._pending is not None)
                batch, self._pending, self._busy = self._pending, None, True
            try:
                publish_now(batch)
            finally:
                with self._lock:
                    self._busy = False
                    self._wake.notify_all()


# One thread renders for the whole process: one database connection, and fragments rendered
# in the order their changes were committed.
_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdportal-render")
_server_loop: asyncio.AbstractEventLoop | None = None
_loop_publisher = _LoopPublisher()
_thread_publisher = _ThreadPublisher()
atexit.register(flush, 5.0)
PUBLISHER = Publisher(publish=publish, flush=flush, isolation=isolation)


def publish_fragment(group: str, dom_id: str, html: str) -> None:
    """Send one already-rendered fragment to a group now (an action's progress). Never raises:
    the action goes on whether or not anyone watches."""
    try:
        async_to_sync(send_fragments)({group: {dom_id: html}})
    except Exception:
        log.exception("live broadcast of %s failed", dom_id)
