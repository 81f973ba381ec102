""" "Would update to": the application's policy API, its page and `manage.py image-policy` read
the same rows and decide with the same function, for every image-list entry form."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from helpers import IMAGE, at, journey

from cdportal.pipeline.ingest import ingest

LIST = "argocd-image-updater.argoproj.io/image-list"
DIGEST = "sha256:" + "ab" * 32
PUSHED = ("v0.3.1", "v0.3.2-rc.1", "v0.4.0", "latest")

# entry → (the --alias the command names it by, the tag the Image Updater would pick)
FORMS = {
    IMAGE: (IMAGE, "v0.4.0"),
    f"controller={IMAGE}": ("controller", "v0.4.0"),
    f"{IMAGE}:~0.3": (IMAGE, "v0.3.1"),
    f"controller={IMAGE}:~0.3": ("controller", "v0.3.1"),
    f"controller={IMAGE}@{DIGEST}": ("controller", "v0.4.0"),
}


def deploy(entry: str) -> None:
    """v0.3.0 through its journey and running, then newer tags pushed: the same rows for both."""
    for event in journey():
        if event["kind"] == "application":
            event["annotations"] = {LIST: entry}
        ingest(event)
    for tag in PUSHED:
        ingest(
            dict(
                kind="image_push",
                source="test",
                source_id=f"push-{tag}",
                occurred_at=at(90),
                image=IMAGE,
                tag=tag,
                digest="sha256:" + "cd" * 32,
            )
        )


def command(*args: str) -> dict:
    out = io.StringIO()
    call_command("image-policy", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.parametrize("entry", FORMS)
def test_the_api_and_the_command_pick_the_same_tag(entry, client, bob):
    alias, expected = FORMS[entry]
    deploy(entry)
    client.force_login(bob)

    api = client.get("/api/applications/argocd/cto-controller/image-policy").json()
    [outlook] = api["images"]
    assert api["error"] == ""
    assert (outlook["current"], outlook["tag"], outlook["reason"]) == ("v0.3.0", expected, "update")
    assert outlook["known_tags"] == 1 + len(PUSHED)

    from_rows = command("--app", "argocd/cto-controller", "--alias", alias)
    assert (from_rows["tag"], from_rows["reason"]) == (outlook["tag"], outlook["reason"])
    assert from_rows["rejected"] == outlook["rejected"]

    html = client.get("/applications/argocd/cto-controller/").content.decode()
    assert f"<code>v0.3.0</code> →\n      <code>{expected}</code>" in html


@pytest.mark.parametrize("entry", FORMS)
def test_the_command_from_files_agrees_with_the_api(entry, client, bob, tmp_path: Path):
    """The file form (a CI job's: the registry's tags and the Application's manifest) and the
    database form give one answer."""
    alias, expected = FORMS[entry]
    deploy(entry)
    client.force_login(bob)
    [outlook] = client.get("/api/applications/argocd/cto-controller/image-policy").json()["images"]

    tags = tmp_path / "tags.txt"
    tags.write_text("\n".join(("v0.3.0", *PUSHED)) + "\n")
    manifest = tmp_path / "app.json"
    manifest.write_text(
        json.dumps(
            {
                "metadata": {
                    "name": "cto-controller",
                    "namespace": "argocd",
                    "annotations": {LIST: entry},
                },
                "status": {"summary": {"images": [f"{IMAGE}:v0.3.0"]}},
            }
        )
    )
    from_files = command("--tags", str(tags), "--annotations", str(manifest), "--alias", alias)
    assert (
        (from_files["tag"], from_files["reason"])
        == (expected, "update")
        == (
            outlook["tag"],
            outlook["reason"],
        )
    )
    assert from_files["rejected"] == outlook["rejected"]


def test_an_image_that_does_not_run_is_skipped_as_the_updater_skips_it(client, bob):
    deploy(f"controller={IMAGE}:~0.3")
    ingest(
        dict(
            kind="application",
            source="test",
            source_id="moved",
            occurred_at=at(100),
            namespace="argocd",
            name="cto-controller",
            sync_status="Synced",
            health_status="Healthy",
            parameters={"image.tag": "v0.3.0"},
            images=["ghcr.io/5dlabs/other:v1.0.0"],
            annotations={LIST: f"controller={IMAGE}:~0.3"},
        )
    )
    client.force_login(bob)
    [outlook] = client.get("/api/applications/argocd/cto-controller/image-policy").json()["images"]
    assert outlook["current"] == "" and outlook["tag"] == "v0.3.1"
    assert any("does not run" in w and "skips it" in w for w in outlook["warnings"])


def test_the_command_refuses_an_unknown_application_or_a_second_source(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no application argocd/nope is known"):
        command("--app", "argocd/nope", "--alias", "controller")
    with pytest.raises(CommandError, match="--constraint cannot be combined with --app"):
        command("--app", "argocd/nope", "--alias", "controller", "--constraint", "~1")
