"""Deletions are facts (issue 13, item 3): a deleted image tag or Argo CD Application leaves the
live views, Needs attention, the policy's candidates and a release's targets at once; the rows
stay, marked deleted, for history; pushed again or re-created, they are back."""

from __future__ import annotations

from helpers import IMAGE, POLICY, at, journey

from cdportal.live import broadcast
from cdportal.pipeline.attention import problems
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Application, ImageTag, PipelineEvent, Release
from cdportal.pipeline.queries import applications, image_outlook, newest_tags, release

DIGEST = "sha256:" + "cd" * 32


def staging(minutes: float, source_id: str, **fields) -> dict:
    event = dict(
        kind="application",
        source="test",
        source_id=source_id,
        occurred_at=at(minutes),
        namespace="argocd",
        name="cto-staging",
        sync_status="OutOfSync",
        health_status="Degraded",
        health_message="Back-off restarting failed container",
        parameters={"image.tag": "v0.3.0"},
        annotations=POLICY,
    )
    return event | fields


def deleted(minutes: float, source_id: str, name: str = "cto-staging") -> dict:
    return dict(
        kind="application",
        source="test",
        source_id=source_id,
        occurred_at=at(minutes),
        namespace="argocd",
        name=name,
        deleted=True,
    )


def push(minutes: float, tag: str, source_id: str, digest: str = DIGEST) -> dict:
    return dict(
        kind="image_push",
        source="test",
        source_id=source_id,
        occurred_at=at(minutes),
        image=IMAGE,
        tag=tag,
        digest=digest,
    )


def tag_deleted(minutes: float, source_id: str, **what) -> dict:
    return (
        dict(
            kind="image_delete",
            source="test",
            source_id=source_id,
            occurred_at=at(minutes),
            image=IMAGE,
        )
        | what
    )


def test_a_deleted_application_leaves_attention_the_lists_and_its_releases_targets(db):
    for event in journey("0.3.0"):
        ingest(event)
    ingest(staging(21, "s-1"))
    shipped = Release.objects.get(version="0.3.0")
    assert shipped.state == Release.State.FAILED  # staging degraded on it
    assert "cto-staging" in [p.subject for p in problems()]

    result = ingest(deleted(30, "s-gone"))

    app = Application.objects.get(name="cto-staging")
    assert app.deleted_at is not None and app.deleted_at.isoformat() == at(30)
    assert "cto-staging" not in [p.subject for p in problems()]
    assert [a.name for a in applications()] == ["cto-controller"]
    shipped.refresh_from_db()
    assert shipped.state == Release.State.DEPLOYED  # its one target left is synced
    assert [r.application.name for r in release(shipped.pk).rollouts.all()] == ["cto-controller"]
    assert app.rollouts.count() == 1  # history keeps it
    # Open pages drop it: the overview's panels are rendered without it after commit.
    assert shipped.pk in result.changes.releases and app.pk in result.changes.applications
    fragments = broadcast.render_fragments(result.changes)[broadcast.OVERVIEW]
    assert "cto-staging" not in fragments["applications"]
    assert "cto-staging" not in fragments["attention"]


def test_a_snapshot_from_before_the_deletion_does_not_bring_it_back_a_re_creation_does(db):
    ingest(staging(10, "s-1"))
    ingest(deleted(20, "s-gone"))
    ingest(staging(15, "s-late"))  # observed before the deletion, ingested after it
    assert Application.objects.get(name="cto-staging").deleted_at is not None
    ingest(staging(25, "s-again", health_status="Healthy"))
    app = Application.objects.get(name="cto-staging")
    assert (app.deleted_at, app.health_status) == (None, "Healthy")
    assert [a.name for a in applications()] == ["cto-staging"]


def test_the_deletion_of_an_application_never_seen_records_only_the_event(db):
    ingest(deleted(5, "never"))
    assert not Application.objects.exists()
    assert PipelineEvent.objects.get(source_id="never").summary == "cto-staging: deleted"


def test_a_deleted_tag_is_no_longer_the_answer_and_is_back_when_pushed_again(db):
    ingest(staging(1, "s-1", health_status="Healthy", parameters={"image.tag": "v0.3.0"}))
    ingest(push(2, "v0.3.0", "p-300", digest="sha256:" + "ab" * 32))
    ingest(push(3, "v0.4.0", "p-400"))
    app = Application.objects.get(name="cto-staging")
    assert [o["tag"] for o in image_outlook(app)[0]] == ["v0.4.0"]

    ingest(tag_deleted(4, "d-400", digest=DIGEST))  # the manifest: every tag on it

    assert ImageTag.objects.get(tag="v0.4.0").deleted_at.isoformat() == at(4)
    assert [o["tag"] for o in image_outlook(app)[0]] == ["v0.3.0"]
    assert [t.tag for t in newest_tags()] == ["v0.3.0"]
    # The same push reported again (a redelivery) is the old fact: it stays deleted.
    assert not ingest(push(3, "v0.4.0", "p-400")).created
    assert ImageTag.objects.get(tag="v0.4.0").deleted_at is not None
    # Pushed again later, same digest, same source id: a new fact, the tag exists again.
    again = ingest(push(6, "v0.4.0", "p-400"))
    assert again.created and again.event.source_id.startswith("p-400#")
    assert ImageTag.objects.get(tag="v0.4.0").deleted_at is None
    assert [o["tag"] for o in image_outlook(app)[0]] == ["v0.4.0"]


def test_a_late_deletion_spares_a_tag_pushed_after_it(db):
    ingest(push(10, "latest", "p-latest"))
    ingest(tag_deleted(5, "d-old", tag="latest"))
    assert ImageTag.objects.get(tag="latest").deleted_at is None


def test_the_pages_drop_it_and_its_own_page_says_when_it_was_deleted(client, bob):
    ingest(staging(10, "s-1"))
    ingest(deleted(20, "s-gone"))
    client.force_login(bob)
    overview = client.get("/").content.decode()
    panel = overview.split('<section id="applications"', 1)[1].split("</section>", 1)[0]
    assert "cto-staging" not in panel
    assert "cto-staging: deleted" in overview  # the event log keeps the fact
    page = client.get("/applications/argocd/cto-staging/").content.decode()
    assert "deleted" in page and "its history stays here" in page
