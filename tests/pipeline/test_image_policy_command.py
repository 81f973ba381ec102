"""`manage.py image-policy`: what Argo CD Image Updater would pick, from the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "fixtures" / "image-policy" / "selection.json").read_text())[
    "vectors"
]
ANNOTATION_VECTORS = {
    v["id"]: v
    for v in json.loads(
        (ROOT / "tests" / "fixtures" / "image-policy" / "annotations.json").read_text()
    )["vectors"]
}

CONTROLLER_TAGS = [
    "latest",
    "main-abc1234",
    "sha-1a2b3c4",
    "v0.2.1",
    "v0.3.0-rc.1",
    "v0.9.9",
    "v0.10.0",
]
CONTROLLER_ANNOTATIONS = {
    "argocd-image-updater.argoproj.io/image-list": "controller=ghcr.io/5dlabs/controller",
    "argocd-image-updater.argoproj.io/controller.update-strategy": "semver",
    "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
    "argocd-image-updater.argoproj.io/controller.helm.image-name": "image.repository",
    "argocd-image-updater.argoproj.io/controller.helm.image-tag": "image.tag",
}


def image_policy(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the command as a CI job would: its own process, no database, no SECRET_KEY."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "image-policy", *args],
        cwd=ROOT,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_in_process(*args: str) -> dict:
    out = io.StringIO()
    call_command("image-policy", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.fixture
def controller_tags(tmp_path) -> Path:
    path = tmp_path / "tags.txt"
    path.write_text("\n".join(CONTROLLER_TAGS) + "\n")
    return path


def write_json(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------------------------------------
# Every tag-selection vector, through the command's own argument and file handling


def vector_args(v: dict, tags_file: Path) -> list[str]:
    args = ["--tags", str(tags_file)]
    for key, option in (
        ("strategy", "--strategy"),
        ("constraint", "--constraint"),
        ("allow_tags", "--allow-tags"),
        ("current_tag", "--current"),
        ("current_digest", "--current-digest"),
        ("tagsortmode", "--tagsortmode"),
    ):
        if key in v:
            args.append(f"{option}={v[key]}")
    if "ignore_tags" in v:
        args.append("--ignore-tags=" + ",".join(v["ignore_tags"]))
    return args


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["id"])
def test_the_command_answers_every_vector_like_the_updater(v, tmp_path):
    tags = write_json(tmp_path, "tags.json", v["tags"])
    result = run_in_process(*vector_args(v, tags))
    assert (result["tag"], result["reason"]) == (v["expected"]["tag"], v["expected"]["reason"])
    names = list(dict.fromkeys(t["name"] for t in v["tags"]))
    assert [r["tag"] for r in result["rejected"]] == [n for n in names if n != result["tag"]]


# ---------------------------------------------------------------------------------------------
# The policy-options form, in its own process


def test_it_prints_json_for_a_tag_file(controller_tags):
    result = image_policy(
        "--tags",
        str(controller_tags),
        "--allow-tags",
        r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
        "--current",
        "v0.2.1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "tag": "v0.10.0",
        "reason": "update",
        "rejected": [
            {"tag": "latest", "why": r"does not match allow-tags regexp:^v[0-9]+\.[0-9]+\.[0-9]+$"},
            {
                "tag": "main-abc1234",
                "why": r"does not match allow-tags regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
            },
            {
                "tag": "sha-1a2b3c4",
                "why": r"does not match allow-tags regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
            },
            {"tag": "v0.2.1", "why": "lower than v0.10.0"},
            {
                "tag": "v0.3.0-rc.1",
                "why": r"does not match allow-tags regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
            },
            {"tag": "v0.9.9", "why": "lower than v0.10.0"},
        ],
    }


def test_it_explains_in_text(controller_tags):
    result = image_policy(
        "--tags",
        str(controller_tags),
        "--constraint",
        "~0.9",
        "--ignore-tags",
        "latest, main-*",
        "--current",
        "v0.9.9",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Current:  v0.9.9" in out
    assert "Up to date: v0.9.9 is the tag the updater would pick" in out
    assert "  latest        ignored by glob latest" in out
    assert "  main-abc1234  ignored by glob main-*" in out
    assert "  v0.3.0-rc.1   outside the constraint ~0.9" in out
    assert "  v0.10.0       outside the constraint ~0.9" in out


def test_nothing_matching_gives_the_updaters_reason_and_message(controller_tags):
    result = image_policy(
        "--tags", str(controller_tags), "--constraint", "~1.0", "--current", "v0.9.9"
    )
    assert result.returncode == 0, result.stderr
    assert (
        'Would not update (no_match_constraint): no tags for image <image> matched constraint "~1.0"'
        in result.stdout
    )
    as_json = json.loads(
        image_policy("--tags", str(controller_tags), "--constraint", "latest", "--json").stdout
    )
    assert (as_json["tag"], as_json["reason"]) == (None, "invalid_constraint")


def test_digest_strategy_reads_digests_from_a_json_tag_list(tmp_path):
    tags = write_json(
        tmp_path,
        "tags.json",
        [
            {"name": "latest", "digest": "sha256:" + "2" * 64, "created": "2025-01-01T00:00:00Z"},
            {"name": "v1.0.0", "digest": "sha256:" + "3" * 64},
        ],
    )
    result = image_policy(
        "--tags",
        str(tags),
        "--strategy",
        "digest",
        "--constraint",
        "latest",
        "--current",
        "latest",
        "--current-digest",
        "sha256:" + "1" * 64,
    )
    assert result.returncode == 0, result.stderr
    assert f"Would update to: latest@sha256:{'2' * 64}" in result.stdout
    assert "v1.0.0  not the tracked tag latest" in result.stdout
    no_constraint = json.loads(
        image_policy("--tags", str(tags), "--strategy", "digest", "--json").stdout
    )
    assert no_constraint["reason"] == "digest_requires_constraint"


def test_newest_build_with_metadata_false(tmp_path):
    tags = write_json(
        tmp_path,
        "tags.json",
        [
            {"name": "a5fb3d3", "created": "2025-01-01T00:00:10Z"},
            {"name": "f7bb2e3", "created": "2025-01-01T00:00:20+00:00", "metadata": False},
        ],
    )
    result = json.loads(
        image_policy(
            "--tags", str(tags), "--strategy", "newest-build", "--current", "a5fb3d3", "--json"
        ).stdout
    )
    assert (result["tag"], result["reason"]) == ("a5fb3d3", "up_to_date")
    assert result["rejected"][0]["tag"] == "f7bb2e3"
    assert result["rejected"][0]["why"].startswith("no usable manifest")


def test_tagsortmode_makes_newest_build_use_list_positions(tmp_path):
    tags = tmp_path / "tags.txt"
    tags.write_text("c\nb\na\n")
    result = json.loads(
        image_policy(
            "--tags",
            str(tags),
            "--strategy",
            "newest-build",
            "--tagsortmode",
            "latest-first",
            "--json",
        ).stdout
    )
    assert result["tag"] == "c"


def test_it_reads_tags_from_stdin_and_warns_on_stderr_in_json_mode():
    result = image_policy(
        "--tags", "-", "--strategy", "newest", "--json", stdin="1.0.0\n1.10.0\n1.9.0\n"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tag"] == "1.10.0"
    assert "warning: Unknown sort option newest -- using semver" in result.stderr


# ---------------------------------------------------------------------------------------------
# The annotations form


def test_it_takes_an_applications_annotations(tmp_path, controller_tags):
    annotations = write_json(tmp_path, "annotations.json", CONTROLLER_ANNOTATIONS)
    result = image_policy(
        "--annotations",
        str(annotations),
        "--alias",
        "controller",
        "--tags",
        str(controller_tags),
        "--current",
        "v0.2.1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert (json.loads(result.stdout)["tag"], json.loads(result.stdout)["reason"]) == (
        "v0.10.0",
        "update",
    )
    text = image_policy(
        "--annotations",
        str(annotations),
        "--alias",
        "controller",
        "--tags",
        str(controller_tags),
        "--current",
        "v0.10.0",
    )
    assert "Image:    ghcr.io/5dlabs/controller (alias controller)" in text.stdout
    assert "Up to date: v0.10.0" in text.stdout


def test_a_whole_application_gives_the_running_tag(tmp_path, controller_tags):
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "controller",
            "namespace": "argocd",
            "annotations": {
                **CONTROLLER_ANNOTATIONS,
                "argocd-image-updater.argoproj.io/image-list": "controller=ghcr.io/5dlabs/controller:~0.9",
            },
        },
        "spec": {"source": {"path": "charts/controller"}},
        "status": {
            "summary": {"images": ["ghcr.io/5dlabs/other:v9", "ghcr.io/5dlabs/controller:v0.9.9"]}
        },
    }
    path = write_json(tmp_path, "app.json", application)
    result = image_policy(
        "--annotations",
        str(path),
        "--alias",
        "controller",
        "--tags",
        str(controller_tags),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert (json.loads(result.stdout)["tag"], json.loads(result.stdout)["reason"]) == (
        "v0.9.9",
        "up_to_date",
    )


def test_it_says_when_the_image_does_not_run_in_the_application(tmp_path, controller_tags):
    application = {
        "metadata": {
            "name": "controller",
            "namespace": "argocd",
            "annotations": CONTROLLER_ANNOTATIONS,
        },
        "status": {"summary": {"images": ["ghcr.io/5dlabs/other:v9"]}},
    }
    path = write_json(tmp_path, "app.json", application)
    result = image_policy(
        "--annotations", str(path), "--alias", "controller", "--tags", str(controller_tags)
    )
    assert result.returncode == 0, result.stderr
    assert (
        "Warning:  ghcr.io/5dlabs/controller does not run in application argocd/controller "
        "(status.summary.images): the updater skips it"
    ) in result.stdout


def test_the_annotation_vectors_reach_the_command(tmp_path, controller_tags):
    # ann-017: an un-aliased "image:>=1.0" is read as alias "ghcr.io/x/app:>" for image "1.0".
    vector = ANNOTATION_VECTORS["ann-017"]
    path = write_json(tmp_path, "annotations.json", vector["annotations"])
    result = image_policy(
        "--annotations", str(path), "--alias", "ghcr.io/x/app:>", "--tags", str(controller_tags)
    )
    assert result.returncode == 0, result.stderr
    assert "Image:    1.0 (alias ghcr.io/x/app:>)" in result.stdout


# ---------------------------------------------------------------------------------------------
# Bad input: exit status 2, the reason on stderr


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["--tags", "{missing}"], "cannot read --tags"),
        ('[{"name": "a"', ["--tags", "{file}"], "is not valid JSON"),
        (
            '[{"digest": "sha256:1"}]',
            ["--tags", "{file}"],
            "--tags entry 0: name must be a non-empty string",
        ),
        (
            '[{"name": "a", "created": "yesterday"}]',
            ["--tags", "{file}"],
            "created must be RFC 3339",
        ),
        (
            '[{"name": "a", "created": "2025-01-01T00:00:00"}]',
            ["--tags", "{file}"],
            "created needs a time zone",
        ),
        (
            '[{"name": "a", "metadata": "no"}]',
            ["--tags", "{file}"],
            "metadata must be true or false",
        ),
        ('[{"name": "a", "size": 1}]', ["--tags", "{file}"], "unknown field(s) size"),
        ("[3]", ["--tags", "{file}"], "expected an object"),
        (
            "v1\n",
            ["--tags", "{file}", "--tagsortmode", "newest"],
            "unknown tag sort mode for registry: newest",
        ),
        ("v1\n", ["--tags", "{file}", "--alias", "web"], "--alias needs --annotations"),
    ],
)
def test_it_rejects_bad_input(tmp_path, setup, args, message):
    file = tmp_path / "tags"
    if setup is not None:
        file.write_text(setup)
    args = [a.format(file=file, missing=tmp_path / "nope") for a in args]
    result = image_policy(*args, "--json")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_it_rejects_a_bad_annotations_setup(tmp_path, controller_tags):
    good = write_json(tmp_path, "good.json", CONTROLLER_ANNOTATIONS)
    cases = [
        (["--annotations", str(good)], "--annotations needs --alias NAME"),
        (
            ["--annotations", str(good), "--alias", "web"],
            "no image with alias 'web' in the image-list (it has: controller)",
        ),
        (
            ["--annotations", str(good), "--alias", "controller", "--constraint", "~1"],
            "--constraint cannot be combined with --annotations",
        ),
        (
            ["--annotations", str(write_json(tmp_path, "list.json", ["x"])), "--alias", "x"],
            "expected a JSON object",
        ),
        (
            [
                "--annotations",
                str(
                    write_json(
                        tmp_path, "ann-009.json", ANNOTATION_VECTORS["ann-009"]["annotations"]
                    )
                ),
                "--alias",
                "web",
            ],
            ANNOTATION_VECTORS["ann-009"]["expected"]["error"],
        ),
        (
            ["--annotations", str(write_json(tmp_path, "none.json", {})), "--alias", "web"],
            "Could not create image list, skipping: argocd-image-updater.argoproj.io/image-list annotation not found",
        ),
    ]
    for args, message in cases:
        result = image_policy("--tags", str(controller_tags), *args)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)


def test_a_missing_tags_option_is_a_usage_error():
    result = image_policy()
    assert result.returncode == 2
    assert "one of the arguments --tags --app is required" in result.stderr


def test_in_process_errors_carry_exit_status_2(tmp_path):
    with pytest.raises(CommandError) as raised:
        call_command("image-policy", "--tags", str(tmp_path / "nope"))
    assert raised.value.returncode == 2
