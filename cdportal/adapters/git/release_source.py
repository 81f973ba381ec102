"""A git repository as the release engine reads it: configuration, tags and history at a revision.

Glue between the git adapter (``cdportal.adapters.git.repository``) and the pure planner
(``cdportal.core.plan``); used by the ``release-plan`` command and the git source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date

import semver

from cdportal.adapters.git.repository import CommitCache, GitRepository, github_repo
from cdportal.core.conventional import Repo
from cdportal.core.plan import History, release_commits
from cdportal.core.release_config import ReleaseConfig, default_config, load_config

CONFIG_FILE = "release-please-config.json"
MANIFEST_FILE = ".release-please-manifest.json"
OWNER_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass
class Snapshot:
    head: str
    config: ReleaseConfig
    history: History
    tag_dates: dict[str, date]
    repo: Repo | None
    configured: bool  # False: no Release Please files, a single `simple` package was assumed


def parse_github(value: str) -> Repo:
    """`OWNER/REPO` as given on a command line."""
    if not OWNER_REPO.fullmatch(value):
        raise ValueError(f"--github must look like OWNER/REPO, got {value!r}")
    owner, name = value.split("/")
    return Repo(owner, name)


def snapshot(
    git: GitRepository,
    *,
    github: Repo | None = None,
    rev: str = "HEAD",
    cache: CommitCache | None = None,
    unreleased_only: bool = False,
) -> Snapshot:
    """The repository at `rev`. With `cache` (kept between calls), only new commits are read.

    `unreleased_only` (the next release, not the history): `git log` is read only as far as
    Release Please reads (core.plan.collect_commits) — down to every package's latest release
    commit, and never more than `commit-search-depth` commits — instead of the whole history."""
    head = (
        cache.repo.resolve(cache.rev)
        if cache is not None
        else (git.head() if rev == "HEAD" else rev)
    )
    tags = git.tags()
    config_text = git.read_file(head, CONFIG_FILE)
    manifest_text = git.read_file(head, MANIFEST_FILE)
    configured = config_text is not None or manifest_text is not None
    if configured:
        config = load_config(
            config_text,
            manifest_text,
            config_file=CONFIG_FILE,
            manifest_file=MANIFEST_FILE,
            target_branch=git.branch() or "main",
            read=lambda path: git.read_file(head, path),  # node/helm/rust names come from files
        )
    else:
        config = default_config(
            _highest_v_tag(t.name for t in tags), target_branch=git.branch() or "main"
        )
    complete = True
    if cache is not None:
        commits = cache.scan()
    elif unreleased_only:
        # Where Release Please stops reading (core.plan.collect_commits); while a package has no
        # release yet it reads to its search depth.
        found = release_commits(config, {t.name: t.sha for t in tags})
        stops = set(found.values()) if len(found) == len(config.packages) else set()
        commits, complete = git.log_until(head, stops, limit=config.commit_search_depth)
    else:
        commits = git.log(head)
    history = History(
        commits=commits,
        complete=complete,
        tags={t.name: t.sha for t in tags},
        read_file=lambda path: git.read_file(head, path),
    )
    return Snapshot(
        head=head,
        config=config,
        history=history,
        tag_dates={
            t.name: t.date.astimezone(UTC).date() for t in tags
        },  # Release Please dates in UTC
        repo=github or _origin_repo(git),
        configured=configured,
    )


def _highest_v_tag(names) -> str | None:
    versions = []
    for name in names:
        if name.startswith("v") and semver.Version.is_valid(name[1:]):
            versions.append(semver.Version.parse(name[1:]))
    return str(max(versions)) if versions else None


def _origin_repo(git: GitRepository) -> Repo | None:
    url = git.origin_url()
    found = github_repo(url) if url else None
    return Repo(*found) if found else None
