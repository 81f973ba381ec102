"""`python manage.py sync-git --repo PATH|URL [--repository OWNER/NAME] [--github OWNER/REPO]
[--history N] [--watch SECONDS]`

Reads a repository (a local path, or a URL mirrored into GIT_CACHE_DIR) and records its
releases, commits and next-release plan through the ingestion path. Safe to repeat: a rescan reads
only new commits, and events already recorded are not recorded again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.git.release_source import parse_github
from cdportal.adapters.git.repository import CommitCache, GitRepository, github_repo, mirror
from cdportal.adapters.git.source import DEFAULT_HISTORY, GitSource, sync
from cdportal.core.events import InvalidEvent
from cdportal.core.plan import PlanError
from cdportal.core.release_config import ConfigError
from cdportal.pipeline import publish
from cdportal.pipeline.sinks import LocalSink

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Record a git repository's releases, commits and next-release plan in cdportal."

    def add_arguments(self, parser):
        parser.add_argument(
            "--repo", required=True, help="A local repository path, or a URL to mirror"
        )
        parser.add_argument(
            "--repository", help="OWNER/NAME to file it under (default: --github or origin)"
        )
        parser.add_argument("--github", help="OWNER/REPO for links (default: the origin remote)")
        parser.add_argument(
            "--history",
            type=int,
            default=DEFAULT_HISTORY,
            help=f"Import the commits of this many recent releases (default {DEFAULT_HISTORY})",
        )
        parser.add_argument(
            "--watch",
            type=float,
            metavar="SECONDS",
            help="Keep going: fetch and rescan every SECONDS until interrupted",
        )

    def handle(self, *args, repo, repository, github, history, watch, **options):
        if history < 0 or (watch is not None and watch <= 0):
            raise CommandError("--history must be ≥ 0 and --watch > 0", returncode=BAD_INPUT)
        try:
            links = parse_github(github) if github else None
            git, cache_file = self._open(repo)
            name = repository or (f"{links.owner}/{links.name}" if links else _origin_name(git))
            parse_github(name)  # validates OWNER/NAME
            source = GitSource(
                git,
                repository=name,
                github=links,
                history_releases=history,
                cache=CommitCache(git, path=cache_file),
            )
            rounds = 0
            while True:
                if rounds and self._is_url(repo):
                    mirror(repo, _cache_dir())  # fetches what is new into the same mirror
                rounds += 1
                report = sync(source, LocalSink())
                publish.flush()
                self.stdout.write(f"{name}: {report}")
                if watch is None:
                    return
                time.sleep(watch)
        except KeyboardInterrupt:
            return
        except (ValueError, ConfigError, PlanError, AdapterError, InvalidEvent) as e:
            raise CommandError(str(e), returncode=BAD_INPUT) from None

    def _open(self, repo: str) -> tuple[GitRepository, Path | None]:
        if self._is_url(repo):
            cache = _cache_dir()
            git = mirror(repo, cache)
            return git, cache / f"{hashlib.sha256(repo.encode()).hexdigest()[:16]}.commits.jsonl"
        return GitRepository(repo), None

    @staticmethod
    def _is_url(repo: str) -> bool:
        return "://" in repo or (repo.count(":") == 1 and "@" in repo.split(":")[0])


def _cache_dir() -> Path:
    path = Path(settings.GIT_CACHE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _origin_name(git: GitRepository) -> str:
    url = git.origin_url()
    found = github_repo(url) if url else None
    if not found:
        raise ValueError("cannot tell the repository's OWNER/NAME: pass --repository or --github")
    return "/".join(found)
