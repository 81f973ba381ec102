"""The one ingestion path: every observation enters the read models here.

``ingest(data)`` validates a normalized event (``cdportal.core.events``), records it once per
``(source, source_id)``, updates the models it concerns in the same transaction, correlates it
to its release and rollout, and — after commit, never before — hands the changed object ids
(``Changes``) to ``cdportal.pipeline.publish``, where the live layer registered its
broadcaster. A malformed event raises ``InvalidEvent`` before anything is written; any other
failure rolls the whole transaction back.

Concurrent writers (the API's request threads and processes, webhooks, pollers, watchers) are
serialised: every ingest transaction first takes one database-wide lock and holds it until it
commits. The handlers read rows, decide and write them back (the pending release a `release`
event takes over, a build's status, a rollout's times); two of them interleaving lose each
other's writes. With the lock held from the first statement, each transaction reads everything
committed before it and nothing runs beside it, so the rows after any number of concurrent
writers are those the same events give one at a time, in the order they committed (the event
log's primary keys).

Why one lock and not one per repository or release: which rows an event touches is known only
after reading — an `image_push` names an image, not a repository; the component that builds it
is learned from the releases; an `application` event reaches rollouts of any release whose tag
its parameter names. A `release` and an `image_push` of the same tag under different locks
could each miss the other (no build time). Row locks (select_for_update) have the same hole for
rows that do not exist yet. The cost: writers no longer overlap their database round trips;
ingestion is a few milliseconds of database work per event, a pipeline produces a few events per
second, and parsing and the duplicate check stay outside the lock
(benchmarks/ingest_concurrency.py prints serial and concurrent events/s, with and without it).

- PostgreSQL: a transaction-level advisory lock (`pg_advisory_xact_lock`), released by commit
  or rollback, never left behind by a crashed process.
- SQLite: the database is the lock. cdportal opens SQLite transactions with BEGIN IMMEDIATE
  and a busy timeout (cdportal/env.py), so a writer waits for the one before it instead of
  failing with "database is locked".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import semver
from django.db import connection, transaction
from django.db.models import Q

from cdportal.core import events as ev
from cdportal.core.conventional import Commit as RawCommit
from cdportal.core.events import InvalidEvent, parse_event, split_image_reference, version_of_tag
from cdportal.core.image_list import tag_parameter, tracked_images
from cdportal.core.parsing import parse_commit
from cdportal.core.stages import Stage
from cdportal.pipeline import operations, publish
from cdportal.pipeline.changes import Changes
from cdportal.pipeline.models import (
    Application,
    BuildRun,
    Commit,
    Component,
    DeployedTag,
    ImageRepository,
    ImageTag,
    ImageUpdaterConfig,
    PipelineEvent,
    Release,
    Repository,
    Rollout,
    UpdaterDeployment,
)
from cdportal.pipeline.policies import policies_for, tracked_from_resource
from cdportal.pipeline.updater_actions import settle_restarts

__all__ = ["IngestResult", "InvalidEvent", "ingest", "ingest_many"]

FAILED_CONCLUSIONS = {"failure", "cancelled", "timed_out", "startup_failure", "action_required"}
STATUS_ORDER = {"queued": 0, "in_progress": 1, "completed": 2}


@dataclass(frozen=True)
class IngestResult:
    event: PipelineEvent
    created: bool  # False: this (source, source_id) was already recorded; nothing changed.
    changes: Changes


def ingest(data: Any, *, broadcast: bool = True) -> IngestResult:
    event = parse_event(data)
    existing = _recorded(event)
    if existing is not None and not _pushed_again(event):
        return IngestResult(existing, False, Changes())
    with transaction.atomic(), _memo():
        _one_writer_at_a_time()
        result = _record(event)
        if broadcast and result.created:
            publish.after_commit(result.changes)
    return result


def ingest_many(items: Iterable[Any], *, broadcast: bool = True) -> list[IngestResult]:
    """Ingest events in order in ONE transaction (one lock, one commit, one publish): the rows
    are those `ingest` leaves for the same events one by one. For bulk sources (a history
    import); a batch waits for nothing else, so keep batches to a few hundred events.

    An invalid event raises InvalidEvent after the events before it are recorded, as one by one."""
    events, invalid = [], None
    for data in items:
        try:
            events.append(parse_event(data))
        except InvalidEvent as e:
            invalid = e
            break
    results: list[IngestResult] = []
    if events:
        with transaction.atomic(), _memo():
            _one_writer_at_a_time()
            changes = Changes()
            known = _recorded_many(events)  # one query for the batch, not one per event
            _read_commits([e for e in events if e.kind == "commit"])
            for event in events:
                result = _record(event, known)
                results.append(result)
                changes.merge(result.changes)
                known.setdefault((event.source, event.source_id), result.event)
            if broadcast and changes:
                publish.after_commit(changes)
    if invalid is not None:
        raise invalid
    return results


def _record(event, known: dict | None = None) -> IngestResult:
    """Record one parsed event: inside the ingest transaction, with the lock held. `known`:
    the events of (source, source_id) recorded so far, read under the lock."""
    # Two writers may race on the same observation (a webhook and the poller): the second
    # one to get the lock finds it recorded.
    existing = _recorded(event) if known is None else known.get((event.source, event.source_id))
    again = existing is not None and _pushed_again(event)
    if existing is not None and not again:
        return IngestResult(existing, False, Changes())
    changes = Changes()
    row = HANDLERS[event.kind](event, changes)
    if again:
        row.source_id = _again_id(event)
    row.save(force_insert=True)
    changes.events.append(row.pk)
    return IngestResult(row, True, changes)


# Repositories and components, once read or made in an ingest transaction, for the rest of it
# (rows of both are never deleted): a batch of a release's commits asks for each once.
_memos = threading.local()


@contextmanager
def _memo():
    _memos.value = {}
    try:
        yield
    finally:
        _memos.value = None


def _read_commits(events) -> None:
    """Which of a batch's commits are recorded, and in which release: one query, kept in the
    transaction's memo for `_known_commit` (commits are never deleted)."""
    memo = getattr(_memos, "value", None)
    if memo is None or not events:
        return
    asked = {(e.repository, e.sha) for e in events}
    rows = Commit.objects.filter(
        repository__full_name__in={name for name, _ in asked}, sha__in={sha for _, sha in asked}
    ).values_list("repository__full_name", "sha", "release_id")
    memo["commits asked"] = asked
    memo["commits"] = {(name, sha): release for name, sha, release in rows}


def _known_commit(repo: Repository, sha: str) -> tuple[bool, int | None]:
    """Whether the commit is recorded, and its release's id."""
    memo = getattr(_memos, "value", None)
    key = (repo.full_name, sha)
    if memo is not None and key in memo.get("commits asked", ()):
        return key in memo["commits"], memo["commits"].get(key)
    commit = Commit.objects.filter(repository=repo, sha=sha).only("release_id").first()
    return commit is not None, commit.release_id if commit else None


def _remember_commit(repo: Repository, sha: str, release_id: int | None) -> None:
    memo = getattr(_memos, "value", None)
    if memo is not None and "commits" in memo:
        memo["commits"][(repo.full_name, sha)] = release_id


def _memoized(key: tuple, make):
    memo = getattr(_memos, "value", None)
    if memo is None:
        return make()
    if key not in memo:
        memo[key] = make()
    return memo[key]


# Any constant: the key of the advisory lock every ingest transaction takes on PostgreSQL.
INGEST_LOCK = 0x63645F696E67  # "cd_ing"


def _one_writer_at_a_time() -> None:
    """Wait for the ingestion lock; held until this transaction ends (see the module docstring)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])


def _recorded_many(events) -> dict[tuple[str, str], PipelineEvent]:
    wanted = {(e.source, e.source_id) for e in events}
    rows = PipelineEvent.objects.filter(
        source__in={source for source, _ in wanted},
        source_id__in={source_id for _, source_id in wanted},
    )
    return {(r.source, r.source_id): r for r in rows if (r.source, r.source_id) in wanted}


def _recorded(event) -> PipelineEvent | None:
    return PipelineEvent.objects.filter(source=event.source, source_id=event.source_id).first()


def _pushed_again(event) -> bool:
    """A tag deleted and then pushed again with the same digest: its push's source id
    (IMAGE:TAG@DIGEST, shared by the webhook and the scanner) is already recorded, but this push
    is a new fact — the tag exists again."""
    return (
        event.kind == "image_push"
        and ImageTag.objects.filter(
            image__name=event.image,
            tag=event.tag,
            deleted_at__isnull=False,
            deleted_at__lte=event.occurred_at,
        ).exists()
    )


def _again_id(event) -> str:
    return f"{event.source_id[:180]}#{int(event.occurred_at.timestamp() * 1_000_000)}"


def _row(event, **links) -> PipelineEvent:
    return PipelineEvent(
        source=event.source,
        source_id=event.source_id,
        kind=event.kind,
        occurred_at=event.occurred_at,
        summary=event.describe()[:300],
        payload=event.model_dump(mode="json"),
        **links,
    )


# --- correlation helpers -------------------------------------------------------------------


def _repository(full_name: str) -> Repository:
    return _memoized(
        ("repository", full_name),
        lambda: Repository.objects.get_or_create(
            full_name=full_name, defaults={"url": f"https://github.com/{full_name}"}
        )[0],
    )


def _component(repo: Repository, name: str) -> Component:
    return _memoized(
        ("component", repo.pk, name),
        lambda: Component.objects.get_or_create(repository=repo, name=name)[0],
    )


def _next_release(component: Component) -> Release:
    """The release the component's unreleased commits will ship in."""
    release = component.releases.filter(released_at__isnull=True).order_by("-pk").first()
    return release or Release.objects.create(component=component)


def _release_of(component: Component, version: str) -> Release:
    """The release a commit shipped in; recorded ahead of its release event if need be."""
    release = component.releases.filter(version=version).first()
    return release or Release.objects.create(component=component, version=version)


def _release_for_tag(image: ImageRepository, tag: str) -> Release | None:
    """The release an image tag was built from: same tag, the version the tag names, or the
    commit a `sha-<hex>` tag names. Several repositories may release the same tag, so tags are
    matched per image: once the component building it is known, only that component's releases
    count; until then the image's name decides between them (`_built_by`), and a tag it cannot
    tell by stays unmatched rather than guessed."""
    candidates = Release.objects.select_related("component__repository").filter(
        released_at__isnull=False
    )
    if image.component_id:
        found = _tagged(candidates.filter(component_id=image.component_id), tag)
    else:
        found = _built_by(image, candidates, tag)
    return found[0] if len(found) == 1 else None


# docker/metadata-action's `type=sha` tag: "sha-" and the commit's short (or long) hash.
SHA_TAG = re.compile(r"sha-([0-9a-f]{7,40})")


def _tagged(candidates, tag: str) -> list[Release]:
    by_tag = list(candidates.filter(tag=tag)[:10])
    if by_tag:
        return by_tag
    version = version_of_tag(tag)
    if version:
        return list(candidates.filter(version=version)[:10])
    commit = SHA_TAG.fullmatch(tag)
    if commit:
        return list(candidates.filter(sha__startswith=commit[1])[:10])
    return []


def _built_by(image: ImageRepository, candidates, tag: str) -> list[Release]:
    """The releases with this tag of the repositories that may build `image`, a HOST/OWNER/NAME
    whose component is not known yet: the repository OWNER/NAME if there is one (an image named
    after its repository, as docker/metadata-action's `ghcr.io/${{ github.repository }}`);
    otherwise, of those with the tag, OWNER's component called NAME, else OWNER's repositories
    (a workflow's token pushes only to its owner's ghcr.io packages), else all of them."""
    path = image.name.split("/", 1)[-1]
    owner, name = path.split("/", 1)[0], path.rsplit("/", 1)[-1]
    named = Repository.objects.filter(full_name__iexact=path).first()
    if named is not None:
        return _tagged(candidates.filter(component__repository=named), tag)
    found = _tagged(candidates, tag)

    def owned(release: Release) -> bool:
        return release.component.repository.full_name.lower().split("/")[0] == owner

    for likely in (
        lambda r: owned(r) and r.component.name.lower().rsplit("/", 1)[-1] == name,
        owned,
    ):
        narrowed = [release for release in found if likely(release)]
        if narrowed:
            return narrowed
    return found


def _adopt(image: ImageRepository, component: Component, changes: Changes) -> None:
    """Record that `component` builds `image` (learned from one of its tags): later tags
    correlate by it, and the tags pushed before, which matched no release while it was unknown,
    now count as its releases' builds."""
    image.component = component
    image.save(update_fields=["component"])
    for image_tag in image.tags.order_by("pushed_at"):
        release = _release_for_tag(image, image_tag.tag)
        if (
            release is not None
            and _earliest(release.built_at, image_tag.pushed_at) != release.built_at
        ):
            release.built_at = image_tag.pushed_at
            release.save(update_fields=["built_at"])
            changes.releases.add(release.pk)


def _earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new < current else current


def _touch(release: Release, event, changes: Changes) -> None:
    release.updated_at = max(release.updated_at, event.occurred_at)
    _settle_state(release)
    release.save()
    changes.releases.add(release.pk)


def _settle_state(release: Release) -> None:
    S = Release.State
    if release.state == S.SUPERSEDED:
        return
    # A deleted application's rollouts are history: they neither fail nor hold up the release.
    rollouts = list(release.rollouts.filter(application__deleted_at__isnull=True))
    if release.failed_stage or any(r.failed_stage for r in rollouts):
        release.state = S.FAILED
    elif release.released_at is None:
        release.state = S.PR_OPEN if release.pr_state in ("open", "merged") else S.PENDING
    elif _reached_every_target(release, rollouts):
        release.state = S.DEPLOYED
    else:
        release.state = S.RELEASED


def _reached_every_target(release: Release, rollouts: list[Rollout]) -> bool:
    """Deployed means synced everywhere it is headed: every application that tracks one of the
    component's images, not only those the updater has already picked it up for."""
    synced = {r.application_id for r in rollouts if r.synced_at}
    targets = set(
        Application.objects.filter(
            images__component=release.component_id, deleted_at__isnull=True
        ).values_list("pk", flat=True)
    ) | {r.application_id for r in rollouts}
    return bool(targets) and targets <= synced


def _supersede_older(release: Release, changes: Changes) -> None:
    """A deployed release ends the flight of older ones of its component that never landed."""
    try:
        mine = semver.Version.parse(release.version)
    except ValueError:
        return
    older = release.component.releases.filter(
        state__in=[Release.State.RELEASED, Release.State.FAILED], released_at__isnull=False
    ).exclude(pk=release.pk)
    for other in older:
        try:
            if semver.Version.parse(other.version) < mine:
                other.state = Release.State.SUPERSEDED
                other.save(update_fields=["state"])
                changes.releases.add(other.pk)
        except ValueError:
            continue


# --- one handler per event kind ------------------------------------------------------------


def _on_commit(event: ev.CommitMerged, changes: Changes) -> PipelineEvent:
    repo = _repository(event.repository)
    component = _component(repo, event.component)
    recorded, release_id = _known_commit(repo, event.sha)
    if not recorded:
        release = (
            _release_of(component, event.release_version)
            if event.release_version
            else _next_release(component)
        )
        kind, scope, breaking = _conventional(event.sha, event.message)
        Commit.objects.create(
            repository=repo,
            component=component,
            release=release,
            sha=event.sha,
            message=event.message,
            type=kind,
            scope=scope,
            breaking=breaking,
            author=event.author,
            url=event.url,
            committed_at=event.occurred_at,
        )
        _remember_commit(repo, event.sha, release.pk)
        release.merged_at = _earliest(release.merged_at, event.occurred_at)
        _touch(release, event, changes)
        release_id = release.pk
    return _row(event, repository=repo, release_id=release_id)


def _conventional(sha: str, message: str) -> tuple[str, str, bool]:
    """The type, scope and breaking flag of a message's header ("" when not conventional)."""
    first_line = message.split("\n", 1)[0]
    entries, _ = parse_commit(RawCommit(sha=sha, message=first_line))
    if not entries:
        return "", "", False
    head = entries[-1]
    full, _ = parse_commit(RawCommit(sha=sha, message=message))
    breaking = any(c.breaking and (c.type, c.subject) == (head.type, head.subject) for c in full)
    return head.type, head.scope or "", breaking


def _on_release_pr(event: ev.ReleasePullRequest, changes: Changes) -> PipelineEvent:
    repo = _repository(event.repository)
    component = _component(repo, event.component)
    release = component.releases.filter(version=event.version).first() or _proposed(
        component, event
    )
    if release is None:  # a PR closed unmerged, for a version that never had a row
        return _row(event, repository=repo)
    if release.released_at is None:
        # Release Please rewrites its PR as commits land: the proposal follows the latest title.
        release.version = event.version
        if event.changelog:
            release.changelog = event.changelog
    release.pr_number = event.number
    release.pr_title = event.title
    release.pr_url = event.url or release.pr_url
    release.pr_state = event.state
    if event.labels:
        release.pr_labels = _pr_labels(release.pr_labels, event.labels)
    if event.state in ("open", "merged"):
        release.pr_opened_at = _earliest(release.pr_opened_at, event.occurred_at)
    _touch(release, event, changes)
    return _row(event, repository=repo, release=release)


TAGGED_LABEL = "autorelease: tagged"


def _pr_labels(stored: list, seen: list[str]) -> list[str]:
    """The labels a Release PR shows now. Release Please moves a PR from `autorelease: pending`
    to `autorelease: tagged`, never back: a late observation of the old label (a poll page, a
    redelivered webhook) does not undo the move."""
    if TAGGED_LABEL in (stored or []) and TAGGED_LABEL not in seen:
        return list(stored)
    return sorted(set(seen))


def _on_release(event: ev.ReleasePublished, changes: Changes) -> PipelineEvent:
    repo = _repository(event.repository)
    component = _component(repo, event.component)
    release = component.releases.filter(version=event.version).first()
    if release is None:
        release = _completed_by(component, event.version) or Release(component=component)
        release.version = event.version
    release.tag = event.tag
    release.url = event.url or release.url
    release.sha = event.sha or release.sha
    release.changelog = event.changelog or release.changelog
    release.released_at = _earliest(release.released_at, event.occurred_at)
    if release.pr_state == "open":
        release.pr_state = "merged"
    if release.pk is None:
        release.save()
    _claim_early_builds(release)
    _touch(release, event, changes)
    _claim_early_images(release, changes)
    return _row(event, repository=repo, release=release)


def _proposed(component: Component, event: ev.ReleasePullRequest) -> Release | None:
    """The row a Release PR proposes a version for, when none has that version yet: the pending
    release if it is this PR's (Release Please retitles it as commits land) or has no proposal
    yet; else a row of its own. A merged or closed PR (the poller lists old ones) never takes
    over the pending release another PR proposes."""
    pending = component.releases.filter(released_at__isnull=True).order_by("-pk").first()
    if pending is not None and (
        pending.pr_number == event.number or (pending.pr_number is None and not pending.version)
    ):
        return pending
    if event.state == "closed":
        return None
    return Release.objects.create(component=component, version=event.version)


def _completed_by(component: Component, version: str) -> Release | None:
    """The pending release a new tag completes: the component's unreleased commits, when no
    version is proposed for them yet and the tag is newer than every release. An older tag
    (a first poll reads the whole history; GitHub lists tags by name) gets a row of its own,
    and so does one whose version differs from the open Release PR's proposal."""
    pending = component.releases.filter(released_at__isnull=True).order_by("-pk").first()
    if pending is None or pending.version:
        return None
    newest = _newest_version(
        component.releases.filter(released_at__isnull=False).values_list("version", flat=True)
    )
    return pending if newest is None or semver.Version.parse(version) > newest else None


def _newest_version(versions) -> semver.Version | None:
    parsed = [semver.Version.parse(v) for v in versions if semver.Version.is_valid(v)]
    return max(parsed, default=None)


def _claim_early_builds(release: Release) -> None:
    """Build runs recorded before their release could be told (events arrive out of order; a
    dispatched run names only its commit, known once the tag's `push` arrives)."""
    repo = release.component.repository
    runs = BuildRun.objects.filter(repository=repo, release__isnull=True)
    claims = Q(pk__in=[])
    if release.sha:
        claims |= Q(version="", head_sha__startswith=release.sha[:7])
    if (
        release.version
        and not Release.objects.filter(component__repository=repo, version=release.version)
        .exclude(pk=release.pk)
        .exists()
    ):
        claims |= Q(version=release.version)
    for run in runs.filter(claims).order_by("started_at", "pk"):
        if run.version or _same_commit(run.head_sha, release.sha):
            run.release = release
            run.save(update_fields=["release"])
            _apply_build(release, run)


def _claim_early_images(release: Release, changes: Changes) -> None:
    """An image pushed before its release was observed (events arrive out of order); one not
    yet known to be built by this release's component only if its tag names this release."""
    tags = Q(tag=release.tag)
    if release.sha:
        tags |= Q(tag=f"sha-{release.sha[:7]}")
    pushed = (
        ImageTag.objects.filter(tags)
        .filter(Q(image__component=release.component) | Q(image__component__isnull=True))
        .select_related("image")
        .order_by("pushed_at")
    )
    for image_tag in pushed:
        image = image_tag.image
        if image.component_id is None:
            if _release_for_tag(image, image_tag.tag) != release:
                continue  # another repository's image, or one its tag cannot tell yet
            _adopt(image, release.component, changes)
            release.refresh_from_db(fields=["built_at"])
        release.built_at = _earliest(release.built_at, image_tag.pushed_at)
    release.save(update_fields=["built_at"])


def _on_build(event: ev.BuildRun, changes: Changes) -> PipelineEvent:
    repo = _repository(event.repository)
    run = BuildRun.objects.filter(repository=repo, run_id=event.run_id).first()
    if run is None:
        run = BuildRun(repository=repo, run_id=event.run_id, started_at=event.occurred_at)
    if event.jobs:
        run.jobs = _merge_jobs(run.jobs, event.jobs)
    if run.pk is not None and STATUS_ORDER[event.status] < STATUS_ORDER.get(run.status, 0):
        # A late "in_progress" after "completed" must not reopen the run (its jobs still count).
        run.save(update_fields=["jobs"])
        if run.release_id:
            changes.releases.add(run.release_id)
        return _row(event, repository=repo, release=run.release)
    run.workflow = event.workflow
    run.status = event.status
    run.conclusion = event.conclusion or ""
    run.head_sha = event.head_sha or run.head_sha
    run.version = event.version or run.version
    run.url = event.url or run.url
    if event.status == "completed":
        run.completed_at = event.occurred_at
    run.release = run.release or _release_for_build(repo, event)
    run.save()
    release = run.release
    if release is not None:
        _apply_build(release, run)
        _touch(release, event, changes)
    return _row(event, repository=repo, release=release)


def _apply_build(release: Release, run: BuildRun) -> None:
    """Stage 4 fails with a failed run of the release's build, and recovers with a good one."""
    if run.status == "completed" and run.conclusion in FAILED_CONCLUSIONS:
        release.failed_stage = Stage.BUILT
        release.failure_reason = f"{run.workflow} run #{run.run_id} {run.conclusion}"
    elif release.failed_stage == Stage.BUILT and run.conclusion == "success":
        release.failed_stage = None
        release.failure_reason = ""


def _merge_jobs(stored: list[dict], jobs) -> list[dict]:
    """Jobs by id; a job's newer report replaces an older one, never the other way round."""
    by_id = {job["id"]: job for job in stored}
    for job in jobs:
        old = by_id.get(job.id)
        if old is None or STATUS_ORDER.get(job.status, 1) >= STATUS_ORDER.get(old["status"], 1):
            by_id[job.id] = job.model_dump(mode="json")
    return sorted(by_id.values(), key=lambda j: (j.get("started_at") or "", j["id"]))


def _release_for_build(repo: Repository, event: ev.BuildRun) -> Release | None:
    """The release a run builds: by the version it names (a `version` input, or the tag it
    was started by, `head_branch`), else by its commit. A run started by `workflow_dispatch`
    or by the tag's push without a version input names only `head_sha`: the release whose tag
    points at it, when exactly one does."""
    releases = Release.objects.filter(component__repository=repo)
    if event.component:
        releases = releases.filter(component__name=event.component)
    if event.version:
        return releases.filter(version=event.version).first()
    if event.head_sha:
        same = [
            release
            for release in releases.exclude(sha="").filter(sha__startswith=event.head_sha[:7])[:10]
            if _same_commit(event.head_sha, release.sha)
        ]
        return same[0] if len(same) == 1 else None
    return None


def _same_commit(sha: str, other: str) -> bool:
    """Full or abbreviated, the same commit."""
    return bool(sha and other) and (sha.startswith(other) or other.startswith(sha))


def _on_image_push(event: ev.ImagePushed, changes: Changes) -> PipelineEvent:
    image, _ = ImageRepository.objects.get_or_create(name=event.image)
    ImageTag.objects.update_or_create(
        image=image,
        tag=event.tag,
        defaults={
            "digest": event.digest,
            "pushed_at": event.occurred_at,
            "created_at": event.created_at,
            "deleted_at": None,  # pushed again after a deletion: it exists again
        },
    )
    changes.images.add(image.pk)
    # Applications tracking the image: their "would update to" may change with a new tag.
    changes.applications.update(image.applications.values_list("pk", flat=True))
    release = _release_for_tag(image, event.tag)
    if release is not None:
        if image.component_id is None:
            _adopt(image, release.component, changes)
            release.refresh_from_db(fields=["built_at"])
        release.built_at = _earliest(release.built_at, event.occurred_at)
        if release.failed_stage == Stage.BUILT:
            release.failed_stage, release.failure_reason = None, ""
        _touch(release, event, changes)
    return _row(event, image=image, release=release)


def _on_image_delete(event: ev.ImageDeleted, changes: Changes) -> PipelineEvent:
    """The tag (or every tag on the digest) no longer exists: marked deleted, kept for history.
    A tag pushed after the deletion happened (a late notification) stays."""
    image = ImageRepository.objects.filter(name=event.image).first()
    if image is None:
        return _row(event)
    tags = image.tags.filter(deleted_at__isnull=True, pushed_at__lte=event.occurred_at)
    if event.tag:
        tags = tags.filter(tag=event.tag)
    if event.digest:
        tags = tags.filter(digest=event.digest)
    if tags.update(deleted_at=event.occurred_at):
        changes.images.add(image.pk)
        # Their "would update to" may have named the deleted tag.
        changes.applications.update(image.applications.values_list("pk", flat=True))
    return _row(event, image=image)


def _application(namespace: str, name: str) -> Application:
    app, _ = Application.objects.get_or_create(namespace=namespace, name=name)
    return app


def _on_updater(event: ev.UpdaterDetected, changes: Changes) -> PipelineEvent:
    app = _application(event.namespace, event.application)
    image, _ = ImageRepository.objects.get_or_create(name=event.image)
    app.images.add(image)
    changes.applications.add(app.pk)
    release = _release_for_tag(image, event.to_tag)
    if release is not None:
        rollout, _ = Rollout.objects.get_or_create(release=release, application=app)
        rollout.detected_at = _earliest(rollout.detected_at, event.occurred_at)
        rollout.updated_at = event.occurred_at
        rollout.save()
        _touch(release, event, changes)
    return _row(event, application=app, image=image, release=release)


def _on_application(event: ev.ApplicationObserved, changes: Changes) -> PipelineEvent:
    if event.deleted:
        return _application_deleted(event, changes)
    app = _application(event.namespace, event.name)
    if app.deleted_at is not None:
        if app.deleted_at > event.occurred_at:
            return _row(event, application=app)  # a snapshot from before the deletion
        app.deleted_at = None  # re-created
        app.save(update_fields=["deleted_at"])
        _resettle_targets(app, changes)
    app.project = event.project
    app.repo_url = event.repo_url
    app.image_policy = dict(event.annotations)
    app.labels = dict(event.labels)
    app.parameters = dict(event.parameters)
    app.live_images = list(event.images)
    if app.sync_since is None or app.sync_status != event.sync_status:
        app.sync_since = event.occurred_at
    if app.health_since is None or app.health_status != event.health_status:
        app.health_since = event.occurred_at
    app.sync_status = event.sync_status
    app.health_status = event.health_status
    app.health_message = event.health_message
    app.operation_phase = event.operation_phase
    app.operation_message = event.operation_message
    app.revision = event.revision
    app.last_synced_at = event.last_synced_at or app.last_synced_at
    if event.auto_sync is not None:
        app.auto_sync = event.auto_sync
    app.reconciled_at = event.reconciled_at or app.reconciled_at
    app.conditions = [c.model_dump(mode="json") for c in event.conditions]
    app.operation = event.operation.model_dump(mode="json") if event.operation else None
    app.sync_history = [h.model_dump(mode="json") for h in event.history]
    app.observed_at = event.occurred_at
    changes.applications.add(app.pk)

    release = None
    for tracked, parameter in _tracked(app):
        image, _ = ImageRepository.objects.get_or_create(name=tracked.image)
        app.images.add(image)
        desired = event.parameters.get(parameter, "")
        running = _running_tag(event.images, tracked.image)
        app.current_tag = running or desired
        last = app.tag_history.filter(image=tracked.image).first()
        if running and (last is None or last.tag != running):
            DeployedTag.objects.create(
                application=app, image=tracked.image, tag=running, since=event.occurred_at
            )
        release = _advance_rollout(app, image, desired, running, event, changes) or release
    app.save()
    operations.settle(event)  # a sync or refresh is done when Argo CD's work is
    return _row(event, application=app, release=release)


def _application_deleted(event: ev.ApplicationObserved, changes: Changes) -> PipelineEvent:
    """The Application no longer exists: marked deleted (its rollouts stay, for history), it
    leaves the lists, Needs attention and the targets of the releases it was one of."""
    app = Application.objects.filter(namespace=event.namespace, name=event.name).first()
    if app is None:
        return _row(event)
    if app.deleted_at is None and app.observed_at <= event.occurred_at:
        app.deleted_at = event.occurred_at
        app.observed_at = event.occurred_at
        app.save(update_fields=["deleted_at", "observed_at"])
        changes.applications.add(app.pk)
        _resettle_targets(app, changes)
    return _row(event, application=app)


def _resettle_targets(app: Application, changes: Changes) -> None:
    """The releases in flight `app` is (or was) a target of: their state counts its targets."""
    releases = Release.objects.filter(state__in=Release.IN_FLIGHT).filter(
        Q(rollouts__application=app) | Q(component__images__applications=app)
    )
    for release in releases.distinct():
        _settle_state(release)
        release.save(update_fields=["state"])
        changes.releases.add(release.pk)
        if release.state == Release.State.DEPLOYED:
            _supersede_older(release, changes)


def _tracked(app: Application, configs: list[ImageUpdaterConfig] | None = None) -> list:
    """(image, Helm tag parameter) per image the Image Updater follows in `app`: from the
    ImageUpdater resource that selects it (v1.x), else from its annotations. `configs`: the
    namespace's resources, when the caller has read them already."""
    found = policies_for(app, configs)
    if found.from_resource:
        return tracked_from_resource(found)
    return [(t, tag_parameter(app.image_policy, t.alias)) for t in tracked_images(app.image_policy)]


def _on_updater_config(event: ev.ImageUpdaterObserved, changes: Changes) -> PipelineEvent:
    """An ImageUpdater resource changed: the Applications of its namespace may now be followed
    differently; link the images each follows now, and re-render their pages."""
    if event.deleted:
        ImageUpdaterConfig.objects.filter(namespace=event.namespace, name=event.name).delete()
    else:
        config, created = ImageUpdaterConfig.objects.get_or_create(
            namespace=event.namespace, name=event.name
        )
        if created or config.observed_at <= event.occurred_at:
            config.spec = dict(event.spec)
            config.ready, config.error = event.ready, event.error
            config.last_checked_at, config.last_updated_at = (
                event.last_checked_at,
                event.last_updated_at,
            )
            config.observed_at = event.occurred_at
            config.save()
    configs = list(ImageUpdaterConfig.objects.filter(namespace=event.namespace))
    for app in Application.objects.filter(namespace=event.namespace):
        # What it follows now: a resource that selects it, else its annotations (links to images
        # no longer followed go; the rollouts already recorded stay).
        images = [
            ImageRepository.objects.get_or_create(name=tracked.image)[0]
            for tracked, _ in _tracked(app, configs)
        ]
        app.images.set(images)
        changes.applications.add(app.pk)
    return _row(event)


def _running_tag(images: list[str], image: str) -> str:
    for reference in images:
        name, tag = split_image_reference(reference)
        if name == image and tag:
            return tag
    return ""


def _advance_rollout(app, image, desired: str, running: str, event, changes) -> Release | None:
    """Stages 6 and 7 for the release whose tag the application's parameter now names."""
    if not desired:
        return None
    release = _release_for_tag(image, desired)
    if release is None:
        return None
    rollout, _ = Rollout.objects.get_or_create(release=release, application=app)
    rollout.parameter_updated_at = _earliest(rollout.parameter_updated_at, event.occurred_at)
    healthy = (
        event.sync_status == "Synced"
        and event.health_status == "Healthy"
        and event.operation_phase not in ("Running", "Terminating")
        and running in ("", desired)
    )
    if healthy:
        rollout.synced_at = _earliest(rollout.synced_at, event.occurred_at)
        rollout.failed_stage, rollout.failure_reason = None, ""
    elif rollout.synced_at is None and event.operation_phase in ("Failed", "Error"):
        rollout.failed_stage = Stage.SYNCED
        rollout.failure_reason = (
            f"Sync {event.operation_phase.lower()}: {event.operation_message}".strip(": ")
        )
    elif rollout.synced_at is None and event.health_status == "Degraded":
        rollout.failed_stage = Stage.SYNCED
        rollout.failure_reason = f"Degraded: {event.health_message}".strip(": ")
    rollout.updated_at = event.occurred_at
    rollout.save()
    _touch(release, event, changes)
    if release.state == Release.State.DEPLOYED:
        _supersede_older(release, changes)
    return release


def _on_release_plan(event: ev.ReleasePlanned, changes: Changes) -> PipelineEvent:
    repo = _repository(event.repository)
    component = _component(repo, event.component)
    if component.planned_at is not None and event.occurred_at < component.planned_at:
        # An older prediction arriving late must not replace a newer one.
        return _row(event, repository=repo)
    component.path = event.path
    component.release_type = event.release_type
    component.current_version = event.current_version or ""
    component.plan = event.model_dump(
        mode="json",
        exclude={"kind", "source", "source_id", "repository", "component", "path", "release_type"},
    )
    component.planned_at = event.occurred_at
    component.save()
    changes.components.add(component.pk)
    pending = component.releases.filter(released_at__isnull=True).first()
    if pending is not None:
        changes.releases.add(pending.pk)  # its title shows the predicted version
    return _row(event, repository=repo, release=pending)


def _on_updater_deployment(event: ev.UpdaterDeploymentObserved, changes: Changes) -> PipelineEvent:
    row, created = UpdaterDeployment.objects.get_or_create(
        namespace=event.namespace, name=event.name
    )
    if not created and row.observed_at > event.occurred_at:
        return _row(event)  # an older snapshot arriving late: recorded, not applied
    for key in ev.UpdaterDeploymentObserved.STATE:
        setattr(row, key, getattr(event, key))
    row.observed_at = event.occurred_at
    row.save()
    # A restart on-call asked for is done when this rollout says so, whoever follows it.
    settle_restarts(event.model_dump(), now=event.occurred_at)
    changes.updaters.add(row.pk)
    return _row(event)


def _on_updater_log(event: ev.UpdaterLogRead, changes: Changes) -> PipelineEvent:
    """What the updater's log says about its checks, kept on its Deployment's row (a newer
    cycle's report replaces an older one; the interval stays when a log tail no longer holds
    the `starting` line)."""
    row, _ = UpdaterDeployment.objects.get_or_create(namespace=event.namespace, name=event.name)
    if event.interval_seconds is not None:
        row.interval_seconds = event.interval_seconds
    if event.last_cycle_at is not None and (
        row.last_cycle_at is None or event.last_cycle_at >= row.last_cycle_at
    ):
        row.last_cycle_at = event.last_cycle_at
        row.cycle_errors = [e.model_dump(mode="json") for e in event.errors]
    row.save()
    changes.updaters.add(row.pk)
    return _row(event)


HANDLERS = {
    "commit": _on_commit,
    "release_pr": _on_release_pr,
    "release": _on_release,
    "build": _on_build,
    "image_push": _on_image_push,
    "image_delete": _on_image_delete,
    "updater": _on_updater,
    "application": _on_application,
    "updater_deployment": _on_updater_deployment,
    "updater_config": _on_updater_config,
    "updater_log": _on_updater_log,
    "release_plan": _on_release_plan,
}
