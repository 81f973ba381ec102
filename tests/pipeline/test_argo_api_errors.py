"""The API server refuses cdportal's own service account: 403 Forbidden (RBAC), 422 Invalid
(schema or admission), or no answer within the client's timeout — for force sync, hard refresh,
terminate and the Image Updater restart, called directly and through the HTTP API.

The emulator below answers the PATCH as the API server does — a v1 Status body, nothing written —
before the store sees it (kmock's own reactions would apply the patch and then answer 403). The
client is configured as in a deployment: a kubeconfig (settings.KUBECONFIG) with a bearer token,
so the tests can also check that the token shows up nowhere.

In every case: the Action is recorded as failed with a message naming what was refused, without
a stack trace or the token; the endpoint answers JSON, not a 500; nothing changed in the cluster.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import threading
import time
from pathlib import Path

import attrs
import kmock
import kube_stub
import pytest
import yaml
from django.test import Client
from kmock._internal.k8s import KubernetesError
from kube_stub import APPS, FIXTURES, Kube, load

from cdportal.adapters.kubernetes import applications, updater
from cdportal.api.models import ApiToken
from cdportal.pipeline import argo_actions, updater_actions
from cdportal.pipeline.models import Action, Application

TOKEN = "cdportal-sa-token-4f6b1c9e2d7a"  # the service account's bearer token, in the kubeconfig
ACCOUNT = "system:serviceaccount:cdportal:cdportal"
UPDATER = "argocd-image-updater-controller"
TIMEOUT = 0.5  # the client's per-request timeout in these tests (argo_actions.REQUEST_TIMEOUT)


@attrs.frozen
class ApiServerError(KubernetesError):
    """A Status answer of the API server (kmock renders it as kind: Status)."""

    status: int
    reason: str
    message: str
    details: dict | None = None


def forbidden(plural: str, group: str, name: str) -> ApiServerError:
    return ApiServerError(
        status=403,
        reason="Forbidden",
        message=f'{plural}.{group} "{name}" is forbidden: User "{ACCOUNT}" cannot patch resource '
        f'"{plural}" in API group "{group}" in the namespace "argocd"',
        details={"name": name, "group": group, "kind": plural},
    )


def invalid(kind: str, group: str, name: str, field: str) -> ApiServerError:
    why = f'{field}: Invalid value: "object": rejected by the admission webhook'
    return ApiServerError(
        status=422,
        reason="Invalid",
        message=f'{kind}.{group} "{name}" is invalid: {why}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": why, "field": field}],
        },
    )


def unauthorized() -> ApiServerError:
    """What kube-apiserver answers a token it does not accept (expired, revoked, another cluster's)."""
    return ApiServerError(status=401, reason="Unauthorized", message="Unauthorized")


def timed_out() -> ApiServerError:
    return ApiServerError(
        status=504,
        reason="Timeout",
        message="Timeout: request did not complete within requested timeout - "
        "context deadline exceeded",
        details={},
    )


class RefusingEmulator(kube_stub.Emulator):
    """Answers PATCHes of one resource with `refuse` (a Status error), or stalls on them
    (`stall`) until released and then answers 504; either way nothing is written."""

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.refuse: tuple[str, ApiServerError] | None = None  # (plural, error)
        self.stall: str | None = None  # plural
        self.refused: list[dict] = []  # the refused requests: body and Authorization header
        self.released = asyncio.Event()

    async def _handle(self, request):
        plural = request.resource.plural if request.resource is not None else None
        refused = self.refuse is not None and plural == self.refuse[0]
        stalled = self.stall is not None and plural == self.stall
        if request.method != kmock.method.PATCH or not (refused or stalled):
            return await super()._handle(request)
        self.refused.append(
            {
                "body": copy.deepcopy(request.data),
                "authorization": request.headers.get("Authorization"),
            }
        )
        if stalled:
            try:
                await asyncio.wait_for(self.released.wait(), 30)
            except TimeoutError:
                pass
            raise timed_out()
        raise self.refuse[1]


def release(kube) -> None:
    """End every stalled request (the client gave up on it long ago)."""
    kube.loop.call_soon_threadsafe(kube.k.released.set)


@pytest.fixture
def kube(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(kube_stub, "Emulator", RefusingEmulator)
    k = Kube()
    k.seed(load("01"))  # argocd/controller, no operation
    k.seed(load("06"))  # argocd/api-gateway, a sync Running
    k.seed_object(
        "apps/v1/deployments",
        yaml.safe_load((FIXTURES / "image-updater-deployment.yaml").read_text()),
    )
    kubeconfig = Path(k.kubeconfig(tmp_path))
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"]["token"] = TOKEN
    kubeconfig.write_text(yaml.safe_dump(config))
    settings.KUBECONFIG, settings.KUBE_CONTEXT = str(kubeconfig), ""
    settings.UPDATER_NAMESPACE, settings.UPDATER_DEPLOYMENT = "argocd", UPDATER
    yield k
    release(k)
    k.close()


@pytest.fixture
def rows(db):
    for name in ("controller", "api-gateway"):
        Application.objects.get_or_create(namespace="argocd", name=name)


@pytest.fixture
def fast_timeout(monkeypatch):
    monkeypatch.setattr(applications, "REQUEST_TIMEOUT", TIMEOUT)
    monkeypatch.setattr(updater, "REQUEST_TIMEOUT", TIMEOUT)


# --- what each verb is, and what its refusal must say ------------------------------------------

ARGO = {  # verb: (application, action, kind)
    "sync": ("controller", argo_actions.force_sync, Action.Kind.FORCE_SYNC),
    "refresh": ("controller", argo_actions.hard_refresh, Action.Kind.HARD_REFRESH),
    "terminate": ("api-gateway", argo_actions.terminate, Action.Kind.TERMINATE),
}
ARGO_ANSWERS = {
    "forbidden": (
        lambda name: forbidden("applications", "argoproj.io", name),
        lambda name: (
            f"patching argocd/{name}: the Kubernetes API answered 403 Forbidden: "
            f'applications.argoproj.io "{name}" is forbidden: User "{ACCOUNT}" cannot patch '
            'resource "applications" in API group "argoproj.io" in the namespace "argocd"'
        ),
    ),
    "invalid": (
        lambda name: invalid("Application", "argoproj.io", name, "operation"),
        lambda name: (
            f"patching argocd/{name}: the Kubernetes API answered 422 Unprocessable Entity: "
            f'Application.argoproj.io "{name}" is invalid: operation: Invalid value: '
            '"object": rejected by the admission webhook'
        ),
    ),
}
UPDATER_ANSWERS = {  # the API server's own words say which permission or field it was
    "forbidden": (
        forbidden("deployments", "apps", UPDATER),
        f'403 Forbidden: deployments.apps "{UPDATER}" is forbidden: User "{ACCOUNT}" cannot patch '
        'resource "deployments" in API group "apps" in the namespace "argocd"',
    ),
    "invalid": (
        invalid("Deployment", "apps", UPDATER, "spec.template.metadata.annotations"),
        f'422 Unprocessable Entity: Deployment.apps "{UPDATER}" is invalid: '
        'spec.template.metadata.annotations: Invalid value: "object": rejected by the admission webhook',
    ),
}


def application(kube, name: str) -> dict:
    return kube.api.get_namespaced_custom_object(*APPS[:2], "argocd", APPS[2], name)


def deployment(kube) -> dict:
    return updater.read(kube.api_client, "argocd", UPDATER)


def token_of(user) -> str:
    return ApiToken.issue(user=user, name="tests")[1]


def post(path: str, user, body: dict | None = None):
    return Client(enforce_csrf_checks=True).post(
        path,
        data=json.dumps(body or {}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_of(user)}",
    )


def assert_clean(message: str, caplog) -> None:
    """Says what happened in words: no stack trace, no credentials, nothing logged as a crash."""
    assert "Traceback" not in message and 'File "' not in message
    assert TOKEN not in message and TOKEN not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


def assert_sent_once_with_the_token(kube) -> None:
    # The PATCH did reach the API server, with the service account's token: the refusal is
    # the API server's, not something cdportal decided on its own.
    assert [r["authorization"] for r in kube.k.refused] == [f"Bearer {TOKEN}"]
    assert kube.k.patches == []  # no write reached the store


# --- force sync, hard refresh, terminate -----------------------------------------------------


@pytest.mark.parametrize("answer", ARGO_ANSWERS)
@pytest.mark.parametrize("verb", ARGO)
def test_a_refused_patch_is_a_failed_action_that_says_what_was_refused(
    alice, rows, kube, verb, answer, caplog, fast_timeout
):
    name, act, kind = ARGO[verb]
    error, said = ARGO_ANSWERS[answer]
    kube.k.refuse = ("applications", error(name))
    before = application(kube, name)

    action = act(app=Application.objects.get(name=name), by=alice)

    assert action.status == Action.Status.FAILED and action.finished_at is not None
    assert action.kind == kind and action.by_name == "alice" and action.target == f"argocd/{name}"
    assert action.message == said(name)
    assert_clean(action.message, caplog)
    assert_sent_once_with_the_token(kube)
    assert application(kube, name) == before
    assert Action.objects.get() == action


@pytest.mark.parametrize("answer", ARGO_ANSWERS)
@pytest.mark.parametrize("verb", ARGO)
def test_the_api_answers_a_refused_patch_with_the_failed_action_as_json(
    alice, rows, kube, verb, answer, caplog, fast_timeout
):
    name, _, kind = ARGO[verb]
    error, said = ARGO_ANSWERS[answer]
    kube.k.refuse = ("applications", error(name))
    before = application(kube, name)

    response = post(f"/api/applications/argocd/{name}/{verb}", alice)

    # The documented contract (cdportal/api/argo.py): 202 with the Action, which says it failed
    # and why; 4xx only for what cdportal itself refused. Never a 500.
    assert response.status_code == 202, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert (body["kind"], body["status"], body["by"]) == (kind, "failed", "alice")
    assert body["message"] == said(name)
    assert TOKEN not in response.content.decode()
    assert_clean(body["message"], caplog)
    assert_sent_once_with_the_token(kube)
    assert application(kube, name) == before
    assert Action.objects.get().status == Action.Status.FAILED


@pytest.mark.parametrize("through", ["call", "api"])
@pytest.mark.parametrize("verb", ARGO)
def test_an_api_server_that_does_not_answer_fails_the_action_at_the_timeout(
    alice, rows, kube, verb, through, caplog, fast_timeout
):
    name, act, _ = ARGO[verb]
    kube.k.stall = "applications"
    before = application(kube, name)

    started = time.monotonic()
    if through == "call":
        action = act(app=Application.objects.get(name=name), by=alice)
        message = action.message
    else:
        response = post(f"/api/applications/argocd/{name}/{verb}", alice)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "failed"
        message = response.json()["message"]
    elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT + 3, f"took {elapsed:.1f}s"
    assert (
        message == f"patching argocd/{name}: the Kubernetes API did not answer within {TIMEOUT:g}s"
    )
    assert Action.objects.get().status == Action.Status.FAILED
    assert_clean(message, caplog)
    assert_sent_once_with_the_token(kube)
    release(kube)
    assert application(kube, name) == before


# --- the Image Updater restart ---------------------------------------------------------------


@pytest.mark.parametrize("through", ["call", "api"])
@pytest.mark.parametrize("answer", UPDATER_ANSWERS)
def test_a_refused_updater_restart_is_a_failed_action_that_says_what_was_refused(
    alice, kube, answer, through, caplog, fast_timeout
):
    error, status = UPDATER_ANSWERS[answer]
    kube.k.refuse = ("deployments", error)
    before = deployment(kube)

    if through == "call":
        action = updater_actions.restart_updater(by=alice, timeout=2, poll=0.05)
        message = action.message
        assert action.status == Action.Status.FAILED
    else:
        response = post("/api/updater/restart", alice)
        assert response.status_code == 202, response.content  # as for the Argo CD verbs
        body = response.json()
        assert (body["kind"], body["status"], body["by_name"]) == (
            "restart_updater",
            "failed",
            "alice",
        )
        message = body["message"]
        assert TOKEN not in response.content.decode()

    assert message == (
        f"restarting deployment argocd/{UPDATER}: the Kubernetes API answered {status}"
    )
    action = Action.objects.get()
    assert action.status == Action.Status.FAILED and action.finished_at is not None
    assert action.message == message and action.target == f"argocd/{UPDATER}"
    assert_clean(message, caplog)
    assert_sent_once_with_the_token(kube)
    assert deployment(kube) == before


@pytest.mark.django_db(transaction=True)  # the restart runs in a thread with its own connection
def test_an_api_server_that_does_not_answer_fails_the_updater_restart_at_the_timeout(
    alice, kube, caplog, fast_timeout
):
    from django.db import connections

    kube.k.stall = "deployments"
    before = deployment(kube)
    outcome: list = []

    def restart():
        try:
            outcome.append(updater_actions.restart_updater(by=alice, timeout=2, poll=0.05))
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome.append(e)
        finally:
            connections.close_all()

    # In a thread, so that a restart that waits for the API server fails the test, not hangs it.
    thread = threading.Thread(target=restart, name="restart", daemon=True)
    thread.start()
    thread.join(TIMEOUT + 3)
    answered_in_time = not thread.is_alive()
    release(kube)  # let the stalled request end, so the thread finishes before the database goes
    thread.join(30)

    assert answered_in_time, (
        f"no outcome within {TIMEOUT + 3:g}s: the restart waits for the API server"
    )
    (action,) = outcome
    assert action.status == Action.Status.FAILED
    assert action.message == (
        f"restarting deployment argocd/{UPDATER}: "
        f"the Kubernetes API did not answer within {TIMEOUT:g}s"
    )
    assert Action.objects.get().status == Action.Status.FAILED
    assert_clean(action.message, caplog)
    assert_sent_once_with_the_token(kube)
    assert deployment(kube) == before


def test_the_api_answers_a_restart_the_api_server_does_not_answer_within_the_timeout(
    alice, kube, caplog, fast_timeout
):
    kube.k.stall = "deployments"
    before = deployment(kube)

    started = time.monotonic()
    response = post("/api/updater/restart", alice)
    elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT + 3, f"took {elapsed:.1f}s"
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["by_name"]) == ("failed", "alice")
    assert body["message"] == (
        f"restarting deployment argocd/{UPDATER}: "
        f"the Kubernetes API did not answer within {TIMEOUT:g}s"
    )
    assert TOKEN not in response.content.decode()
    assert Action.objects.get().status == Action.Status.FAILED
    assert_clean(body["message"], caplog)
    assert_sent_once_with_the_token(kube)
    release(kube)
    assert deployment(kube) == before


# --- a token the API server does not accept ---------------------------------------------------


@pytest.mark.parametrize("verb", ["sync", "restart"])
def test_a_bad_token_reads_as_bad_credentials_not_a_missing_rbac_verb(
    alice, rows, kube, verb, caplog, fast_timeout
):
    """Issue 12: a 401 used to be reported as "its service account needs get and patch" — sending
    the on-call engineer to RBAC when the token is what is wrong."""
    if verb == "sync":
        kube.k.refuse = ("applications", unauthorized())
        action = argo_actions.force_sync(app=Application.objects.get(name="controller"), by=alice)
        doing = "patching argocd/controller"
    else:
        kube.k.refuse = ("deployments", unauthorized())
        action = updater_actions.restart_updater(by=alice, timeout=2, poll=0.05)
        doing = f"restarting deployment argocd/{UPDATER}"

    assert action.status == Action.Status.FAILED
    assert action.message == (
        f"{doing}: the Kubernetes API did not accept cdportal's credentials "
        "(401 Unauthorized); check its token or kubeconfig"
    )
    assert "service account needs" not in action.message and "permission" not in action.message
    assert_clean(action.message, caplog)
    assert_sent_once_with_the_token(kube)
