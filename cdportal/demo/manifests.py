"""The objects of the simulated Argo CD installation, shaped like the real ones (the fixtures in
tests/fixtures/argocd: 01-controller-synced-healthy.yaml, image-updater-deployment.yaml,
image-updater-events.yaml; docs/argo-cd.md §1 and §3).

Plain dicts as the API server stores them; the controllers in cdportal.demo.controller and
cdportal.demo.updater change them through the API like the real controllers do.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import uuid
from datetime import datetime

from cdportal.demo.simulator import GITHUB, IMAGE, POLICY

NAMESPACE = "argocd"
PROJECT = "platform"
# The gitops branch the charts live on: argocd write-back changes the spec, not git, so every
# image bump syncs the same revision with another image.tag (history shows it alike).
GITOPS_REVISION = hashlib.sha1(b"5dlabs/cto infra/charts main").hexdigest()
CHART_PATH = "infra/charts/controller"
WORKLOAD = "apps/Deployment/controller"
UPDATER_DEPLOYMENT = "argocd-image-updater-controller"
UPDATER_IMAGE = "quay.io/argoprojlabs/argocd-image-updater:v1.3.0"
UPDATER_IMAGE_ID = (
    "quay.io/argoprojlabs/argocd-image-updater@sha256:"
    "5b1c7e9d0a3f4e2b8c6d9a1f0e3b7c5d2a4f6e8b0c1d3e5f7a9b2c4d6e8f0a1b"
)
UPDATER_CR = "cto-controller"  # the ImageUpdater CR its log lines name
PULL_SECRET = "ghcr-pull-secret"  # what the updater page's credentials check asks for by default
HISTORY_LIMIT = 10  # spec.revisionHistoryLimit's default


def stamp(moment: datetime) -> str:
    """RFC 3339 in seconds, as Argo CD and Kubernetes write their timestamps."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def environment(app: str) -> str:
    return app.rsplit("-", 1)[1] if app.endswith(("-dev", "-staging")) else "production"


# --- Applications -------------------------------------------------------------------------------


def source(app: str, tag: str) -> dict:
    """spec.source with the updater's write-back parameters (image.name is written too)."""
    env = environment(app)
    return {
        "repoURL": GITHUB,
        "path": CHART_PATH,
        "targetRevision": "main",
        "helm": {
            "valueFiles": ["values.yaml", f"values-{env}.yaml"],
            "parameters": [
                {"name": "image.name", "value": IMAGE, "forceString": True},
                {"name": "image.tag", "value": tag, "forceString": True},
            ],
        },
    }


def image_tag(src: dict) -> str:
    for parameter in (src.get("helm") or {}).get("parameters") or []:
        if parameter.get("name") == "image.tag":
            return str(parameter.get("value", ""))
    return ""


def with_tag(src: dict, tag: str) -> dict:
    """`src` with image.name and image.tag merged in, as the updater's SetHelmImage does."""
    src = copy.deepcopy(src)
    parameters = [
        p
        for p in src.setdefault("helm", {}).get("parameters") or []
        if p.get("name") not in ("image.name", "image.tag")
    ]
    src["helm"]["parameters"] = [
        *parameters,
        {"name": "image.name", "value": IMAGE, "forceString": True},
        {"name": "image.tag", "value": tag, "forceString": True},
    ]
    return src


def destination(app: str) -> dict:
    env = environment(app)
    return {
        "server": "https://kubernetes.default.svc",
        "namespace": "cto" if env == "production" else f"cto-{env}",
    }


def synced_resources(app: str, tag: str) -> list[dict]:
    """operationState.syncResult.resources of a sync that deployed `tag`."""
    ns = destination(app)["namespace"]
    common = {"hookPhase": "Running", "namespace": ns, "status": "Synced", "syncPhase": "Sync"}
    return [
        {
            **common,
            "group": "",
            "version": "v1",
            "kind": "ServiceAccount",
            "name": "controller",
            "message": "serviceaccount/controller unchanged",
        },
        {
            **common,
            "group": "",
            "version": "v1",
            "kind": "ConfigMap",
            "name": "controller-config",
            "message": "configmap/controller-config unchanged",
        },
        {
            **common,
            "group": "",
            "version": "v1",
            "kind": "Service",
            "name": "controller",
            "message": "service/controller unchanged",
        },
        {
            **common,
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "name": "controller",
            "message": "deployment.apps/controller configured",
            "images": [f"{IMAGE}:{tag}"],
        },
    ]


def application(app: str, tag: str, now: datetime) -> dict:
    """An Application that last synced `tag` automatically and is Synced and Healthy."""
    src, at = source(app, tag), stamp(now)
    sync_policy = {
        "automated": {"prune": True, "selfHeal": True},
        "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
        "syncOptions": ["CreateNamespace=true"],
    }
    operation = {
        "initiatedBy": {"automated": True},
        "retry": copy.deepcopy(sync_policy["retry"]),
        "sync": {
            "prune": True,
            "revision": GITOPS_REVISION,
            "source": copy.deepcopy(src),
            "syncOptions": ["CreateNamespace=true"],
        },
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": app,
            "namespace": NAMESPACE,
            "annotations": dict(POLICY),
            "labels": {"app.kubernetes.io/part-of": "cto", "environment": environment(app)},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": PROJECT,
            "source": src,
            "destination": destination(app),
            "syncPolicy": sync_policy,
        },
        "status": {
            "controllerNamespace": NAMESPACE,
            "health": {"status": "Healthy", "lastTransitionTime": at},
            "history": [history_entry(1, src, at, at, {"automated": True})],
            "operationState": {
                "operation": operation,
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "startedAt": at,
                "finishedAt": at,
                "syncResult": {
                    "revision": GITOPS_REVISION,
                    "source": copy.deepcopy(src),
                    "resources": synced_resources(app, tag),
                },
            },
            "reconciledAt": at,
            "resourceHealthSource": "appTree",
            "resources": [
                {
                    "group": r["group"],
                    "version": r["version"],
                    "kind": r["kind"],
                    "namespace": r["namespace"],
                    "name": r["name"],
                    "status": "Synced",
                }
                for r in synced_resources(app, tag)
            ],
            "sourceHydrator": {},
            "sourceType": "Helm",
            "summary": {"images": [f"{IMAGE}:{tag}"]},
            "sync": {
                "status": "Synced",
                "revision": GITOPS_REVISION,
                "comparedTo": {"source": copy.deepcopy(src), "destination": destination(app)},
            },
        },
    }


def history_entry(number: int, src: dict, started: str, deployed: str, initiated_by: dict) -> dict:
    return {
        "id": number,
        "revision": GITOPS_REVISION,
        "source": copy.deepcopy(src),
        "deployStartedAt": started,
        "deployedAt": deployed,
        "initiatedBy": copy.deepcopy(initiated_by),
    }


# --- the Image Updater ---------------------------------------------------------------------------


POD_LABELS = {"app.kubernetes.io/name": "argocd-image-updater", "control-plane": UPDATER_DEPLOYMENT}


def image_updater_resource() -> dict:
    """What a v1.x updater reads: an ImageUpdater selecting the demo's Applications and taking
    their image policy from their annotations (as the 5dlabs fixture does)."""
    return {
        "apiVersion": "argocd-image-updater.argoproj.io/v1alpha1",
        "kind": "ImageUpdater",
        "metadata": {"name": UPDATER_CR, "namespace": NAMESPACE},
        "spec": {"applicationRefs": [{"namePattern": "cto-controller*", "useAnnotations": True}]},
    }


def updater_deployment(now: datetime) -> dict:
    """The v1 install (config/install.yaml): Deployment argocd-image-updater-controller, pods
    labelled app.kubernetes.io/name=argocd-image-updater. Its status starts empty: the simulated
    deployment controller fills it in from the pods, as the real one does."""
    container = {
        "name": UPDATER_DEPLOYMENT,
        "image": UPDATER_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--metrics-bind-address=:8443", "run"],
        "env": [
            {
                "name": name,
                "valueFrom": {
                    "configMapKeyRef": {
                        "key": key,
                        "name": "argocd-image-updater-config",
                        "optional": True,
                    }
                },
            }
            for name, key in (
                ("ARGOCD_NAMESPACE", "argocd.namespace"),
                ("IMAGE_UPDATER_INTERVAL", "interval"),
                ("IMAGE_UPDATER_LOGLEVEL", "log.level"),
                ("IMAGE_UPDATER_KUBE_EVENTS", "kube.events"),
            )
        ],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": 8081, "scheme": "HTTP"},
            "initialDelaySeconds": 15,
            "periodSeconds": 20,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": 8081, "scheme": "HTTP"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
        },
        "ports": [{"containerPort": 8443, "name": "metrics", "protocol": "TCP"}],
        "volumeMounts": [
            {"mountPath": "/app/config", "name": "image-updater-conf"},
            {"mountPath": "/tmp", "name": "tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": UPDATER_DEPLOYMENT,
            "namespace": NAMESPACE,
            "uid": str(uuid.uuid4()),
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "labels": {
                "app.kubernetes.io/managed-by": "kustomize",
                "app.kubernetes.io/name": UPDATER_DEPLOYMENT,
                "control-plane": UPDATER_DEPLOYMENT,
            },
            "creationTimestamp": stamp(now),
        },
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"control-plane": UPDATER_DEPLOYMENT}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/default-container": UPDATER_DEPLOYMENT},
                    "labels": dict(POD_LABELS),
                },
                "spec": {
                    "containers": [container],
                    "serviceAccountName": "argocd-image-updater-controller",
                    "securityContext": {"runAsNonRoot": True},
                    "volumes": [
                        {
                            "name": "image-updater-conf",
                            "configMap": {"name": "argocd-image-updater-config", "optional": True},
                        },
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
        "status": {},
    }


SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.SafeEncodeString


def template_hash(template: dict) -> str:
    """The pod-template-hash label: a hash of the pod template, in Kubernetes' safe alphabet."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in digest[:10])


def replica_set(deployment: dict, pod_hash: str, revision: int, now: datetime) -> dict:
    meta = deployment["metadata"]
    template = copy.deepcopy(deployment["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = pod_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "uid": str(uuid.uuid4()),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": "1",
                "deployment.kubernetes.io/revision": str(revision),
            },
            "ownerReferences": [_owner(deployment)],
            "creationTimestamp": stamp(now),
        },
        "spec": {
            "replicas": 1,
            "selector": {
                "matchLabels": {
                    **deployment["spec"]["selector"]["matchLabels"],
                    "pod-template-hash": pod_hash,
                }
            },
            "template": template,
        },
        "status": {"replicas": 0, "observedGeneration": 1},
    }


def pod(replicaset: dict, now: datetime) -> dict:
    """A new pod of `replicaset` as the ReplicaSet controller creates it (no status yet)."""
    meta = replicaset["metadata"]
    suffix = "".join(secrets.choice(SAFE_ALPHABET) for _ in range(5))
    template = replicaset["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{meta['name']}-{suffix}",
            "namespace": meta["namespace"],
            "uid": str(uuid.uuid4()),
            "labels": dict(template["metadata"]["labels"]),
            "annotations": dict(template["metadata"].get("annotations") or {}),
            "ownerReferences": [_owner(replicaset)],
            "creationTimestamp": stamp(now),
        },
        "spec": copy.deepcopy(template["spec"]),
    }


def pod_pending_status(pod_obj: dict, now: datetime) -> dict:
    """Scheduled, its container being created (what the scheduler and kubelet report first)."""
    container = pod_obj["spec"]["containers"][0]
    return {
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp(now)},
            {
                "type": "Ready",
                "status": "False",
                "reason": "ContainersNotReady",
                "lastTransitionTime": stamp(now),
            },
        ],
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
        ],
    }


def pod_ready_status(pod_obj: dict, now: datetime) -> dict:
    container = pod_obj["spec"]["containers"][0]
    at = stamp(now)
    return {
        "phase": "Running",
        "podIP": "10.42.0.17",
        "startTime": at,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": at},
            {"type": "Initialized", "status": "True", "lastTransitionTime": at},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": at},
            {"type": "Ready", "status": "True", "lastTransitionTime": at},
        ],
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": UPDATER_IMAGE_ID,
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": at}},
            }
        ],
    }


def pod_is_ready(pod_obj: dict) -> bool:
    conditions = (pod_obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _owner(obj: dict) -> dict:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pull_secret(registry: str = "ghcr.io") -> dict:
    """A kubernetes.io/dockerconfigjson secret for the registry (a made-up token: it exists so
    the credentials check has something real to read; the registry is not reachable anyway)."""
    auth = base64.b64encode(b"5dlabs-bot:ghp_demoDemoDemoDemoDemoDemoDemoDemo0000").decode()
    config = {"auths": {registry: {"auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": PULL_SECRET, "namespace": NAMESPACE},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


def images_updated_event(app: dict, old_tag: str, new_tag: str, now: datetime) -> dict:
    """The core/v1 Event the updater records after an argocd write-back (pkg/kube/kubernetes.go)."""
    meta, at = app["metadata"], stamp(now)
    name = meta["name"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name}.{secrets.token_hex(8)}",
            "namespace": meta["namespace"],
            "annotations": {
                "argocd-image-updater.image-0/full-image-name": IMAGE,
                "argocd-image-updater.image-0/image-name": IMAGE.split("/", 1)[1],
                "argocd-image-updater.image-0/old-tag": old_tag,
                "argocd-image-updater.image-0/new-tag": new_tag,
            },
        },
        "involvedObject": {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "name": name,
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": "ImagesUpdated",
        "message": f"Successfully updated application '{name}'",
        "source": {"component": "ArgocdImageUpdater"},
        "type": "Normal",
        "count": 1,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    }
