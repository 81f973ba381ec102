"""Plain helpers shared by the tests: component checks and a release journey as raw events."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(component: str, available: bool, why: str) -> None:
    """Skip on a developer machine that lacks a component; in CI a missing one fails the run."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{component} is required in CI: {why}")
    pytest.skip(f"{component} not available: {why}")


REPO = "5dlabs/cto"
IMAGE = "ghcr.io/5dlabs/controller"
POLICY = {
    "argocd-image-updater.argoproj.io/image-list": f"controller={IMAGE}",
    "argocd-image-updater.argoproj.io/controller.update-strategy": "semver",
    "argocd-image-updater.argoproj.io/controller.allow-tags": r"regexp:^v[0-9]+\.[0-9]+\.[0-9]+$",
    "argocd-image-updater.argoproj.io/controller.helm.image-tag": "image.tag",
}


def wait_for(condition, *, timeout: float = 5.0, interval: float = 0.02):
    """Poll until condition() is truthy and return its value; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:g}s")
        time.sleep(interval)


async def wait_for_async(condition, *, timeout: float = 5.0, interval: float = 0.02):
    """wait_for inside an event loop: sleeps without blocking the loop the tested code runs on."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:g}s")
        await asyncio.sleep(interval)


def journey(version: str = "0.3.0", *, app: str = "cto-controller", start: float = 0) -> list[dict]:
    """One release through all seven stages, as a list of raw events (minutes from T0 + start)."""
    tag = f"v{version}"
    s = start
    sid = f"{version}-{app}"
    return [
        dict(
            kind="commit",
            source="test",
            source_id=f"c-{sid}",
            occurred_at=at(s + 0),
            repository=REPO,
            sha=(version.replace(".", "") * 40)[:40],
            message="feat(controller): add task retry logic",
            author="dev",
        ),
        dict(
            kind="release_pr",
            source="test",
            source_id=f"pr-{sid}",
            occurred_at=at(s + 2),
            repository=REPO,
            number=100,
            title=f"chore: release {version}",
            version=version,
            state="open",
        ),
        dict(
            kind="release",
            source="test",
            source_id=f"rel-{sid}",
            occurred_at=at(s + 10),
            repository=REPO,
            version=version,
            tag=tag,
            changelog=f"## [{version}]\n\n### Features\n\n* add task retry logic",
        ),
        dict(
            kind="build",
            source="test",
            source_id=f"b-{sid}",
            occurred_at=at(s + 11),
            repository=REPO,
            run_id=5000 + int(s),
            workflow="binaries-release",
            status="completed",
            conclusion="success",
            version=version,
        ),
        dict(
            kind="image_push",
            source="test",
            source_id=f"img-{sid}",
            occurred_at=at(s + 15),
            image=IMAGE,
            tag=tag,
            digest="sha256:" + "ab" * 32,
        ),
        dict(
            kind="updater",
            source="test",
            source_id=f"upd-{sid}",
            occurred_at=at(s + 17),
            namespace="argocd",
            application=app,
            image=IMAGE,
            alias="controller",
            to_tag=tag,
        ),
        dict(
            kind="application",
            source="test",
            source_id=f"app1-{sid}",
            occurred_at=at(s + 18),
            namespace="argocd",
            name=app,
            sync_status="OutOfSync",
            health_status="Healthy",
            parameters={"image.tag": tag},
            annotations=POLICY,
        ),
        dict(
            kind="application",
            source="test",
            source_id=f"app2-{sid}",
            occurred_at=at(s + 20),
            namespace="argocd",
            name=app,
            sync_status="Synced",
            health_status="Healthy",
            parameters={"image.tag": tag},
            images=[f"{IMAGE}:{tag}"],
            annotations=POLICY,
        ),
    ]


def pull_secret(name: str, auths: dict[str, tuple[str, str]], *, namespace: str = "argocd") -> dict:
    """A kubernetes.io/dockerconfigjson Secret with `auths` {registry: (user, password)}."""
    config = {
        "auths": {
            host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
            for host, (user, password) in auths.items()
        }
    }
    return {
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


DEV, STAGING, PROD = "cto-controller-dev", "cto-controller-staging", "cto-controller"


def three_environments(version: str = "0.2.56", *, previous: str = "0.2.55") -> list[dict]:
    """A release through all seven stages in dev only: staging has the new parameter and is
    still OutOfSync, prod runs `previous` (the updater has not picked the release up there)."""
    tag, old = f"v{version}", f"v{previous}"
    staging = journey(version, app=STAGING)[5:7]  # the updater's choice, then OutOfSync
    prod = dict(
        kind="application",
        source="test",
        source_id=f"prod-{version}",
        occurred_at=at(19),
        namespace="argocd",
        name=PROD,
        sync_status="Synced",
        health_status="Healthy",
        parameters={"image.tag": old},
        images=[f"{IMAGE}:{old}"],
        annotations=POLICY,
    )
    assert staging[1]["parameters"] == {"image.tag": tag}
    return [*journey(version, app=DEV), *staging, prod]


def synced(version: str, app: str, minutes: float) -> dict:
    """`app` observed Synced and Healthy, running `version`."""
    tag = f"v{version}"
    return dict(
        kind="application",
        source="test",
        source_id=f"synced-{version}-{app}",
        occurred_at=at(minutes),
        namespace="argocd",
        name=app,
        sync_status="Synced",
        health_status="Healthy",
        parameters={"image.tag": tag},
        images=[f"{IMAGE}:{tag}"],
        annotations=POLICY,
    )
