from django.contrib import admin

from cdportal.pipeline import models


@admin.register(models.Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "default_branch", "created_at"]
    search_fields = ["full_name"]


@admin.register(models.Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "path", "release_type"]
    list_filter = ["release_type"]


@admin.register(models.Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "state", "released_at", "failed_stage", "updated_at"]
    list_filter = ["state", "component"]
    search_fields = ["version", "tag"]


@admin.register(models.Commit)
class CommitAdmin(admin.ModelAdmin):
    list_display = ["sha", "__str__", "author", "committed_at"]
    search_fields = ["sha", "message"]


@admin.register(models.BuildRun)
class BuildRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "conclusion", "version", "started_at"]
    list_filter = ["status", "conclusion", "workflow"]


@admin.register(models.ImageRepository)
class ImageRepositoryAdmin(admin.ModelAdmin):
    list_display = ["name", "component"]


@admin.register(models.ImageTag)
class ImageTagAdmin(admin.ModelAdmin):
    list_display = ["__str__", "digest", "pushed_at"]
    list_filter = ["image"]


@admin.register(models.Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "current_tag", "sync_status", "health_status"]
    list_filter = ["sync_status", "health_status", "project"]


@admin.register(models.Rollout)
class RolloutAdmin(admin.ModelAdmin):
    list_display = ["__str__", "detected_at", "parameter_updated_at", "synced_at", "failed_stage"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.PipelineEvent)
class PipelineEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "kind", "summary"]
    list_filter = ["source", "kind"]
    search_fields = ["source_id", "summary"]


@admin.register(models.Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "target", "by_name", "status", "finished_at"]
    list_filter = ["kind", "status"]
