import pytest
from helpers import REPO, at, journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Component, Release

pytestmark = pytest.mark.django_db


def prediction(minutes=0, **changes):
    return {
        "kind": "release_plan",
        "source": "git",
        "source_id": f"plan-{minutes}",
        "occurred_at": at(minutes),
        "repository": REPO,
        "component": "",
        "path": ".",
        "release_type": "simple",
        "head_sha": "a" * 40,
        "current_version": "0.2.50",
        "next_version": "0.2.51",
        "tag": "v0.2.51",
        "pr_title": "chore: release 0.2.51",
        "branch": "release-please--branches--main",
        "changelog": "## [0.2.51](https://github.com/5dlabs/cto/compare/v0.2.50...v0.2.51) (2026-11-28)\n",
        "commits": [
            {
                "sha": "b" * 40,
                "subject": "add retry",
                "type": "feat",
                "scope": "controller",
                "breaking": False,
                "bump": "patch",
                "why": "feat → patch (bump-patch-for-minor-pre-major)",
            }
        ],
        "ignored": [
            {"sha": "c" * 40, "subject": "update readme", "reason": "not a conventional commit"}
        ],
        "commit_count": 2,
        **changes,
    }


def test_a_prediction_lands_on_its_component():
    ingest(prediction())
    component = Component.objects.get()
    assert component.current_version == "0.2.50"
    assert component.plan["next_version"] == "0.2.51"
    assert component.plan["ignored"][0]["reason"] == "not a conventional commit"


def test_the_pending_release_shows_the_predicted_version():
    ingest(journey()[0])
    ingest(prediction(minutes=1))
    assert Release.objects.get().title == "cto 0.2.51 (predicted)"


def test_an_older_prediction_arriving_late_changes_nothing():
    ingest(prediction(minutes=5, next_version="0.3.0", tag="v0.3.0"))
    ingest(prediction(minutes=1))
    assert Component.objects.get().plan["next_version"] == "0.3.0"


def test_no_release_due_is_a_valid_prediction(client, bob):
    ingest(prediction(next_version=None, tag=None, pr_title=None, changelog=None, commits=[]))
    client.force_login(bob)
    html = client.get(f"/components/{Component.objects.get().pk}/").content.decode()
    assert "no release due" in html and "update readme" in html


def test_the_next_release_page(client, bob):
    ingest(prediction())
    client.force_login(bob)
    html = client.get(f"/components/{Component.objects.get().pk}/").content.decode()
    assert "0.2.50 → 0.2.51" in html
    assert "chore: release 0.2.51" in html
    assert "feat → patch (bump-patch-for-minor-pre-major)" in html
    assert "Copy as Markdown" in html
    api = client.get(f"/api/components/{Component.objects.get().pk}").json()
    assert api["plan"]["pr_title"] == "chore: release 0.2.51"


def test_a_malformed_prediction_is_refused():
    from cdportal.core.events import InvalidEvent

    with pytest.raises(InvalidEvent, match="bump"):
        ingest(
            prediction(commits=[{"sha": "b" * 40, "subject": "x", "type": "feat", "bump": "huge"}])
        )
    assert Component.objects.count() == 0
