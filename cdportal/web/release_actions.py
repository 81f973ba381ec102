"""The manual release page, for releasers only: a tag (and optionally its build) and a re-run of
Release Please; and the release page's build dispatch for a tag already made. Every action is two POSTs: the first states exactly what will happen and carries
a fresh idempotency key, the second does it (a double click is one action)."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from cdportal.adapters.github.errors import GitHubError
from cdportal.pipeline import release_actions as actions
from cdportal.pipeline.actions import ActionRefused
from cdportal.pipeline.models import Release, Repository
from cdportal.pipeline.roles import roles_of

PERMISSION = actions.PERMISSION


def _checked(check, value):
    try:
        return check(value)
    except ActionRefused as e:
        raise forms.ValidationError(str(e)) from None


class TagForm(forms.Form):
    version = forms.CharField(max_length=100, help_text="X.Y.Z, without the leading v")
    sha = forms.CharField(
        max_length=40,
        required=False,
        label="Commit",
        help_text="Blank: the head of the default branch",
    )
    message = forms.CharField(max_length=500, required=False, help_text='Blank: "Release vX.Y.Z"')
    dispatch_build = forms.BooleanField(required=False)

    def clean_version(self):
        return _checked(actions.valid_version, self.cleaned_data["version"])

    def clean_sha(self):
        return _checked(actions.valid_sha, self.cleaned_data["sha"]) or ""


class ConfirmTagForm(TagForm):
    sha = forms.CharField(min_length=7, max_length=40)  # the commit the confirmation named
    idempotency_key = forms.CharField(max_length=90)
    allow_not_greater = forms.BooleanField(required=False)


class ConfirmForm(forms.Form):
    idempotency_key = forms.CharField(max_length=90)


@require_GET
@permission_required(PERMISSION, raise_exception=True)
def manual_release(request, owner: str, name: str):
    repository = _repository(owner, name)
    head, problem = _head(repository)
    return _page(
        request,
        repository,
        form=TagForm(initial=_initial(repository, head)),
        head=head,
        head_problem=problem,
    )


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def review_tag(request, owner: str, name: str):
    repository = _repository(owner, name)
    form = TagForm(request.POST)
    if not form.is_valid():
        return _page(request, repository, form=form, status=400)
    data = form.cleaned_data
    head = None
    if not data["sha"] or data["dispatch_build"]:  # the commit or the branch is GitHub's to tell
        head, problem = _head(repository)
        if head is None and not data["sha"]:
            form.add_error("sha", f"{problem}. Enter the commit yourself.")
            return _page(request, repository, form=form, status=400)
    confirm = {**data, "sha": data["sha"] or head.sha, "idempotency_key": uuid.uuid4().hex}
    return _confirmation(request, repository, confirm, branch=head.branch if head else "")


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def create_tag(request, owner: str, name: str):
    repository = _repository(owner, name)
    form = ConfirmTagForm(request.POST)
    if not form.is_valid():
        return _page(request, repository, form=TagForm(request.POST), status=400)
    data = form.cleaned_data
    try:
        action = actions.create_tag(
            repository=repository.full_name,
            version=data["version"],
            sha=data["sha"],
            by=request.user,
            message=data["message"] or None,
            dispatch_build=data["dispatch_build"],
            allow_not_greater=data["allow_not_greater"],
            idempotency_key=data["idempotency_key"],
        )
    except ActionRefused as e:
        return _confirmation(request, repository, data, error=str(e), status=e.status)
    tag = action.parameters.get("tag", "")
    release = (
        Release.objects.filter(component__repository=repository, tag=tag).exclude(tag="").first()
    )
    return _page(
        request,
        repository,
        step="done",
        action=action,
        dispatch=actions.dispatch_of(action),
        release=release,
        form=TagForm(initial=_initial(repository, None)),
    )


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def review_release_please(request, owner: str, name: str):
    repository = _repository(owner, name)
    head, problem = _head(repository)
    return _page(
        request,
        repository,
        form=TagForm(initial=_initial(repository, head)),
        head=head,
        head_problem=problem,
        rp_step="confirm",
        rp_key=uuid.uuid4().hex,
    )


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def rerun_release_please(request, owner: str, name: str):
    repository = _repository(owner, name)
    form = ConfirmForm(request.POST)
    context = {"form": TagForm(initial=_initial(repository, None))}
    if not form.is_valid():
        return _page(
            request,
            repository,
            rp_error="The confirmation was incomplete; ask again.",
            status=400,
            **context,
        )
    try:
        action = actions.rerun_release_please(
            repository=repository.full_name,
            by=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except ActionRefused as e:
        return _page(request, repository, rp_error=str(e), status=e.status, **context)
    return _page(request, repository, rp_step="done", rp_action=action, **context)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def review_dispatch_build(request, pk: int):
    """The release page's "Dispatch the build…": what will run, and a fresh idempotency key."""
    release = _release(pk)
    if not release.tag:
        return _dispatch_page(request, release, error="This release has no tag yet.", status=409)
    return _dispatch_page(request, release, key=uuid.uuid4().hex)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def dispatch_build(request, pk: int):
    release = _release(pk)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        error = "The confirmation was incomplete; ask again."
        return _dispatch_page(request, release, error=error, status=400)
    try:
        action = actions.dispatch_build(
            release=release, by=request.user, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except ActionRefused as e:
        return _dispatch_page(request, release, error=str(e), status=e.status)
    return _dispatch_page(request, release, action=action)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def review_relabel(request, pk: int):
    """The explainer's "Relabel #N `autorelease: tagged`…": what will change, and a fresh key."""
    return _relabel_page(request, _release(pk), key=uuid.uuid4().hex)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def relabel(request, pk: int):
    release = _release(pk)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        error = "The confirmation was incomplete; ask again."
        return _relabel_page(request, release, error=error, status=400)
    try:
        action = actions.relabel_release_pr(
            release=release, by=request.user, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except ActionRefused as e:
        return _relabel_page(request, release, error=str(e), status=e.status)
    return _relabel_page(request, release, action=action)


def _relabel_page(request, release: Release, *, status: int = 200, **context):
    return render(
        request,
        "web/relabel_release_pr.html",
        {
            "release": release,
            "repository": release.component.repository.full_name,
            "pending_label": actions.PENDING_LABEL,
            "tagged_label": actions.TAGGED_LABEL,
            "roles": roles_of(request.user),
            **context,
        },
        status=status,
    )


def _release(pk: int) -> Release:
    return get_object_or_404(Release.objects.select_related("component__repository"), pk=pk)


def _dispatch_page(request, release: Release, *, status: int = 200, **context):
    return render(
        request,
        "web/dispatch_build.html",
        {
            "release": release,
            "repository": release.component.repository.full_name,
            "build_workflow": settings.GITHUB_BUILD_WORKFLOW,
            "roles": roles_of(request.user),
            **context,
        },
        status=status,
    )


def _repository(owner: str, name: str) -> Repository:
    return get_object_or_404(Repository, full_name=f"{owner}/{name}")


def _head(repository: Repository) -> tuple[actions.Head | None, str]:
    try:
        return actions.default_head(repository.full_name), ""
    except GitHubError as e:
        return None, str(e)


def _initial(repository: Repository, head) -> dict:
    component = actions.component_of(repository)
    plan = component.plan if component else {}
    return {"version": plan.get("next_version") or "", "sha": head.sha if head else ""}


def _confirmation(
    request,
    repository: Repository,
    data: dict,
    *,
    branch: str = "",
    error: str = "",
    status: int = 200,
):
    latest = actions.latest_version(actions.component_of(repository))
    summary = actions.describe_tag(
        repository=repository.full_name,
        version=data["version"],
        sha=data["sha"],
        dispatch_build=data["dispatch_build"],
        branch=branch,
    )
    return _page(
        request,
        repository,
        step="confirm",
        confirm=data,
        summary=summary,
        error=error,
        not_greater=not actions.is_greater(data["version"], latest),
        status=status,
    )


def _page(request, repository: Repository, *, status: int = 200, **context):
    component = actions.component_of(repository)
    owner, name = repository.full_name.split("/", 1)
    return render(
        request,
        "web/manual_release.html",
        {
            "repository": repository,
            "owner": owner,
            "name": name,
            "component": component,
            "plan": component.plan if component else {},
            "latest": actions.latest_version(component),
            "build_workflow": settings.GITHUB_BUILD_WORKFLOW,
            "release_workflow": settings.GITHUB_RELEASE_WORKFLOW,
            "roles": roles_of(request.user),
            "step": "form",
            "rp_step": "button",
            **context,
        },
        status=status,
    )
