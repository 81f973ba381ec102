"""Operators' actions on the Argo CD Image Updater: the seed's "Force Image Updater to check now"
(`kubectl rollout restart deployment argocd-image-updater -n argocd`), followed to the end as
`kubectl rollout status` would. The updater checks every image when it starts, so the restart is
only done when the new pod is ready; the Action stays running until then. And the registry
credentials check: it sends a pull secret's credentials to a registry, so it is an operator's
action too, recorded like the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from cdportal.adapters import updater
from cdportal.adapters.errors import AdapterError
from cdportal.adapters.kubernetes import kube_client
from cdportal.core import pull_secret, updater_deployment
from cdportal.live import broadcast
from cdportal.pipeline.actions import ActionRefused, Pending, perform
from cdportal.pipeline.models import Action

log = logging.getLogger(__name__)

PERMISSION = "pipeline.restart_updater"
CHECK_PERMISSION = "pipeline.check_registry_credentials"


def namespace() -> str:
    return settings.UPDATER_NAMESPACE or settings.ARGOCD_NAMESPACES[0]


def configured_name() -> str | None:
    return settings.UPDATER_DEPLOYMENT or None


def rollout_timeout() -> float:
    return float(settings.UPDATER_ROLLOUT_TIMEOUT)


def client():
    return kube_client(settings.KUBECONFIG or None, settings.KUBE_CONTEXT or None)


def current(api_client=None) -> dict | None:
    """The updater's Deployment as the cluster has it now (None: not found). Raises AdapterError."""
    return updater.find(api_client or client(), namespace(), configured_name())


def describe_restart(deployment: dict) -> str:
    meta = deployment["metadata"]
    return (f"set kubectl.kubernetes.io/restartedAt on {meta['namespace']}/{meta['name']}'s pod template; "
            "the updater checks every image at start")


def push_status(deployment: dict | None, *, action: Action | None = None, message: str = "") -> None:
    """The viewer-neutral status partial, to every open updater page."""
    html = render_to_string("web/updater.html#updater-status", {
        "status": updater.status(deployment) if deployment else None,
        "last_restart": action or (latest_restart(*_key(deployment)) if deployment else None),
        "progress": message, "oob": True,
    })
    broadcast.publish_fragment(broadcast.UPDATER, "updater-status", html)


def restart_updater(*, by, idempotency_key: str = "", api_client=None, timeout: float | None = None,
                    poll: float = 1.0, wait: bool = True) -> Action:
    """Restart the updater's Deployment and follow the rollout: the Action succeeds only once
    the new ReplicaSet's pods are updated and available; on timeout it fails with kubectl's
    message. Refused before anything is written when the updater cannot be found.

    wait=False (the page and the API) returns as soon as the restart is requested, with the
    Action still running; a background thread follows the rollout, pushes its progress to the
    page and finishes the Action."""
    if not by.has_perm(PERMISSION):
        raise ActionRefused(f"{by.get_username()} may not do this: it needs the {PERMISSION} permission",
                            status=403)
    api = api_client or client()
    try:
        deployment = updater.find(api, namespace(), configured_name())
    except AdapterError as e:
        raise ActionRefused(f"cannot find the Image Updater: {e}", status=502) from None
    if deployment is None:
        raise ActionRefused(f"no argocd-image-updater Deployment in namespace {namespace()}", status=404)
    # An earlier restart nobody finished (its follower gone, no watcher) would block this one:
    # settle it from what the Deployment shows now.
    settle_restarts(updater.status(deployment))
    meta = deployment["metadata"]
    target = f"{meta['namespace']}/{meta['name']}"
    now = timezone.now()
    stamp = updater_deployment.restart_stamp(now)

    def follow() -> str:
        done, message, _ = updater.wait_for_rollout(
            api, meta["namespace"], meta["name"], timeout=timeout if timeout is not None else rollout_timeout(),
            poll=poll, on_progress=lambda d, m: push_status(d, message=m),
        )
        if not done:
            raise AdapterError(message)
        return message

    def call() -> str:
        restarted = updater.restart(api, deployment, now)
        push_status(restarted, message=f"restart requested at {stamp}")
        if not wait:
            return Pending(f"restart requested at {stamp}; following the rollout")
        return follow()

    action = perform(kind=Action.Kind.RESTART_UPDATER, target=target, by=by, permission=PERMISSION,
                     parameters={"namespace": meta["namespace"], "deployment": meta["name"], "restarted_at": stamp},
                     call=call, idempotency_key=idempotency_key, guard=_one_at_a_time)
    if not wait and action.status == Action.Status.RUNNING and action.finished_at is None:
        threading.Thread(target=_finish_in_background, args=(action, follow, api, meta),
                         name="updater-rollout", daemon=True).start()
        return action
    try:
        push_status(updater.read(api, meta["namespace"], meta["name"]), action=action)
    except AdapterError:
        pass  # the page catches up on its next load
    return action


def check_credentials(*, by, secret: str, registry: str = "", api_client=None) -> Action:
    """Check a pull secret against a registry it is for (adapters.updater.check_credentials): the
    Action succeeds when the registry accepts the credentials and fails with the reason otherwise.

    A registry the credentials are not for — not in the secret's auths, not configured for a
    secret: reference in REGISTRY_CREDENTIALS — is refused before anything is sent: the Action is
    recorded as failed and ActionRefused (400, carrying it as `.action`) says which ones are."""
    try:
        namespace, name, _ = updater.parse_reference(secret)
        target, reference = f"{namespace}/{name}", secret.strip()
    except ValueError:  # recorded without the value: it may be a pasted secret
        target = reference = "(not a pull secret reference)"
    asked = pull_secret.registry_host(registry)[:200] if (registry or "").strip() else ""
    refused: list[updater.RegistryNotAllowed] = []
    checked: list[str] = []

    def call() -> str:
        try:
            result = updater.check_credentials(api_client or client(), secret, registry,
                                               configured=settings.REGISTRY_CREDENTIALS)
        except updater.RegistryNotAllowed as e:
            refused.append(e)
            raise
        checked.append(result.registry)
        if not result.ok:
            raise AdapterError(result.reason)
        return result.reason

    action = perform(kind=Action.Kind.CHECK_CREDENTIALS, target=target, by=by, permission=CHECK_PERMISSION,
                     parameters={"secret": reference, "registry": asked}, call=call)
    if checked and checked[0] and checked[0] != asked:  # the registry actually checked
        action.parameters = {**action.parameters, "registry": checked[0]}
        Action.objects.filter(pk=action.pk).update(parameters=action.parameters)
    if refused:
        error = ActionRefused(str(refused[0]), status=400)
        error.action = action
        raise error
    return action


def _one_at_a_time(action: Action) -> str | None:
    """A second restart while one still rolls out would only restart the new pod again (two
    operators clicking at once, a restart clicked on a stale page): refuse it, naming the first."""
    earlier = Action.objects.filter(kind=action.kind, target=action.target, finished_at__isnull=True,
                                    pk__lt=action.pk).order_by("pk").first()
    if earlier is None:
        return None
    at = earlier.parameters.get("restarted_at") or earlier.started_at.isoformat(timespec="seconds")
    return (f"a restart of {action.target} requested by {earlier.by_name} at {at} is still rolling out; "
            "it finishes by itself")


def _finish_in_background(action: Action, follow, api, meta) -> None:
    """Follow the rollout off the request, then finish the Action and show the result."""
    try:
        action.finish(message=follow())
    except AdapterError as e:
        action.finish(error=str(e))
    except Exception:
        log.exception("following the Image Updater rollout failed")
        action.finish(error="cdportal failed while following the rollout; the error is in its log")
    finally:
        try:
            push_status(updater.read(api, meta["namespace"], meta["name"]), action=action)
        except AdapterError:
            pass
        connection.close()  # this thread's own connection: the thread ends here


def settle_restarts(observed: Mapping, *, now: datetime | None = None) -> list[Action]:
    """Finish the running restarts of the Deployment `observed` describes (updater.status()'s
    fields, as the updater_deployment event carries them) that its state decides: done once a rollout of that
    restart is complete, failed past the progress deadline or UPDATER_ROLLOUT_TIMEOUT after the
    restart was asked for. The watcher's ingestion, the page and the API call this, so a restart
    is finished even when the process that started following it is gone."""
    get = observed.get
    now = now or timezone.now()
    timeout = timedelta(seconds=rollout_timeout())
    running = Action.objects.filter(kind=Action.Kind.RESTART_UPDATER, finished_at__isnull=True,
                                    target=f"{get('namespace')}/{get('name')}")
    finished = []
    for action in running:
        outcome = updater_deployment.restart_outcome(
            action.parameters.get("restarted_at", ""), restarted_at=get("restarted_at") or "",
            complete=bool(get("rollout_complete")), message=get("rollout_message") or "",
            overdue=now >= action.started_at + timeout,
        )
        if outcome is not None:
            ok, message = outcome
            finished.append(action.finish(message=message) if ok else action.finish(error=message))
    return finished


def _key(deployment: dict) -> tuple[str, str]:
    meta = deployment.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def latest_restart(namespace: str, name: str) -> Action | None:
    return Action.objects.filter(kind=Action.Kind.RESTART_UPDATER, target=f"{namespace}/{name}").first()


def reap_overdue_restarts(api_client=None, *, now: datetime | None = None) -> list[Action]:
    """Finish the restarts still running past UPDATER_ROLLOUT_TIMEOUT — e.g. the web process
    that followed one was restarted, and no watcher saw the rollout end: read each Deployment
    once and settle from what it shows. watch-argocd runs this periodically."""
    now = now or timezone.now()
    overdue = Action.objects.filter(kind=Action.Kind.RESTART_UPDATER, finished_at__isnull=True,
                                    started_at__lte=now - timedelta(seconds=rollout_timeout()))
    targets = sorted({action.target for action in overdue})
    if not targets:
        return []
    api = api_client or client()
    finished: list[Action] = []
    for target in targets:
        ns, _, name = target.partition("/")
        try:
            deployment = updater.read(api, ns, name)
        except AdapterError as e:
            if "answered 404" not in str(e):
                log.warning("cannot settle the restarts of %s: %s", target, e)
                continue
            for action in overdue.filter(target=target):
                finished.append(action.finish(error=f"the Deployment {target} no longer exists"))
            continue
        finished += settle_restarts(updater.status(deployment), now=now)
        push_status(deployment)
    return finished
