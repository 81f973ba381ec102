"""Argo CD Image Updater in the cluster: find its Deployment, show it, restart it as
`kubectl rollout restart` does, follow the rollout as `kubectl rollout status` does, and check the
registry pull secret its policy names.

The decisions (which Deployment, what to patch, when a rollout is done, whether a secret is
usable) are core.updater_deployment's and core.pull_secret's; this module only reads and writes
the Kubernetes API (and asks the registry for a token). Objects are handled as plain JSON dicts, as the API server sends them.

References: kubectl `polymorphichelpers/objectrestarter.go` (restart), `rollout_status.go`
(status); argocd-image-updater docs/basics/authentication.md (`pullsecret:`, `secret:` forms).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple

from kubernetes import client

from cdportal.adapters.errors import AdapterError, NotFound
from cdportal.adapters.kubernetes.errors import CLIENT_ERRORS, api_error
from cdportal.adapters.registry.client import Credentials, RegistryClient
from cdportal.adapters.registry.errors import RegistryError
from cdportal.core import pull_secret, updater_deployment
from cdportal.core.credentials import CredentialReferenceError, parse_credential_reference, shape
from cdportal.core.events import UpdaterDeploymentObserved, parse_event

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
REQUEST_TIMEOUT = 10.0  # seconds per call to the API server
CHECK_REPOSITORY = "cdportal/credentials-check"
# host[:port] as docker keys registries (IPv6 in brackets): what a check may be sent to.
_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$")


def _call(what: str, fn, *args, **kwargs):
    """One API call, its JSON body as a dict; errors typed by kubernetes.errors, in the server's words.
    An API server that does not answer within REQUEST_TIMEOUT fails the call: an on-call action
    must end with a message, not hang."""
    try:
        response = fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        return json.loads(response.data)
    except CLIENT_ERRORS as e:
        raise api_error(e, what, timeout=REQUEST_TIMEOUT) from None


# --- find and show ------------------------------------------------------------------------------


def find(api_client: client.ApiClient, namespace: str, name: str | None = None) -> dict | None:
    """The updater's Deployment in `namespace` (a configured `name` wins), or None."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    where = f"in namespace {namespace}"
    deployments = _call(f"listing deployments {where}", apps.list_namespaced_deployment, namespace)
    if name:
        return updater_deployment.find_updater_deployment(
            deployments.get("items") or [], [], name=name
        )
    label = "=".join(updater_deployment.UPDATER_POD_LABEL)
    pods = _call(f"listing pods {where}", core.list_namespaced_pod, namespace, label_selector=label)
    replicasets = _call(f"listing replicasets {where}", apps.list_namespaced_replica_set, namespace)
    return updater_deployment.find_updater_deployment(
        deployments.get("items") or [],
        pods.get("items") or [],
        replicasets=replicasets.get("items") or [],
    )


def _container(deployment: dict) -> dict:
    template = (deployment.get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or [{}]
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    wanted = annotations.get("kubectl.kubernetes.io/default-container")
    return next((c for c in containers if c.get("name") == wanted), containers[0])


def image_version(image: str) -> str:
    """The tag of `registry/repo:tag[@digest]` ('' when there is none)."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def status(deployment: dict) -> dict:
    meta = deployment.get("metadata") or {}
    spec, state = deployment.get("spec") or {}, deployment.get("status") or {}
    image = _container(deployment).get("image", "")
    done, message = updater_deployment.rollout_complete(deployment)
    annotations = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
    return {
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
        "image": image,
        "version": image_version(image),
        "replicas_desired": spec.get("replicas", 1) if spec.get("replicas") is not None else 1,
        "replicas_ready": state.get("readyReplicas", 0),
        "replicas_updated": state.get("updatedReplicas", 0),
        "replicas_available": state.get("availableReplicas", 0),
        "paused": bool(spec.get("paused")),
        "restarted_at": annotations.get(updater_deployment.RESTARTED_AT_ANNOTATION, ""),
        "rollout_complete": done,
        "rollout_message": message,
    }


def deployment_event(deployment: dict, *, observed_at: datetime) -> dict:
    """The ``updater_deployment`` event for the updater's Deployment as the API returned it:
    one per resourceVersion, so the list and the watch seeing the same object record it once."""
    meta = deployment.get("metadata") or {}
    fields = status(deployment)
    event = {
        "kind": "updater_deployment",
        "source": "kubernetes",
        "source_id": f"{meta.get('namespace', '')}/{meta.get('name', '')}@{meta.get('resourceVersion', '')}",
        "occurred_at": observed_at.isoformat(),
        **{key: fields[key] for key in EVENT_FIELDS},
    }
    event["rollout_message"] = event["rollout_message"][:20_000]
    return parse_event(event).model_dump(mode="json")


EVENT_FIELDS = ("namespace", "name", *UpdaterDeploymentObserved.STATE)


# --- restart and follow --------------------------------------------------------------------------


def read(api_client: client.ApiClient, namespace: str, name: str) -> dict:
    apps = client.AppsV1Api(api_client)
    return _call(
        f"reading deployment {namespace}/{name}", apps.read_namespaced_deployment, name, namespace
    )


def restart(api_client: client.ApiClient, deployment: dict, now: datetime) -> dict:
    """Set the restartedAt annotation on the pod template; the Deployment as the server returns it.

    Refused (AdapterError, permanent) while the Deployment is paused, as kubectl refuses: the
    annotation would only take effect at `rollout resume`.
    """
    problem = updater_deployment.restart_refusal(deployment)
    if problem:
        raise AdapterError(problem, permanent=True)
    meta = deployment["metadata"]
    apps = client.AppsV1Api(api_client)
    return _call(
        f"restarting deployment {meta['namespace']}/{meta['name']}",
        apps.patch_namespaced_deployment,
        meta["name"],
        meta["namespace"],
        updater_deployment.restart_patch(now),
        _content_type=STRATEGIC_MERGE,
    )


def wait_for_rollout(
    api_client: client.ApiClient,
    namespace: str,
    name: str,
    *,
    timeout: float,
    poll: float = 1.0,
    on_progress: Callable[[dict, str], None] | None = None,
) -> tuple[bool, str, dict]:
    """Re-read the Deployment until `kubectl rollout status` would say it is done — the new
    ReplicaSet's pods updated and available — or until `timeout`. Returns (done, message, last).

    `on_progress(deployment, message)` is called whenever the message changes (and first).
    """
    deadline = time.monotonic() + timeout
    said = None
    while True:
        deployment = read(api_client, namespace, name)
        done, message = updater_deployment.rollout_complete(deployment)
        if message != said and on_progress is not None:
            on_progress(deployment, message)
        said = message
        if done or "exceeded its progress deadline" in message:
            return done, message, deployment
        if time.monotonic() >= deadline:
            return False, f"timed out waiting for the condition: {message}", deployment
        time.sleep(max(0.0, min(poll, deadline - time.monotonic())))


# --- registry credentials ------------------------------------------------------------------------


def parse_reference(reference: str) -> tuple[str, str, str | None]:
    """(namespace, name, field) of `pullsecret:NS/NAME` (field None) or `secret:NS/NAME#FIELD`."""
    try:
        ref = parse_credential_reference((reference or "").strip())
    except CredentialReferenceError:
        ref = None
    if ref is None or not ref.is_secret or ref.registry:
        raise ValueError(
            f"the pull secret reference must be pullsecret:NAMESPACE/NAME or "
            f"secret:NAMESPACE/NAME#FIELD, got {shape(reference or '')!r}"
        )
    return ref.namespace, ref.name, ref.field if ref.kind == "secret" else None


class RegistryNotAllowed(AdapterError):
    """The registry asked for is not one the credentials are for: nothing was sent anywhere."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


class CredentialsCheck(NamedTuple):
    ok: bool
    reason: str
    registry: str  # the host[:port] checked ("" when no registry was contacted)


def check_credentials(
    api_client: client.ApiClient,
    pull_secret_ref: str,
    registry: str = "",
    *,
    configured: Mapping[str, str] | None = None,
) -> CredentialsCheck:
    """Does the secret exist, hold credentials for a registry, and does that registry accept them?

    The credentials only ever go to a registry they are for, and only to its /v2/: for
    `pullsecret:NS/NAME` (kubernetes.io/dockerconfigjson) the registries its `auths` names; for
    `secret:NS/NAME#FIELD` (USERNAME:PASSWORD, the Image Updater's form), which names no registry,
    the hosts `configured` (REGISTRY_CREDENTIALS: {host: reference}) gives that reference. `registry`
    only chooses among those (compared as host[:port]; a scheme or path in it is ignored; blank:
    the only one); any other raises RegistryNotAllowed before anything is sent. The URL is the
    registry's convention (https, http for loopback hosts), never one the caller typed.

    One authenticated request to /v2/ (a token request where the registry uses a token service).
    Reasons name the secret, registry and user at most — never a password or token.
    """
    try:
        namespace, name, field = parse_reference(pull_secret_ref)
    except ValueError as e:
        return CredentialsCheck(False, str(e), "")
    reference = pull_secret_ref.strip()
    wanted = pull_secret.registry_host(registry) if (registry or "").strip() else ""
    if field is not None:  # chosen before the secret is read: the configuration alone decides
        hosts = [host for host, ref in (configured or {}).items() if ref.strip() == reference]
        host = _choose(
            wanted,
            hosts,
            source=f"REGISTRY_CREDENTIALS names {reference} for",
            none=f"REGISTRY_CREDENTIALS names {reference} for no registry, and a secret: "
            "reference is only sent to the registries configured for it",
        )
    core = client.CoreV1Api(api_client)
    try:
        secret = _call(
            f"reading secret {namespace}/{name}", core.read_namespaced_secret, name, namespace
        )
    except NotFound:
        return CredentialsCheck(False, f"secret {namespace}/{name} does not exist", "")
    except AdapterError as e:
        return CredentialsCheck(False, str(e), "")
    if field is None:
        hosts, problem = pull_secret.pull_secret_registries(secret)
        if problem:
            return CredentialsCheck(False, problem, "")
        host = _choose(
            wanted,
            hosts,
            source=f"secret {namespace}/{name} has entries for",
            none=f"secret {namespace}/{name} names no registry cdportal can contact",
        )
        ok, reason = pull_secret.check_pull_secret(secret, host)
        if not ok:
            return CredentialsCheck(False, reason, host)
        username, password = pull_secret.pull_secret_credentials(secret, host)
    else:
        raw = (secret.get("data") or {}).get(field)
        if raw is None:
            return CredentialsCheck(False, f"secret {namespace}/{name} has no field {field}", host)
        try:
            value = base64.b64decode(raw, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return CredentialsCheck(
                False, f"secret {namespace}/{name}: field {field} is not valid base64 text", host
            )
        if _is_docker_config(
            value
        ):  # "USERNAME:PASSWORD" would be the whole file, sent as Basic auth
            return CredentialsCheck(
                False,
                f"secret {namespace}/{name}: field {field} holds a dockerconfigjson: "
                f"use pullsecret:{namespace}/{name}",
                host,
            )
        username, sep, password = value.strip().partition(":")
        if not sep or not username or not password:
            return CredentialsCheck(
                False, f"secret {namespace}/{name}: field {field} must hold USERNAME:PASSWORD", host
            )
        reason = f"secret {namespace}/{name} has credentials in {field}"
    return _try_registry(host, Credentials(username, password), reason)


def _choose(wanted: str, hosts, *, source: str, none: str) -> str:
    """The registry to check: `wanted` when it is one of `hosts`, the only one when none is wanted;
    RegistryNotAllowed otherwise. `source` says who names the hosts ("secret argocd/x has entries
    for"), `none` what to say when there is none. Hosts that are not plain host[:port] are never
    contacted (no path, query or user can ride along)."""
    allowed = sorted(
        {host for host in map(pull_secret.registry_host, hosts) if _HOST_RE.match(host)}
    )
    if wanted in allowed:
        return wanted
    if not wanted and len(allowed) == 1:
        return allowed[0]
    listed = ", ".join(allowed)
    if not allowed:
        problem = none
    elif wanted:
        problem = f"{source} {listed} only, not {wanted}"
    else:
        problem = f"{source} {listed}: name one of {listed}"
    raise RegistryNotAllowed(f"{problem}. Nothing was sent.")


def _is_docker_config(value: str) -> bool:
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "auths" in parsed


def _try_registry(host: str, credentials: Credentials, reason: str) -> CredentialsCheck:
    try:
        with RegistryClient(
            host, credentials=credentials, retries=1, max_rps=None
        ) as registry_client:
            _ping(registry_client)
    except ValueError as e:
        return CredentialsCheck(False, f"{reason}, but the registry is not usable: {e}", host)
    except RegistryError as e:
        return CredentialsCheck(False, f"{reason}, but {_scrub(str(e), credentials)}", host)
    return CredentialsCheck(True, f"{reason}, and {registry_client.host} accepted them", host)


def _ping(registry_client: RegistryClient) -> None:
    """An authenticated GET /v2/, as `docker login` does: the registry challenges, the client
    answers with Basic credentials or asks the token service for a token with them."""
    # RegistryClient asks tokens per repository scope; any repository name does for a login check
    # (a token service answers 401 for wrong credentials whatever the scope).
    url = f"{registry_client.base_url}/v2/"
    what = f"checking credentials against {registry_client.host}"
    response = registry_client._request("GET", url, repository=CHECK_REPOSITORY, what=what)
    registry_client._raise_for(response, what, repository=CHECK_REPOSITORY)


def _scrub(text: str, credentials: Credentials) -> str:
    """RegistryClient names the user; the check names neither user nor password."""
    if credentials.password:
        text = text.replace(credentials.password, "***")
    return text.replace(repr(credentials.username), "the secret's user")
