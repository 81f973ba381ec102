"""The pipeline app: the models, ingest and the action verbs."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate

from cdportal.pipeline import checks  # noqa: F401  (registers the system checks)
from cdportal.pipeline.roles import ensure_roles


class PipelineConfig(AppConfig):
    name = "cdportal.pipeline"
    label = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        # After migrate: permissions exist only once post_migrate has created them.
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="cdportal-roles")
