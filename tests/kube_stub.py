"""A Kubernetes API emulator for the official client: kmock (pinned) in its own thread and loop,
with the few behaviours the tests need added (list resourceVersions, watches that resume after a
resourceVersion, 410 Gone for expired ones). See ../shared/guide/testing.md §2."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
from pathlib import Path

import kmock
import yaml
from kubernetes import client

FIXTURES = Path(__file__).parent / "fixtures" / "argocd"
APPS = ("argoproj.io", "v1alpha1", "applications")


def load(stem: str) -> dict:
    (path,) = FIXTURES.glob(f"{stem}*.yaml")
    return yaml.safe_load(path.read_text())


class Emulator(kmock.KubernetesEmulator):
    gone: set[str]  # resourceVersions too old to watch from

    async def _serve_list(self, request):
        self.lists = getattr(self, "lists", 0) + 1
        d = await super()._serve_list(request)
        d["kind"], d["apiVersion"] = "ApplicationList", "argoproj.io/v1alpha1"
        d["metadata"] = {"resourceVersion": str(max((_rv(o) for o in d["items"]), default=1))}
        return d

    async def _serve_watch(self, request):
        since = request.params.get("resourceVersion", "")
        self.watches = [*getattr(self, "watches", []), since]
        if since in getattr(self, "gone", set()):
            yield b""
            yield {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                               "code": 410, "reason": "Expired",
                                               "message": f"too old resource version: {since}"}}
            return
        async for event in super()._serve_watch(request):
            if isinstance(event, dict) and since and _rv(event["object"]) <= int(since):
                continue  # a real watch sends only what changed after its resourceVersion
            yield event


def _rv(obj: dict) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)


class Kube:
    """kmock in its own thread and loop (the sync client would starve the test's loop)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready, self.loop = threading.Event(), None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "kmock did not start"
        self.api_client = client.ApiClient(client.Configuration(host=self.url))
        self.api = client.CustomObjectsApi(self.api_client)

    def _main(self):
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        self.stopping = asyncio.Event()
        async with Emulator() as k, kmock.Server(k, host="127.0.0.1", port=self.port):
            k.resources.load_bundled()
            info = k.resources["argoproj.io/v1alpha1/applications"]
            info.kind, info.singular, info.namespaced = "Application", "application", True
            info.verbs |= {"get", "list", "watch", "create", "update", "patch", "delete"}
            k.gone = set()
            self.k = k
            self.ready.set()
            await self.stopping.wait()

    def seed(self, obj: dict) -> None:
        meta = obj["metadata"]
        done = threading.Event()

        def put():
            self.k.objects["argoproj.io/v1alpha1/applications", meta["namespace"], meta["name"]] = obj
            done.set()

        self.loop.call_soon_threadsafe(put)
        assert done.wait(5)

    def patch(self, namespace: str, name: str, resource_version: int, body: dict) -> None:
        """A change as the API server records it: merge-patched, with a newer resourceVersion."""
        body = copy.deepcopy(body)
        body.setdefault("metadata", {})["resourceVersion"] = str(resource_version)
        self.api.patch_namespaced_custom_object(*APPS[:2], namespace, APPS[2], name, body)

    def close(self):
        self.api_client.close()
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


