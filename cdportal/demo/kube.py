"""A Kubernetes API server emulator for the official client: kmock (pinned) in its own thread and
loop, with the behaviours cdportal relies on added (list resourceVersions, watches that resume
after a resourceVersion, 410 Gone for expired ones, optimistic concurrency on writes, pod logs).
The tests use it (tests/kube_stub.py, docs/testing.md §2) and so does `make demo`,
whose simulated Argo CD runs against it (cdportal.demo.cluster).

kmock merges patches but keeps no resourceVersions; the emulator adds what the API server does
with them: a write whose `metadata.resourceVersion` differs from the stored one is answered
409 Conflict, an accepted one gets the next resourceVersion. Checking and applying happen under
one lock, so two clients patching at once from the same read get one 200 and one 409, as they
would from etcd's compare-and-swap. Every write body is recorded (`patches`, `content_types`).

By default each object counts its own resourceVersions (the tests seed fixtures with theirs and
expect the next one). `Kube(cluster_versions=True)` counts them cluster-wide, as etcd does:
every create, update and delete takes the next number, so a watch resumed from a list's
resourceVersion misses no object, whatever its own number was — what a long-running simulated
cluster needs.

kmock is a demo/test extra (`pip install cdportal[demo]`): only the demo and the tests import
this module, never the web app.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import kmock
import yaml
from kmock._internal.enums import action as kaction
from kmock._internal.k8s import KubernetesObjectConflictError
from kubernetes import client

APPS = ("argoproj.io", "v1alpha1", "applications")
KEPT_REQUESTS = 64  # when not recording (the demo): see Emulator._handle and _write
KEPT_VERSIONS = 16
WORKLOADS = {"deployments", "replicasets", "statefulsets", "daemonsets"}


class Emulator(kmock.KubernetesEmulator):
    gone: set[str]  # resourceVersions too old to watch from

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        # kmock has no pod logs: serve GET …/pods/{name}/log (and ?follow=true as a chunked
        # stream that stays open and carries the lines pushed later, like the kubelet does).
        self.pod_logs: dict[tuple[str, str], list[str]] = {}
        self.logs_ended: set[tuple[str, str]] = set()  # pods deleted: their follow streams end
        self.patches: list[dict] = []  # every write body, in the order received
        self.content_types: list[str | None] = []
        self.recording = True  # a long-running demo turns it off: the lists would only grow
        self.revision: int | None = None  # the cluster-wide resourceVersion; None: per object
        self.writes = asyncio.Lock()  # compare-and-swap: check the precondition and apply as one
        self.log_requests: list[dict] = []
        self.log_followers = 0  # follow streams currently open
        self.log_pushed: asyncio.Condition | None = None
        self[kmock.subresource("log")] << (
            lambda request: kmock.Response(
                headers={"Content-Type": "text/plain"}, payload=self._serve_log(request)
            )
        )

    # -- pod logs ---------------------------------------------------------------------------

    async def _serve_log(self, request):
        namespace, name = request.namespace, request.name
        self.log_requests.append({"namespace": namespace, "name": name, **request.params})
        if self.log_pushed is None:
            self.log_pushed = asyncio.Condition()
        lines = self.pod_logs.setdefault((namespace, name), [])
        tail = request.params.get("tailLines")
        start = max(0, len(lines) - int(tail)) if tail else 0
        yield b""  # headers now, even when there is no line yet
        for line in lines[start:]:
            yield line.encode() + b"\n"
        if request.params.get("follow") not in ("true", "1", "True"):
            return
        sent = len(lines)
        ended = (namespace, name)
        self.log_followers += 1
        try:
            while ended not in self.logs_ended:
                async with self.log_pushed:
                    await self.log_pushed.wait_for(
                        lambda sent=sent: len(lines) > sent or ended in self.logs_ended
                    )
                for line in lines[sent:]:
                    yield line.encode() + b"\n"
                sent = len(lines)
        finally:
            self.log_followers -= 1

    async def push_log(self, namespace: str, name: str, lines: list[str]) -> None:
        if self.log_pushed is None:
            self.log_pushed = asyncio.Condition()
        async with self.log_pushed:
            self.pod_logs.setdefault((namespace, name), []).extend(lines)
            self.log_pushed.notify_all()

    async def end_log(self, namespace: str, name: str) -> None:
        """The container stopped: `kubectl logs -f` ends, as the kubelet closes the stream."""
        if self.log_pushed is None:
            self.log_pushed = asyncio.Condition()
        async with self.log_pushed:
            self.logs_ended.add((namespace, name))
            self.log_pushed.notify_all()

    # -- lists and watches ------------------------------------------------------------------

    async def _serve_list(self, request):
        self.lists = getattr(self, "lists", 0) + 1
        d = await super()._serve_list(request)
        resource = request.resource
        info = self.resources.get(resource)
        kind = info.kind if info is not None and info.kind else resource.plural.capitalize()
        d["kind"] = f"{kind}List"
        d["apiVersion"] = (
            f"{resource.group}/{resource.version}" if resource.group else resource.version
        )
        if self.revision is not None:
            listed = self.revision
        else:
            listed = max((_rv(o) for o in d["items"]), default=1)
        d["metadata"] = {"resourceVersion": str(listed)}
        return d

    async def _serve_watch(self, request):
        since = request.params.get("resourceVersion", "")
        self.watches = [*getattr(self, "watches", []), since]
        if since in getattr(self, "gone", set()):
            yield b""
            yield {
                "type": "ERROR",
                "object": {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "code": 410,
                    "reason": "Expired",
                    "message": f"too old resource version: {since}",
                },
            }
            return
        async for event in super()._serve_watch(request):
            if isinstance(event, dict) and since and _rv(event["object"]) <= int(since):
                continue  # a real watch sends only what changed after its resourceVersion
            yield event

    # -- writes -----------------------------------------------------------------------------

    async def _handle(self, request):
        if not self.recording:
            # kmock keeps every request, and matching one against its reactions walks them all:
            # a long-running demo would answer slower and slower. Keep only the recent ones.
            del self._requests[:-KEPT_REQUESTS]
        if request.resource is not None and request.action == kaction.UPDATE and request.name:
            async with self.writes:
                self._precondition(request)
                return await self._write(request)
        deleting = request.action == kaction.DELETE and request.name
        if request.resource is not None and (
            deleting or (self.revision is not None and request.action == kaction.CREATE)
        ):
            async with self.writes:
                self._stamp(request)
                response = await super()._handle(request)
        else:
            response = await super()._handle(request)
        if (
            request.action == kaction.DELETE
            and request.name
            and request.resource is not None
            and request.resource.plural == "pods"
        ):
            await self.end_log(request.namespace, request.name)
        return response

    def _precondition(self, request) -> None:
        """409 for a stale `metadata.resourceVersion`; otherwise the write gets the next one."""
        if self.recording:
            self.patches.append(copy.deepcopy(request.data))
            self.content_types.append(request.headers.get("Content-Type"))
        key = (request.resource, request.namespace, request.name)
        stored = self._objects[key].raw if key in self._objects else {}
        current = _rv(stored)
        sent = ((request.data or {}).get("metadata") or {}).get("resourceVersion")
        if sent and int(sent) != current:
            raise KubernetesObjectConflictError(
                reason="Conflict",
                message=f'Operation cannot be fulfilled on {request.resource.plural} "{request.name}": '
                "the object has been modified; please apply your changes to the latest version "
                "and try again",
            )
        if isinstance(request.data, dict):
            request.data.setdefault("metadata", {})["resourceVersion"] = str(self._next(current))

    def _next(self, current: int) -> int:
        if self.revision is None:
            return current + 1
        self.revision += 1
        return self.revision

    def _stamp(self, request) -> None:
        """What the API server fills in on a create (and the new resourceVersion of a delete)."""
        if request.action == kaction.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            meta["resourceVersion"] = str(self._next(0))
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            if request.resource.plural in WORKLOADS or request.resource.group == APPS[0]:
                meta.setdefault("generation", 1)
            return
        # A deletion is a change too: watchers from the last resourceVersion must receive it.
        key = (request.resource, request.namespace, request.name)
        if key in self._objects and not self._objects[key].deleted:
            current = _rv(self._objects[key].raw)
            self._objects[key].patch({"metadata": {"resourceVersion": str(self._next(current))}})

    async def _write(self, request):
        # A real API server bumps metadata.generation when a workload's spec changes (not on
        # /status): `kubectl rollout status` — and core.updater_deployment.rollout_complete — rely on it.
        data = request.data
        if (
            request.action == kmock.action.UPDATE
            and request.name
            and not request.subresource
            and request.resource is not None
            and request.resource.plural in WORKLOADS
            and isinstance(data, dict)
            and "spec" in data
        ):
            try:
                current = self.objects[request.resource, request.namespace, request.name]
                generation = int(current.get("metadata", {}).get("generation") or 0)
            except (KeyError, TypeError, ValueError):
                generation = None
            if generation is not None:
                data.setdefault("metadata", {})["generation"] = generation + 1
        response = await super()._handle(request)
        if not self.recording:  # the demo: every version of every object would stay in memory
            key = (request.resource, request.namespace, request.name)
            if key in self._objects and len(self._objects[key].history) > KEPT_VERSIONS:
                del self._objects[key].history[:-KEPT_VERSIONS]
        return response


def _rv(obj: dict) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)


class Kube:
    """kmock in its own thread and loop (the sync client would starve the caller's loop)."""

    def __init__(self, *, cluster_versions: bool = False, first_version: int = 48_200_000):
        self.cluster_versions, self.first_version = cluster_versions, first_version
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready, self.loop = threading.Event(), None
        self.thread = threading.Thread(target=self._main, name="kube-emulator", daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "kmock did not start"
        self.api_client = client.ApiClient(client.Configuration(host=self.url))
        self.api = client.CustomObjectsApi(self.api_client)

    def _emulator(self) -> Emulator:
        return Emulator()

    def _main(self):
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        self.stopping = asyncio.Event()
        async with self._emulator() as k, kmock.Server(k, host="127.0.0.1", port=self.port):
            k.resources.load_bundled()
            # The two custom resources an Argo CD + Image Updater v1.x installation serves.
            for resource, kind in (
                ("argoproj.io/v1alpha1/applications", "Application"),
                ("argocd-image-updater.argoproj.io/v1alpha1/imageupdaters", "ImageUpdater"),
            ):
                info = k.resources[resource]
                info.kind, info.singular, info.namespaced = kind, kind.lower(), True
                info.verbs |= {"get", "list", "watch", "create", "update", "patch", "delete"}
            k.gone = set()
            if self.cluster_versions:
                k.revision = self.first_version
            self.k = k
            self.ready.set()
            await self.stopping.wait()

    def seed(self, obj: dict) -> None:
        meta = obj["metadata"]
        done = threading.Event()

        def put():
            self.k.objects["argoproj.io/v1alpha1/applications", meta["namespace"], meta["name"]] = (
                obj
            )
            done.set()

        self.loop.call_soon_threadsafe(put)
        assert done.wait(5)

    def patch(self, namespace: str, name: str, resource_version: int, body: dict) -> None:
        """A change as the API server records it: merge-patched, with a newer resourceVersion."""
        body = copy.deepcopy(body)
        body.setdefault("metadata", {})["resourceVersion"] = str(resource_version)
        resource = "/".join(APPS)

        async def apply():
            async with self.k.writes:
                obj = self.k.objects[resource, namespace, name]
                obj.patch(body)
                await self.k._buses[kmock.resource(*APPS)].put(
                    {"type": "MODIFIED", "object": obj.raw}
                )

        asyncio.run_coroutine_threadsafe(apply(), self.loop).result(5)

    def seed_pod(self, namespace: str, name: str, labels: dict, log: list[str] = ()) -> None:
        """A running pod, and the lines its container has logged so far."""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "resourceVersion": "1",
            },
            "status": {"phase": "Running"},
        }
        done = threading.Event()

        def put():
            self.k.objects["v1/pods", namespace, name] = pod
            self.k.pod_logs[namespace, name] = list(log)
            done.set()

        self.loop.call_soon_threadsafe(put)
        assert done.wait(5)

    def push_log(self, namespace: str, name: str, *lines: str) -> None:
        """More lines from the container: followers receive them at once."""
        asyncio.run_coroutine_threadsafe(
            self.k.push_log(namespace, name, list(lines)), self.loop
        ).result(5)

    def seed_object(self, resource: str, obj: dict) -> None:
        """Any object (`resource` as "apps/v1/deployments", "v1/pods", "v1/secrets", ...)."""
        meta = obj["metadata"]
        done = threading.Event()

        def put():
            self.k.objects[resource, meta["namespace"], meta["name"]] = obj
            done.set()

        self.loop.call_soon_threadsafe(put)
        assert done.wait(5)

    def kubeconfig(self, directory: Path) -> str:
        """A kubeconfig file pointing at this emulator (for code that reads KUBECONFIG)."""
        path = Path(directory) / "kubeconfig"
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "emulator",
                    "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
                    "users": [{"name": "cdportal", "user": {"token": "t"}}],
                    "contexts": [
                        {"name": "emulator", "context": {"cluster": "emulator", "user": "cdportal"}}
                    ],
                }
            )
        )
        return str(path)

    def close(self):
        self.api_client.close()
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
