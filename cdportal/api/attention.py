"""What needs on-call's attention now (the overview's first panel), for scripts and alerting."""

from datetime import datetime

from ninja import Router, Schema

from cdportal.pipeline import automation
from cdportal.pipeline.attention import problems

router = Router(tags=["attention"])


class ProblemOut(Schema):
    severity: str  # bad (broken) or warn (not converging)
    subject: str
    what: str
    why: str
    url: str  # the page to act from
    since: datetime | None


@router.get("", response=list[ProblemOut])
def attention(request):
    """Failed syncs and builds, degraded or missing applications, Argo CD error conditions, an
    Image Updater without a ready pod; broken first, then not converging, newest first."""
    return problems()


class AutomationOut(Schema):
    component: str
    open_release_pr: int | None
    open_release_pr_since: datetime | None
    merged_pending_prs: list[int]  # merged Release PRs still `autorelease: pending`
    releases_without_build: list[str]  # tags no build ran for
    manifest_version: str | None
    latest_tag: str | None
    manifest_behind: bool


@router.get("/automation", response=list[AutomationOut])
def release_automation(request):
    """Release automation health per component (the overview's panel): the open Release PR and
    since when, merged Release PRs still pending, releases without a build, and whether the
    manifest's version is behind the latest tag."""
    return [h.to_json() for h in automation.health()]
