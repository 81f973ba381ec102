"""The changelog entry and CHANGELOG.md as Release Please 17.1.3 writes them (rules 11–17, 22).

Expected texts were produced by release-please 17.1.3 itself (DefaultChangelogNotes.buildNotes,
conventional-changelog-writer 6.0.1, conventional-changelog-conventionalcommits 6.1.0, Node 20
with ICU en-US) for the same commits, and the 5dlabs/cto CHANGELOG.md is reproduced entry by entry.
"""

from __future__ import annotations

import datetime
import json
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest

from cdportal.core.changelog import collation_key, insert_entry, render_entry, split_entries
from cdportal.core.conventional import (
    DEFAULT_SECTIONS,
    ChangelogSection,
    ConventionalCommit,
    Note,
    Reference,
    Repo,
)

REPO = Repo("O", "R")
DAY = datetime.date(2024, 5, 6)
# 5dlabs/cto's Release Please files and history, committed (docs/release-please.md).
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "5dlabs-cto"

_shas = (f"{n:040x}" for n in range(1, 10**9))


def commit(header: str, *, sha: str | None = None, **fields) -> ConventionalCommit:
    """`type(scope)!: subject` → a parsed commit; `!` also adds the note the parser would add."""
    m = re.fullmatch(
        r"(?P<type>[^(!:]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?: (?P<subject>.*)", header
    )
    assert m, header
    breaking = bool(m["bang"]) or any(n.title == "BREAKING CHANGE" for n in fields.get("notes", ()))
    if m["bang"] and "notes" not in fields:
        fields["notes"] = (Note("BREAKING CHANGE", m["subject"]),)
    return ConventionalCommit(
        sha=sha or next(_shas),
        type=m["type"],
        scope=m["scope"],
        subject=m["subject"],
        breaking=breaking,
        **fields,
    )


def render(*commits: ConventionalCommit, sections=DEFAULT_SECTIONS, repo=REPO, previous="v1.2.3"):
    return render_entry(
        version="1.3.0",
        tag="v1.3.0",
        previous_tag=previous,
        commits=commits,
        repo=repo,
        date=DAY,
        sections=sections,
    )


def lines(entry: str) -> list[str]:
    """The `* ` lines of an entry with the commit links cut off, for rules about order."""
    return [
        re.sub(r" \(\[[0-9a-f]{7}\]\([^)]*\)\).*$", "", ln)
        for ln in entry.splitlines()
        if ln.startswith("* ")
    ]


# --- rule 11: the header --------------------------------------------------------------------------


def test_the_header_is_an_h2_with_a_compare_link_even_for_a_patch():
    entry = render_entry(
        version="1.2.4",
        tag="v1.2.4",
        previous_tag="v1.2.3",
        commits=[commit("fix: x")],
        repo=REPO,
        date=DAY,
    )
    assert (
        entry.splitlines()[0]
        == "## [1.2.4](https://github.com/O/R/compare/v1.2.3...v1.2.4) (2024-05-06)"
    )


def test_a_first_release_has_no_link():
    entry = render(commit("feat: x"), previous=None)
    assert entry.splitlines()[0] == "## 1.3.0 (2024-05-06)"


@pytest.mark.parametrize(
    "previous, tag",
    [("my-svc-v1.2.3", "my-svc-v1.3.0"), ("1.2.3", "1.3.0"), ("my-svc/v1.2.3", "my-svc/v1.3.0")],
)
def test_the_compare_link_uses_the_real_tags(previous, tag):
    entry = render_entry(
        version="1.3.0", tag=tag, previous_tag=previous, commits=[], repo=REPO, date=DAY
    )
    assert entry == f"## [1.3.0](https://github.com/O/R/compare/{previous}...{tag}) (2024-05-06)"


def test_a_release_with_nothing_visible_is_only_the_header():
    assert render(commit("chore: tidy"), commit("docs: typo")) == (
        "## [1.3.0](https://github.com/O/R/compare/v1.2.3...v1.3.0) (2024-05-06)"
    )


# --- rule 12: the layout --------------------------------------------------------------------------


def test_the_layout_has_two_blank_lines_between_sections_and_one_after_breaking_changes():
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    entry = render(
        commit("feat(api)!: drop v1", sha=a),
        commit("fix: handle nil", sha=b),
        commit("feat: add retries", sha=c),
    )
    assert entry == (
        "## [1.3.0](https://github.com/O/R/compare/v1.2.3...v1.3.0) (2024-05-06)\n"
        "\n"
        "\n"
        "### ⚠ BREAKING CHANGES\n"
        "\n"
        "* **api:** drop v1\n"
        "\n"
        "### Features\n"
        "\n"
        f"* add retries ([ccccccc](https://github.com/O/R/commit/{c}))\n"
        f"* **api:** drop v1 ([aaaaaaa](https://github.com/O/R/commit/{a}))\n"
        "\n"
        "\n"
        "### Bug Fixes\n"
        "\n"
        f"* handle nil ([bbbbbbb](https://github.com/O/R/commit/{b}))"
    )


# --- rule 13: one entry ---------------------------------------------------------------------------


def test_an_entry_shows_the_bold_scope_and_the_short_sha_linking_the_full_one():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert render(commit("feat(api): add x", sha=sha)).endswith(
        f"* **api:** add x ([0123456](https://github.com/O/R/commit/{sha}))"
    )


def test_the_scope_star_is_dropped():
    assert lines(render(commit("fix(*): everything"))) == ["* everything"]


def test_footer_references_are_appended_as_closes_whatever_the_keyword():
    sha = "d" * 40
    refs = (Reference("Refs", "#", "77"), Reference("Fixes", "#", "78"), Reference(None, "#", "9"))
    assert render(commit("fix: x", sha=sha, references=refs)).endswith(
        f"* x ([ddddddd](https://github.com/O/R/commit/{sha})), closes "
        "[#77](https://github.com/O/R/issues/77) [#78](https://github.com/O/R/issues/78) "
        "[#9](https://github.com/O/R/issues/9)"
    )


def test_a_reference_already_linked_in_the_subject_is_not_repeated():
    sha = "e" * 40
    entry = render(commit("fix: x (#12)", sha=sha, references=(Reference("Closes", "#", "12"),)))
    assert entry.endswith(
        f"* x ([#12](https://github.com/O/R/issues/12)) ([eeeeeee](https://github.com/O/R/commit/{sha}))"
    )


def test_nothing_is_deduplicated():
    sha = "f" * 40
    entry = render(commit("fix: same", sha=sha), commit("fix: same", sha=sha))
    assert lines(entry) == ["* same", "* same"]


# --- rule 14: the subject -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject, shown",
    [
        ("close #123", "close [#123](https://github.com/O/R/issues/123)"),
        (
            "check #15 and (#16)",
            "check [#15](https://github.com/O/R/issues/15) and ([#16](https://github.com/O/R/issues/16))",
        ),
        ("thanks @octo-cat", "thanks [@octo-cat](https://github.com/octo-cat)"),
        ("use @radix-ui/react-slot", "use @radix-ui/react-slot"),
        ("[@apply] glass-bg", "[[@apply](https://github.com/apply)] glass-bg"),
        ("mail a@b.io", "mail a@b.io"),
        ("ping @Octo", "ping @Octo"),  # the pattern is lower-case only
        ("100Gi->50Gi", "100Gi-&gt;50Gi"),
        ("render <picture> `<picture>`", "render &lt;picture&gt; `<picture>`"),
        ("a < b > c < d", "a &lt; b &gt; c &lt; d"),
        ("x ``a `<b>` c`` <d>", "x ``a `<b>` c`` &lt;d&gt;"),
    ],
)
def test_the_subject_is_linked_and_escaped(subject, shown):
    assert lines(render(commit(f"fix: {subject}"))) == [f"* {shown}"]


def test_the_subject_is_never_truncated():
    subject = "word " * 100 + "end"
    assert lines(render(commit(f"fix: {subject}"))) == [f"* {subject}"]


def test_without_a_repository_the_entry_is_plain_text():
    sha = "1" * 40
    entry = render(
        commit("fix(api): x #12 @bob <y>", sha=sha, references=(Reference("Closes", "#", "77"),)),
        repo=None,
    )
    assert (
        entry
        == "## 1.3.0 (2024-05-06)\n\n\n### Bug Fixes\n\n* **api:** x #12 @bob &lt;y&gt; 1111111, closes #77"
    )


# --- rule 15: sorting -----------------------------------------------------------------------------


def test_entries_sort_by_scope_and_subject_run_together():
    entry = render(
        commit("feat: b"), commit("feat(a): zz"), commit("feat: ab"), commit("feat: azz")
    )
    assert lines(entry) == ["* ab", "* **a:** zz", "* azz", "* b"]


def test_sorting_ignores_case_first_then_puts_lower_before_upper():
    entry = render(*(commit(f"fix: {s}") for s in ["Banana", "apple", "banana", "Apple", "cherry"]))
    assert lines(entry) == ["* apple", "* Apple", "* banana", "* Banana", "* cherry"]


def test_underscore_and_digits_come_before_letters_and_accents_next_to_their_letter():
    entry = render(*(commit(f"fix: {s}") for s in ["f", "éclair", "eclair", "1x", "_x", "Eclair"]))
    assert lines(entry) == ["* _x", "* 1x", "* eclair", "* Eclair", "* éclair", "* f"]


def test_equal_keys_keep_the_git_log_order():
    first, second = commit("fix: same"), commit("fix: same")
    assert [ln.split("/commit/")[1][:40] for ln in render(first, second).splitlines()[-2:]] == [
        first.sha,
        second.sha,
    ]


# Sorted by Node 20's `Array.prototype.sort((a, b) => a.localeCompare(b))` with ICU en-US.
ICU_ORDER = [
    "_private", "-flag", "(#12) x", "[#12](x)", "@bob", "&lt;tag", "#12", "`code`", "10 items",
    "9 items", "a b", "a_b", "a-b", "a:b", "a!b", "a?b", "a.b", "a/b", "ab", "aB", "Ab", "angstrom",
    "Ångström", "apple", "Apple", "APPLE", "azz", "b", "eclair", "Eclair", "éclair", "Éclair",
    "ecliptic", "naive", "naïve", "nu", "ñu", "nz", "ø", "oeuvre", "œuvre", "ofx", "oz", "seta",
    "ßeta", "ssz", "uber", "Uber", "über", "ünïcode", "vacuum", "zebra", "Zebra",
]  # fmt: skip


def test_the_collation_key_orders_like_icu():
    shuffled = ICU_ORDER[:]
    random.Random(15).shuffle(shuffled)
    assert sorted(shuffled, key=collation_key) == ICU_ORDER


def test_the_collation_key_treats_typographic_punctuation_like_icu():
    # Also from Node/ICU: a no-break space after a space, dashes after '-', … is three dots,
    # ’ weighs like ' (then higher), arrows before '~', emoji after the ASCII symbols and before
    # the currency signs, control characters are ignored.
    expected = [
        "a b", "a\u00a0b", "a-b", "a–b", "a—b", "a..", "a…", "a'b", "a’b", "a→b", "a~", "a✨",
        "a$", "a€", "a0",
    ]  # fmt: skip
    shuffled = expected[::-1]
    random.Random(16).shuffle(shuffled)
    assert sorted(shuffled, key=collation_key) == expected
    assert collation_key("a\x00b") == collation_key("ab")


# --- rule 16: the breaking-change list ------------------------------------------------------------


def test_breaking_changes_are_listed_newest_first_unsorted_with_their_scope():
    entry = render(
        commit("feat(z)!: zulu"),
        commit("fix: alpha", notes=(Note("BREAKING CHANGE", "alpha is gone (#5), see (#6)"),)),
        commit("feat(*)!: star"),
    )
    assert entry.split("\n\n")[1:3] == [
        "\n### ⚠ BREAKING CHANGES",
        (
            "* **z:** zulu\n"
            "* alpha is gone ([#5](https://github.com/O/R/issues/5)), see (#6)\n"
            "* star"
        ),
    ]


def test_a_commit_flagged_breaking_without_a_note_lists_its_subject():
    entry = render(
        ConventionalCommit(sha="a" * 40, type="feat", scope="x", subject="y", breaking=True)
    )
    assert "### ⚠ BREAKING CHANGES\n\n* **x:** y\n" in entry


# --- rule 17: sections ----------------------------------------------------------------------------


def test_sections_follow_the_configured_order_and_merge_by_name():
    entry = render(
        commit("fix: f"),
        commit("perf: p"),
        commit("feature: b"),
        commit("feat: a"),
        commit("revert: r"),
    )
    assert re.findall(r"^### (.*)", entry, re.MULTILINE) == [
        "Features",
        "Bug Fixes",
        "Performance Improvements",
        "Reverts",
    ]
    assert lines(entry)[:2] == ["* a", "* b"]


def test_section_lookup_lowercases_the_type():
    assert "### Features\n\n* shout" in render(commit("FEAT: shout"))


def test_a_type_outside_the_configured_sections_is_hidden():
    sections = (ChangelogSection("feat", "Features"),)
    assert lines(render(commit("fix: x"), commit("feat: y"), sections=sections)) == ["* y"]
    assert render(commit("feat: y"), sections=()) == render(sections=())


def test_sections_can_be_keyed_by_type_and_scope():
    sections = (
        ChangelogSection("fix", "Dependencies", scope="deps"),
        ChangelogSection("fix", "Bug Fixes"),
    )
    entry = render(commit("fix(deps): bump a"), commit("fix: b"), sections=sections)
    assert re.findall(r"^### (.*)", entry, re.MULTILINE) == ["Dependencies", "Bug Fixes"]


def test_a_breaking_commit_of_a_hidden_type_appears_in_its_hidden_section():
    entry = render(commit("feat: a"), commit("chore!: drop node 16"))
    assert re.findall(r"^### (.*)", entry, re.MULTILINE) == [
        "⚠ BREAKING CHANGES",
        "Features",
        "Miscellaneous Chores",
    ]


def test_a_breaking_commit_of_an_unconfigured_type_gets_a_section_named_after_it_on_top():
    # Its title is not among the sections, so the group sort ranks it -1.
    entry = render(commit("feat: a"), commit("deps!: drop x"))
    assert re.findall(r"^### (.*)", entry, re.MULTILINE) == [
        "⚠ BREAKING CHANGES",
        "deps",
        "Features",
    ]


def test_a_release_as_commit_appears_even_if_its_type_is_hidden():
    entry = render(commit("chore: release 2.0.0", release_as="2.0.0"))
    assert "### Miscellaneous Chores\n\n* release 2.0.0" in entry
    # The writer only honours a footer value that looks like a version.
    assert lines(render(commit("chore: odd", release_as="soon"))) == []


# --- the 5dlabs/cto reference ----------------------------------------------------------------

_HEADER = re.compile(
    r"## \[(?P<version>[^\]]+)\]"
    r"\(https://github\.com/5dlabs/cto/compare/(?P<previous>.+?)\.\.\.(?P<tag>[^)]+)\)"
    r" \((?P<date>[\d-]+)\)"
)
_LINE = re.compile(
    r"\* (?:\*\*(?P<scope>.+?):\*\* )?(?P<subject>.*)"
    r" \(\[[0-9a-f]{7}\]\(https://github\.com/5dlabs/cto/commit/(?P<sha>[0-9a-f]{40})\)\)"
    r"(?:, closes(?P<closes>(?: \[#\d+\]\(https://github\.com/5dlabs/cto/issues/\d+\))+))?"
)


def _reference():
    text = (REFERENCE / "CHANGELOG.md").read_text(encoding="utf-8")
    config = json.loads((REFERENCE / "release-please-config.json").read_text(encoding="utf-8"))
    sections = tuple(
        ChangelogSection(s["type"], s["section"], s.get("hidden", False))
        for s in config["changelog-sections"]
    )
    return text, sections


def _release_please_entries():
    text, _ = _reference()
    return [(v, e) for v, e in split_entries(text) if _HEADER.match(e)]


def unlink_issues(text: str) -> str:
    return re.sub(r"\[#(\d+)\]\(https://github\.com/5dlabs/cto/issues/\1\)", r"#\1", text)


def unrender(entry: str, sections) -> tuple[dict, list[ConventionalCommit]]:
    """The header fields and the commits an entry was rendered from, in the order shown."""
    header, *rest = entry.split("\n")
    m = _HEADER.fullmatch(header)
    assert m, header
    type_of = {}
    for s in sections:
        type_of.setdefault(s.section, s.type)
    commits, breaking, section = [], [], None
    for line in rest:
        if line.startswith("### "):
            section = line[4:]
        elif line.startswith("* ") and section == "⚠ BREAKING CHANGES":
            breaking.append(re.fullmatch(r"\* (?:\*\*(.+?):\*\* )?(.*)", line).groups())
        elif line.startswith("* "):
            c = _LINE.fullmatch(line)
            assert c, line
            subject = unlink_issues(c["subject"])
            subject = re.sub(r"\[@([^\]]+)\]\(https://github\.com/\1\)", r"@\1", subject)
            subject = subject.replace("&lt;", "<").replace("&gt;", ">")
            refs = tuple(
                Reference("Closes", "#", n) for n in re.findall(r"\[#(\d+)\]", c["closes"] or "")
            )
            commits.append(
                ConventionalCommit(
                    sha=c["sha"], type=type_of[section], scope=c["scope"], subject=subject,
                    breaking=False, references=refs,
                )
            )  # fmt: skip
        else:
            assert line == "", line
    # A `!` commit's note is its subject (first (#N) linked). The list shows the breaking commits
    # in git log order, so they take their places among the commits in that order.
    found = []
    for scope, note in breaking:
        text = unlink_issues(note)
        i = next(i for i, c in enumerate(commits) if c and c.scope == scope and c.subject == text)
        found.append(
            ConventionalCommit(
                **{
                    **commits[i].__dict__,
                    "breaking": True,
                    "notes": (Note("BREAKING CHANGE", text),),
                }
            )
        )
        commits[i] = None
    slots = [i for i, c in enumerate(commits) if c is None]
    for i, c in zip(slots, found):
        commits[i] = c
    return m.groupdict(), commits


def shuffled(commits: list[ConventionalCommit], seed: int) -> list[ConventionalCommit]:
    """A random order, except where order shows: breaking commits keep theirs (the list is in
    git log order), and so do commits whose sort keys tie (Release Please's stable sort shows
    them in git log order, which the entry is all we know of)."""
    out = list(range(len(commits)))
    random.Random(seed).shuffle(out)
    ties = defaultdict(list)
    for position, index in enumerate(out):
        c = commits[index]
        ties["breaking" if c.breaking else (c.type, (c.scope or "") + c.subject)].append(position)
    for positions in ties.values():
        for position, index in zip(positions, sorted(out[p] for p in positions)):
            out[position] = index
    return [commits[i] for i in out]


def test_the_reference_has_39_release_please_entries_below_a_hand_written_top_one():
    text, _ = _reference()
    versions = [v for v, _ in split_entries(text)]
    assert versions == ["0.2.9", *[f"0.2.{n}" for n in range(50, 11, -1)], "0.2.8", "0.2.7"]
    assert len(_release_please_entries()) == 39


def rerender(entry: str, seed: int) -> str:
    _, sections = _reference()
    header, commits = unrender(entry, sections)
    return render_entry(
        version=header["version"],
        tag=header["tag"],
        previous_tag=header["previous"],
        commits=shuffled(commits, seed),
        repo=Repo("5dlabs", "cto"),
        date=datetime.date.fromisoformat(header["date"]),
        sections=sections,
    )


@pytest.mark.parametrize("entry", [pytest.param(e, id=v) for v, e in _release_please_entries()])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_reference_entry_is_reproduced_byte_for_byte(entry, seed):
    assert rerender(entry, seed) == entry


def test_reproducing_also_covers_breaking_changes():
    # The reference has none, so check the round trip on an entry of the same shape that has.
    _, sections = _reference()
    entry = render_entry(
        version="0.3.0",
        tag="v0.3.0",
        previous_tag="v0.2.50",
        commits=[
            commit("feat(api)!: drop the v1 routes (#4500)", sha="a" * 40),
            commit("fix: keep <b> (#4501)", sha="b" * 40, references=(Reference("", "#", "9"),)),
            commit("ci!: require signed tags", sha="c" * 40),
        ],
        repo=Repo("5dlabs", "cto"),
        date=DAY,
        sections=sections,
    )
    assert "### ⚠ BREAKING CHANGES\n\n* **api:** drop the v1 routes ([#4500](" in entry
    assert rerender(entry, seed=3) == entry


# --- rule 22: inserting into CHANGELOG.md ---------------------------------------------------------

ENTRY = "## [1.3.0](https://github.com/O/R/compare/v1.2.3...v1.3.0) (2024-05-06)\n\n\n### Features\n\n* x"


def test_an_entry_goes_before_the_first_version_header():
    old = "# Changelog\n\n## [1.2.3](link) (2024-01-01)\n\n\n### Bug Fixes\n\n* y\n"
    assert (
        insert_entry(old, ENTRY)
        == f"# Changelog\n\n{ENTRY}\n\n## [1.2.3](link) (2024-01-01)\n\n\n### Bug Fixes\n\n* y\n"
    )


def test_an_h3_version_header_counts_too():
    old = "# Changelog\n\n### [1.2.3](link) (2024-01-01)\n\n* y\n"
    assert (
        insert_entry(old, ENTRY)
        == f"# Changelog\n\n{ENTRY}\n\n### [1.2.3](link) (2024-01-01)\n\n* y\n"
    )


def test_an_h1_version_header_does_not_count():
    # changelog.ts matches `\n###? v?[0-9[]`: H2 or H3 only (the guide's `##?` is a misquote).
    assert (
        insert_entry("intro\n# 1.0.0\n\n* y\n", ENTRY)
        == f"# Changelog\n\n{ENTRY}\n\nintro\n## 1.0.0\n\n* y\n"
    )


def test_a_file_without_a_version_header_gets_a_title_and_keeps_its_text_below():
    assert insert_entry(None, ENTRY) == f"# Changelog\n\n{ENTRY}\n"
    assert insert_entry("", ENTRY) == f"# Changelog\n\n{ENTRY}\n"
    assert (
        insert_entry("# Notes\n\nsee wiki\n", ENTRY)
        == f"# Changelog\n\n{ENTRY}\n\n## Notes\n\nsee wiki\n"
    )


def test_a_hand_written_entry_on_line_one_stays_on_top_forever():
    text, _ = _reference()
    new = ENTRY.replace("O/R", "5dlabs/cto").replace("1.3.0", "0.2.51").replace("1.2.3", "0.2.50")
    updated = insert_entry(text, new)
    assert [v for v, _ in split_entries(updated)][:3] == ["0.2.9", "0.2.51", "0.2.50"]
    top = text[: text.index("## [0.2.50]")]
    assert updated == top + new + "\n\n" + text[len(top) :]


def test_the_reference_file_is_rebuilt_by_inserting_its_entries_oldest_first():
    text, _ = _reference()
    entries = split_entries(text)
    hand_written = [e for _, e in entries if not _HEADER.match(e)]
    assert [v for v, e in entries if not _HEADER.match(e)] == ["0.2.9", "0.2.8", "0.2.7"]
    content = "\n\n".join(hand_written) + "\n"
    for _, entry in reversed(_release_please_entries()):
        content = insert_entry(content, entry)
    assert content == text


def test_split_entries_returns_each_entry_without_trailing_blank_lines():
    text = f"# Changelog\n\n{ENTRY}\n\n## 1.2.3 (2024-01-01)\n\n\n### Bug Fixes\n\n* y\n"
    assert split_entries(text) == [
        ("1.3.0", ENTRY),
        ("1.2.3", "## 1.2.3 (2024-01-01)\n\n\n### Bug Fixes\n\n* y"),
    ]


# --- speed ----------------------------------------------------------------------------------


def test_a_release_of_100_000_commits_renders_every_visible_one():
    # Timing lives outside the suite (house style: no timed assertions); ~1 s on this machine.
    rng = random.Random(100)
    words = ["add", "fix", "Update", "remove", "ça", "über", "#12", "@bob", "<T>", "API", "_x"]
    commits = [
        ConventionalCommit(
            sha=f"{i:040x}",
            type=rng.choice(["feat", "fix", "chore", "docs", "perf", "ci"]),
            scope=rng.choice([None, "api", "ui", "core"]),
            subject=" ".join(rng.choice(words) for _ in range(6)) + f" {i}",
            breaking=False,
        )
        for i in range(100_000)
    ]
    entry = render(*commits)
    assert entry.count("\n* ") == sum(c.type in ("feat", "fix", "perf") for c in commits)
