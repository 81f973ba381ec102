"""Two repositories releasing the same tags (v0.2.51, v0.2.52, …), each building its own image:
each image's tags are matched to its own repository's releases, whatever arrives first."""

from __future__ import annotations

import hashlib

import pytest
from helpers import IMAGE, POLICY, REPO, journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import ImageRepository, Release

pytestmark = pytest.mark.django_db

VERSIONS = ("0.2.51", "0.2.52", "0.2.53")
CTO = (REPO, IMAGE, "cto-controller")  # 5dlabs/cto builds ghcr.io/5dlabs/controller
SHOP = ("acme/shop", "ghcr.io/acme/shop", "shop")


def journey_of(repo: str, image: str, app: str, version: str, *, start: float = 0) -> list[dict]:
    """tests/helpers.py's journey, for another repository, image and application; the release
    names its commit and the build also pushes `sha-<commit>` (docker/metadata-action's sha tag)."""
    sha = hashlib.sha1(f"{repo}@{version}".encode()).hexdigest()
    events = []
    for event in journey(version, app=app, start=start):
        event = {**event, "source_id": f"{repo}/{event['source_id']}"}
        if "repository" in event:
            event["repository"] = repo
        if "image" in event:
            event["image"] = image
        if event["kind"] == "release":
            event["sha"] = sha
        if event["kind"] == "application":
            event["annotations"] = {k: v.replace(IMAGE, image) for k, v in POLICY.items()}
            event["images"] = [i.replace(IMAGE, image) for i in event.get("images", [])]
        events.append(event)
        if event["kind"] == "image_push":
            events.append(
                {**event, "source_id": f"{event['source_id']}-sha", "tag": f"sha-{sha[:7]}"}
            )
    return events


def releases_of(repo: str) -> list[tuple]:
    """(version, state, built, application, synced) per rollout of the repository's releases."""
    rows = (
        Release.objects.filter(component__repository__full_name=repo)
        .order_by("version")
        .values_list(
            "version", "state", "built_at", "rollouts__application__name", "rollouts__synced_at"
        )
    )
    return [
        (version, state, built is not None, app, synced is not None)
        for version, state, built, app, synced in rows
    ]


def fully_delivered(app: str) -> list[tuple]:
    return [(version, "deployed", True, app, True) for version in VERSIONS]


def ingest_all(events: list[dict]) -> None:
    for event in events:
        ingest(event)


def test_a_second_repository_releasing_the_same_tags_later_gets_its_own_images_matched():
    for repo, image, app in (CTO, SHOP):
        for i, version in enumerate(VERSIONS):
            ingest_all(journey_of(repo, image, app, version, start=60 * i))
    assert releases_of(REPO) == fully_delivered("cto-controller")
    assert releases_of("acme/shop") == fully_delivered("shop")
    owners = dict(ImageRepository.objects.values_list("name", "component__repository__full_name"))
    assert owners == {IMAGE: REPO, "ghcr.io/acme/shop": "acme/shop"}


def test_two_repositories_releasing_the_same_tag_at_the_same_time_each_get_their_own_image():
    for i, version in enumerate(VERSIONS):
        cto = journey_of(*CTO, version, start=60 * i)
        shop = journey_of(*SHOP, version, start=60 * i)
        # Both releases are out before either image is pushed: every tag is ambiguous by itself.
        ingest_all(cto[:4] + shop[:4] + shop[4:] + cto[4:])
    assert releases_of(REPO) == fully_delivered("cto-controller")
    assert releases_of("acme/shop") == fully_delivered("shop")


def test_an_image_pushed_before_any_release_is_not_claimed_by_the_wrong_repository():
    cto = journey_of(*CTO, "0.2.51")
    shop = journey_of(*SHOP, "0.2.51")
    # acme/shop's commit and image come first; 5dlabs/cto's release is the first of the tag.
    ingest_all(shop[:1] + shop[4:6] + cto + shop[1:4] + shop[6:])
    assert releases_of(REPO) == [("0.2.51", "deployed", True, "cto-controller", True)]
    assert releases_of("acme/shop") == [("0.2.51", "deployed", True, "shop", True)]


def test_images_whose_names_say_nothing_are_matched_by_their_commit_tag():
    """5dlabs/cto builds ghcr.io/5dlabs/controller, 5dlabs/agents builds ghcr.io/5dlabs/runner:
    the version tag names both repositories' releases, `sha-<commit>` only one."""
    agents = ("5dlabs/agents", "ghcr.io/5dlabs/runner", "runner")
    for i, version in enumerate(VERSIONS):
        cto = journey_of(*CTO, version, start=60 * i)
        other = journey_of(*agents, version, start=60 * i)
        ingest_all(cto[:4] + other[:4] + other[4:] + cto[4:])
    assert releases_of(REPO) == fully_delivered("cto-controller")
    assert releases_of("5dlabs/agents") == fully_delivered("runner")
