"""What needs on-call's attention now (the overview's first panel), for scripts and alerting."""

from datetime import datetime

from ninja import Router, Schema

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
