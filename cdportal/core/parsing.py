"""Commit messages → conventional commits, exactly as Release Please 17.1.3 reads them.

Reference: release-please src/commit.ts (parseConventionalCommits, splitMessages,
preprocessCommitMessage, toConventionalChangelogFormat, postProcessCommits) and the parser it
bundles, @conventional-commits/parser 0.4.1 (lib/parser.js). That parser is a character scanner;
this module reproduces its results line by line with a few precompiled regexes, which is what
keeps 100 000 commits to a couple of seconds. Rules 3, 4, 5, 8, 9 and 10 of
docs/release-please.md come out of this code; the comments name the upstream quirk
each branch reproduces.

Pure Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cdportal.core.conventional import Commit, ConventionalCommit, Note, Parsed, Reference, Skipped

# The parser's <whitespace> (lib/type-checks.js) and JavaScript's String.prototype.trim set.
_WS = "\ufeff\t\v\f \xa0"
_JS_SPACE = "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    map(chr, range(0x2000, 0x200B))
)
_WS_CLASS = r"\ufeff\t\x0b\x0c \xa0"

# <type>: one or more characters that are not parens, whitespace, newline, "!" or ":". Possessive,
# because the scanner never backtracks into a type.
_TYPE = rf"[^()\r\n!:{_WS_CLASS}]++"
# <breaking-change> ::= "!" | "BREAKING CHANGE" | "BREAKING-CHANGE" (the literal is accepted right
# after a scope too: `feat(x)BREAKING CHANGE: y` is a breaking feat).
_SUMMARY = re.compile(
    rf"(?P<type>{_TYPE})(?:\((?P<scope>[^()\r\n]*+)\))?(?P<bang>!|BREAKING[ -]CHANGE)?"
    rf"(?::| \#)[{_WS_CLASS}]*+(?P<subject>.*)",
    re.DOTALL,
)
# A footer's <token>. The breaking-change alternative is tried first and, once it matched, the
# scanner does not fall back to reading a type (`BREAKING-CHANGES: x` is no footer at all).
_TOKEN = re.compile(
    rf"(?P<bc>BREAKING[ -]CHANGE|!)"
    rf"|(?P<type>{_TYPE})(?:(?P<open>\()(?P<scope>[^()\r\n]*+)(?P<close>\))?)?"
    rf"(?P<bang>!|BREAKING[ -]CHANGE)?"
)
_LINES = re.compile(r"([\r\n]+)")  # <newline>+ is a run of CR/LF; a lone CR counts
_NOTE_LINES = re.compile(r"\r?\n")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_EXTENDED_CONTEXT = re.compile(r"#### |[*-] ")
_ISSUE = re.compile(r"[0-9]+")
# postProcessCommits' extra detection: /BREAKING-CHANGE:\s*(.*)/ on the commit body, with
# JavaScript's \s and a "." that stops at line terminators.
_BODY_BREAKING = re.compile(
    r"BREAKING-CHANGE:[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"
    r"([^\n\r\u2028\u2029]*)"
)
# splitMessages: a blank line followed by one of these eleven lower-case types starts a new commit.
_SQUASH_SPLIT = re.compile(
    r"\r?\n\r?\n(?=(?:feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)"
    r"(?:\([^\n\r\u2028\u2029]*?\))?: )"
)
_MERGE = re.compile(r"Merge (?:pull request #|branch |remote-tracking branch |tag |commit |'|\")")
_GIT_REVERT = re.compile(r'Revert "')
_V_PREFIX = re.compile(r"\A[vV](?=[0-9])")

_FOOTER, _CONTINUATION, _TEXT = 0, 1, 2
_BREAKING_LITERALS = ("BREAKING CHANGE", "BREAKING-CHANGE")


class _Unparsable(Exception):
    """The parser threw: `line` (0 = the summary) is where it gave up."""

    def __init__(self, line: int):
        self.line = line


class _Raw:
    """One parsed commit before post-processing (conventional-changelog's commit shape)."""

    __slots__ = ("body", "message", "notes", "references", "scope", "subject", "type")

    def __init__(self, type_, scope, subject, message):
        self.type = type_
        self.scope = scope
        self.subject = subject
        self.message = message
        self.body = ""
        self.notes: list[list[str]] = []  # [title, text]
        self.references: list[tuple[str, str]] = []  # (action, issue)


def parse_commits(commits: Iterable[Commit]) -> Parsed:
    """Every conventional entry and every skipped commit (or part), in input order."""
    parsed = Parsed()
    append, extend = parsed.commits.append, parsed.commits.extend
    for commit in commits:
        found = _parsed(commit)
        if type(found) is ConventionalCommit:
            append(found)
        else:
            extend(found[0])
            parsed.skipped.extend(found[1])
    return parsed


def parse_commit(commit: Commit) -> tuple[list[ConventionalCommit], list[Skipped]]:
    """The entries Release Please makes of one commit, and the parts of it that it ignores.

    Never raises: a message the parser rejects becomes a Skipped with the reason."""
    found = _parsed(commit)
    if type(found) is ConventionalCommit:
        return [found], []
    return list(found[0]), list(found[1])


# A Commit is immutable and its parse depends on nothing else, so the result is kept on the
# object itself (as functools.cached_property would; dataclass equality, hashing and repr only
# see the fields). The release history and the next release of one snapshot parse each commit
# once, and so does every rescan that keeps the same Commit objects (CommitCache does): only new
# commits are parsed. `dataclasses.replace` makes a new object, which is parsed afresh. The memo
# lives and dies with its commit: no size to tune. The usual result, one entry and nothing
# skipped, is kept as the bare entry: fewer objects for the garbage collector to walk.
_MEMO = "_parsed"
_Memo = ConventionalCommit | tuple[tuple[ConventionalCommit, ...], tuple[Skipped, ...]]


def _parsed(commit: Commit) -> _Memo:
    found = getattr(commit, _MEMO, None)
    if found is not None:
        return found
    try:
        entries, skipped = _parse_commit(commit)
    except Exception as e:  # noqa: BLE001 - a safety net: the UI must never lose a commit
        entries = []
        skipped = [Skipped(commit.sha, commit.subject, f"internal parser error: {e!r}")]
    found = entries[0] if len(entries) == 1 and not skipped else (tuple(entries), tuple(skipped))
    try:
        object.__setattr__(commit, _MEMO, found)
    except (AttributeError, TypeError):  # an object that takes no attribute: parsed each time
        pass
    return found


def _parse_commit(commit: Commit) -> tuple[list[ConventionalCommit], list[Skipped]]:
    message, overridden = _preprocess(commit)
    entries: list[ConventionalCommit] = []
    skipped: list[Skipped] = []
    for piece in _split_messages(message):
        text = piece.strip(_JS_SPACE)
        if not text:
            continue  # e.g. the empty head left by a message that starts with BEGIN_NESTED_COMMIT
        try:
            raws = _parse(text)
        except _Unparsable as e:
            reason = _why_unparsable(text, e.line)
            if overridden:
                reason += " (in the pull request's BEGIN_COMMIT_OVERRIDE)"
            skipped.append(Skipped(commit.sha, _first_line(text), reason))
            continue
        entries.extend(_finish(raw, commit) for raw in raws)
    if not entries and not skipped:
        skipped.append(Skipped(commit.sha, "", "empty message"))
    return entries, skipped


def _preprocess(commit: Commit) -> tuple[str, bool]:
    """preprocessCommitMessage: a non-empty BEGIN_COMMIT_OVERRIDE block of the PR body wins."""
    if commit.pull_request_body is not None:
        parts = commit.pull_request_body.split("BEGIN_COMMIT_OVERRIDE")
        if len(parts) > 1:
            override = parts[1].split("END_COMMIT_OVERRIDE")[0].strip(_JS_SPACE)
            if override:
                return override, True
    return commit.message, False


def _split_messages(message: str) -> list[str]:
    """splitMessages: nested commits out, then the rest split before conventional paragraphs."""
    parts = message.split("BEGIN_NESTED_COMMIT")
    head = parts[0]
    nested = []
    for part in parts[1:]:
        inner, *rest = part.split("END_NESTED_COMMIT")
        nested.append(inner)
        head += "END_NESTED_COMMIT".join(rest)  # text around the blocks stays with the head
    return [p for p in _SQUASH_SPLIT.split(head) if p] + nested


def _parse(text: str) -> list[_Raw]:
    """toConventionalChangelogFormat(parser(text)) for a trimmed text: footer commits first,
    the header commit last. Raises _Unparsable where the parser throws."""
    parts = _LINES.split(text)
    m = _SUMMARY.fullmatch(parts[0])
    if m is None or m["scope"] == "":  # `feat(): x` fails: the scanner has eaten the "("
        raise _Unparsable(0)
    head = _Raw(m["type"], m["scope"], m["subject"], text)
    breaking = head.subject if m["bang"] else ""
    if len(parts) == 1:
        if breaking:
            head.notes.append(["BREAKING CHANGE", breaking])
        return [head]

    segments = parts[2::2]  # the lines after the summary, blank lines collapsed
    newlines = parts[3::2]  # newlines[i] separates segments[i] and segments[i + 1]
    kinds, tokens = _classify(segments)

    # The body runs until the first line from which every line is a footer or a continuation.
    last_text = max((i for i, kind in enumerate(kinds) if kind == _TEXT), default=-1)
    start = next((i for i in range(last_text + 1, len(kinds)) if kinds[i] == _FOOTER), len(kinds))

    body_breaking = _read_body(head, segments, newlines, start)
    if body_breaking is not None:
        breaking = body_breaking

    commits: list[_Raw] = []
    release_as: list[str] = []
    for token, texts, footer_text in _footers(segments, newlines, kinds, tokens, start):
        bc = token["bc"] or token["bang"] or ""
        if "BREAKING" in bc:
            breaking = texts[-1]  # the footer's last text node, not the joined value
        _add_reference(head, token, texts)
        if token["type"] is None:
            continue
        # Any footer with a type is re-parsed as a commit: `deps: …`, `Co-authored-by: …`.
        if token["type"].lower() == "release-as":
            release_as.append(texts[-1])
        try:
            commits.extend(_parse(footer_text.strip(_JS_SPACE)))
        except _Unparsable:
            pass
    if breaking:
        head.notes.append(["BREAKING CHANGE", breaking])
    head.notes.extend(["RELEASE AS", value] for value in release_as)
    commits.append(head)
    return commits


def _classify(segments: list[str]) -> tuple[list[int], list[re.Match | None]]:
    """Each line: a footer start, a continuation (starts with whitespace) or text.

    The parser tries every line as a footer; a `word(` whose scope is never closed throws and
    takes the whole message with it (`Math.round(1024 / (824/1024))` in a body)."""
    kinds = []
    tokens: list[re.Match | None] = []
    for i, segment in enumerate(segments):
        if segment[0] in _WS:
            kinds.append(_CONTINUATION)
            tokens.append(None)
            continue
        token = _TOKEN.match(segment)
        kind = _TEXT
        if token is not None:
            if token["open"] and not token["close"]:
                raise _Unparsable(i + 1)
            if token["scope"] != "":
                end = token.end()
                if segment.startswith(":", end) or segment.startswith(" #", end):
                    kind = _FOOTER
        kinds.append(kind)
        tokens.append(token if kind == _FOOTER else None)
    return kinds, tokens


def _read_body(head: _Raw, segments: list[str], newlines: list[str], end: int) -> str | None:
    """Fill head.body; the BREAKING CHANGE text of the body (from its first marker on), if any."""
    pieces: list[str] = []
    marker = None
    for i in range(end):
        if i:
            pieces.append(newlines[i - 1])
        segment = segments[i]
        if segment.startswith(_BREAKING_LITERALS):
            if segment.startswith(":", 15):
                if marker is None:
                    marker = len(pieces)
                segment = segment[16:].lstrip(_WS)
            else:
                segment = segment[15:]  # the scanner consumed the words and drops them
        pieces.append(segment)
    head.body = "".join(pieces)
    return None if marker is None else "".join(pieces[marker:])


def _footers(segments, newlines, kinds, tokens, start):
    """(token, text nodes, footerText) for each footer from `start` on."""
    footer = None
    for i in range(start, len(segments)):
        if kinds[i] == _FOOTER:
            if footer is not None:
                yield footer[0], footer[1], "".join(footer[2])
            token = tokens[i]
            segment = segments[i]
            end = token.end()
            separator = ":" if segment[end] == ":" else " #"
            text = segment[end + len(separator) :].lstrip(_WS)
            # footerText: type, (scope), breaking marker, ": " (a " #" separator is dropped),
            # then the text nodes and newlines; whitespace nodes are left out.
            head = token["type"] or ""
            if token["scope"] is not None:
                head += f"({token['scope']})"
            head += token["bang"] or ""
            if separator == ":":
                head += ": "
            footer = (token, [text], [head, text])
        else:  # a continuation line
            text = segments[i].lstrip(_WS)
            footer[1].append(text)
            footer[2].append(newlines[i - 1])
            footer[2].append(text)
    if footer is not None:
        yield footer[0], footer[1], "".join(footer[2])


def _add_reference(head: _Raw, token: re.Match, texts: list[str]) -> None:
    """`Closes #77`, `Refs: #12`: the last text node must be a bare number (so `#1, #2` is not)."""
    separator_hash = token.string.startswith(" #", token.end())
    issue = ""
    for text in texts:
        if text.startswith("#"):
            separator_hash = True
            issue = text[1:]
        else:
            issue = text
    if separator_hash and _ISSUE.fullmatch(issue):
        head.references.append((token["type"] or "", issue))


def _post_process(raw: _Raw) -> None:
    """postProcessCommits: notes joined with spaces up to a blank line, `#### `/`- `/`* ` lines
    after the first kept on their own lines, indented 4 spaces; then a BREAKING-CHANGE: anywhere
    in the body."""
    for note in raw.notes:
        text = ""
        extended = False
        for i, chunk in enumerate(_NOTE_LINES.split(note[1])):
            if i > 0 and not extended and _EXTENDED_CONTEXT.match(chunk):
                text = text.strip(_JS_SPACE) + "\n"
                extended = True
            if chunk == "":
                break
            text += f"    {chunk}\n" if extended else f"{chunk} "
        note[1] = text.strip(_JS_SPACE)
    if "BREAKING-CHANGE:" in raw.body:
        found = _BODY_BREAKING.search(raw.body)
        if found and found[1]:
            extra = found[1].strip(_JS_SPACE)
            for note in raw.notes:
                if note[0] == "BREAKING CHANGE":
                    note[1] += f"\n{extra}"
                    break
            else:
                raw.notes.append(["BREAKING CHANGE", extra])


def _finish(raw: _Raw, commit: Commit) -> ConventionalCommit:
    notes: tuple[Note, ...] = ()
    breaking = False
    release_as = None
    if raw.notes or "BREAKING-CHANGE:" in raw.body:
        _post_process(raw)
        notes = tuple(Note(title, text) for title, text in raw.notes)
        breaking = any(note.title == "BREAKING CHANGE" for note in notes)
        release_as = next((n.text for n in notes if n.title == "RELEASE AS"), None)
    return ConventionalCommit(
        sha=commit.sha,
        type=raw.type,
        scope=raw.scope,
        subject=raw.subject,
        breaking=breaking,
        notes=notes,
        references=tuple(Reference(action or None, "#", issue) for action, issue in raw.references),
        release_as=None if release_as is None else _without_v(release_as),
        files=commit.files,
        message=raw.message,
    )


def _without_v(version: str) -> str:
    return _V_PREFIX.sub("", version, count=1)


def header(commit: ConventionalCommit) -> str:
    """Release Please's `header` of an entry: `type(scope)!: subject` (conventional-changelog
    reads the `!` from it). The `!` comes from the message the entry was parsed from."""
    bang = False
    if commit.message:
        m = _SUMMARY.fullmatch(_first_line(commit.message.strip(_JS_SPACE)))
        bang = m is not None and m["bang"] is not None
    scope = f"({commit.scope})" if commit.scope else ""
    return f"{commit.type}{scope}{'!' if bang else ''}: {commit.subject}"


def _first_line(text: str) -> str:
    return _LINES.split(text, maxsplit=1)[0]


def _why_unparsable(text: str, line: int) -> str:
    """A human reason for the parser's refusal, for the commit-lint report."""
    parts = _LINES.split(text)
    if line > 0:
        number = 1 + len(_LINE_BREAK.findall("".join(parts[: 2 * line])))
        return (
            f"line {number} `{parts[2 * line][:60]}` reads as a footer whose `(` is never "
            "closed, and Release Please's parser then rejects the whole message"
        )
    summary = parts[0]
    if _MERGE.match(summary):
        return "merge commit"
    if _GIT_REVERT.match(summary):
        return "git's default Revert message is not conventional"
    if summary[0] in "(:!":
        return f"not a conventional commit: no type before the `{summary[0]}`"
    type_ = re.match(_TYPE, summary)
    if type_ is None:
        return "not a conventional commit: no `type:` prefix"
    rest = summary[type_.end() :]
    if rest.startswith("("):
        scope = re.match(r"\(([^()\r\n]*)(\)?)", rest)
        if not scope[2]:
            return "the scope's `(` is never closed"
        if not scope[1]:
            return "empty scope `()`"
        rest = rest[scope.end() :]
    rest = rest.removeprefix("!")
    if re.match(rf"[{_WS_CLASS}]+:", rest):
        return "space before the colon"
    if rest.startswith("("):
        return "a second `(…)` after the scope"
    if rest.startswith("!"):
        return "`!` must be written once, right before the colon"
    return "not a conventional commit: no `type:` prefix"
