"""The GitHub poller: the safety net under the webhooks.

Each round asks GitHub, per repository, for every page of its releases and tags (following
`Link: rel="next"`: a repository's first poll must see its whole history, and tags are listed by
name, so a new one can land on any page), the first page of its pull requests (by last update),
the default branch's commits (down to the latest release's commit) and the build workflow's runs
(GITHUB_BUILD_WORKFLOW), plus the jobs of runs still under way. Every request is conditional
(`If-None-Match` with the ETag of the last answer to that page, from the state store), so an
idle repository costs one 304 per page and, asked with a token, no rate budget. A tag without a
GitHub release is dated by its commit (one request, the first time it is seen); one with a
release carries the release's `published_at`. What did change goes through the same ``github_events`` functions the webhooks
use, so a fact seen by both is one event (the ingestion service keeps one per source id).

State lives in the `StateStore` passed in (source "github"; the pipeline keeps it in
``PollState`` rows): one per repository (`OWNER/NAME`: last
poll, budget left, when to ask next, back-off strikes) and one per list (`OWNER/NAME:releases`,
`…:runs:<file>`, `…:jobs:<run id>`: validators and what was seen). A restarted poller picks
them up and goes on sending conditional requests.

Rate limits (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
"Handle rate limit errors appropriately"): `Retry-After` says how long to wait; a spent budget
(`X-RateLimit-Remaining: 0`) waits for `X-RateLimit-Reset`; a secondary limit without either
waits a minute; each further limit in a row at least doubles the wait (up to an hour). A
repository is skipped until its `next_poll_at`. When the budget runs low the poller stops short
of it, leaving a reserve for webhooks' follow-ups and people's actions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.github import events as github_events
from cdportal.adapters.github.client import client
from cdportal.adapters.github.errors import Budget, GitHubError, RateLimited
from cdportal.adapters.github.repo import GitHubRepo, Response
from cdportal.adapters.sinks import EventSink
from cdportal.adapters.state import ETAG_LENGTH, LAST_MODIFIED_LENGTH, PollRecord, StateStore
from cdportal.core.events import InvalidEvent

log = logging.getLogger(__name__)

SOURCE = "github"
FIRST_BACKOFF = 60  # seconds, when a secondary limit names no time
MAX_BACKOFF = 3600
MAX_PAGES = 100  # after the first: 10,000 releases or tags
# Requests per page of each list. Releases and tags are read to their last page; of the others
# only the first page is polled: it holds whatever changed since the last round (pulls by
# update, commits and runs newest first).
PAGE = {"releases": 30, "pulls": 30, "tags": 100, "commits": 30, "runs": 20, "jobs": 100}


@dataclass
class PollReport:
    repository: str
    requests: int = 0
    not_modified: int = 0
    events: int = 0  # newly recorded
    duplicates: int = 0  # already recorded (by a webhook, or an earlier round)
    rejected: int = 0  # events the ingestion service refused as malformed
    status: str = ""  # ok, not_modified, skipped, rate_limited, error
    detail: str = ""
    budget: Budget = field(default_factory=lambda: Budget(None, None, None))
    next_poll_at: datetime | None = None

    def __str__(self) -> str:
        if self.status == "skipped":
            return f"{self.repository}: skipped until {_hms(self.next_poll_at)} ({self.detail})"
        text = (
            f"{self.repository}: {self.requests} requests, "
            f"{self.not_modified} not modified (304), {self.events} events recorded"
        )
        if self.duplicates:
            text += f", {self.duplicates} already known"
        if self.rejected:
            text += f", {self.rejected} rejected"
        text += f"; budget {_budget(self.budget)}"
        if self.status in ("rate_limited", "error"):
            text += f"; {self.status.replace('_', ' ')}: {self.detail}"
        return text


def poll(
    repo: str,
    *,
    sink: EventSink,
    store: StateStore,
    now: datetime | None = None,
    api: GitHubRepo | None = None,
) -> PollReport:
    """One round for OWNER/NAME: conditional requests, events for what changed, state saved."""
    now = now or timezone.now()
    state = store.load(SOURCE, repo)
    if state.next_poll_at and state.next_poll_at > now:
        return PollReport(
            repo,
            status="skipped",
            detail=state.detail or state.status,
            budget=Budget(state.rate_limit, state.rate_remaining, state.rate_reset),
            next_poll_at=state.next_poll_at,
        )
    # Only GETs, one at a time: GitHub asks for pauses between writes, not reads, so PyGithub's
    # courtesy sleep is dropped; its secondary limits are honoured below instead.
    own = api is None
    api = api or GitHubRepo(repo, gh=client(pause=False))
    round_ = _Round(api, repo, sink, store, now)
    try:
        round_.run()
    except RateLimited as e:
        round_.budget = _merge(round_.budget, Budget(e.limit, e.remaining, e.reset))
        return _finish(
            state, round_, status="rate_limited", detail=str(e), wait=_backoff(state, e, now)
        )
    except _LowBudget as e:
        return _finish(state, round_, status="rate_limited", detail=str(e), until=e.until)
    except AdapterError as e:
        # GitHub unreachable or failing (5xx), or the sink could not deliver: the lists whose
        # events were not all delivered kept their old validators, so the next round asks again.
        return _finish(state, round_, status="error", detail=str(e))
    finally:
        if own:
            api.gh.close()
    if round_.errors:
        return _finish(state, round_, status="error", detail="; ".join(round_.errors))
    return _finish(state, round_, status="ok" if round_.changed else "not_modified")


def poll_all(
    now: datetime | None = None,
    *,
    sink: EventSink,
    store: StateStore,
    repositories: Iterable[str] | None = None,
) -> list[PollReport]:
    """One round over GITHUB_REPOSITORIES. They share the token, hence its limits: once one is
    rate limited the rest wait as long."""
    reports: list[PollReport] = []
    limited: PollReport | None = None
    for repo in repositories if repositories is not None else settings.GITHUB_REPOSITORIES:
        if limited is not None:
            reports.append(_defer(store, repo, limited))
            continue
        report = poll(repo, sink=sink, store=store, now=now)
        reports.append(report)
        if report.status == "rate_limited":
            limited = report
    return reports


def next_due(
    repositories: Iterable[str], *, store: StateStore, now: datetime, interval: float
) -> datetime:
    """When the next round should start: every GITHUB_POLL_SECONDS, later for repositories
    told to wait (the earliest of them all)."""
    regular = now + timedelta(seconds=interval)
    repositories = list(repositories)
    waits = {repo: store.load(SOURCE, repo).next_poll_at for repo in repositories}
    return min((max(regular, waits.get(repo) or regular) for repo in repositories), default=regular)


# --- one round ---------------------------------------------------------------------------------


class _LowBudget(Exception):
    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


class _Round:
    def __init__(
        self, api: GitHubRepo, repo: str, sink: EventSink, store: StateStore, now: datetime
    ):
        self.api, self.repo, self.sink, self.store, self.now = api, repo, sink, store, now
        self.requests = self.not_modified = self.events = self.duplicates = self.rejected = 0
        self.budget = Budget(None, None, None)
        self.changed = False
        self.errors: list[str] = []
        # Build runs only: github_events has an event for them (stage 4) and none for the
        # release-please workflow's runs, so polling those would spend requests on nothing.
        self.workflow = settings.GITHUB_BUILD_WORKFLOW
        self.published: dict[str, str] = {}  # release tag → published_at (see `_tag`)

    def run(self) -> None:
        base = f"/repos/{self.repo}"
        self._list(
            "releases",
            f"{base}/releases",
            {"per_page": PAGE["releases"]},
            lambda item: github_events.from_release(self.repo, item),
            remember=_published,
            every_page=True,
        )
        self.published = (self._state("releases").cursor or {}).get("published", {})
        self._list(
            "pulls",
            f"{base}/pulls",
            {"state": "all", "sort": "updated", "direction": "desc", "per_page": PAGE["pulls"]},
            lambda item: github_events.from_pull_request(self.repo, item),
        )
        self._list(
            "tags",
            f"{base}/tags",
            {"per_page": PAGE["tags"]},
            self._tag,
            key=lambda tag: tag["name"],
            remember=_release_commits,
            every_page=True,
        )
        self._commits()
        self._runs(self.workflow)

    # Each list: ask, and when it changed, emit events for the items that differ from what was
    # seen last time, then keep the new validators. A failure before that keeps the old ones,
    # so the next round asks again (and the ingestion service drops what it already has).

    def _list(
        self,
        name: str,
        path: str,
        params: dict,
        to_events: Callable[[dict], list[dict]],
        *,
        key: Callable[[dict], Any] = lambda item: item["id"],
        item: str | None = None,
        remember: Callable[[dict, list], None] | None = None,
        every_page: bool = False,
    ) -> None:
        state = self._state(name)
        cursor = dict(state.cursor or {})
        seen = cursor.get("seen", {})
        read: dict[str, str] = {}
        items_read: list = []

        def take(answer: Response) -> None:
            items = (answer.data or {}).get(item, []) if item else answer.data
            if not isinstance(items, list):
                raise GitHubError(f"Reading {path}: GitHub answered something other than a list")
            for entry in items:
                entry_key, fingerprint = str(key(entry)), _fingerprint(entry)
                read[entry_key] = fingerprint
                if seen.get(entry_key) != fingerprint:
                    self._emit(to_events(entry))
            items_read.extend(items)

        answer = self._get(state, path, params)
        if answer is not None:
            take(answer)
        if every_page:
            first_next = answer.next_url if answer is not None else cursor.get("next", "")
            pages = self._pages(first_next, cursor.get("pages", []), take)
            if answer is None and not items_read and pages == cursor.get("pages", []):
                return  # every page answered 304
            cursor.update(next=first_next, pages=pages, seen={**seen, **read})
        elif answer is None:
            return
        else:
            cursor["seen"] = read
        if remember is not None:
            remember(cursor, items_read)
        state.cursor = cursor
        if answer is not None:
            _validators(state, answer, self.now)
        else:  # only a later page changed
            state.changed_at, state.status = self.now, "ok"
        self.store.save(state)

    def _pages(self, url: str, stored: list[dict], take: Callable[[Response], None]) -> list[dict]:
        """The pages after the first, each asked with its own validators: [{url, etag,
        last_modified, next}] as they answered (a 304 keeps what the page said last time)."""
        known = {page["url"]: page for page in stored}
        pages: list[dict] = []
        while url and len(pages) < MAX_PAGES:
            old = known.get(url, {})
            answer = self._ask(
                url, {}, etag=old.get("etag", ""), last_modified=old.get("last_modified", "")
            )
            if answer.status == 304:
                pages.append(old)
                url = old.get("next", "")
                continue
            take(answer)
            page = {
                "url": url,
                "etag": answer.etag[:ETAG_LENGTH],
                "last_modified": answer.last_modified[:LAST_MODIFIED_LENGTH],
                "next": answer.next_url,
            }
            pages.append(page)
            url = page["next"]
        return pages

    def _get(self, state: PollRecord, path: str, params: dict) -> Response | None:
        state.polled_at = self.now
        try:
            answer = self._ask(
                path, params, etag=state.etag, last_modified=state.last_modified, state=state
            )
        except GitHubError as e:
            state.status = "rate_limited" if isinstance(e, RateLimited) else "error"
            state.detail = str(e)
            self.store.save(state)
            if not e.permanent:
                raise
            # e.g. a workflow file that does not exist: the other lists still count.
            self.errors.append(str(e))
            return None
        state.rate_limit, state.rate_remaining, state.rate_reset = self.budget
        state.detail = ""
        if answer.status == 304:
            state.not_modified += 1
            state.status = "not_modified"
            self.store.save(state)
            return None
        return answer

    def _ask(
        self,
        path: str,
        params: dict,
        *,
        etag: str = "",
        last_modified: str = "",
        state: PollRecord | None = None,
    ) -> Response:
        """One conditional GET, counted (in the round, and in `state` when given)."""
        self._guard()
        try:
            answer = self.api.get_conditional(
                path, params=params, etag=etag, last_modified=last_modified
            )
        finally:
            self.requests += 1
            if state is not None:
                state.requests += 1
        self.budget = _merge(self.budget, Budget.of(answer.headers))
        if answer.status == 304:
            self.not_modified += 1
        else:
            self.changed = True
        return answer

    def _guard(self) -> None:
        """Stop short of a spent budget (304s are free, but a changed list is not)."""
        if _low(self.budget, self.now):
            raise _LowBudget(_waiting(self.budget), self.budget.reset)

    def _tag(self, tag: dict) -> list[dict]:
        """A version tag, dated by GitHub: its release's `published_at`, else (a tag pushed or
        made without a release) its commit's date. The tags list carries no dates."""
        name = tag["name"]
        sha = (tag.get("commit") or {}).get("sha") or ""
        if not github_events.is_release_tag(name):
            return []
        when = self.published.get(name) or (self._commit_date(sha) if sha else None)
        return github_events.from_tag(self.repo, name, sha, when or self.now.isoformat())

    def _commit_date(self, sha: str) -> str | None:
        """The committer date of `sha` (GET /repos/{o}/{r}/git/commits/{sha}); None when GitHub
        has no such commit."""
        # Reference: https://docs.github.com/en/rest/git/commits#get-a-commit-object
        try:
            answer = self._ask(f"/repos/{self.repo}/git/commits/{sha}", {})
        except GitHubError as e:
            if not e.permanent:
                raise
            return None
        data = answer.data or {}
        return (data.get("committer") or {}).get("date") or (data.get("author") or {}).get("date")

    def _commits(self) -> None:
        """The default branch's newest commits (stage 1 when a push webhook was missed), down to
        the commit of the latest release tag: the ones below it shipped already, and a commit
        event without a version would count them in the next release."""
        released = set((self._state("tags").cursor or {}).get("release_commits", []))
        below_a_release = False

        def to_events(commit: dict) -> list[dict]:
            nonlocal below_a_release
            below_a_release = below_a_release or commit.get("sha") in released
            return [] if below_a_release else github_events.from_commit(self.repo, commit)

        self._list(
            "commits",
            f"/repos/{self.repo}/commits",
            {"per_page": PAGE["commits"]},
            to_events,
            key=lambda commit: commit["sha"],
        )

    def _runs(self, workflow: str) -> None:
        """The workflow's runs, then the jobs of the runs under way (and one last look at the
        jobs of each run that just finished). Runs under way are kept in the list's cursor, so
        their jobs are followed across restarts even while the runs list answers 304."""
        name = f"runs:{workflow}"

        def remember(cursor: dict, listed: list) -> None:
            active = dict(cursor.get("active", {}))
            for run in listed:
                run_id = str(run["id"])
                if run.get("status") != "completed":
                    active[run_id] = {"workflow": run.get("name") or workflow, "done": False}
                elif run_id in active:
                    active[run_id] = {**active[run_id], "done": True}
            cursor["active"] = active

        self._list(
            name,
            f"/repos/{self.repo}/actions/workflows/{workflow}/runs",
            {"per_page": PAGE["runs"]},
            lambda run: github_events.from_workflow_run(self.repo, run, workflows=(workflow,)),
            item="workflow_runs",
            remember=remember,
        )
        state = self._state(name)
        for run_id, run in dict((state.cursor or {}).get("active", {})).items():
            gone = self._jobs(int(run_id), run["workflow"])
            if run["done"] or gone:
                self.store.delete(SOURCE, f"{self.repo}:jobs:{run_id}")
                state.cursor["active"].pop(run_id)
                self.store.save(state, ["cursor"])

    def _jobs(self, run_id: int, workflow: str) -> bool:
        """One run's jobs (steps included); True when the run is gone (404)."""
        key = f"jobs:{run_id}"
        self._list(
            key,
            f"/repos/{self.repo}/actions/runs/{run_id}/jobs",
            {"filter": "latest", "per_page": PAGE["jobs"]},
            lambda job: github_events.from_workflow_job(self.repo, job, workflow=workflow),
            item="jobs",
        )
        return self._state(key).status == "error"

    def _state(self, name: str) -> PollRecord:
        return self.store.load(SOURCE, f"{self.repo}:{name}")

    def _emit(self, events: Iterable[Mapping[str, Any]]) -> None:
        for event in events:
            try:
                created = self.sink.emit(event)
            except InvalidEvent as e:
                # One malformed fact must not stall the list forever; it is logged, not retried.
                self.rejected += 1
                log.warning(
                    "github poller: %s %s rejected: %s", self.repo, event.get("source_id"), e
                )
                continue
            if created:
                self.events += 1
            else:
                self.duplicates += 1


def _published(cursor: dict, releases: list) -> None:
    """Remember each release's tag and date (for `_tag`, also when its page answers 304)."""
    cursor["published"] = {
        **cursor.get("published", {}),
        **{
            release["tag_name"]: release.get("published_at") or release.get("created_at")
            for release in releases
            if not release.get("draft") and release.get("tag_name")
        },
    }


def _release_commits(cursor: dict, tags: list) -> None:
    """Remember which commits the version tags point at (for `_commits`, also on a 304 round)."""
    cursor["release_commits"] = sorted(
        set(cursor.get("release_commits", []))
        | {
            (tag.get("commit") or {}).get("sha")
            for tag in tags
            if github_events.is_release_tag(tag.get("name", ""))
            and (tag.get("commit") or {}).get("sha")
        }
    )


# --- state -------------------------------------------------------------------------------------


def _validators(state: PollRecord, answer: Response, now: datetime) -> None:
    state.etag = answer.etag[:ETAG_LENGTH]
    state.last_modified = answer.last_modified[:LAST_MODIFIED_LENGTH]
    state.changed_at = now
    state.status = "ok"


def _finish(
    state: PollRecord,
    round_: _Round,
    *,
    status: str,
    detail: str = "",
    wait: float | None = None,
    until: datetime | None = None,
) -> PollReport:
    state = round_.store.load(SOURCE, round_.repo)  # as the round's lists left it
    now = round_.now
    strikes = int((state.cursor or {}).get("strikes", 0))
    state.cursor = {**(state.cursor or {}), "strikes": strikes + 1 if wait is not None else 0}
    state.polled_at = now
    if round_.changed:
        state.changed_at = now
    state.status, state.detail = status, detail[:2000]
    state.requests += round_.requests
    state.not_modified += round_.not_modified
    if round_.budget.remaining is not None:
        state.rate_limit, state.rate_remaining, state.rate_reset = round_.budget
    if wait is not None:
        until = now + timedelta(seconds=wait)
    elif until is None and _low(round_.budget, now):
        until = round_.budget.reset
        state.status, state.detail = status, detail = "rate_limited", _waiting(round_.budget)
    state.next_poll_at = until
    round_.store.save(state)
    report = PollReport(
        round_.repo,
        round_.requests,
        round_.not_modified,
        round_.events,
        round_.duplicates,
        round_.rejected,
        status,
        detail,
        Budget(state.rate_limit, state.rate_remaining, state.rate_reset),
        until,
    )
    level = logging.WARNING if status in ("rate_limited", "error") else logging.DEBUG
    log.log(level, "github poll %s", report)
    return report


def _defer(store: StateStore, repo: str, limited: PollReport) -> PollReport:
    state = store.load(SOURCE, repo)
    later = limited.next_poll_at
    if later and (state.next_poll_at is None or state.next_poll_at < later):
        state.next_poll_at = later
        state.status = "rate_limited"
        state.detail = f"the token's rate limit (seen on {limited.repository})"
        store.save(state, ["next_poll_at", "status", "detail"])
    return PollReport(
        repo,
        status="skipped",
        detail=state.detail,
        budget=limited.budget,
        next_poll_at=state.next_poll_at,
    )


def _backoff(state: PollRecord, error: RateLimited, now: datetime) -> float:
    """Seconds to wait after a rate-limit answer: what GitHub says, and at least doubling for
    every further limit in a row."""
    strikes = int((state.cursor or {}).get("strikes", 0)) + 1
    if error.retry_after is not None:
        wait = float(error.retry_after)
    elif error.remaining == 0 and error.reset is not None:
        wait = max((error.reset - now).total_seconds(), 0) + 1
    else:
        wait = FIRST_BACKOFF
    if strikes > 1:
        wait = max(wait, min(FIRST_BACKOFF * 2 ** (strikes - 1), MAX_BACKOFF))
    return wait


def _reserve(limit: int | None) -> int:
    """Requests left for everything else (webhook follow-ups, people's actions)."""
    return min(100, (limit or 0) // 10)


def _low(budget: Budget, now: datetime) -> bool:
    limit, remaining, reset = budget
    if remaining is None or reset is None:
        return False
    return reset > now and remaining <= _reserve(limit)


def _waiting(budget: Budget) -> str:
    return (
        f"{budget.remaining} of {budget.limit} requests left: "
        f"waiting for the reset at {_hms(budget.reset)}"
    )


def _merge(old: Budget, new: Budget) -> Budget:
    return new if new.remaining is not None else old


def _fingerprint(item: Any) -> str:
    text = json.dumps(item, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hms(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z" if moment else "?"


def _budget(budget: Budget) -> str:
    if budget.remaining is None:
        return "unknown"
    reset = f", resets {_hms(budget.reset)}" if budget.reset else ""
    return f"{budget.remaining}/{budget.limit} left{reset}"
