"""Push changed fragments to the browsers that show them. Owns the group names.

Called by the ingestion service after its transaction commits. Each fragment is rendered once
here, from the same partial and context the page uses, and sent to the group of pages that
show it; every consumer then merges what arrives within its coalescing window (see consumers).
Fragments are viewer-neutral: nothing in them depends on who looks.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.template.loader import render_to_string

from cdportal.pipeline import queries
from cdportal.pipeline.models import Application, Release

log = logging.getLogger(__name__)

OVERVIEW = "overview"
MESSAGE_TYPE = "live.fragment"


def release_group(pk: int) -> str:
    return f"release-{pk}"


def application_group(pk: int) -> str:
    return f"application-{pk}"


def session_group(session_key: str) -> str:
    # Group names travel through Redis; a digest keeps the session key itself out of it.
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def end_session(session_key: str | None) -> None:
    """Close every live socket of a login session that just ended (logout)."""
    if not session_key:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(session_group(session_key), {"type": "session.ended"})
    except Exception:
        log.exception("could not close the live sockets of an ended session")


@dataclass(frozen=True)
class Fragment:
    group: str
    id: str  # the DOM id of the fragment's root: the coalescing key
    html: str


def publish(changes) -> None:
    """Render and send the fragments for what an ingested event changed. Never raises: the
    event is already committed, and a broken channel layer must not fail the ingestion."""
    try:
        fragments = render_fragments(changes)
        if fragments:
            async_to_sync(send_fragments)(fragments)
    except Exception:
        log.exception("live broadcast failed; open pages catch up on their next update")


async def send_fragments(fragments: list[Fragment]) -> None:
    layer = get_channel_layer()
    for fragment in fragments:
        await layer.group_send(fragment.group, {"type": MESSAGE_TYPE, "id": fragment.id, "html": fragment.html})


def render_fragments(changes) -> list[Fragment]:
    fragments = []
    overview = {}
    if changes.releases:
        overview["releases"] = {"releases": queries.releases_in_flight(), "deployed": queries.recently_deployed()}
    if changes.applications:
        overview["applications"] = {"applications": queries.applications()}
    if changes.images:
        overview["tags"] = {"tags": queries.newest_tags()}
    if changes.events:
        overview["events"] = {"events": queries.recent_events()}
    for partial, context in overview.items():
        fragments.append(_render(OVERVIEW, partial, "web/overview.html", partial, context))

    for release in Release.objects.filter(pk__in=changes.releases):
        context = queries.release_context(queries.release(release.pk))
        for part in ("header", "rollouts", "commits", "events"):
            fragments.append(
                _render(release_group(release.pk), f"release-{release.pk}-{part}",
                        "web/release.html", f"release-{part}", context)
            )
    for app in Application.objects.filter(pk__in=changes.applications):
        context = queries.application_context(app)
        for part in ("status", "policy", "history", "events"):
            fragments.append(
                _render(application_group(app.pk), f"app-{app.pk}-{part}",
                        "web/application.html", f"app-{part}", context)
            )
    return fragments


def _render(group: str, dom_id: str, template: str, partial: str, context: dict) -> Fragment:
    html = render_to_string(f"{template}#{partial}", {**context, "oob": True})
    return Fragment(group=group, id=dom_id, html=html)
