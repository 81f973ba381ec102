"""The 5dlabs/cto history rebuilt as a real git repository, and cdportal's release history and
next release checked against what Release Please wrote, through git this time.

tests/core/test_changelog.py reproduces each reference entry from parsed commits. Here every
step a real run takes is on the path: commit messages as git stores them, `git log` read by the
git adapter, tags, `release-please-config.json` and the manifest read at HEAD
(`release_source.snapshot`), the cut between releases by position in the history
(`plan.release_history`), then the next release (`plan.plan`).

How the history is rebuilt (one `git fast-import` stream, well under a second)
------------------------------------------------------------------------------
From the reference CHANGELOG.md, for each of the 39 entries Release Please wrote, oldest first:
one commit per listed line, its message rebuilt from the line (the type from the section
through the config's `changelog-sections`, the bold scope, the subject with Release Please's
rendering undone: `[#123](…)` → `#123`, `[@x](…)` → `@x`, `&lt;`/`&gt;` → `<`/`>`), created in
the reverse of the listed order so that `git log` lists them in the entry's order (the entry
sorts its lines; where two keys tie it keeps the `git log` order, newest first — this order
keeps them). Then the Release PR's merge commit `chore: release X`, which writes the manifest,
the extra files and the entry into CHANGELOG.md, tagged `vX`. Each commit is dated on its
release's day (UTC), so the tags carry the reference dates and the entries are compared whole,
header date included.

Why `chore: release X` is never listed although `chore` is visible in 5dlabs ("🔧 Maintenance"):
Release Please writes entry X into the Release PR *before* that PR is merged, so the merge
commit cannot be in it; the merge commit is then tagged vX and is the release's sha, and
`commitsAfterSha` (src/manifest.ts) takes only the commits *before* it for the next release, so
it is not in X+1 either. It is listed only when the tag is not on it — which is 0.2.12:

The manual tag (0.2.12 / 0.2.13)
--------------------------------
0.2.13 re-lists two of 0.2.12's commits (#3843, #3844) plus `release 0.2.12 (#3846)`, the
Release PR's merge commit. That is what you get when v0.2.12 points at an older commit than
the merge: here `bump version to 0.2.12 (#3842)`, the newest of 0.2.12's other commits, tagged
by hand. The rebuilt history is therefore, oldest first:

    v0.2.11 … #3838, cec7754, #3840, #3841, #3842 ← v0.2.12 (by hand), #3843, #3844,
    chore: release 0.2.12 (#3846) (not tagged), #3845, #3848, #3849, chore: release 0.2.13 ← v0.2.13

Release Please built the 0.2.12 entry from the commits after v0.2.11 up to the Release PR's merge
(#3843 and #3844 included); the next run found the release v0.2.12 at #3842 and listed again
everything after it. Both entries are reproduced exactly from this one history: a release's
entry ends at its Release PR's merge commit, the next release starts after its tag.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from gitrepos import Work, git

from cdportal.adapters.git.release_source import snapshot
from cdportal.adapters.git.repository import GitRepository
from cdportal.core.changelog import insert_entry, split_entries
from cdportal.core.conventional import Repo
from cdportal.core.plan import plan, release_history

ROOT = Path(__file__).resolve().parents[2]
# 5dlabs/cto's Release Please files and history, committed (docs/release-please.md).
REFERENCE = ROOT / "tests" / "fixtures" / "reference" / "5dlabs-cto"
GITHUB = Repo("5dlabs", "cto")
URL = "https://github.com/5dlabs/cto"

_HEADER = re.compile(
    r"## \[(?P<version>[^\]]+)\]\(https://github\.com/5dlabs/cto/compare/"
    r"(?P<previous>\S+?)\.\.\.(?P<tag>[^)]+)\) \((?P<date>\d{4}-\d\d-\d\d)\)"
)
# No reference line has a `, closes …` suffix or a breaking change: the parser asserts it.
_LINE = re.compile(
    r"\* (?:\*\*(?P<scope>.+?):\*\* )?(?P<subject>.*)"
    r" \(\[(?P<short>[0-9a-f]{7})\]\(https://github\.com/5dlabs/cto/commit/(?P<sha>[0-9a-f]{40})\)\)"
)
_SHA_LINK = re.compile(r"\[[0-9a-f]{7}\]\(https://github\.com/5dlabs/cto/commit/([0-9a-f]{40})\)")

MANUAL = "0.2.12"  # tagged by hand, on an older commit than its Release PR's merge
MANUAL_TAG_ON = "d80ae12029f9fb2bbaa824933d86ab4e632d5f06"  # chore: bump version to 0.2.12 (#3842)
MANUAL_MERGE = "172b137649ce0c57e1edde3dc87b02c166036c71"  # chore: release 0.2.12 (#3846)

NO_CONFIG = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
AUTHOR = b"5D Labs Bot <bot@5dlabs.example>"
CARGO = '[workspace]\nmembers = ["controller"]\n\n[workspace.package]\nversion = "{v}"\nedition = "2021"\n'
CHART = "apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: {v}\n"


@dataclass(frozen=True)
class Listed:
    sha: str  # the 5dlabs sha
    message: str  # the commit message rebuilt from the line


@dataclass(frozen=True)
class Entry:
    version: str
    day: date
    text: str  # byte-exact, as in the reference
    lines: tuple[Listed, ...]  # in the order shown


def unrender(subject: str) -> str:
    """The subject as committed: Release Please's links and HTML escapes undone."""
    subject = re.sub(r"\[#(\d+)\]\(https://github\.com/5dlabs/cto/issues/\1\)", r"#\1", subject)
    subject = re.sub(r"\[@([^\]]+)\]\(https://github\.com/\1\)", r"@\1", subject)
    return subject.replace("&lt;", "<").replace("&gt;", ">")


def reference() -> tuple[str, list[Entry], list[str]]:
    """The CHANGELOG.md text, its Release Please entries oldest first, its hand-written ones."""
    text = (REFERENCE / "CHANGELOG.md").read_text(encoding="utf-8")
    config = json.loads((REFERENCE / "release-please-config.json").read_text(encoding="utf-8"))
    type_of: dict[str, str] = {}
    for s in config["changelog-sections"]:
        type_of.setdefault(s["section"], s["type"])
    entries, hand_written = [], []
    for version, entry in split_entries(text):
        header = _HEADER.match(entry)
        if header is None:
            hand_written.append(entry)
            continue
        assert header["version"] == version and header["tag"] == f"v{version}"
        lines, section = [], None
        for line in entry.split("\n")[1:]:
            if line.startswith("### "):
                section = line[4:]
                assert section in type_of, section  # no BREAKING CHANGES list in the reference
            elif line.startswith("* "):
                m = _LINE.fullmatch(line)
                assert m and m["sha"].startswith(m["short"]), line
                scope = f"({m['scope']})" if m["scope"] else ""
                lines.append(
                    Listed(m["sha"], f"{type_of[section]}{scope}: {unrender(m['subject'])}\n")
                )
            else:
                assert line == "", line
        entries.append(Entry(version, date.fromisoformat(header["date"]), entry, tuple(lines)))
    return text, entries[::-1], hand_written


# --- the repository --------------------------------------------------------------------------------


class Stream:
    """A `git fast-import` stream for branch main."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.marks = 0

    def _data(self, text: str) -> None:
        raw = text.encode()
        self.chunks.append(b"data %d\n%s\n" % (len(raw), raw))

    def commit(self, message: str, files: dict[str, str], when: int) -> int:
        self.marks += 1
        self.chunks.append(b"commit refs/heads/main\nmark :%d\n" % self.marks)
        self.chunks.append(
            b"author %s %d +0000\ncommitter %s %d +0000\n" % (AUTHOR, when, AUTHOR, when)
        )
        self._data(message)
        for path, content in files.items():
            self.chunks.append(b"M 100644 inline %s\n" % path.encode())
            self._data(content)
        return self.marks

    def tag(self, name: str, mark: int, *, annotated_at: int | None = None) -> None:
        if annotated_at is None:
            self.chunks.append(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))
        else:
            self.chunks.append(b"tag %s\nfrom :%d\n" % (name.encode(), mark))
            self.chunks.append(b"tagger %s %d +0000\n" % (AUTHOR, annotated_at))
            self._data(f"{name}, tagged by hand\n")


@dataclass
class Rebuilt:
    path: Path
    text: str  # the reference CHANGELOG.md
    entries: list[Entry]  # oldest first
    sha_of: dict[str, str]  # 5dlabs sha -> the sha git made for the same commit
    release_commits: dict[str, str]  # version -> sha of its Release PR's merge commit
    clock: int  # the last commit's time


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def rebuild(path: Path) -> Rebuilt:
    text, entries, hand_written = reference()
    config = (REFERENCE / "release-please-config.json").read_text(encoding="utf-8")
    manifest = (REFERENCE / ".release-please-manifest.json").read_text(encoding="utf-8")
    assert '"0.2.50"' in manifest

    def release_files(version: str, changelog: str) -> dict[str, str]:
        return {
            ".release-please-manifest.json": manifest.replace("0.2.50", version),
            "CHANGELOG.md": changelog,
            "Cargo.toml": CARGO.format(v=version),
            "infra/charts/controller/Chart.yaml": CHART.format(name="controller", v=version),
            "infra/charts/tools/Chart.yaml": CHART.format(name="tools", v=version),
        }

    stream = Stream()
    clock = _midnight(entries[0].day) - 86_400
    changelog = "\n\n".join(hand_written) + "\n"  # 0.2.9 on top, then 0.2.8 and 0.2.7
    stream.tag(
        "v0.2.11",
        stream.commit(
            "chore: adopt Release Please\n",
            {"release-please-config.json": config, **release_files("0.2.11", changelog)},
            clock,
        ),
    )
    mark_of: dict[str, int] = {}  # 5dlabs sha -> mark
    release_marks: dict[str, int] = {}
    listed_later = {line.sha: line for e in entries for line in e.lines}
    for index, entry in enumerate(entries):
        clock = max(clock, _midnight(entry.day))
        # Oldest first: the reverse of the listed order (ties show in `git log` order).
        new = [line for line in reversed(entry.lines) if line.sha not in mark_of]
        if entry.version == MANUAL:  # the tagged commit, then the two 0.2.13 lists again
            relisted = {line.sha for line in entries[index + 1].lines}
            before = [ln for ln in new if ln.sha not in relisted and ln.sha != MANUAL_TAG_ON]
            new = before + [listed_later[MANUAL_TAG_ON]] + [ln for ln in new if ln.sha in relisted]
        for line in new:
            clock += 60
            file = f"changes/{len(mark_of):04d}.txt"
            mark_of[line.sha] = stream.commit(line.message, {file: line.message}, clock)
            if line.sha == MANUAL_TAG_ON:
                stream.tag(f"v{MANUAL}", mark_of[line.sha], annotated_at=clock + 30)
        changelog = insert_entry(changelog, entry.text)
        clock += 60
        message = (
            listed_later[MANUAL_MERGE].message
            if entry.version == MANUAL
            else f"chore: release {entry.version}\n"
        )
        release_marks[entry.version] = stream.commit(
            message, release_files(entry.version, changelog), clock
        )
        if entry.version == MANUAL:
            mark_of[MANUAL_MERGE] = release_marks[MANUAL]
        else:
            stream.tag(f"v{entry.version}", release_marks[entry.version])
        assert datetime.fromtimestamp(clock, UTC).date() == entry.day
    assert changelog == text  # inserting the entries oldest first gives the reference file back

    marks_file = path.parent / f"{path.name}.marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done", f"--export-marks={marks_file}"],
        cwd=path,
        input=b"".join(stream.chunks) + b"done\n",
        check=True,
        env={**os.environ, **NO_CONFIG, "LC_ALL": "C"},
    )
    git(path, "reset", "-q", "--hard")
    sha_at = dict(line.split() for line in marks_file.read_text().splitlines())
    return Rebuilt(
        path=path,
        text=text,
        entries=entries,
        sha_of={ref: sha_at[f":{mark}"] for ref, mark in mark_of.items()},
        release_commits={v: sha_at[f":{mark}"] for v, mark in release_marks.items()},
        clock=clock,
    )


def rewritten(entry: Entry, sha_of: dict[str, str]) -> str:
    """The reference entry with each 5dlabs sha replaced by the rebuilt commit's."""
    return _SHA_LINK.sub(lambda m: f"[{sha_of[m[1]][:7]}]({URL}/commit/{sha_of[m[1]]})", entry.text)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Rebuilt:
    path = tmp_path_factory.mktemp("5dlabs") / "cto"
    path.mkdir()
    git(
        path,
        "init",
        "-q",
        "-b",
        "main",
        env=NO_CONFIG,
    )
    return rebuild(path)


@pytest.fixture(scope="module")
def released(rebuilt):
    snap = snapshot(GitRepository(rebuilt.path), github=GITHUB)
    return {
        r.version: r
        for r in release_history(snap.config, snap.history, repo=snap.repo, dates=snap.tag_dates)
    }


# --- what was released ------------------------------------------------------------------------------


def test_the_rebuilt_repository_is_5dlabs_at_v0_2_50(rebuilt):
    snap = snapshot(GitRepository(rebuilt.path), github=GITHUB)
    read = snap.history.read_file
    assert read("CHANGELOG.md") == rebuilt.text
    for name in ("release-please-config.json", ".release-please-manifest.json"):
        assert read(name) == (REFERENCE / name).read_text(encoding="utf-8")
    [pkg] = snap.config.packages
    assert (pkg.path, pkg.current_version, pkg.release_type) == (".", "0.2.50", "simple")
    listed = {line.sha for e in rebuilt.entries for line in e.lines}
    assert len(listed) == 387 and len(rebuilt.sha_of) == 387  # 389 lines, 2 listed twice
    # The listed commits, a merge per release (0.2.12's is also listed in 0.2.13), the first.
    assert len(snap.history.commits) == 387 + 39 - 1 + 1
    tags = snap.history.tags
    assert sorted(tags, key=lambda t: [int(n) for n in t[1:].split(".")]) == [
        f"v0.2.{n}" for n in range(11, 51)
    ]
    assert tags[f"v{MANUAL}"] == rebuilt.sha_of[MANUAL_TAG_ON] != rebuilt.release_commits[MANUAL]
    for version, sha in rebuilt.release_commits.items():
        assert version == MANUAL or tags[f"v{version}"] == sha


def test_release_history_lists_every_tag_newest_first(rebuilt, released):
    assert list(released) == [f"0.2.{n}" for n in range(50, 10, -1)]
    assert released["0.2.13"].previous_tag == "v0.2.12"
    assert released[MANUAL].sha == rebuilt.sha_of[MANUAL_TAG_ON]


@pytest.mark.parametrize("version", [f"0.2.{n}" for n in range(12, 51)])
def test_each_entry_release_please_wrote_is_reproduced_from_git(rebuilt, released, version):
    [entry] = [e for e in rebuilt.entries if e.version == version]
    assert released[version].changelog == rewritten(entry, rebuilt.sha_of)


def test_the_release_commits_are_not_listed_except_the_one_the_manual_tag_left_behind(
    rebuilt, released
):
    listed = {c.sha for r in released.values() for c in r.commits}
    merges = set(rebuilt.release_commits.values())
    assert listed & merges == {rebuilt.release_commits[MANUAL]}
    assert rebuilt.release_commits[MANUAL] in {c.sha for c in released["0.2.13"].commits}


def test_0_2_13_re_lists_what_0_2_12_listed_after_the_hand_made_tag(rebuilt, released):
    twice = {rebuilt.sha_of[sha] for sha in (
        "72017cf7aa238fdcfe29652073ef0bda145b7d82",  # feat(marketing): … (#3843)
        "b22fbde0029f642907713765445196ede330b0c6",  # fix(intake): … (#3844)
    )}  # fmt: skip
    in_12, in_13 = ({c.sha for c in released[v].commits} for v in ("0.2.12", "0.2.13"))
    assert in_12 & in_13 == twice
    # 0.2.12 lists them although they are newer than its tag: its entry ends at its merge.
    position = {c.sha: i for i, c in enumerate(GitRepository(rebuilt.path).log())}
    assert all(position[sha] < position[released["0.2.12"].sha] for sha in twice)


# --- what Release Please did, run by run ------------------------------------------------------------


@pytest.mark.parametrize("version", [f"0.2.{n}" for n in range(12, 51)])
def test_each_release_pr_is_predicted_from_the_commit_before_its_merge(rebuilt, version):
    """The forward path, as Release Please ran it: at the parent of the Release PR's merge commit
    (the state the PR was last built from), the plan is that release, entry byte for byte."""
    [entry] = [e for e in rebuilt.entries if e.version == version]
    repo = GitRepository(rebuilt.path)
    snap = snapshot(repo, github=GITHUB, rev=repo.resolve(f"{rebuilt.release_commits[version]}^"))
    [package] = plan(snap.config, snap.history, repo=snap.repo, date=entry.day).packages
    assert (package.next_version, package.pr_title) == (version, f"chore: release {version}")
    assert package.changelog == rewritten(entry, rebuilt.sha_of)
    if version == "0.2.13":  # the run after the hand-made tag explains the repeated commits
        [warning] = package.warnings
        merge = rebuilt.release_commits[MANUAL][:7]
        assert warning.startswith(
            f"tag v0.2.12 points at {rebuilt.sha_of[MANUAL_TAG_ON][:7]}, not at "
            f"the merge of the Release PR for 0.2.12 ({merge}, newer): the 2 commit(s)"
        )
    else:
        assert package.warnings == ()


# --- what would be released next --------------------------------------------------------------------


@pytest.fixture
def after_v0_2_50(rebuilt, git_identity, tmp_path) -> Work:
    """A copy of the rebuilt repository to commit to."""
    path = tmp_path / "cto"
    shutil.copytree(rebuilt.path, path, symlinks=True)
    work = Work(path)  # `git init` again: harmless, keeps everything
    work.clock = rebuilt.clock
    return work


def _plan(work: Work, day: date):
    snap = snapshot(GitRepository(work.path), github=GITHUB)
    [package] = plan(snap.config, snap.history, repo=snap.repo, date=day).packages
    return package


def test_right_after_a_release_there_is_nothing_to_release(after_v0_2_50):
    # The release commit is v0.2.50's sha: nothing comes after it.
    package = _plan(after_v0_2_50, date(2026, 2, 27))
    assert (package.current_version, package.next_version, package.commits) == ("0.2.50", None, ())


def test_the_next_release_is_0_2_51_with_the_5dlabs_sections(after_v0_2_50):
    work = after_v0_2_50
    test = work.commit("test(controller): cover retries\n", {"controller/tests/retry.rs": "1"})
    feat = work.commit(
        "feat(controller): add task retry logic (#4440)\n", {"controller/src/retry.rs": "1"}
    )
    fix = work.commit(
        "fix: keep <pre> blocks in PR bodies @pm-bot (#4441)\n", {"controller/src/pr.rs": "1"}
    )
    chore = work.commit("chore(deps): bump tokio from 1.43 to 1.44\n", {"Cargo.lock": "1"})
    work.commit("Merge branch 'main' of github.com:5dlabs/cto\n", {"notes.txt": "1"})
    package = _plan(work, date(2026, 3, 2))
    # bump-patch-for-minor-pre-major: a feature before 1.0.0 is a patch.
    assert (package.next_version, package.tag, package.pr_title) == (
        "0.2.51",
        "v0.2.51",
        "chore: release 0.2.51",
    )
    assert package.branch == "release-please--branches--main"
    link = lambda sha: f"([{sha[:7]}]({URL}/commit/{sha}))"
    issue = lambda n: f"[#{n}]({URL}/issues/{n})"
    entry = (
        f"## [0.2.51]({URL}/compare/v0.2.50...v0.2.51) (2026-03-02)\n\n\n"
        "### ✨ Features\n\n"
        f"* **controller:** add task retry logic ({issue(4440)}) {link(feat)}\n\n\n"
        "### 🐛 Bug Fixes\n\n"
        f"* keep &lt;pre&gt; blocks in PR bodies [@pm-bot](https://github.com/pm-bot) ({issue(4441)}) {link(fix)}\n\n\n"
        "### 🔧 Maintenance\n\n"
        f"* **deps:** bump tokio from 1.43 to 1.44 {link(chore)}"
    )
    assert package.changelog == entry
    assert test not in entry  # `test` is hidden in 5dlabs' sections
    assert [(c.type, c.bump) for c in package.commits] == [
        ("chore", "patch"),
        ("fix", "patch"),
        ("feat", "patch"),
        ("test", "none"),
    ]
    assert [s.subject for s in package.ignored] == ["Merge branch 'main' of github.com:5dlabs/cto"]
    files = {f.path: f.after for f in package.files}
    # The entry goes below the hand-written 0.2.9, which stays on top (rule 22).
    text = (REFERENCE / "CHANGELOG.md").read_text(encoding="utf-8")
    assert files["CHANGELOG.md"] == insert_entry(text, entry)
    assert [v for v, _ in split_entries(files["CHANGELOG.md"])][:3] == ["0.2.9", "0.2.51", "0.2.50"]
    assert 'version = "0.2.51"' in files["Cargo.toml"]
    assert files["infra/charts/controller/Chart.yaml"].endswith("appVersion: 0.2.51\n")
    assert files["infra/charts/tools/Chart.yaml"].endswith("appVersion: 0.2.51\n")


def test_a_breaking_change_is_a_minor_before_1_0_0_not_1_0_0(after_v0_2_50):
    # The 5dlabs workflow comments say `feat!` → 1.0.0; bump-minor-pre-major makes it 0.3.0.
    work = after_v0_2_50
    work.commit("feat(api)!: drop the v1 routes\n", {"controller/src/api.rs": "1"})
    package = _plan(work, date(2026, 3, 2))
    assert (package.next_version, package.pr_title) == ("0.3.0", "chore: release 0.3.0")
    assert (
        "### ⚠ BREAKING CHANGES\n\n* **api:** drop the v1 routes\n\n### ✨ Features"
        in package.changelog
    )


# --- the same rules on small histories (5dlabs config, no git) ---------------------------------------


def _small(*commits: tuple[str, str], tags: dict[str, str]):
    """`(sha letter, message)` newest first → the releases release_history finds, by version."""
    from cdportal.core.conventional import Commit
    from cdportal.core.plan import History
    from cdportal.core.release_config import load_config

    config = load_config(
        (REFERENCE / "release-please-config.json").read_text(encoding="utf-8"),
        '{".": "0.2.2"}',
        config_file="release-please-config.json",
        manifest_file=".release-please-manifest.json",
    )
    history = History(
        commits=[Commit(letter * 40, message) for letter, message in commits],
        tags={tag: letter * 40 for tag, letter in tags.items()},
    )
    found = release_history(config, history, repo=GITHUB, dates={})
    return {r.version: [c.subject for c in r.commits] for r in found}


def test_a_release_pr_merged_with_a_merge_commit_is_not_listed_either():
    releases = _small(
        (
            "d",
            "Merge pull request #9 from 5dlabs/release-please--branches--main\n\nchore: release 0.2.2\n",
        ),
        ("c", "fix: c\n"),
        ("b", "chore: release 0.2.1 (#5)\n"),
        ("a", "feat: a\n"),
        tags={"v0.2.2": "d", "v0.2.1": "b"},
    )
    assert releases == {"0.2.2": ["c"], "0.2.1": ["a"]}


def test_a_tag_made_by_hand_without_a_release_pr_includes_the_tagged_commit():
    releases = _small(
        ("c", "fix: c\n"),
        ("b", "chore: bump version\n"),
        ("a", "feat: a\n"),
        tags={"v0.2.2": "c", "v0.2.1": "a"},
    )
    assert releases == {"0.2.2": ["c", "bump version"], "0.2.1": ["a"]}


def test_a_tag_made_after_the_merge_drops_what_came_between_as_release_please_does():
    # 0.2.1's entry was written before its merge (b); 0.2.2 starts after the tag (d): c and d
    # are in neither entry, as with Release Please.
    releases = _small(
        ("e", "fix: e\n"),
        ("f", "chore: release 0.2.2\n"),
        ("d", "docs: d\n"),
        ("c", "fix: c\n"),
        ("b", "chore: release 0.2.1\n"),
        ("a", "feat: a\n"),
        tags={"v0.2.2": "f", "v0.2.1": "d"},
    )
    assert releases == {"0.2.2": [], "0.2.1": ["a"]}
