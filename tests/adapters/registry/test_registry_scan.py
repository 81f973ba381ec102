"""The registry scanner against the real Distribution registry, counting the requests that reach
it through a proxy: the first scan records every tag, a rescan of unchanged images costs one
request per image and records nothing, a new tag is one event, and a push the webhook already
recorded is not recorded again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from helpers import wait_for
from registry_fixtures import PASSWORD, USER, counting, sha256
from werkzeug import Response

from cdportal.adapters.registry.client import Credentials, RegistryClient
from cdportal.adapters.registry.scanner import push_source_id, scan
from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Application, ImageTag, PipelineEvent, PollState
from cdportal.pipeline.queries import image_outlook, newest_tags
from cdportal.pipeline.sinks import LocalSink
from cdportal.pipeline.sources import PollStates

pytest_plugins = ["registry_fixtures"]  # tests/registry_fixtures.py: the registry fixtures

CREATED = "2025-06-01T12:00:00Z"


def clients(target_url: str, credentials: Credentials | None = None):
    """A client factory like the scanner's own (one client per registry, kept), whose clients
    reach the registry at target_url (a counting proxy)."""
    made: dict[str, RegistryClient] = {}

    def factory(host: str) -> RegistryClient:
        if host not in made:
            made[host] = RegistryClient(target_url, credentials=credentials, max_rps=None)
        return made[host]

    return factory


def events_of(image: str):
    return PipelineEvent.objects.filter(kind="image_push", image__name=image)


@pytest.mark.django_db
def test_the_first_scan_records_every_tag(anonymous_registry, pusher, unique):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    single = push.image(repo, "v1.0.0", created=CREATED)
    index = push.index(repo, "v2.0.0", created="2025-06-02T12:00:00Z", attestation=True)
    push.manifest(repo, "latest", json.loads(push.last_manifest))

    report = scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(anonymous_registry.url),
    )

    [line] = report.images
    assert (line.status, line.tags, line.new_tags, line.events) == ("ok", 3, 3, 3)
    tags = {t.tag: t for t in ImageTag.objects.filter(image__name=image)}
    assert {tag: t.digest for tag, t in tags.items()} == {
        "v1.0.0": single,
        "v2.0.0": index,
        "latest": index,
    }
    assert tags["v1.0.0"].created_at == datetime(2025, 6, 1, 12, tzinfo=UTC)
    # A backfill dates each tag by its image's creation: the push itself is long past.
    assert tags["v2.0.0"].pushed_at == datetime(2025, 6, 2, 12, tzinfo=UTC)
    assert sorted(events_of(image).values_list("source_id", flat=True)) == sorted(
        push_source_id(image, tag, digest)
        for tag, digest in [("v1.0.0", single), ("v2.0.0", index), ("latest", index)]
    )
    state = PollState.objects.get(source="registry", key=image)
    assert state.status == "ok" and state.polled_at is not None and state.requests == line.requests
    assert state.next_poll_at > state.polled_at
    assert str(line).startswith(
        f"{image}: {line.requests} requests, 3 tags, 3 new, 3 events recorded; ok"
    )


@pytest.mark.django_db
def test_a_reproducible_build_is_dated_by_when_it_was_seen(anonymous_registry, pusher, unique):
    repo = unique()
    pusher(anonymous_registry).image(repo, "v1", created="1970-01-01T00:00:00Z")
    before = timezone.now()

    scan(
        [anonymous_registry.image(repo)],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(anonymous_registry.url),
    )

    tag = ImageTag.objects.get(image__name=anonymous_registry.image(repo))
    assert tag.created_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert tag.pushed_at >= before


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["anonymous", "htpasswd", "token"])
def test_a_rescan_of_unchanged_images_costs_one_request_each(request, mode, pusher, unique):
    registry = request.getfixturevalue(f"{mode}_registry")
    push = pusher(registry)
    images = []
    for _ in range(3):
        repo = unique()
        push.image(repo, "v1.0.0")
        push.index(repo, "v1.1.0")
        images.append(registry.image(repo))
    credentials = None if mode == "anonymous" else Credentials(USER, PASSWORD)

    with counting(registry) as proxy:
        factory = clients(proxy.url, credentials)
        first = scan(images, sink=LocalSink(), store=PollStates(), client_factory=factory)
        assert first.events == 6
        recorded = PipelineEvent.objects.count()
        tokens = len(registry.issuer.issued) if registry.issuer else 0
        proxy.reset()

        again = scan(images, sink=LocalSink(), store=PollStates(), client_factory=factory)

    assert proxy.requests == [
        ("GET", f"/v2/{image.split('/', 1)[1]}/tags/list?n=1000") for image in images
    ]
    assert [(line.requests, line.new_tags, line.status) for line in again.images] == [
        (1, 0, "unchanged")
    ] * 3
    assert PipelineEvent.objects.count() == recorded
    if registry.issuer:
        assert len(registry.issuer.issued) == tokens  # the tokens of the first scan are still good


@pytest.mark.django_db
def test_a_new_process_rescans_from_the_recorded_state(anonymous_registry, pusher, unique):
    """What was seen is in PollState: a restarted scanner (no caches) still asks once per image."""
    images = []
    for _ in range(2):
        repo = unique()
        pusher(anonymous_registry).image(repo, "v1")
        images.append(anonymous_registry.image(repo))
    scan(
        images, sink=LocalSink(), store=PollStates(), client_factory=clients(anonymous_registry.url)
    )

    with counting(anonymous_registry) as proxy:
        report = scan(
            images, sink=LocalSink(), store=PollStates(), client_factory=clients(proxy.url)
        )

    assert proxy.count() == 2 == report.requests
    assert PollState.objects.get(key=images[0]).not_modified == 1


@pytest.mark.django_db
def test_a_new_tag_is_one_event(anonymous_registry, pusher, unique):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    push.image(repo, "v1.0.0")
    with counting(anonymous_registry) as proxy:
        factory = clients(proxy.url)
        scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
        before = timezone.now()
        digest = push.image(repo, "v1.1.0", created=CREATED)
        proxy.reset()

        report = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)

    assert [m for m, _ in proxy.requests] == [
        "GET",
        "HEAD",
        "GET",
        "GET",
    ]  # tags, digest, manifest, config
    assert (report.images[0].new_tags, report.images[0].events) == (1, 1)
    new = ImageTag.objects.get(image__name=image, tag="v1.1.0")
    assert new.digest == digest and new.pushed_at >= before  # seen live: dated when first seen
    assert events_of(image).count() == 2


@pytest.mark.django_db
def test_a_tag_gone_from_a_rescan_is_deleted_and_no_longer_the_policy_answer(
    anonymous_registry, pusher, unique
):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    push.image(repo, "v1.0.0", created=CREATED)
    newest = push.image(repo, "v1.1.0", created="2025-06-02T12:00:00Z")
    factory = clients(anonymous_registry.url)
    scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
    ingest(
        {
            "kind": "application",
            "source": "test",
            "source_id": "app-1",
            "occurred_at": timezone.now().isoformat(),
            "namespace": "argocd",
            "name": "app",
            "annotations": {
                "argocd-image-updater.argoproj.io/image-list": f"app={image}",
                "argocd-image-updater.argoproj.io/app.update-strategy": "semver",
            },
        }
    )
    app = Application.objects.get(name="app")
    assert [o["tag"] for o in image_outlook(app)[0]] == ["v1.1.0"]

    push.delete(repo, newest)  # the Distribution API: the manifest and its tag are gone
    report = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)

    assert (report.images[0].status, report.images[0].deleted) == ("ok", 1)
    gone = ImageTag.objects.get(image__name=image, tag="v1.1.0")
    assert gone.deleted_at is not None
    assert [t.tag for t in newest_tags(100) if t.image.name == image] == ["v1.0.0"]
    [outlook] = image_outlook(app)[0]
    assert (outlook["tag"], outlook["known_tags"]) == ("v1.0.0", 1)
    # The next round finds nothing new to say.
    again = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
    assert (again.images[0].deleted, again.images[0].events) == (0, 0)
    assert PipelineEvent.objects.filter(image__name=image, kind="image_delete").count() == 1


@pytest.mark.django_db
def test_a_promotion_to_a_known_digest_costs_a_head(anonymous_registry, pusher, unique):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    digest = push.index(repo, "v2.0.0")
    with counting(anonymous_registry) as proxy:
        factory = clients(proxy.url)
        scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
        push.manifest(repo, "prod", json.loads(push.last_manifest))
        proxy.reset()

        scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)

    assert [m for m, _ in proxy.requests] == ["GET", "HEAD"]
    assert ImageTag.objects.get(image__name=image, tag="prod").digest == digest


@pytest.mark.django_db
def test_a_moved_tag_is_found_by_a_full_scan(anonymous_registry, pusher, unique):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    push.image(repo, "latest", content="one")
    push.image(repo, "v1", content="v1")
    factory = clients(anonymous_registry.url)
    scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
    moved = push.image(repo, "latest", content="two")

    quick = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
    full = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory, full=True)

    assert quick.images[0].status == "unchanged"  # the tag list cannot show it
    assert (full.images[0].new_tags, full.images[0].events) == (1, 1)
    assert ImageTag.objects.get(image__name=image, tag="latest").digest == moved


@pytest.mark.django_db
def test_tags_are_reverified_after_a_while(anonymous_registry, pusher, unique):
    repo = unique()
    image = anonymous_registry.image(repo)
    push = pusher(anonymous_registry)
    push.image(repo, "latest", content="one")
    factory = clients(anonymous_registry.url)
    scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory)
    moved = push.image(repo, "latest", content="two")

    scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=factory,
        now=timezone.now() + timedelta(hours=7),
    )

    assert ImageTag.objects.get(image__name=image, tag="latest").digest == moved


@pytest.mark.django_db
def test_a_missing_repository_is_recorded_as_an_error(anonymous_registry):
    image = anonymous_registry.image("team/never-pushed")

    report = scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(anonymous_registry.url),
    )

    assert report.failed == [image]
    state = PollState.objects.get(source="registry", key=image)
    assert state.status == "error"
    assert state.detail.startswith("repository team/never-pushed not found")
    assert "error: repository team/never-pushed not found" in str(report)


@pytest.mark.django_db
def test_a_registry_with_etags_is_asked_conditionally(httpserver):
    """ghcr.io-like: the tag list carries an ETag, kept in the PollState and sent back."""
    config = json.dumps({"created": CREATED, "os": "linux", "architecture": "amd64"}).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"digest": sha256(config), "size": len(config)},
            "layers": [],
        }
    ).encode()
    asked = []

    def tags(request):
        asked.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"tags-1"':
            return Response(status=304)
        return Response(
            json.dumps({"name": "team/app", "tags": ["v1"]}),
            headers={"ETag": '"tags-1"'},
            content_type="application/json",
        )

    httpserver.expect_request("/v2/team/app/tags/list").respond_with_handler(tags)
    httpserver.expect_request("/v2/team/app/manifests/v1", method="HEAD").respond_with_response(
        Response(headers={"Docker-Content-Digest": sha256(manifest)})
    )
    httpserver.expect_request(f"/v2/team/app/manifests/{sha256(manifest)}").respond_with_data(
        manifest, content_type="application/vnd.oci.image.manifest.v1+json"
    )
    httpserver.expect_request(f"/v2/team/app/blobs/{sha256(config)}").respond_with_data(config)
    image = "ghcr.io/team/app"

    scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(httpserver.url_for("")),
    )
    again = scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(httpserver.url_for("")),
    )

    assert asked == [None, '"tags-1"']
    assert (again.images[0].requests, again.images[0].status) == (1, "unchanged")
    assert PollState.objects.get(source="registry", key=image).etag == '"tags-1"'
    assert ImageTag.objects.get(image__name=image).created_at == datetime(
        2025, 6, 1, 12, tzinfo=UTC
    )


@pytest.mark.django_db
def test_a_rate_limited_registry_is_left_alone_until_it_says(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_response(
        Response(status=429, headers={"Retry-After": "300"})
    )
    factory = clients(httpserver.url_for(""))
    image = "registry.example.com/team/app"
    now = timezone.now()

    first = scan([image], sink=LocalSink(), store=PollStates(), client_factory=factory, now=now)
    second = scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=factory,
        now=now + timedelta(seconds=60),
    )

    assert first.images[0].status == "rate_limited"
    state = PollState.objects.get(source="registry", key=image)
    assert state.next_poll_at == now + timedelta(seconds=300)
    assert second.images[0].status == "skipped" and second.images[0].requests == 0
    assert len(httpserver.log) == 1


@pytest.mark.django_db
def test_the_other_images_of_a_rate_limiting_registry_wait_too(httpserver):
    httpserver.expect_request("/v2/team/app/tags/list").respond_with_response(
        Response(status=429, headers={"Retry-After": "300"})
    )
    images = ["registry.example.com/team/app", "registry.example.com/team/other"]
    now = timezone.now()

    report = scan(
        images,
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(httpserver.url_for("")),
        now=now,
    )

    assert [line.status for line in report.images] == ["rate_limited", "skipped"]
    assert "rate limiting (seen on registry.example.com/team/app)" in str(report)
    other = PollState.objects.get(source="registry", key=images[1])
    assert (other.status, other.next_poll_at) == ("rate_limited", now + timedelta(seconds=300))
    assert len(httpserver.log) == 1


@pytest.mark.django_db
def test_credentials_that_need_kubernetes_are_an_error_for_that_image(settings):
    settings.REGISTRY_CREDENTIALS = {"registry.example.com": "pullsecret:argocd/ghcr-pull"}
    from cdportal.adapters.registry import scanner as registry_source

    registry_source._CLIENTS.pop("registry.example.com", None)
    report = scan(["registry.example.com/team/app"], sink=LocalSink(), store=PollStates())

    assert report.images[0].status == "error"
    assert "need the Kubernetes adapter (not configured)" in report.images[0].detail


# --- webhook and scan: one push, one event -------------------------------------------------------


def test_a_push_the_webhook_recorded_is_not_recorded_again(notifying_registry, pusher, unique):
    repo = unique()
    image = notifying_registry.image(repo)
    digest = pusher(notifying_registry).index(repo, "v0.10.0")
    assert wait_for(lambda: ImageTag.objects.filter(image__name=image, tag="v0.10.0").exists())

    report = scan(
        [image],
        sink=LocalSink(),
        store=PollStates(),
        client_factory=clients(notifying_registry.url),
    )

    assert (report.images[0].events, report.images[0].duplicates) == (0, 1)
    [event] = events_of(image)
    assert event.source_id == push_source_id(image, "v0.10.0", digest)


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_prints_a_line_per_image(anonymous_registry, pusher, unique, settings):
    repo = unique()
    pusher(anonymous_registry).image(repo, "v1")
    image = anonymous_registry.image(repo)
    settings.REGISTRY_IMAGES = [image]
    out = StringIO()

    call_command("scan-registry", "--once", stdout=out)
    call_command("scan-registry", stdout=out)

    first, second = out.getvalue().splitlines()
    assert first.startswith(f"{image}: 4 requests, 1 tags, 1 new, 1 events recorded; ok")
    assert second == f"{image}: 1 requests, 1 tags, 0 new, 0 events recorded; unchanged"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, problem",
    [
        ([], "no image: pass --image"),
        (["--image", "ghcr.io/5dlabs/controller:v1.0.0"], "is not an image"),
        (["--image", "controller"], "is not an image"),
    ],
)
def test_the_command_refuses_bad_input(args, problem, settings):
    settings.REGISTRY_IMAGES = []
    with pytest.raises(CommandError, match=problem) as refused:
        call_command("scan-registry", *args)
    assert refused.value.returncode == 2


@pytest.mark.django_db
def test_the_command_fails_when_an_image_cannot_be_scanned(anonymous_registry):
    with pytest.raises(CommandError, match="scanning failed for") as failed:
        call_command(
            "scan-registry",
            "--image",
            anonymous_registry.image("team/never-pushed"),
            stdout=StringIO(),
        )
    assert failed.value.returncode == 1
