"""`manage.py release-plan` against real repositories the tests build."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepos import git

ROOT = Path(__file__).resolve().parents[2]
# 5dlabs/cto's Release Please files and history, committed (docs/release-please.md).
REFERENCE = ROOT / "tests" / "fixtures" / "reference" / "5dlabs-cto"
DATE = "2026-11-28"


def release_plan(repo, *args, env=None):
    """Run the command as a CI job would: its own process, no database, no SECRET_KEY."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "release-plan", "--repo", str(repo), *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def plan_json(repo, *args):
    result = release_plan(repo, "--json", "--date", DATE, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["components"]


@pytest.fixture
def fivedlabs(work):
    """A repository configured like 5dlabs/cto, released at v0.2.50 by Release Please."""
    config = (REFERENCE / "release-please-config.json").read_text()
    work.commit(
        "chore: initial import",
        {
            "release-please-config.json": config,
            ".release-please-manifest.json": '{\n  ".": "0.2.50"\n}\n',
            "Cargo.toml": '[workspace]\nmembers = ["crates/controller"]\n\n[workspace.package]\nversion = "0.2.50"\n',
            "CHANGELOG.md": "# Changelog\n\n## [0.2.50](https://github.com/5dlabs/cto/compare/v0.2.49...v0.2.50) (2026-02-27)\n",
        },
    )
    git(work.path, "tag", "v0.2.50")
    git(work.path, "remote", "add", "origin", "git@github.com:5dlabs/cto.git")
    return work


def test_it_predicts_the_next_5dlabs_release(fivedlabs):
    feat = fivedlabs.commit(
        "feat(controller): add task retry logic", {"crates/controller/src/lib.rs": "1"}
    )
    fix = fivedlabs.commit(
        "fix: resolve nil pointer in reconciler", {"crates/controller/src/lib.rs": "2"}
    )
    fivedlabs.commit("update readme", {"README.md": "x"})
    [plan] = plan_json(fivedlabs.path)
    # bump-patch-for-minor-pre-major: a feature before 1.0.0 is a patch.
    assert (plan["current_version"], plan["next_version"], plan["tag"]) == (
        "0.2.50",
        "0.2.51",
        "v0.2.51",
    )
    assert plan["pr_title"] == "chore: release 0.2.51"
    assert plan["branch"] == "release-please--branches--main"
    assert plan["changelog"] == (
        "## [0.2.51](https://github.com/5dlabs/cto/compare/v0.2.50...v0.2.51) (2026-11-28)\n\n\n"
        "### ✨ Features\n\n"
        f"* **controller:** add task retry logic ([{feat[:7]}](https://github.com/5dlabs/cto/commit/{feat}))\n\n\n"
        "### 🐛 Bug Fixes\n\n"
        f"* resolve nil pointer in reconciler ([{fix[:7]}](https://github.com/5dlabs/cto/commit/{fix}))"
    )
    assert [(c["type"], c["bump"]) for c in plan["commits"]] == [
        ("fix", "patch"),
        ("feat", "patch"),
    ]
    assert plan["ignored"][0]["subject"] == "update readme"


def test_a_visible_chore_alone_releases_a_patch(fivedlabs):
    fivedlabs.commit("chore(deps): bump tokio", {"Cargo.lock": "x"})
    [plan] = plan_json(fivedlabs.path)
    assert plan["next_version"] == "0.2.51"
    assert "### 🔧 Maintenance" in plan["changelog"]


def test_nothing_to_release_gives_nulls(fivedlabs):
    fivedlabs.commit(
        "test: more cases", {"tests/a.rs": "x"}
    )  # `test` is hidden in 5dlabs' sections
    [plan] = plan_json(fivedlabs.path)
    assert plan["next_version"] is plan["tag"] is plan["pr_title"] is plan["changelog"] is None
    assert plan["commits"][0]["bump"] == "none"


def test_release_as_wins_and_links_follow_github(fivedlabs):
    fivedlabs.commit("feat!: redesign API\n\nRelease-As: 1.0.0", {"a": "1"})
    [plan] = plan_json(fivedlabs.path, "--github", "acme/portal")
    assert plan["next_version"] == "1.0.0"
    assert "https://github.com/acme/portal/compare/v0.2.50...v1.0.0" in plan["changelog"]


def test_without_configuration_it_assumes_one_simple_package(work):
    work.commit("feat: first", {"a": "1"})
    git(work.path, "tag", "v1.4.0")
    git(work.path, "tag", "v1.2.0")
    work.commit("fix: second", {"a": "2"})
    [plan] = plan_json(work.path, "--github", "o/r")
    assert (plan["path"], plan["current_version"], plan["next_version"]) == (".", "1.4.0", "1.4.1")
    assert plan["pr_title"] == "chore(main): release 1.4.1"


def test_a_first_release_is_1_0_0(work):
    work.commit("fix: tiny", {"a": "1"})
    [plan] = plan_json(work.path, "--github", "o/r")
    assert plan["next_version"] == "1.0.0"
    assert plan["changelog"].startswith("## 1.0.0 (2026-11-28)")


def test_a_monorepo_attributes_commits_by_path(work):
    work.commit(
        "chore: setup",
        {
            "release-please-config.json": json.dumps(
                {
                    "packages": {
                        "services/api": {"release-type": "simple", "component": "api"},
                        "services/web": {"release-type": "simple", "component": "web"},
                    }
                }
            ),
            ".release-please-manifest.json": json.dumps(
                {"services/api": "1.2.3", "services/web": "0.4.0"}
            ),
            "services/api/version.txt": "1.2.3\n",
            "services/web/version.txt": "0.4.0\n",
        },
    )
    git(work.path, "tag", "api-v1.2.3")
    git(work.path, "tag", "web-v0.4.0")
    work.commit("feat: search", {"services/api/search.py": "x"})
    work.commit("fix: header", {"services/web/header.js": "x"})
    api, web = plan_json(work.path, "--github", "o/r")
    assert (api["component"], api["next_version"], api["tag"]) == ("api", "1.3.0", "api-v1.3.0")
    assert (web["component"], web["next_version"], web["tag"]) == ("web", "0.4.1", "web-v0.4.1")
    assert [c["subject"] for c in api["commits"]] == ["search"]
    assert api["branch"] == "release-please--branches--main--components--api"


def test_readable_text_output(fivedlabs):
    fivedlabs.commit(
        "feat(controller): add task retry logic", {"crates/controller/src/lib.rs": "1"}
    )
    result = release_plan(fivedlabs.path, "--date", DATE)
    assert result.returncode == 0, result.stderr
    assert "next version:    0.2.51 → tag v0.2.51" in result.stdout
    assert "feat(controller): add task retry logic" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "28/11/2026"], "--date must be YYYY-MM-DD"),
        (["--github", "not a repo"], "--github must look like OWNER/REPO"),
    ],
)
def test_bad_arguments_exit_2(fivedlabs, args, message):
    result = release_plan(fivedlabs.path, *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""


def test_a_path_that_is_not_a_repository_exits_2(tmp_path):
    result = release_plan(tmp_path)
    assert result.returncode == 2
    assert "not a git repository" in result.stderr


def test_bad_configuration_names_the_file_and_field(work):
    work.commit(
        "chore: setup",
        {
            "release-please-config.json": '{"packages": {".": {"release-type": "nodee"}}}',
            ".release-please-manifest.json": '{".": "1.0.0"}',
        },
    )
    result = release_plan(work.path)
    assert result.returncode == 2
    assert "release-please-config.json" in result.stderr and "release-type" in result.stderr
    assert "nodee" in result.stderr


def test_invalid_json_in_the_manifest(work):
    work.commit(
        "chore: setup",
        {
            "release-please-config.json": '{"packages": {".": {}}}',
            ".release-please-manifest.json": '{".": "1.0.0",}',
        },
    )
    result = release_plan(work.path)
    assert result.returncode == 2
    assert ".release-please-manifest.json" in result.stderr


def test_an_unusable_release_as_exits_2(work):
    work.commit("fix: x\n\nRelease-As: next", {"a": "1"})
    result = release_plan(work.path, "--github", "o/r")
    assert result.returncode == 2
    assert result.stderr.strip()


def test_it_starts_without_django_or_the_server_stack(fivedlabs):
    """A CI step asking for the plan loads git and the release engine, not the web stack."""
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "manage.py",
            "release-plan",
            "--repo",
            str(fivedlabs.path),
            "--json",
            "--date",
            DATE,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {
        m for m in imported if m.split(".")[0] in {"django", "daphne", "twisted", "channels"}
    }
    assert json.loads(result.stdout)["components"]


def test_call_command_gives_what_the_shell_gets(fivedlabs):
    from io import StringIO

    import django
    from django.core.management import call_command

    django.setup()
    out = StringIO()
    call_command("release-plan", repo=str(fivedlabs.path), json=True, date=DATE, stdout=out)
    assert out.getvalue() == release_plan(fivedlabs.path, "--json", "--date", DATE).stdout
