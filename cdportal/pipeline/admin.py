"""The admin shows the read models; it never writes them.

Every row here is derived from the event log by ``cdportal.pipeline.ingest`` (Action rows by
``pipeline.actions``): an edit made behind ingest's back would be overwritten by the next event,
or worse, would make a release's stages disagree with the events that explain them. So every
model is read-only, superusers included. Configuration (users, groups) keeps Django's own admin.
"""

from django.contrib import admin
from django.db.models import URLField

from cdportal.pipeline import models


class ReadOnlyAdmin(admin.ModelAdmin):
    # The (read-only) form still builds a field per column; URLs are https, as Django 6 assumes.
    formfield_overrides = {URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Repository)
class RepositoryAdmin(ReadOnlyAdmin):
    list_display = ["full_name", "default_branch", "created_at"]
    search_fields = ["full_name"]


@admin.register(models.Component)
class ComponentAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "path", "release_type"]
    list_filter = ["release_type"]


@admin.register(models.Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "state", "released_at", "failed_stage", "updated_at"]
    list_filter = ["state", "component"]
    search_fields = ["version", "tag"]


@admin.register(models.Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = ["sha", "__str__", "author", "committed_at"]
    search_fields = ["sha", "message"]


@admin.register(models.BuildRun)
class BuildRunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "status", "conclusion", "version", "started_at"]
    list_filter = ["status", "conclusion", "workflow"]


@admin.register(models.ImageRepository)
class ImageRepositoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "component"]


@admin.register(models.ImageTag)
class ImageTagAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "digest", "pushed_at"]
    list_filter = ["image"]


@admin.register(models.Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "project", "current_tag", "sync_status", "health_status"]
    list_filter = ["sync_status", "health_status", "project"]


@admin.register(models.Rollout)
class RolloutAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "detected_at", "parameter_updated_at", "synced_at", "failed_stage"]


@admin.register(models.PipelineEvent)
class PipelineEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "kind", "summary"]
    list_filter = ["source", "kind"]
    search_fields = ["source_id", "summary"]


@admin.register(models.Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "target", "by_name", "status", "finished_at"]
    list_filter = ["kind", "status"]
