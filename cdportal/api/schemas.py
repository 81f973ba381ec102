"""The shapes the API answers with (ninja Schemas), shared by its routers."""

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from cdportal.pipeline.queries import release_stepper


class ComponentOut(Schema):
    repository: str
    name: str
    path: str
    release_type: str

    @staticmethod
    def resolve_repository(obj) -> str:
        return obj.repository.full_name


class StageOut(Schema):
    stage: int
    name: str
    state: str
    reached_at: datetime | None
    seconds: float | None
    reason: str
    # Rollout stages (5-7) only: how many of the applications the release is headed for
    # reached it; `state` is "done" only when reached == targets > 0.
    reached: int | None = None
    targets: int | None = None


class RolloutOut(Schema):
    id: int
    release_id: int
    application: str
    detected_at: datetime | None
    parameter_updated_at: datetime | None
    synced_at: datetime | None
    failed_stage: int | None
    failure_reason: str

    @staticmethod
    def resolve_application(obj) -> str:
        return obj.application.key


class ReleaseOut(Schema):
    id: int
    component: ComponentOut
    version: str
    tag: str
    sha: str  # the commit the tag points at ("" until GitHub says)
    state: str
    pr_number: int | None
    pr_url: str
    url: str
    merged_at: datetime | None
    pr_opened_at: datetime | None
    released_at: datetime | None
    built_at: datetime | None
    failed_stage: int | None
    failure_reason: str
    updated_at: datetime
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj) -> list[dict]:
        return [
            {
                "stage": s.stage.value,
                "name": s.label,
                "state": s.state,
                "reached_at": s.reached_at,
                "seconds": s.duration.total_seconds() if s.duration is not None else None,
                "reason": s.reason,
                "reached": s.reached,
                "targets": s.targets,
            }
            for s in release_stepper(obj)
        ]


class CommitOut(Schema):
    sha: str
    message: str
    author: str
    url: str
    committed_at: datetime


class ReleaseDetailOut(ReleaseOut):
    changelog: str
    rollouts: list[RolloutOut]
    commits: list[CommitOut]


class ApplicationOut(Schema):
    id: int
    namespace: str
    name: str
    project: str
    repo_url: str
    current_tag: str
    sync_status: str
    health_status: str
    health_message: str
    operation_phase: str
    operation_message: str
    revision: str
    last_synced_at: datetime | None
    observed_at: datetime
    image_policy: dict[str, str]
    parameters: dict[str, str]
    images: list[str]
    conditions: list[dict[str, Any]]  # type, message, last_transition_time
    operation: (
        dict[str, Any] | None
    )  # phase, message, initiated_by, started_at, finished_at, retry_count, revision, resources
    sync_history: list[
        dict[str, Any]
    ]  # id, revision, deployed_at, started_at, initiated_by; newest first
    deleted_at: datetime | None  # when Argo CD deleted it; None: it exists

    @staticmethod
    def resolve_images(obj) -> list[str]:
        return [image.name for image in obj.images.all()]


class ImageTagOut(Schema):
    image: str
    tag: str
    digest: str
    created_at: datetime | None
    pushed_at: datetime
    first_seen_at: datetime
    deleted_at: datetime | None  # when the registry deleted it; None: it exists

    @staticmethod
    def resolve_image(obj) -> str:
        return obj.image.name


class EventOut(Schema):
    id: int
    source: str
    source_id: str
    kind: str
    occurred_at: datetime
    received_at: datetime
    summary: str
    release_id: int | None
    application_id: int | None
    payload: dict[str, Any]


class IngestOut(Schema):
    id: int
    created: bool
    summary: str


class ErrorOut(Schema):
    detail: str


class ActionOut(Schema):
    id: int
    kind: str
    target: str
    by: str = Field(..., alias="by_name")
    parameters: dict[str, Any]
    status: str
    message: str
    started_at: datetime
    finished_at: datetime | None


class CheckOut(Schema):
    stage: int
    code: str
    status: str  # pass, fail, waiting, unknown
    message: str
    evidence: list[str]


class ExplainOut(Schema):
    """Why the release is (not) live in one application: the first check that did not pass."""

    verdict: str  # live, on_its_way, blocked
    stage: int
    code: str
    message: str
    fix: str
    eta: datetime | None
    checks: list[CheckOut]
