"""Git repositories read through the git CLI: commits with the files they touch, tags, mirrors.

cdportal predicts Release Please from git history: the commits since each package's last
release tag, attributed to packages by the files they touch. Release Please reads the same
history from GitHub (GraphQL `Commit.history`, "in the same order as git log") and takes a
commit's files from its merged pull request, or from the commit itself.

Why the CLI and not dulwich/pygit2: one `git log -z --name-only` pass computes every tree diff in
C and streams the result; Python only splits it on NUL while git is still writing. 100 000
commits take about 2 s of git and 0.8 s of parsing, side by side (benchmarks/make_repo.py).
A library would walk the commits and diff the trees one Python call per commit — the per-commit
cost we avoid — and would add a dependency.

Choices that follow Release Please:
- A merge commit's files are its changes against its *first* parent (`--diff-merges=first-parent`):
  what the merged pull request changed, which is what Release Please takes (the PR's files).
  Plain `git log` would list no files for merges.
- Renames are detected (`-M`) and listed under their new path only, as GitHub lists them.
- `log()` walks every parent unless `first_parent` is set, like GitHub's history.

Reference: git-log(1) (PRETTY FORMATS, `-z`, `--diff-merges`), git-for-each-ref(1),
git-clone(1) `--mirror`, git-config(1) `http.<url>.extraHeader`, `GIT_CONFIG_COUNT`.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import heapq
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

from cdportal.adapters.git.errors import Forbidden, GitError, NotFound, Unavailable
from cdportal.core.conventional import Commit
from cdportal.core.parsing import parse_commit


@dataclass(frozen=True)
class Tag:
    name: str  # without refs/tags/
    sha: str  # the commit it points to (annotated tags peeled)
    date: datetime  # committer date of that commit, with its offset


class CommitInfo(NamedTuple):
    """What cdportal shows next to a commit, and what the cache needs to order commits."""

    parents: tuple[str, ...]
    author_name: str  # .mailmap applied
    author_email: str
    author_date: str  # ISO 8601 with offset, as git prints it
    committer_date: str
    committed: int  # committer date in seconds: the key of git log's default order

    @property
    def authored_at(self) -> datetime:
        return datetime.fromisoformat(self.author_date)

    @property
    def committed_at(self) -> datetime:
        return datetime.fromisoformat(self.committer_date)


@dataclass
class History:
    """`GitRepository.history()`: the commits, newest first, and their details by sha."""

    commits: list[Commit]
    info: dict[str, CommitInfo]


# Variables that would point git at another repository than the one we name.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
)

# One record per commit: an empty field marks its start (a path is never empty), then the fields
# below, then the paths; -z ends each with NUL. A message cannot contain NUL, so the record
# parses whatever it says ("commit abc", lines of %x00-like text, CRLF, any unicode).
_FIELDS = ("%H", "%P", "%aN", "%aE", "%aI", "%cI", "%ct", "%B")
_LOG_FORMAT = "--format=%x00" + "%x00".join(_FIELDS)
_LOG_OPTIONS = [
    "-z",
    "--name-only",
    "-M",
    "--diff-merges=first-parent",
    "--encoding=UTF-8",
    "--no-show-signature",
    "--no-color",
    _LOG_FORMAT,
]
_CHUNK = 1 << 20
_ANY = tuple(range(256))


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    # C locale: messages we recognise; no prompt for credentials (a hung server process);
    # no optional locks, so reading never contends with a fetch into the same mirror.
    env.update(LC_ALL="C", LANGUAGE="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    env.update(extra or {})
    return env


def _run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Run git and return the finished process; exit codes outside `ok` raise GitError."""
    try:
        proc = subprocess.run(
            ["git", *args],
            check=False,
            cwd=cwd,
            env=env or _git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    except FileNotFoundError:
        raise NotFound("git is not installed", permanent=True) from None
    if proc.returncode not in ok:
        raise GitError(f"git {args[0]} failed: {_first_error(proc.stderr)}")
    return proc


def _first_error(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    errors = (
        [line for line in lines if line.startswith(("fatal:", "error:"))] or lines or ["no output"]
    )
    return redact(errors[0].removeprefix("fatal: ").removeprefix("error: "))


def _check_rev(rev: str) -> str:
    # A revision that starts with '-' would be read as an option by some git commands.
    if not rev or rev.startswith("-") or "\0" in rev:
        raise NotFound(f"unknown revision {rev!r}", permanent=True)
    return rev


class GitRepository:
    """A repository on disk (a work tree's root or a bare repository), read-only."""

    def __init__(self, path: Path | str):
        self.path = Path(path).absolute()
        # The ceiling stops git from finding an enclosing repository when `path` is not one.
        self._env = _git_env({"GIT_CEILING_DIRECTORIES": str(self.path.parent)})
        proc = _run(
            ["-C", str(self.path), "rev-parse", "--absolute-git-dir"], env=self._env, ok=_ANY
        )
        if proc.returncode != 0:
            if b"dubious ownership" in proc.stderr:
                raise Forbidden(
                    f"git refuses {self.path}: it belongs to another user "
                    "(see git config safe.directory)",
                    permanent=True,
                )
            raise NotFound(f"not a git repository: {self.path}", permanent=True)
        self.git_dir = Path(proc.stdout.decode().strip())

    def __repr__(self) -> str:
        return f"GitRepository({str(self.path)!r})"

    def _git(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[bytes]:
        return _run(["-C", str(self.path), *args], env=self._env, ok=ok)

    # --- revisions ------------------------------------------------------------------------

    def resolve(self, rev: str) -> str:
        """The sha of the commit `rev` names (a tag is peeled)."""
        _check_rev(rev)
        proc = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok=(0, 1, 128))
        if proc.returncode == 0:
            return proc.stdout.decode().strip()
        if rev == "HEAD" and not self._has_commits():
            raise NotFound("the repository has no commits", permanent=True)
        raise NotFound(f"unknown revision {rev!r}", permanent=True)

    def head(self) -> str:
        return self.resolve("HEAD")

    def branch(self) -> str | None:
        """The checked-out branch (a mirror's default branch), or None when HEAD is detached."""
        proc = self._git("symbolic-ref", "--quiet", "--short", "HEAD", ok=(0, 1))
        return proc.stdout.decode().strip() or None

    def is_ancestor(self, a: str, b: str) -> bool:
        """Whether commit `a` is reachable from `b` (a commit is its own ancestor)."""
        proc = self._git(
            "merge-base", "--is-ancestor", _check_rev(a), _check_rev(b), ok=(0, 1, 128)
        )
        if proc.returncode == 128:
            self._diagnose([a, b], proc.stderr)
        return proc.returncode == 0

    def _has_commits(self) -> bool:
        proc = self._git("rev-list", "-n", "1", "--all", ok=(0, 128))
        return bool(proc.stdout.strip())

    def _diagnose(self, revs: Iterable[str], stderr: bytes) -> None:
        """Turn a failed command about `revs` into the GitError that says why."""
        for rev in revs:
            self.resolve(rev)  # raises "unknown revision" or "no commits"
        raise GitError(f"git failed: {_first_error(stderr)}")

    # --- commits --------------------------------------------------------------------------

    def log(
        self, rev: str = "HEAD", *, since: str | None = None, first_parent: bool = False
    ) -> list[Commit]:
        """Commits reachable from `rev` but not from `since` (`git log since..rev`), newest
        first, with the files each touches."""
        return self.history(rev, since=since, first_parent=first_parent).commits

    def log_until(self, rev: str, stops: set[str], *, limit: int) -> tuple[list[Commit], bool]:
        """The start of `log(rev)`: at most `limit` commits, and no further than the moment every
        commit in `stops` has been listed (git is stopped there; with no stops, `limit` alone).
        Second value: True when that is the whole history."""
        pending, commits = set(stops), []
        for commit, _ in self._read_log(
            [f"--max-count={limit + 1}", "--end-of-options", _check_rev(rev), "--"], [rev]
        ):
            if len(commits) == limit:
                return commits, False  # there is more
            commits.append(commit)
            pending.discard(commit.sha)
            if stops and not pending:
                return commits, False  # maybe more: nobody needs it
        return commits, True

    def history(
        self,
        rev: str = "HEAD",
        *,
        since: str | None = None,
        first_parent: bool = False,
        each: Callable[[Commit], object] | None = None,
    ) -> History:
        """`log()` plus each commit's parents, author and dates, from the same `git log` call.

        `each` is called on every commit as soon as it is read, while git is still computing
        the next ones: work done there overlaps git's (CommitCache parses commits there)."""
        revs = [_check_rev(rev)] + ([f"^{_check_rev(since)}"] if since else [])
        options = ["--first-parent"] if first_parent else []
        commits, info = [], {}
        for commit, details in self._read_log(
            [*options, "--end-of-options", *revs, "--"], [rev] + ([since] if since else [])
        ):
            commits.append(commit)
            info[commit.sha] = details
            if each is not None:
                each(commit)
        return History(commits, info)

    def _read_log(self, args: list[str], revs: list[str]) -> Iterator[tuple[Commit, CommitInfo]]:
        """Stream one `git log` and parse it while git is still writing."""
        cmd = ["git", "-C", str(self.path), "log", *_LOG_OPTIONS, *args]
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    cmd, env=self._env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
                )
            except FileNotFoundError:
                raise NotFound("git is not installed", permanent=True) from None
            try:
                yield from _parse_log(_tokens(proc.stdout))
            except BaseException:  # a parse error, or the caller stopped reading early
                proc.kill()
                raise
            finally:
                proc.stdout.close()
                code = proc.wait()
            if code != 0:
                err.seek(0)
                stderr = err.read()
                self._diagnose(revs, stderr)

    # --- tags, files, remote --------------------------------------------------------------

    def tags(self) -> list[Tag]:
        """Every tag that points (directly or through annotated tags) at a commit, by name."""
        fields = [
            "%(refname:strip=2)",
            "%(objecttype)",
            "%(objectname)",
            "%(*objecttype)",
            "%(*objectname)",
            "%(committerdate:iso-strict)",
            "%(*committerdate:iso-strict)",
        ]
        proc = self._git("for-each-ref", "--format=" + "%00".join(fields), "refs/tags")
        tags, nested = [], []
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            name, kind, sha, peeled_kind, peeled, date, peeled_date = line.split("\0")
            if kind == "commit":
                tags.append(Tag(name, sha, datetime.fromisoformat(date)))
            elif kind == "tag" and peeled_kind == "commit":
                tags.append(Tag(name, peeled, datetime.fromisoformat(peeled_date)))
            elif kind == "tag" and peeled_kind == "tag":
                nested.append(name)  # a tag of a tag: `*` peels only once
            # Tags of trees and blobs name no release: skipped.
        for name in nested:  # rare: one call each
            proc = self._git(
                "log", "-1", "--format=%H %cI", f"refs/tags/{name}^{{commit}}", "--", ok=(0, 128)
            )
            if proc.returncode == 0:
                sha, date = proc.stdout.decode().split()
                tags.append(Tag(name, sha, datetime.fromisoformat(date)))
        if nested:
            tags.sort(key=lambda tag: tag.name)
        return tags

    def read_file(self, rev: str, path: str) -> str | None:
        """The file's text at `rev`, or None when there is no such file there."""
        proc = self._git("cat-file", "blob", f"{_check_rev(rev)}:{path.lstrip('/')}", ok=(0, 128))
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", "replace")
        self.resolve(rev)  # an unknown revision is an error, a missing file is not
        return None

    def origin_url(self) -> str | None:
        """The `origin` remote's URL, credentials redacted, or None."""
        proc = self._git("config", "--get", "remote.origin.url", ok=(0, 1))
        url = proc.stdout.decode().strip()
        return redact(url) if url else None


# --- parsing git log -z ----------------------------------------------------------------------


def _tokens(stream) -> Iterator[str]:
    """NUL-separated fields of `stream`, decoded, as soon as each is complete."""
    pending = b""
    while chunk := stream.read1(_CHUNK):
        pending += chunk
        cut = pending.rfind(b"\0")
        if cut < 0:
            continue
        # NUL never occurs inside a UTF-8 sequence: every piece decodes on its own.
        yield from pending[:cut].decode("utf-8", "replace").split("\0")
        pending = pending[cut + 1 :]
    yield pending.decode("utf-8", "replace")


def _parse_log(tokens: Iterator[str]) -> Iterator[tuple[Commit, CommitInfo]]:
    it = iter(tokens)
    if next(it, "") != "":
        raise GitError("unexpected output from git log")
    intern = sys.intern
    while sha := next(it, None):  # ends on the empty remainder after the last NUL
        fields = tuple(islice(it, 7))
        if len(sha) not in (40, 64) or len(fields) != 7:
            raise GitError("unexpected output from git log")
        parents, name, email, authored, committed, seconds, body = fields
        files = []
        for path in it:
            if not path:
                break  # the start of the next record
            files.append(intern(path))
        if files and files[0].startswith("\n"):
            files[0] = intern(files[0][1:])  # the paths start after a newline
        yield (
            Commit(sha=sha, message=body.rstrip("\r\n"), files=tuple(files)),
            CommitInfo(tuple(parents.split()), name, email, authored, committed, int(seconds)),
        )


# --- URLs -------------------------------------------------------------------------------------

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?!//)(?P<path>.+)$")
_NOT_GITHUB = {
    "gitlab.com",
    "bitbucket.org",
    "codeberg.org",
    "dev.azure.com",
    "ssh.dev.azure.com",
    "git.sr.ht",
    "sr.ht",
    "gitee.com",
}
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def redact(text: str) -> str:
    """Hide the credentials of every URL in `text`: https://user:token@host → https://***@host."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def github_repo(url: str) -> tuple[str, str] | None:
    """(owner, name) of a GitHub or GitHub Enterprise remote, or None for anything else.

    Accepts https://github.com/5dlabs/cto(.git), ssh://git@github.com/5dlabs/cto.git,
    git@github.com:5dlabs/cto.git and the same on another host (GHE). Hosts known to be other
    forges, local paths and file:// URLs give None."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh", "git", "git+ssh", "ssh+git"):
            return None
        host, path = parts.hostname or "", parts.path
    elif match := _SCP_LIKE.match(url):
        host, path = match["host"], match["path"]
    else:
        return None
    if not host or host.lower() in _NOT_GITHUB:
        return None
    segments = [s for s in path.strip("/").split("/") if s]
    if len(segments) != 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not _OWNER.match(owner) or not _NAME.match(name) or name in (".", ".."):
        return None
    return owner, name


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and git config (as environment) that sends it instead.

    A password in the URL would be written into the mirror's config and shown by `ps`; as an
    `http.<url>.extraHeader` in GIT_CONFIG_* variables it stays in this process's environment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.password is None:
        return url, {}
    clean = urlunsplit(
        (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment)
    )
    secret = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
    header = "Authorization: Basic " + base64.b64encode(secret.encode()).decode()
    return clean, {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{clean}.extraHeader",
        "GIT_CONFIG_VALUE_0": header,
    }


def _is_path(url: str) -> bool:
    """git's rule: `host:path` is ssh unless a slash comes before the first colon."""
    if "://" in url:
        return False
    colon, slash = url.find(":"), url.find("/")
    return colon < 0 or 0 <= slash < colon


# --- mirrors ----------------------------------------------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def mirror(url: str, cache_dir: Path | str) -> GitRepository:
    """A bare mirror of `url` under `cache_dir`, cloned the first time and brought up to date
    (`git remote update --prune`) after that.

    The directory is named from a hash of the URL (credentials left out, so a new token reuses
    it). A lock file serialises processes working on the same mirror; a clone goes to a
    temporary directory first and is renamed into place, so nobody sees a half-cloned mirror.
    Readers need no lock: git updates refs atomically."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if _is_path(url):  # git keeps a relative path relative to the mirror: make it absolute
        url = str(Path(url).absolute())
    clean, auth = _split_credentials(url)
    key = hashlib.sha256(clean.encode()).hexdigest()[:24]
    target = cache_dir / f"{key}.git"
    env = _git_env(auth)
    with _locked(cache_dir / f"{key}.lock"):
        for stale in cache_dir.glob(f"{key}.tmp-*"):  # left by a process that died mid-clone
            shutil.rmtree(stale, ignore_errors=True)
        if (target / "HEAD").is_file():
            proc = _run(["remote", "update", "--prune"], cwd=target, env=env, ok=_ANY)
            if proc.returncode != 0:
                raise Unavailable(f"could not fetch {redact(url)}: {_first_error(proc.stderr)}")
        else:
            if target.exists():  # not a repository: nothing worth keeping
                shutil.rmtree(target)
            tmp = Path(tempfile.mkdtemp(prefix=f"{key}.tmp-", dir=cache_dir))
            try:
                proc = _run(
                    ["clone", "--mirror", "--quiet", "--", clean, str(tmp)], env=env, ok=_ANY
                )
                if proc.returncode != 0:
                    raise Unavailable(f"could not clone {redact(url)}: {_first_error(proc.stderr)}")
                tmp.rename(target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return GitRepository(target)


# --- incremental scanning ---------------------------------------------------------------------

_CACHE_VERSION = 1  # bump when the log options (what `files` means) change


class CommitCache:
    """The history of one revision of a repository, kept between scans.

    `scan()` costs one `git rev-parse` when nothing changed, and one `git log old..new` that reads
    only the new commits otherwise. Commits are immutable, so a parsed commit stays valid for as
    long as its sha is reachable: after a force-push the cache keeps what is still reachable and
    reads only the rewritten commits; if the old head is gone from the repository (garbage
    collected), it reads everything again.

    The list is in `git log rev` order (date order: what Release Please walks). New commits are
    placed by replaying git's walk over the parents and committer dates the cache holds, so an
    incremental scan gives the same list as a fresh one.

    With `path`, the cache is also a file (JSON Lines, appended to after each change), so a
    restarted process does not read the whole history again. JSON rather than pickle: loading
    it cannot run code, and a file written by another version is simply ignored.

    `prepare` is called on each commit read from git, while git is still writing the next ones.
    By default it parses the commit as Release Please does (`parse_commit`, which keeps the result
    on the commit): the planner then finds every commit parsed, and the parsing ran in the time
    git spends computing tree diffs, not after it (100 000 commits: ~2.5 s instead of ~4 s
    for reading and parsing, benchmarks/release_plan.py). None reads only.
    """

    def __init__(
        self,
        repo: GitRepository,
        *,
        path: Path | str | None = None,
        rev: str = "HEAD",
        prepare: Callable[[Commit], object] | None = parse_commit,
    ):
        self.repo = repo
        self.path = Path(path) if path is not None else None
        self.rev = rev
        self.prepare = prepare
        self.head: str | None = None
        self.commits: list[Commit] = []  # newest first
        self.info: dict[str, CommitInfo] = {}
        self.commits_read = 0  # parsed from git by this object: for tests and benchmarks
        self._by_sha: dict[str, Commit] = {}
        self._ancestors: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._stored = 0  # commit rows in the file, reachable or not
        if self.path is not None:
            self._load()

    def scan(self) -> list[Commit]:
        """The history of `rev`, newest first, reading from git only what is new."""
        head = self.repo.resolve(self.rev)
        if head == self.head:
            return list(self.commits)
        new = None
        if self.head is not None:
            try:
                new = self.repo.history(head, since=self.head, each=self.prepare)
            except GitError:
                new = None  # the old head is gone: read everything
        if new is None:
            full = self.repo.history(head, each=self.prepare)
            self.commits_read += len(full.commits)
            self._replace(head, full.commits, full.info)
            self._save(None)
        else:
            self.commits_read += len(new.commits)
            self._extend(head, new)
            self._save(new.commits)
        return list(self.commits)

    def log(self, *, since: str | None = None, first_parent: bool = False) -> list[Commit]:
        """The scanned commits not reachable from `since`, in `git log` order, from memory.

        With `first_parent`, only the first-parent chain is listed (all parents still count
        for what `since` excludes, as in `git log --first-parent since..rev`)."""
        self.scan()
        excluded: frozenset[str] = frozenset()
        if since is not None:
            stop = self.repo.resolve(since)
            if stop not in self.info:  # not in this history: ask git
                return self.repo.log(self.head, since=stop, first_parent=first_parent)
            excluded = self._ancestors_of(stop)
        if not first_parent:
            return [c for c in self.commits if c.sha not in excluded]
        chain, sha = [], self.head
        while sha in self._by_sha and sha not in excluded:
            chain.append(self._by_sha[sha])
            parents = self.info[sha].parents
            sha = parents[0] if parents else None
        return chain

    def _ancestors_of(self, sha: str) -> frozenset[str]:
        # A commit's ancestors never change: remember a few (the release tags asked about).
        if sha in self._ancestors:
            self._ancestors.move_to_end(sha)
            return self._ancestors[sha]
        seen, todo, info = {sha}, [sha], self.info
        while todo:
            for parent in info[todo.pop()].parents:
                if parent not in seen and parent in info:
                    seen.add(parent)
                    todo.append(parent)
        self._ancestors[sha] = found = frozenset(seen)
        if len(self._ancestors) > 16:
            self._ancestors.popitem(last=False)
        return found

    def _replace(self, head: str, commits: list[Commit], info: dict[str, CommitInfo]) -> None:
        self.head, self.commits, self.info = head, commits, info
        self._by_sha = {c.sha: c for c in commits}

    def _extend(self, head: str, new: History) -> None:
        by_sha, info = self._by_sha, self.info
        by_sha.update((c.sha, c) for c in new.commits)
        info.update(new.info)
        order = _walk(head, info, previous=(self.head, [c.sha for c in self.commits]))
        if len(order) != len(info):  # history was rewritten: forget what is no longer reachable
            info = {sha: info[sha] for sha in order}
            self._ancestors.clear()
        self._replace(head, [by_sha[sha] for sha in order], info)

    # --- the file -------------------------------------------------------------------------
    # JSON Lines: a header, then lines that each hold a list of commit rows or {"head": sha}.
    # A scan that finds k new commits appends one line of k rows and a head line: a few
    # bytes, not the whole history again. The order is not stored: `_walk` rebuilds it from
    # the parents and dates. A full scan, or a file with much history no longer reachable,
    # rewrites the file (to a temporary name, then renamed over it).

    def _load(self) -> None:
        info: dict[str, CommitInfo] = {}
        messages: dict[str, tuple[str, tuple[str, ...]]] = {}
        head = None
        intern = sys.intern
        try:
            with open(self.path, encoding="utf-8") as lines:
                header = json.loads(next(lines))
                if header != {"version": _CACHE_VERSION, "rev": self.rev}:
                    return
                for line in lines:
                    if not line.endswith("\n"):
                        break  # a line cut short by a crash; what it would have added is lost
                    entry = json.loads(line)
                    if isinstance(entry, dict):
                        head = entry["head"]
                        continue
                    for sha, message, files, parents, *details in entry:
                        messages[sha] = (message, tuple(map(intern, files)))
                        info[sha] = CommitInfo(tuple(parents.split()), *details)
            order = _walk(head, info)
        except (OSError, StopIteration, ValueError, TypeError, KeyError):
            return  # no file, or one we cannot use: the next scan reads everything
        commits = [Commit(sha, *messages[sha]) for sha in order]
        self._stored = len(info)
        self._replace(head, commits, {sha: info[sha] for sha in order})

    def _save(self, added: list[Commit] | None) -> None:
        """Append `added` (commits already in memory), or rewrite the file when None."""
        if self.path is None:
            return
        info = self.info

        def rows(commits: list[Commit]) -> str:
            return json.dumps(
                [
                    [c.sha, c.message, c.files, " ".join(i.parents), *i[1:]]
                    for c in commits
                    for i in (info[c.sha],)
                ],
                ensure_ascii=False,
                separators=(",", ":"),
            )

        head = json.dumps({"head": self.head})
        if added is not None and self.path.exists() and self._stored + len(added) < 2 * len(info):
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(f"{rows(added)}\n{head}\n")  # one write: appends do not interleave
            self._stored += len(added)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        header = json.dumps({"version": _CACHE_VERSION, "rev": self.rev})
        tmp.write_text(f"{header}\n{rows(self.commits)}\n{head}\n", encoding="utf-8")
        os.replace(tmp, self.path)
        self._stored = len(self.commits)


def _walk(
    head: str, info: dict[str, CommitInfo], previous: tuple[str | None, list[str]] = (None, [])
) -> list[str]:
    """The shas `git log head` lists, in its order, computed from parents and committer dates.

    git's default walk pops the newest commit (by committer date; first queued first on a tie)
    and queues its parents not queued before (revision.c, commit_list_insert_by_date). When the
    walk reaches the old head with nothing else queued and only new commits listed, what follows
    is exactly the old walk: `previous` = (old head, its order) supplies it without walking
    100 000 commits again."""
    old_head, old_order = previous
    new = len(info) - len(old_order)  # when old_head is an ancestor of head
    queue = [(-info[head].committed, 0, head)]
    seen = {head}
    order = []
    tick = 0
    while queue:
        _, _, sha = heapq.heappop(queue)
        if sha == old_head and not queue and len(order) == new:
            order.extend(old_order)
            return order
        order.append(sha)
        for parent in info[sha].parents:  # KeyError: the cache misses a commit
            if parent not in seen:
                seen.add(parent)
                tick += 1
                heapq.heappush(queue, (-info[parent].committed, tick, parent))
    return order
