"""Shared fixtures: people (alice the operator, rita the releaser, bob the viewer, feeder the source)."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(django_user_model, username: str, *roles: str):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username=username, password=f"{username}-password")
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def alice(db, django_user_model):
    """An operator."""
    return _user(django_user_model, "alice", "operator")


@pytest.fixture
def rita(db, django_user_model):
    """A releaser."""
    return _user(django_user_model, "rita", "releaser")


@pytest.fixture
def bob(db, django_user_model):
    """A viewer."""
    return _user(django_user_model, "bob", "viewer")


@pytest.fixture
def feeder(db, django_user_model):
    """A service account allowed to post events (role: source)."""
    return _user(django_user_model, "feeder", "source")


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the rest of the session, after which pytest-asyncio cannot start its own."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def git_identity(monkeypatch, tmp_path):
    """Run git as on a machine without any git config: no user.name, no init.defaultBranch."""
    import os

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Alice Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "alice@example.com")


@pytest.fixture
def work(git_identity, tmp_path):
    """A real git work tree on branch main that the test commits to."""
    from gitrepos import Work

    return Work(tmp_path / "work")


@pytest.fixture(scope="session")
def kube_session():
    """One Kubernetes API emulator for the session; `argocd_cluster` resets it for each test."""
    from kube_stub import Kube

    k = Kube()
    yield k
    k.close()


@pytest.fixture
def argocd_cluster(kube_session, settings, tmp_path, db):
    """The Kubernetes API emulator with argocd/controller (no operation) and argocd/api-gateway (a
    sync running), known to cdportal, and KUBECONFIG pointing at it: what the web process and the
    API act on. The session's emulator, reset: nothing from an earlier test is left in it."""
    from kube_stub import load

    from cdportal.pipeline.models import Application

    k = kube_session
    k.reset()
    k.seed(load("01"))
    k.seed(load("06"))
    settings.KUBECONFIG, settings.KUBE_CONTEXT = k.kubeconfig(tmp_path), ""
    for name in ("controller", "api-gateway"):
        Application.objects.get_or_create(namespace="argocd", name=name)
    yield k


@pytest.fixture
def bystander():
    """An HTTP server on 127.0.0.1 that a test expects no request — or only the ones it names — to
    reach. It answers like a registry that wants Basic credentials (401 without them, 200 with
    any), so a client that does send them is caught doing it; `.log` holds what arrived."""
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    def registry_like(request):
        if request.headers.get("Authorization", "").startswith("Basic "):
            return Response("{}", status=200, content_type="application/json")
        return Response(
            "{}",
            status=401,
            content_type="application/json",
            headers={"WWW-Authenticate": 'Basic realm="bystander"'},
        )

    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_handler(registry_like)
    server.start()
    server.host_port = f"127.0.0.1:{server.port}"
    yield server
    server.clear()
    server.stop()
