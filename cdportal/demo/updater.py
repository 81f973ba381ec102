"""A simulated Argo CD Image Updater (v1 install) in the emulated cluster, with the part of the
Kubernetes deployment controller that rolls its Deployment out.

- Its Deployment, ReplicaSet and a Running pod labelled app.kubernetes.io/name=argocd-image-updater,
  linked by ownerReferences (how cdportal.adapters.kubernetes.updater.find discovers it), and the Deployment's
  status kept truthful from its pods. A new pod template — `kubectl rollout restart` sets
  kubectl.kubernetes.io/restartedAt — makes a new ReplicaSet and pod beside the old one (maxSurge
  1, maxUnavailable 0); once the new pod is ready the old one is deleted, and only then does
  `kubectl rollout status` (core.updater_deployment.rollout_complete) say done.
- Its container's log, in the real logrus format (tests/fixtures/argocd/image-updater-logs.txt):
  start-up lines, an update cycle every `cycle_seconds`, and the write-back lines for each new tag.
- The argocd write-back (`write_back`): merge image.name/image.tag into spec.source.helm.parameters
  with the resourceVersion it read (retrying on 409, as the updater's Update does), then the
  core/v1 Event `ImagesUpdated` — docs/argo-cd.md §3.
- The pull secret argocd/ghcr-pull-secret its registry credentials live in.

Pod logs have no write API: lines go straight into the emulator (Kube.push_log), which the log
stream page then reads with `kubectl logs -f` semantics.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cdportal.core import masterminds
from cdportal.core.go_glob import glob_match
from cdportal.core.image_list import IMAGE_LIST
from cdportal.demo import manifests
from cdportal.demo.kube import Kube
from cdportal.demo.manifests import IMAGE, UPDATER_CR, UPDATER_DEPLOYMENT, image_tag, stamp

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
MERGE_PATCH = "application/merge-patch+json"
REGISTRY = IMAGE.split("/", 1)[0]
CONTROLLER_FIELDS = {
    "controller": "imageupdater",
    "controllerGroup": "argocd-image-updater.argoproj.io",
    "controllerKind": "ImageUpdater",
}
_BARE = re.compile(r"^[A-Za-z0-9._/@^+-]+$")  # logrus' needsQuoting: these stay bare


class ImageUpdater:
    def __init__(
        self,
        kube: Kube,
        namespace: str = manifests.NAMESPACE,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cycle_seconds: float = 15.0,
        ready_seconds: float = 3.0,
    ):
        api_client = client.ApiClient(client.Configuration(host=kube.url))
        self.kube, self.namespace, self.clock = kube, namespace, clock
        self.apps, self.core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.cycle_seconds, self.ready_seconds = cycle_seconds, ready_seconds
        self.pod: str | None = None  # the ready pod, whose container writes the log
        self.denied = False  # the registry refuses its credentials (cdportal.demo.breaks)
        self._starting: dict[str, datetime] = {}  # pod -> when its container began to start
        self.next_cycle: datetime | None = None

    def install(self) -> None:
        """The Deployment, rolled out at once (its pod ready), and the registry pull secret."""
        self.apps.create_namespaced_deployment(
            self.namespace, manifests.updater_deployment(self.clock())
        )
        self.core.create_namespaced_secret(self.namespace, manifests.pull_secret(REGISTRY))
        self.custom.create_namespaced_custom_object(
            "argocd-image-updater.argoproj.io",
            "v1alpha1",
            self.namespace,
            "imageupdaters",
            manifests.image_updater_resource(),
        )
        for _ in range(3):  # new ReplicaSet and pod; pod ready; status complete
            self._roll_out(self.clock(), ready_after=0)

    def step(self) -> None:
        now = self.clock()
        self._roll_out(now, ready_after=self.ready_seconds)
        if self.pod and self.next_cycle is not None and now >= self.next_cycle:
            self._cycle(now)

    # -- the deployment controller's share ----------------------------------------------------------

    def _roll_out(self, now: datetime, *, ready_after: float) -> None:
        deployment = self._get(
            self.apps.read_namespaced_deployment, UPDATER_DEPLOYMENT, self.namespace
        )
        pod_hash = manifests.template_hash(deployment["spec"]["template"])
        replicasets = [
            rs
            for rs in self._items(self.apps.list_namespaced_replica_set)
            if _owned_by(rs, deployment)
        ]
        current = next(
            (
                rs
                for rs in replicasets
                if rs["metadata"]["labels"].get("pod-template-hash") == pod_hash
            ),
            None,
        )
        if current is None:
            self._new_replica_set(deployment, pod_hash, replicasets, now)
            return self._roll_out(now, ready_after=ready_after)  # and report it at once
        pods = [
            p
            for p in self._items(self.core.list_namespaced_pod)
            if any(_owned_by(p, rs) for rs in replicasets)
        ]
        new = [p for p in pods if _owned_by(p, current)]
        if deployment["spec"].get("replicas", 1) == 0:  # scaled to 0: every pod goes
            self._scale_to_zero(deployment, current, pods, pod_hash, now)
            return
        if not new:
            self._new_pod(current, now)
            return
        for pod in new:
            # Timestamps are whole seconds: the start is timed from when a pass first saw the pod.
            starting = self._starting.setdefault(pod["metadata"]["name"], now)
            if not manifests.pod_is_ready(pod) and now - starting >= timedelta(seconds=ready_after):
                self.core.patch_namespaced_pod_status(
                    pod["metadata"]["name"],
                    self.namespace,
                    {"status": manifests.pod_ready_status(pod, now)},
                )
                pod["status"] = manifests.pod_ready_status(pod, now)
                self._started(pod["metadata"]["name"], now)
        if any(manifests.pod_is_ready(p) for p in new):
            pods = new + self._scale_down(pods, current, replicasets)
        self._report(deployment, current, pods, pod_hash, now)

    def _new_replica_set(
        self, deployment: dict, pod_hash: str, replicasets: list[dict], now: datetime
    ) -> None:
        revision = 1 + max(
            (
                int(rs["metadata"]["annotations"].get("deployment.kubernetes.io/revision", 0))
                for rs in replicasets
            ),
            default=0,
        )
        replicaset = self._get(
            self.apps.create_namespaced_replica_set,
            self.namespace,
            manifests.replica_set(deployment, pod_hash, revision, now),
        )
        self.apps.patch_namespaced_deployment(
            UPDATER_DEPLOYMENT,
            self.namespace,
            {"metadata": {"annotations": {"deployment.kubernetes.io/revision": str(revision)}}},
        )
        self._new_pod(replicaset, now)

    def _new_pod(self, replicaset: dict, now: datetime) -> None:
        pod = self._get(
            self.core.create_namespaced_pod, self.namespace, manifests.pod(replicaset, now)
        )
        self._starting[pod["metadata"]["name"]] = now
        self.core.patch_namespaced_pod_status(
            pod["metadata"]["name"],
            self.namespace,
            {"status": manifests.pod_pending_status(pod, now)},
        )

    def _scale_to_zero(
        self, deployment: dict, current: dict, pods: list[dict], pod_hash: str, now: datetime
    ) -> None:
        for pod in pods:
            self.core.delete_namespaced_pod(pod["metadata"]["name"], self.namespace)
            self._starting.pop(pod["metadata"]["name"], None)
        self.pod, self.next_cycle = None, None  # its container stopped: no checks, no log
        self._report(deployment, current, [], pod_hash, now)

    def _scale_down(self, pods: list[dict], current: dict, replicasets: list[dict]) -> list[dict]:
        """Delete the old ReplicaSets' pods (their containers stop; their logs end). Returns the
        pods still terminating (none: the emulator deletes at once)."""
        for pod in pods:
            if not _owned_by(pod, current):
                self.core.delete_namespaced_pod(pod["metadata"]["name"], self.namespace)
        for rs in replicasets:
            if rs is not current and (rs.get("spec") or {}).get("replicas"):
                name = rs["metadata"]["name"]
                self.apps.patch_namespaced_replica_set(
                    name, self.namespace, {"spec": {"replicas": 0}}
                )
                self.apps.patch_namespaced_replica_set_status(
                    name,
                    self.namespace,
                    {"status": {"replicas": 0, "readyReplicas": None, "availableReplicas": None}},
                )
        return []

    def _report(
        self, deployment: dict, current: dict, pods: list[dict], pod_hash: str, now: datetime
    ) -> None:
        """status from the pods, as the deployment controller computes it (written when it changed)."""
        desired = deployment["spec"].get("replicas", 1)
        updated = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == pod_hash]
        ready = [p for p in pods if manifests.pod_is_ready(p)]
        done = len(updated) == desired == len(pods) and all(
            manifests.pod_is_ready(p) for p in updated
        )
        rs_name = current["metadata"]["name"]
        previous = {
            c.get("type"): c for c in (deployment.get("status") or {}).get("conditions") or []
        }
        available = (
            ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if ready
            else (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        )
        progressing = (
            (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
            if done
            else ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        )
        status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(updated),
            "readyReplicas": len(ready),
            "availableReplicas": len(ready),
            "unavailableReplicas": (len(pods) - len(ready)) or None,
            "conditions": [
                _condition("Available", available, previous, now),
                _condition("Progressing", progressing, previous, now),
            ],
        }
        old = deployment.get("status") or {}
        if all(old.get(key) == value for key, value in status.items()):
            return
        self.apps.patch_namespaced_deployment_status(
            UPDATER_DEPLOYMENT, self.namespace, {"status": status}
        )
        self.apps.patch_namespaced_replica_set_status(
            rs_name,
            self.namespace,
            {
                "status": {
                    "replicas": len(updated),
                    "readyReplicas": len([p for p in updated if p in ready]),
                    "availableReplicas": len([p for p in updated if p in ready]),
                    "observedGeneration": 1,
                }
            },
        )

    # -- the updater itself ---------------------------------------------------------------------------

    def _started(self, pod: str, now: datetime) -> None:
        """A new container: its start-up lines, then the first update cycle (it checks every image
        when it starts, which is why on-call restarts it)."""
        self.pod = pod
        setup = {**CONTROLLER_FIELDS, "logger": "controller-setup"}
        cr = {
            **CONTROLLER_FIELDS,
            "imageUpdater_name": UPDATER_CR,
            "imageUpdater_namespace": self.namespace,
            "logger": "warmup-cache",
        }
        self._log(
            now, "info", "Controller runtime logger initialized.", setAppLogLevel="info", **setup
        )
        self._log(
            now,
            "info",
            "starting",
            app="argocd-image-updater: v1.3.0+3f9c1d2",
            healthPort=":8081",
            interval=f"{self.cycle_seconds:g}s",
            loglevel="INFO",
            **setup,
        )
        self._log(now, "info", "starting manager", **setup)
        self._log(now, "info", "Starting Controller", **CONTROLLER_FIELDS)
        self._log(
            now,
            "info",
            "Finished cache warm-up for CR. Pre-loaded 31 meta data entries from 1 registries",
            **cr,
        )
        self._log(
            now,
            "info",
            "Finished cache warm-up.",
            **{**CONTROLLER_FIELDS, "logger": "warmup-cache"},
        )
        self.next_cycle = now + timedelta(seconds=min(2.0, self.cycle_seconds))

    def _cycle(self, now: datetime) -> None:
        """A periodic check: nothing to update (the runner brings new tags through write_back)."""
        apps = self._items(
            lambda ns, **kw: self.custom.list_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, **kw
            )
        )
        self._log(
            now,
            "info",
            f"Starting image update cycle, considering {len(apps)} application(s) for update",
            **self._cr(),
        )
        if self.denied:
            return self._denied(now, apps)
        for app in apps:
            tag = image_tag(app["spec"]["source"])
            live = ((app.get("status") or {}).get("summary") or {}).get("images") or []
            if (
                f"{IMAGE}:{tag}" not in live
            ):  # written, not yet running: the rollback / manual-sync case
                self._log(
                    now,
                    "info",
                    f"New image {IMAGE}:{tag} already set in spec",
                    **self._image(app, tag),
                )
        self._results(now, len(apps), updated=0)

    def write_back(self, application: str, new_tag: str) -> bool:
        """The updater found `new_tag` for `application`: argocd write-back, then the Event.
        False when the spec already has it, or the updater cannot (it is not running, the
        registry refuses it, the application's policy rejects the tag)."""
        now = self.clock()
        if self.pod is None:
            return False  # not running: nobody checks the registry
        apps = self._items(
            lambda ns, **kw: self.custom.list_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, **kw
            )
        )
        self._log(
            now,
            "info",
            f"Starting image update cycle, considering {len(apps)} application(s) for update",
            **self._cr(),
        )
        if self.denied:
            self._denied(now, apps)
            return False
        for _ in range(5):  # retry on conflict, as the updater's UpdateSpec does
            app = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, application
            )
            old_tag = image_tag(app["spec"]["source"])
            fields = self._image(app, old_tag)
            if not (self._selects(application) and _allowed(app, new_tag)):
                # not one of its ImageUpdater's applications, or its constraint keeps it
                self._results(now, len(apps), updated=0)
                return False
            if old_tag == new_tag:
                self._log(now, "info", f"New image {IMAGE}:{new_tag} already set in spec", **fields)
                self._results(now, len(apps), updated=0)
                return False
            self._log(now, "info", f"Setting new image to {IMAGE}:{new_tag}", **fields)
            self._log(
                now,
                "info",
                f"Successfully updated image '{IMAGE}:{old_tag}' to '{IMAGE}:{new_tag}', but "
                "pending spec update (dry run=false)",
                **fields,
            )
            self._log(
                now,
                "info",
                f"Committing 1 parameter update(s) for application {application}",
                **self._app_fields(app),
            )
            # A merge patch carrying the resourceVersion read: the same precondition as the
            # updater's full Update (PUT), which the emulator does not serve.
            change = {
                "metadata": {"resourceVersion": app["metadata"]["resourceVersion"]},
                "spec": {"source": manifests.with_tag(app["spec"]["source"], new_tag)},
            }
            try:
                written = self.custom.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    application,
                    change,
                    _content_type=MERGE_PATCH,
                )
                break
            except ApiException as e:
                if e.status != 409:
                    raise
        else:
            self._log(
                now,
                "error",
                f"Could not update application spec: conflict on {application}",
                **self._app_fields(app),
            )
            self._results(now, len(apps), updated=0, errors=1)
            return False
        self._log(
            now,
            "info",
            f"Successfully updated application spec for {application}",
            **self._app_fields(app),
        )
        self._log(
            now, "info", "Successfully updated the live application spec", **self._app_fields(app)
        )
        self.core.create_namespaced_event(
            self.namespace, manifests.images_updated_event(written, old_tag, new_tag, now)
        )
        self._results(now, len(apps), updated=1)
        return True

    def _selects(self, application: str) -> bool:
        """Its ImageUpdater resource's applicationRefs name `application` (a namePattern glob)."""
        resource = self._get(
            self.custom.get_namespaced_custom_object,
            "argocd-image-updater.argoproj.io",
            "v1alpha1",
            self.namespace,
            "imageupdaters",
            UPDATER_CR,
        )
        refs = (resource.get("spec") or {}).get("applicationRefs") or []
        return any(glob_match(ref.get("namePattern", ""), application) for ref in refs)

    def _denied(self, now: datetime, apps: list[dict]) -> None:
        """The registry answers 401 to its tag list, for every application (as in
        tests/fixtures/argocd/image-updater-logs.txt), and the cycle ends with the errors."""
        for app in apps:
            self._log(
                now,
                "error",
                f'Could not get tags from registry: Get "https://{REGISTRY}/v2/'
                f'{IMAGE.split("/", 1)[1]}/tags/list": unauthorized',
                **self._image(app, image_tag(app["spec"]["source"])),
            )
        self._results(now, len(apps), updated=0, errors=len(apps))

    def _results(self, now: datetime, apps: int, *, updated: int, errors: int = 0) -> None:
        self._log(
            now,
            "info",
            f"Processing results: applications={apps} images_considered={apps} "
            f"images_skipped=0 images_updated={updated} errors={errors}",
            **self._cr(),
        )
        self._log(
            now, "info", f"Finish Reconciliation for CR {self.namespace}/{UPDATER_CR}", **self._cr()
        )
        self.next_cycle = now + timedelta(seconds=self.cycle_seconds)

    # -- log lines ----------------------------------------------------------------------------------

    def _cr(self) -> dict:
        return {
            **CONTROLLER_FIELDS,
            "imageUpdater_name": UPDATER_CR,
            "imageUpdater_namespace": self.namespace,
            "logger": "reconcile",
        }

    def _app_fields(self, app: dict) -> dict:
        return {"application": f"{self.namespace}/{app['metadata']['name']}", **self._cr()}

    def _image(self, app: dict, tag: str) -> dict:
        fields = self._app_fields(app)
        logger = fields.pop("logger")
        return {
            **fields,
            "image_alias": "controller",
            "image_name": IMAGE,
            "image_registry": REGISTRY,
            "image_tag": tag,
            "logger": logger,
        }

    def _log(self, now: datetime, level: str, message: str, **fields) -> None:
        if self.pod is None:
            return  # no container running: nothing is logged
        # logrus' text format: time, level, msg, then the fields in byte order, as logrus sorts them.
        parts = [f'time="{stamp(now)}"', f"level={level}", f"msg={_quote(message)}"]
        parts += [f"{key}={_quote(str(fields[key]))}" for key in sorted(fields)]
        self.kube.push_log(self.namespace, self.pod, " ".join(parts))

    # -- API helpers ----------------------------------------------------------------------------------

    def _items(self, lister) -> list[dict]:
        return self._get(lister, self.namespace).get("items") or []

    @staticmethod
    def _get(fn, *args) -> dict:
        """Plain JSON, as the API server sends it (the model objects would rename the fields)."""
        return json.loads(fn(*args, _preload_content=False).data)


def _allowed(app: dict, tag: str) -> bool:
    """The version constraint of the application's image-list (`alias=image:constraint`)
    admits `tag`; no constraint admits every version."""
    listed = (app["metadata"].get("annotations") or {}).get(IMAGE_LIST, "")
    _, _, reference = listed.partition("=")
    constraint = reference.removeprefix(IMAGE).removeprefix(":")
    version = masterminds.try_version(tag)
    if not constraint or version is None:
        return True
    return masterminds.parse_constraint(constraint).check(version)


def _owned_by(obj: dict, owner: dict) -> bool:
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def _condition(kind: str, value: tuple[str, str, str], previous: dict, now: datetime) -> dict:
    status, reason, message = value
    before = previous.get(kind) or {}
    same = (
        before.get("status") == status
        and before.get("reason") == reason
        and before.get("message") == message
    )
    changed_status = before.get("status") != status
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": before.get("lastUpdateTime", stamp(now)) if same else stamp(now),
        "lastTransitionTime": before.get("lastTransitionTime", stamp(now))
        if not changed_status
        else stamp(now),
    }


def _quote(value: str) -> str:
    return value if _BARE.match(value) else json.dumps(value)
