import pytest

from cdportal.core.events import (
    ImagePushed,
    InvalidEvent,
    event_from_json,
    parse_event,
    split_image_reference,
    version_of_tag,
)
from cdportal.core.image_list import parse_image_list, tag_parameter

BASE = {"source": "test", "source_id": "1", "occurred_at": "2026-11-28T10:00:00Z"}


def test_it_builds_the_right_kind_from_a_mapping():
    event = parse_event(
        {
            **BASE,
            "kind": "image_push",
            "image": "GHCR.io/5dlabs/Controller",
            "tag": "v0.3.0",
            "digest": "sha256:" + "a" * 64,
        }
    )
    assert isinstance(event, ImagePushed)
    assert event.image == "ghcr.io/5dlabs/controller"


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"kind": "nope"}, "does not match any of the expected tags"),
        (
            {"kind": "release", "repository": "5dlabs/cto", "version": "v1.0.0", "tag": "v1.0.0"},
            "version",
        ),
        (
            {"kind": "commit", "repository": "not a repo", "sha": "abc1234", "message": "x"},
            "repository",
        ),
        ({"kind": "commit", "repository": "a/b", "sha": "xyz", "message": "x"}, "sha"),
        (
            {
                "kind": "image_push",
                "image": "ghcr.io/a/b:v1",
                "tag": "v1",
                "digest": "sha256:" + "a" * 64,
            },
            "image",
        ),
        (
            {
                "kind": "commit",
                "repository": "a/b",
                "sha": "abc1234",
                "message": "x",
                "surprise": 1,
            },
            "surprise",
        ),
        (
            {
                "kind": "commit",
                "repository": "a/b",
                "sha": "abc1234",
                "message": "x",
                "occurred_at": "yesterday",
            },
            "occurred_at",
        ),
        (
            {
                "kind": "commit",
                "repository": "a/b",
                "sha": "abc1234",
                "message": "x",
                "occurred_at": "2026-11-28T10:00:00",
            },
            "timezone",
        ),
    ],
)
def test_a_malformed_event_is_refused_with_the_field_named(change, complaint):
    with pytest.raises(InvalidEvent) as error:
        parse_event({**BASE, **change})
    assert complaint in str(error.value)


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(InvalidEvent):
        event_from_json(b"{not json")


def test_image_references_and_tags():
    assert split_image_reference("ghcr.io/5dlabs/controller:v0.3.0") == (
        "ghcr.io/5dlabs/controller",
        "v0.3.0",
    )
    assert split_image_reference("localhost:5000/team/app") == ("localhost:5000/team/app", "")
    assert split_image_reference("ghcr.io/a/b:v1@sha256:abc") == ("ghcr.io/a/b", "v1")
    assert version_of_tag("v0.3.0") == "0.3.0"
    assert version_of_tag("controller-v1.2.3") == "1.2.3"
    assert version_of_tag("latest") is None


def test_image_list_annotation():
    images = parse_image_list("controller=ghcr.io/5dlabs/controller, localhost:5000/team/app:~1.2")
    assert [(i.alias, i.image, i.constraint) for i in images] == [
        ("controller", "ghcr.io/5dlabs/controller", ""),
        ("app", "localhost:5000/team/app", "~1.2"),
    ]
    assert tag_parameter({}, "controller") == "image.tag"
    assert (
        tag_parameter({"argocd-image-updater.argoproj.io/web.helm.image-tag": "web.tag"}, "web")
        == "web.tag"
    )
