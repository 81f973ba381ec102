"""The registry scanner: polling behind the push notifications, one request per unchanged image.

``scan(images, sink=…)`` turns the tags of each image (``HOST/NAMESPACE/NAME``) into
``image_push`` events. An event's source id is ``IMAGE:TAG@DIGEST`` — the same id the registry
webhook (``cdportal.api.registry_webhook``) gives the same push, so a push seen by both is
recorded once, and a tag moved to another digest is a new event.

Why a rescan of an unchanged image costs one request: what a scan has seen lives in the image's
record in the `StateStore` passed in (source "registry", key = the image): the tag → digest map it recorded, the
tag list's validator and when the digests were last verified. A round asks for the tag list
(one GET, conditional with ``If-None-Match`` when the registry gave an ETag — the Distribution
registry gives none, ghcr.io's answers are compared instead). When the tags are the ones already
recorded, the image is done: manifests and configs are addressed by digest and never change, so
nothing else is asked. Only a tag not seen before costs more: a HEAD for its digest, and for a
digest never read a GET of the manifest and one of its config blob (the created time).

A tag recorded before and absent from a complete tag list was deleted: it becomes an
``image_delete`` event (so does a tag whose HEAD answers 404 between the list and the lookup).

The one thing a tag list cannot show is a tag moved to another digest (``latest``, ``prod``).
The webhook reports those as they happen; the scanner also re-verifies every tag with one HEAD
each every ``REVERIFY_SECONDS`` (and on ``full=True``), reading manifests only for digests that
changed.

The first scan of an image (its backfill) dates each tag by its image's created time when that
is plausible, since the push itself is long past; later scans date a new tag by when it was
first seen. Each round records in the image's record when it ran, how it went and the requests it
cost.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.registry.client import RegistryClient, parse_credentials
from cdportal.adapters.registry.errors import NotFound, RateLimited, RegistryError
from cdportal.adapters.sinks import EventSink
from cdportal.adapters.state import ETAG_LENGTH, PollRecord, StateStore
from cdportal.core.events import IMAGE_RE, InvalidEvent

log = logging.getLogger(__name__)

SOURCE = "registry"
REVERIFY_SECONDS = 6 * 3600
PLAUSIBLE_SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # reproducible builds say 1970 (or 0001)
MAX_SOURCE_ID = 200

ClientFactory = Callable[[str], RegistryClient]


# --- what both paths share ----------------------------------------------------------------------


def split_image(image: str) -> tuple[str, str]:
    """'ghcr.io/5dlabs/controller' -> ('ghcr.io', '5dlabs/controller'); ValueError otherwise."""
    image = image.strip()
    if not IMAGE_RE.fullmatch(image):
        raise ValueError(
            f"{image!r} is not an image (lowercase HOST/NAMESPACE/NAME, without tag or digest)"
        )
    host, _, repository = image.partition("/")
    return host, repository


def push_source_id(image: str, tag: str, digest: str) -> str:
    """The id of 'IMAGE:TAG now points at DIGEST', from whichever path observed it."""
    source_id = f"{image}:{tag}@{digest}"
    if len(source_id) <= MAX_SOURCE_ID:
        return source_id
    return "sha256:" + hashlib.sha256(source_id.encode()).hexdigest()


def push_event(
    *, image: str, tag: str, digest: str, occurred_at: datetime, created_at: datetime | None = None
) -> dict:
    image = image.lower()
    return {
        "kind": "image_push",
        "source": SOURCE,
        "source_id": push_source_id(image, tag, digest),
        "occurred_at": occurred_at.isoformat(),
        "image": image,
        "tag": tag,
        "digest": digest,
        "created_at": created_at.isoformat() if created_at else None,
    }


def delete_event(
    *, image: str, occurred_at: datetime, source_id: str, tag: str = "", digest: str = ""
) -> dict:
    """'IMAGE:TAG (or every tag on DIGEST) no longer exists', from whichever path observed it."""
    return {
        "kind": "image_delete",
        "source": SOURCE,
        "source_id": source_id[:MAX_SOURCE_ID],
        "occurred_at": occurred_at.isoformat(),
        "image": image.lower(),
        "tag": tag or None,
        "digest": digest or None,
    }


_CLIENTS: dict[str, RegistryClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(host: str) -> RegistryClient:
    """This process's client for a registry host, with the credentials REGISTRY_CREDENTIALS
    names for it. Kept for the process's lifetime: its token and digest caches are the point."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(host)
        if client is None:
            reference = settings.REGISTRY_CREDENTIALS.get(host.lower())
            credentials = parse_credentials(reference) if reference else None
            client = _CLIENTS[host] = RegistryClient(
                host, credentials=credentials, max_rps=settings.REGISTRY_MAX_RPS or None
            )
        return client


# --- reports ------------------------------------------------------------------------------------


@dataclass
class ImageScan:
    image: str
    requests: int = 0
    tags: int = 0
    new_tags: int = 0  # tags (or moved tags) whose manifest was looked up this round
    deleted: int = 0  # tags recorded before that the registry no longer lists
    events: int = 0  # newly recorded
    duplicates: int = 0  # already recorded (by the webhook, or an earlier scan)
    rejected: int = 0
    status: str = ""  # ok, unchanged, skipped, rate_limited, error
    detail: str = ""
    next_poll_at: datetime | None = None

    def __str__(self) -> str:
        if self.status == "skipped":
            return f"{self.image}: skipped until {_hms(self.next_poll_at)} ({self.detail})"
        text = (
            f"{self.image}: {self.requests} requests, {self.tags} tags, "
            f"{self.new_tags} new, {self.events} events recorded"
        )
        if self.deleted:
            text += f", {self.deleted} deleted"
        if self.duplicates:
            text += f", {self.duplicates} already known"
        if self.rejected:
            text += f", {self.rejected} rejected"
        text += f"; {self.status.replace('_', ' ')}"
        if self.detail and self.status in ("error", "rate_limited"):
            text += f": {self.detail}"
        return text


@dataclass
class ScanReport:
    images: list[ImageScan] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(i.requests for i in self.images)

    @property
    def events(self) -> int:
        return sum(i.events for i in self.images)

    @property
    def failed(self) -> list[str]:
        return [i.image for i in self.images if i.status == "error"]

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.images)


# --- the scan -----------------------------------------------------------------------------------


def scan(
    images: Iterable[str],
    *,
    sink: EventSink,
    store: StateStore,
    client_factory: ClientFactory = client_for,
    now: datetime | None = None,
    full: bool = False,
) -> ScanReport:
    """One round over the images; see the module docstring for what it asks and records."""
    now = now or timezone.now()
    report = ScanReport()
    limited: dict[str, ImageScan] = {}  # host -> the image that found it rate limiting
    for image in dict.fromkeys(i.strip().lower() for i in images):
        host = image.partition("/")[0]
        if host in limited:
            # Its other images would only collect a 429 each: they wait as long.
            report.images.append(_defer(store, image, limited[host], now))
            continue
        result = _scan_image(image, sink, store, client_factory, now, full)
        if result.status == "rate_limited":
            limited[host] = result
        report.images.append(result)
    return report


def _scan_image(
    image: str,
    sink: EventSink,
    store: StateStore,
    client_factory: ClientFactory,
    now: datetime,
    full: bool,
) -> ImageScan:
    result = ImageScan(image)
    state = store.load(SOURCE, image)
    if state.status == "rate_limited" and state.next_poll_at and state.next_poll_at > now:
        result.status, result.detail = "skipped", state.detail
        result.next_poll_at = state.next_poll_at
        return result
    cursor = dict(state.cursor or {})
    known: dict[str, str] = dict(cursor.get("tags") or {})
    backfill = not cursor.get("backfilled")
    verify = full or backfill or _stale(cursor.get("verified_at"), now)
    recorded = dict(known)
    client = None
    try:
        host, repository = split_image(image)
        client = client_factory(host)
        before = client.requests
        try:
            conditional = bool(state.etag) and cursor.get("pages") == 1 and not verify
            listing = client.list_tags(repository, etag=state.etag if conditional else "")
            tags = list(known) if listing.not_modified else listing.tags
            result.tags = len(tags)
            if not verify and set(tags) == set(known):
                state.etag = _validator(listing.etag) or state.etag
                state.not_modified += 1
                return _finish(store, state, result, client.requests - before, now, "unchanged")
            recorded = {tag: digest for tag, digest in known.items() if tag in tags}
            if not listing.not_modified:
                # The list is complete (every page): a tag recorded before and absent now was
                # deleted.
                for tag in sorted(set(known) - set(tags)):
                    _deleted(sink, image, tag, known[tag], now, result)
            for tag in tags:
                if tag in known and not verify:
                    continue
                _look_up(
                    client,
                    image,
                    repository,
                    tag,
                    known.get(tag),
                    recorded,
                    sink,
                    result,
                    now,
                    backfill,
                )
            cursor.update(tags=recorded, pages=listing.pages, backfilled=True)
            if verify:
                cursor["verified_at"] = now.isoformat()
            state.cursor = cursor
            state.etag = _validator(listing.etag)
            state.changed_at = now
            return _finish(store, state, result, client.requests - before, now, "ok")
        finally:
            result.requests = client.requests - before
    except RegistryError as e:
        if client is not None:
            # Keep what was recorded before the failure: the next round goes on from there.
            state.cursor = {**cursor, "tags": recorded}
        limited = isinstance(e, RateLimited)
        wait = e.retry_after if limited and e.retry_after else None
        return _finish(
            store,
            state,
            result,
            result.requests,
            now,
            "rate_limited" if limited else "error",
            detail=str(e),
            wait=wait,
        )
    except (AdapterError, ValueError) as e:  # the sink failed, or the image is malformed
        if client is not None:
            state.cursor = {**cursor, "tags": recorded}
        return _finish(store, state, result, result.requests, now, "error", detail=str(e))


def _defer(store: StateStore, image: str, limited: ImageScan, now: datetime) -> ImageScan:
    state = store.load(SOURCE, image)
    detail = f"the registry is rate limiting (seen on {limited.image})"
    state.status, state.detail = "rate_limited", detail
    state.next_poll_at = max(filter(None, [state.next_poll_at, limited.next_poll_at]), default=None)
    store.save(state, ["status", "detail", "next_poll_at"])
    return ImageScan(image, status="skipped", detail=detail, next_poll_at=state.next_poll_at)


def _look_up(
    client: RegistryClient,
    image: str,
    repository: str,
    tag: str,
    known_digest: str | None,
    recorded: dict[str, str],
    sink: EventSink,
    result: ImageScan,
    now: datetime,
    backfill: bool,
) -> None:
    """One tag: its digest (HEAD); for a digest not recorded for it, the manifest and an event."""
    try:
        digest = client.resolve(repository, tag)
        if digest and digest == known_digest:
            return
        manifest = client.manifest(repository, digest or tag)
    except RegistryError as e:
        if isinstance(e, NotFound):  # deleted between the list and the HEAD
            if recorded.pop(tag, None) is not None:
                _deleted(sink, image, tag, known_digest or "", now, result)
            return
        raise
    result.new_tags += 1
    occurred = now
    if backfill and manifest.created and PLAUSIBLE_SINCE <= manifest.created <= now:
        occurred = manifest.created
    event = push_event(
        image=image,
        tag=tag,
        digest=manifest.digest,
        occurred_at=occurred,
        created_at=manifest.created,
    )
    _emit(sink, event, result)
    recorded[tag] = manifest.digest


def _deleted(
    sink: EventSink, image: str, tag: str, digest: str, now: datetime, result: ImageScan
) -> None:
    """A tag this image had and has no more. Its id names the round that found it gone, so the
    same tag deleted again after a re-push is a new fact."""
    source_id = f"deleted:{push_source_id(image, tag, digest)}@{now.isoformat()}"
    if len(source_id) > MAX_SOURCE_ID:
        source_id = "deleted:sha256:" + hashlib.sha256(source_id.encode()).hexdigest()
    _emit(sink, delete_event(image=image, tag=tag, occurred_at=now, source_id=source_id), result)
    result.deleted += 1


def _emit(sink: EventSink, event: Mapping[str, Any], result: ImageScan) -> None:
    try:
        created = sink.emit(event)
    except InvalidEvent as e:
        # One malformed fact (a tag the event schema refuses) must not stall the image forever.
        result.rejected += 1
        log.warning("registry scan: %s rejected: %s", event.get("source_id"), e)
        return
    if created:
        result.events += 1
    else:
        result.duplicates += 1


def _finish(
    store: StateStore,
    state: PollRecord,
    result: ImageScan,
    requests: int,
    now: datetime,
    status: str,
    *,
    detail: str = "",
    wait: float | None = None,
) -> ImageScan:
    result.requests, result.status, result.detail = requests, status, detail
    state.polled_at = now
    state.status, state.detail = status, detail[:2000]
    state.requests += requests
    interval = wait if wait is not None else settings.REGISTRY_POLL_SECONDS
    state.next_poll_at = now + timedelta(seconds=interval)
    result.next_poll_at = state.next_poll_at
    store.save(state)
    level = logging.WARNING if status in ("error", "rate_limited") else logging.DEBUG
    log.log(level, "registry scan %s", result)
    return result


def _validator(etag: str) -> str:
    return etag if len(etag) <= ETAG_LENGTH else ""


def _stale(verified_at: str | None, now: datetime) -> bool:
    if not verified_at:
        return True
    try:
        return (now - datetime.fromisoformat(verified_at)).total_seconds() >= REVERIFY_SECONDS
    except (TypeError, ValueError):
        return True


def _hms(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z" if moment else "?"


__all__ = [
    "ImageScan",
    "ScanReport",
    "client_for",
    "delete_event",
    "push_event",
    "push_source_id",
    "scan",
    "split_image",
]
