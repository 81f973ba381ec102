"""`release-plan` without Django: what Release Please would do now for a repository.

The command (`python manage.py release-plan`, cdportal/pipeline/management/commands/) reads no
setting, no database and no app, so manage.py runs this module directly, before and instead of
django.setup(): a script or CI step that asks for the plan pays for git and the release engine,
not for loading the web stack (benchmarks/cli_start.py). The management command wraps the same
functions for call_command.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime

from cdportal.adapters.errors import AdapterError
from cdportal.adapters.git.release_source import parse_github, snapshot
from cdportal.adapters.git.repository import GitRepository
from cdportal.core.plan import PackagePlan, ReleasePlan, plan
from cdportal.core.release_config import ConfigError

BAD_INPUT = 2
HELP = "Predict the Release PR, version, tag and changelog Release Please would produce now."


def add_arguments(parser) -> None:
    parser.add_argument(
        "--repo", required=True, help="Path to a git repository (work tree or bare)"
    )
    parser.add_argument("--json", action="store_true", help="One JSON object instead of text")
    parser.add_argument("--date", help="Changelog date, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument(
        "--github", help="OWNER/REPO for changelog links (default: the origin remote)"
    )


def render(*, repo: str, as_json: bool, day: str | None, github: str | None) -> str:
    """The plan as text or JSON; ValueError, ConfigError or AdapterError on bad input."""
    github_repo = parse_github(github) if github else None
    snap = snapshot(GitRepository(repo), github=github_repo, unreleased_only=True)
    result = plan(snap.config, snap.history, repo=snap.repo, date=_parse_date(day))
    return _json_dumps(result.to_json()) + "\n" if as_json else _text(result)


def main(argv: list[str], prog: str = "manage.py release-plan") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=HELP)
    add_arguments(parser)
    options = parser.parse_args(argv)
    try:
        out = render(
            repo=options.repo, as_json=options.json, day=options.date, github=options.github
        )
    except (ValueError, ConfigError, AdapterError) as e:
        sys.stderr.write(f"CommandError: {e}\n")
        return BAD_INPUT
    sys.stdout.write(out)
    return 0


def _parse_date(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--date must be YYYY-MM-DD, got {value!r}") from None


def _json_dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _text(result: ReleasePlan) -> str:
    blocks = [_package_text(p) for p in result.packages]
    if result.pr_title:
        blocks.append(f"Grouped Release PR: {result.pr_title}  (branch {result.branch})")
    return "\n\n".join(blocks) + "\n"


def _package_text(p: PackagePlan) -> str:
    name = p.component or p.path
    lines = [f"{name} ({p.path}, {p.release_type})"]
    current = (
        f"{p.current_version} (tag {p.previous_tag})"
        if p.current_version
        else "none (first release)"
    )
    lines.append(f"  current version: {current}")
    if p.next_version:
        lines.append(f"  next version:    {p.next_version} → tag {p.tag}")
        lines.append(f"  Release PR:      {p.pr_title}  (branch {p.branch})")
    else:
        lines.append("  next version:    none — Release Please would not open a Release PR")
    for warning in p.warnings:
        lines.append(f"  warning: {warning}")
    lines.append(f"  commits ({len(p.commits)}):")
    for c in p.commits:
        scope = f"({c.scope})" if c.scope else ""
        bang = "!" if c.breaking else ""
        lines.append(f"    {c.sha[:7]} {c.type}{scope}{bang}: {c.subject}  [{c.why}]")
    if p.ignored:
        lines.append(f"  ignored ({len(p.ignored)}):")
        for s in p.ignored:
            lines.append(f"    {s.sha[:7]} {s.subject}  — {s.reason}")
    if p.changelog:
        lines.append("  changelog:")
        lines.extend(f"    {line}" if line else "" for line in p.changelog.splitlines())
    return "\n".join(lines)
