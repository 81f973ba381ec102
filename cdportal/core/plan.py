"""What Release Please would do now, and what it did before: the release plan and history.

Pure Python. The planner follows release-please 17.1.3's manifest flow (src/manifest.ts
buildPullRequests): for each package, find the commit of its latest release (the tag its
manifest version names), take the commits listed *before* that sha in history order
(`commitsAfterSha`), keep those that touch the package's path (the root package gets every
commit), parse them, compute the version, render the changelog entry and the Release PR.

Because the cut is by position in the history, a release tagged by hand on an older commit makes
the next release list again the commits after that older commit — the real 5dlabs 0.2.13 entry
re-lists 0.2.12's commits for exactly this reason, and the plan reports it (``warnings``).
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date as Date

import semver

from cdportal.core import changelog, release_pr, versioning
from cdportal.core.conventional import Bump, Commit, ConventionalCommit, Repo, Skipped
from cdportal.core.parsing import parse_commits
from cdportal.core.release_config import CommitSplit, PackageConfig, ReleaseConfig, package_file

BUMP_NAMES = {Bump.NONE: "none", Bump.PATCH: "patch", Bump.MINOR: "minor", Bump.MAJOR: "major"}


class PlanError(ValueError):
    """Release Please would fail the run for this package (e.g. `Release-As: next`)."""


@dataclass(frozen=True)
class PlannedCommit:
    sha: str
    subject: str
    type: str
    scope: str | None
    breaking: bool
    bump: str  # none / patch / minor / major
    why: str  # "feat → minor", "docs (hidden) → no bump"

    def to_json(self) -> dict:
        return {
            "sha": self.sha,
            "subject": self.subject,
            "type": self.type,
            "scope": self.scope,
            "breaking": self.breaking,
            "bump": self.bump,
        }


@dataclass(frozen=True)
class PackagePlan:
    path: str
    component: str
    release_type: str
    current_version: str | None
    previous_tag: str | None
    next_version: str | None  # None: Release Please would open no Release PR for it
    tag: str | None
    release_name: str | None
    pr_title: str | None
    branch: str
    changelog: str | None
    commits: tuple[PlannedCommit, ...]
    ignored: tuple[Skipped, ...]
    files: tuple[release_pr.FileChange, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "component": self.component,
            "current_version": self.current_version,
            "next_version": self.next_version,
            "tag": self.tag,
            "pr_title": self.pr_title,
            "branch": self.branch,
            "changelog": self.changelog,
            "commits": [c.to_json() for c in self.commits],
            "ignored": [
                {"sha": s.sha, "subject": s.subject, "reason": s.reason} for s in self.ignored
            ],
        }


@dataclass(frozen=True)
class ReleasePlan:
    packages: tuple[PackagePlan, ...]
    # The one Release PR of a grouped monorepo (separate-pull-requests false, > 1 package).
    pr_title: str | None = None
    branch: str | None = None

    def to_json(self) -> dict:
        return {"components": [p.to_json() for p in self.packages]}


@dataclass(frozen=True)
class HistoricalRelease:
    path: str
    component: str
    version: str
    tag: str
    sha: str
    previous_tag: str | None
    changelog: str
    commits: tuple[ConventionalCommit, ...]
    ignored: tuple[Skipped, ...]


@dataclass
class History:
    """The repository as the planner needs it: history order, tags, and files at HEAD."""

    commits: Sequence[Commit]  # newest first, from the target branch's head
    tags: Mapping[str, str]  # tag name -> sha of the commit it points to
    read_file: Callable[[str], str | None] = lambda path: None
    # False: `commits` stops where Release Please stops reading (release commits, search depth),
    # not at the root commit — a sha missing from it may still be on the branch.
    complete: bool = True
    _positions: dict[str, int] | None = field(default=None, repr=False)

    def position(self, sha: str) -> int | None:
        if self._positions is None:
            self._positions = {c.sha: i for i, c in enumerate(self.commits)}
        return self._positions.get(sha)


def plan(
    config: ReleaseConfig,
    history: History,
    *,
    repo: Repo | None,
    date: Date,
    target_branch: str | None = None,
) -> ReleasePlan:
    release_shas = release_commits(config, history.tags)
    collected, complete = collect_commits(
        config, history.commits, release_shas, read_all=history.complete
    )
    by_path = _split(config, collected)
    plans = tuple(
        _plan_package(
            config,
            pkg,
            by_path[pkg.path],
            history,
            repo=repo,
            date=date,
            target_branch=target_branch,
            complete=complete,
        )
        for pkg in config.packages
    )
    releasing = {p.path: p.next_version for p in plans if p.next_version}
    grouped = not config.separate_pull_requests and len(config.packages) > 1
    if grouped:
        title = release_pr.group_pr_title(config, releasing, target_branch) if releasing else None
        return ReleasePlan(
            plans, pr_title=title, branch=release_pr.branch_name(config, None, target_branch)
        )
    return ReleasePlan(plans)


def collect_commits(
    config: ReleaseConfig,
    commits: Sequence[Commit],
    release_shas: Mapping[str, str],
    *,
    read_all: bool = True,
) -> tuple[list[Commit], bool]:
    """The commits Release Please reads (manifest.ts buildPullRequests): newest first, at most
    `commit-search-depth` of them, up to the commit that completes the set of the packages'
    release commits — that one not included, the others kept. While a package has no release
    yet it is bootstrapping: no such stop, only `bootstrap-sha`; `last-release-sha` stops it
    always. Second value: False when the depth ran out before one of those stops (`read_all`:
    `commits` is the whole history, not a prefix of it)."""
    wanted = set(release_shas.values())
    bootstrapping = len(release_shas) < len(config.packages)
    found, collected = 0, []
    for commit in commits[: config.commit_search_depth]:
        found += commit.sha in wanted
        if config.last_release_sha and commit.sha == config.last_release_sha:
            return collected, True
        if bootstrapping and config.bootstrap_sha and commit.sha == config.bootstrap_sha:
            return collected, True
        if not bootstrapping and found >= len(wanted):
            return collected, True
        collected.append(commit)
    return collected, read_all and len(commits) <= config.commit_search_depth


def release_commits(config: ReleaseConfig, tags: Mapping[str, str]) -> dict[str, str]:
    """Package path → the commit its latest release (the manifest version's tag) points at; a
    package without one is left out (Release Please is then bootstrapping it)."""
    found = {}
    for pkg in config.packages:
        sha = (
            tags.get(release_pr.tag_name(pkg, pkg.current_version)) if pkg.current_version else None
        )
        if sha:
            found[pkg.path] = sha
    return found


def _split(config: ReleaseConfig, commits: Sequence[Commit]) -> dict[str, list[Commit]]:
    by_path: dict[str, list[Commit]] = {pkg.path: [] for pkg in config.packages}
    split = CommitSplit(config)
    if split.fixed is not None:  # e.g. a single root package: every commit, whatever it touches
        for pkg in split.fixed:
            by_path[pkg.path].extend(commits)
        return by_path
    for commit in commits:
        for pkg in split(commit.files):
            by_path[pkg.path].append(commit)
    return by_path


def _plan_package(
    config: ReleaseConfig,
    pkg: PackageConfig,
    commits: Sequence[Commit],
    history: History,
    *,
    repo: Repo | None,
    date: Date,
    target_branch: str | None,
    complete: bool = True,
) -> PackagePlan:
    current = pkg.current_version
    previous_tag = release_pr.tag_name(pkg, current) if current else None
    warnings = []
    since = history.tags.get(previous_tag) if previous_tag else None
    depth = config.commit_search_depth
    if previous_tag and since is None:
        warnings.append(
            f"tag {previous_tag} (the manifest's version {current}) is not in the repository: "
            f"every commit Release Please reads (the newest {depth}) counts as unreleased"
        )
    elif since is not None and history.position(since) is None and history.complete:
        warnings.append(
            f"tag {previous_tag} points at {since[:7]}, which is not on the target branch"
        )
    if not complete:
        warnings.append(
            f"Release Please reads at most {depth} commits (commit-search-depth): "
            + (f"the release commit of {previous_tag} is older, so " if since else "")
            + "older commits are not in this release"
        )
    unreleased = _after(commits, since)
    if since is not None and current is not None:
        warnings.extend(
            _misplaced_tag(config, pkg, current, previous_tag, since, history, unreleased)
        )
    parsed = parse_commits(unreleased)
    sections = pkg.changelog_sections
    options = _options(pkg)
    try:
        version = versioning.next_version(current, parsed.commits, options)
    except ValueError as e:
        raise PlanError(f"package {pkg.component or pkg.path!r}: {e}") from None
    planned = tuple(_planned(c, options, current) for c in parsed.commits)
    branch = release_pr.branch_name(config, pkg, target_branch)
    if version is None:
        return PackagePlan(
            path=pkg.path,
            component=pkg.component,
            release_type=pkg.release_type,
            current_version=current,
            previous_tag=previous_tag,
            next_version=None,
            tag=None,
            release_name=None,
            pr_title=None,
            branch=branch,
            changelog=None,
            commits=planned,
            ignored=tuple(parsed.skipped),
            warnings=tuple(warnings),
        )
    tag = release_pr.tag_name(pkg, version)
    entry = changelog.render_entry(
        version=version,
        tag=tag,
        previous_tag=previous_tag,
        commits=parsed.commits,
        repo=repo,
        date=date,
        sections=sections,
    )
    try:
        files = tuple(_files(pkg, version, entry, history))
    except (release_pr.BumpError, NotImplementedError) as e:
        # Release Please would stop at this file; the version and changelog still stand.
        files = ()
        warnings.append(f"Release Please cannot update the package's files: {e}")
    return PackagePlan(
        path=pkg.path,
        component=pkg.component,
        release_type=pkg.release_type,
        current_version=current,
        previous_tag=previous_tag,
        next_version=version,
        tag=tag,
        release_name=release_pr.release_name(pkg, version),
        pr_title=release_pr.pr_title(config, pkg, version, target_branch),
        branch=branch,
        changelog=entry,
        commits=planned,
        ignored=tuple(parsed.skipped),
        files=files,
        warnings=tuple(warnings),
    )


def _after(commits: Sequence[Commit], sha: str | None) -> list[Commit]:
    """Release Please's commitsAfterSha: everything listed before the release's commit."""
    if not sha:
        return list(commits)
    for index, commit in enumerate(commits):
        if commit.sha == sha:
            return list(commits[:index])
    return list(commits)


def _misplaced_tag(
    config: ReleaseConfig,
    pkg: PackageConfig,
    current: str,
    tag: str,
    since: str,
    history: History,
    unreleased: Sequence[Commit],
) -> list[str]:
    """The manual-tag failure mode: the release's tag is not on its Release PR's merge commit
    but on an older one, so the commits between them are listed a second time (5dlabs 0.2.13)."""
    titles = _release_titles(config, pkg, current)
    position = history.position(since)
    if position is not None and _merged_title(history.commits[position]) in titles:
        return []
    for index, commit in enumerate(unreleased):
        if _merged_title(commit) in titles:
            again = len(unreleased) - index - 1
            return [
                (
                    f"tag {tag} points at {since[:7]}, not at the merge of the Release PR for {current} "
                    f"({commit.sha[:7]}, newer): the {again} commit(s) before that merge were already "
                    f"listed in {current} and are listed again (was the tag made by hand?)"
                )
            ]
    return []


def _options(pkg: PackageConfig) -> versioning.VersionOptions:
    return versioning.VersionOptions(
        bump_minor_pre_major=pkg.bump_minor_pre_major,
        bump_patch_for_minor_pre_major=pkg.bump_patch_for_minor_pre_major,
        release_as=pkg.release_as,
        initial_version=pkg.initial_version,
        versioning=pkg.versioning,
        prerelease=pkg.prerelease,
        prerelease_type=pkg.prerelease_type,
        sections=pkg.changelog_sections,
    )


def _planned(
    commit: ConventionalCommit, options: versioning.VersionOptions, current: str | None
) -> PlannedCommit:
    """The bump this commit causes on its own, with the pre-1.0 options applied."""
    bump = versioning.commit_bump(commit, options.sections)
    why = versioning.explain_bump(commit, options.sections)
    if current is not None and _pre_major(current) and options.versioning == "default":
        if bump == Bump.MAJOR and options.bump_minor_pre_major:
            bump, why = Bump.MINOR, f"{why}, minor before 1.0.0 (bump-minor-pre-major)"
        elif bump == Bump.MINOR and options.bump_patch_for_minor_pre_major:
            bump, why = Bump.PATCH, f"{why}, patch before 1.0.0 (bump-patch-for-minor-pre-major)"
    return PlannedCommit(
        sha=commit.sha,
        subject=commit.subject,
        type=commit.type,
        scope=commit.scope,
        breaking=commit.breaking,
        bump=BUMP_NAMES[bump],
        why=why,
    )


def _pre_major(version: str) -> bool:
    try:
        return versioning.Version.parse(version).major == 0
    except ValueError:
        return False


def _files(
    pkg: PackageConfig, version: str, entry: str, history: History
) -> list[release_pr.FileChange]:
    files = list(release_pr.bumped_files(pkg, version, history.read_file))
    changelog_path = package_file(pkg, pkg.changelog_path)
    before = history.read_file(changelog_path)
    files.append(
        release_pr.FileChange(changelog_path, before, changelog.insert_entry(before, entry))
    )
    return files


# --- release history ---------------------------------------------------------------------


def release_history(
    config: ReleaseConfig, history: History, *, repo: Repo | None, dates: Mapping[str, Date]
) -> list[HistoricalRelease]:
    """Every tagged release of every package, newest first, with the changelog Release Please
    wrote (or would have written) for it: the commits after the previous release's tag and
    before its Release PR's merge commit — normally the tagged commit itself, which is thus in
    no entry (`chore: release X` is never listed, although 5dlabs shows `chore`). Without such a
    commit (a tag made by hand) the release is cut at the tagged commit, which it includes.
    `dates` maps a tag name to its release date (the tagged commit's date)."""
    by_path = _split(config, history.commits)
    releases: list[HistoricalRelease] = []
    for pkg in config.packages:
        tagged = _package_tags(pkg, history)
        commits = by_path[pkg.path]
        if len(commits) == len(history.commits):  # every commit (the root package): same positions
            position = history.position
        else:
            position = {c.sha: i for i, c in enumerate(commits)}.get
        merges = _release_merges(config, pkg, commits, [version for version, _, _ in tagged])
        later = None  # where the next release's tag is
        for (version, tag, sha), previous in zip(tagged, [*tagged[1:], None]):
            start = position(sha)
            if start is None:
                continue  # tagged off the branch
            end = position(previous[2]) if previous else None
            end = len(commits) if end is None else end
            first = _entry_start(start, end, later, merges.get(version, ()))
            later = start
            window = commits[first : max(first, end)]
            previous_tag = previous[1] if previous else None
            day = dates.get(tag) or Date.today()
            key = (
                pkg.component,
                pkg.changelog_sections,
                version,
                tag,
                sha,
                previous_tag,
                repo,
                day,
            )
            release = _remembered(commits[start], pkg.path, key, window)
            if release is None:
                parsed = parse_commits(window)
                entry = changelog.render_entry(
                    version=version,
                    tag=tag,
                    previous_tag=previous_tag,
                    commits=parsed.commits,
                    repo=repo,
                    date=day,
                    sections=pkg.changelog_sections,
                )
                release = HistoricalRelease(
                    path=pkg.path,
                    component=pkg.component,
                    version=version,
                    tag=tag,
                    sha=sha,
                    previous_tag=previous_tag,
                    changelog=entry,
                    commits=tuple(parsed.commits),
                    ignored=tuple(parsed.skipped),
                )
                _remember(commits[start], pkg.path, key, window, release)
            releases.append(release)
    releases.sort(key=lambda r: history.position(r.sha) or 0)
    return releases


# A past release is recomputed whenever a commit lands, and almost never changes. Its entry is a
# function of `key` and of the commits in its window, so the tagged commit keeps the last one it
# got for each package path (commits are immutable; see parsing._parsed): when the same Commit
# objects fill the window again (a CommitCache's rescan), it is reused, not parsed and rendered
# again. A different window (a commit merged with an old date lands inside it) or key (another
# config, date or repository) computes it afresh. The memo lives and dies with the commit.
_RELEASED = "_released"


def _remembered(
    anchor: Commit, path: str, key: tuple, window: Sequence[Commit]
) -> HistoricalRelease | None:
    found = getattr(anchor, _RELEASED, None)
    found = found.get(path) if found is not None else None
    if found is None:
        return None
    known_key, known_window, release = found
    if len(known_window) != len(window) or known_key != key:
        return None
    return release if all(map(operator.is_, known_window, window)) else None


def _remember(
    anchor: Commit, path: str, key: tuple, window: Sequence[Commit], release: HistoricalRelease
) -> None:
    memo = getattr(anchor, _RELEASED, None)
    try:
        if memo is None:
            memo = {}
            object.__setattr__(anchor, _RELEASED, memo)
    except (AttributeError, TypeError):  # an object that takes no attribute: not remembered
        return
    memo[path] = (key, tuple(window), release)


def _entry_start(start: int, end: int, later: int | None, merges: Sequence[int]) -> int:
    """Where a release's entry begins (positions count from the newest commit): right after
    the merge commit of its Release PR, since Release Please wrote the entry before that merge
    existed. Release Please tags that very commit; a tag made by hand may sit elsewhere, and
    then the entry still ends at the merge nearest the tag, after the previous release's tag and
    before the next one's (5dlabs 0.2.12). No merge commit: a release cut at the tagged commit."""
    found = [i for i in merges if i == start or (i < end and (later is None or i > later))]
    if not found:
        return start
    return min(found, key=lambda i: abs(i - start)) + 1


def _release_merges(
    config: ReleaseConfig, pkg: PackageConfig, commits: Sequence[Commit], versions: Sequence[str]
) -> dict[str, list[int]]:
    """version -> positions of the commits that merged a Release PR for it."""
    titles: dict[str, list[str]] = {}
    for version in versions:
        for title in _release_titles(config, pkg, version):
            titles.setdefault(title, []).append(version)
    merges: dict[str, list[int]] = {}
    if not titles:
        return merges
    # A merged title is a prefix of the stripped message, or follows a GitHub merge's subject:
    # the titles' common prefix ("chore(main): release ") rules out nearly every commit cheaply.
    starts = (os.path.commonprefix(list(titles)), _GITHUB_MERGE)
    for index, commit in enumerate(commits):
        if not commit.message.lstrip().startswith(starts):
            continue
        for version in titles.get(_merged_title(commit), ()):
            merges.setdefault(version, []).append(index)
    return merges


def _release_titles(config: ReleaseConfig, pkg: PackageConfig, version: str) -> set[str]:
    titles = {release_pr.pr_title(config, pkg, version)}
    if not config.separate_pull_requests and len(config.packages) > 1:
        titles.add(release_pr.group_pr_title(config, {pkg.path: version}))
    return titles


_PR_SUFFIX = re.compile(r" \(#[0-9]+\)$")
_GITHUB_MERGE = "Merge pull request #"


def _merged_title(commit: Commit) -> str:
    """The title of the pull request a commit merged: its subject without the ` (#N)` of a
    squash merge, or the line after GitHub's `Merge pull request #N from …`."""
    subject = commit.subject
    if subject.startswith(_GITHUB_MERGE):
        rest = commit.message.strip().splitlines()[1:]
        subject = next((line.strip() for line in rest if line.strip()), "")
    return _PR_SUFFIX.sub("", subject) if subject.endswith(")") else subject


def _package_tags(pkg: PackageConfig, history: History) -> list[tuple[str, str, str]]:
    """(version, tag, sha) of the package's release tags, highest version first."""
    found = []
    for name, sha in history.tags.items():
        version = version_from_tag(pkg, name)
        if version is not None:
            found.append((semver.Version.parse(version), version, name, sha))
    found.sort(reverse=True)
    return [(version, name, sha) for _, version, name, sha in found]


def version_from_tag(pkg: PackageConfig, name: str) -> str | None:
    """The version a tag names if it is one of this package's release tags (tag_name's inverse)."""
    template = release_pr.tag_name(pkg, "0.0.0")
    prefix = template[: -len("0.0.0")]
    if not name.startswith(prefix):
        return None
    version = name[len(prefix) :]
    if not semver.Version.is_valid(version) or release_pr.tag_name(pkg, version) != name:
        return None
    return version
