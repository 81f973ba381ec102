"""The admin shows what ingest derived and lets nobody, superusers included, write it."""

import pytest
from django.contrib import admin
from django.urls import reverse
from helpers import journey

from cdportal.pipeline.ingest import ingest
from cdportal.pipeline.models import Action, Release

pytestmark = pytest.mark.django_db

READ_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "pipeline"),
    key=lambda model: model.__name__,
)


@pytest.fixture
def shipped(alice):
    for event in journey("0.3.0"):
        ingest(event)
    Action.objects.create(
        kind=Action.Kind.FORCE_SYNC,
        target="argocd/cto-controller",
        by=alice,
        by_name=alice.username,
        status=Action.Status.SUCCEEDED,
    )
    return Release.objects.get()


def url(model, view: str, *args) -> str:
    return reverse(f"admin:pipeline_{model._meta.model_name}_{view}", args=args)


def test_every_read_model_is_registered():
    assert {m.__name__ for m in READ_MODELS} >= {
        "Action",
        "Application",
        "BuildRun",
        "Commit",
        "Component",
        "ImageRepository",
        "ImageTag",
        "PipelineEvent",
        "Release",
        "Repository",
        "Rollout",
    }


@pytest.mark.parametrize("model", READ_MODELS, ids=lambda m: m.__name__)
def test_a_superuser_may_not_add_one(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "add"), {}).status_code == 403


@pytest.mark.parametrize("model", READ_MODELS, ids=lambda m: m.__name__)
def test_a_superuser_may_read_but_not_change_or_delete_one(admin_client, model, shipped):
    row = model.objects.first()
    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "change", row.pk)).status_code == 200  # the read-only view
    assert admin_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert admin_client.get(url(model, "delete", row.pk)).status_code == 403
    assert admin_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_a_release_stays_as_ingest_left_it(admin_client, shipped):
    edit = {"version": "9.9.9", "state": "failed"}
    response = admin_client.post(url(Release, "change", shipped.pk), edit)
    assert response.status_code == 403
    shipped.refresh_from_db()
    assert (shipped.version, shipped.state) == ("0.3.0", Release.State.DEPLOYED)
