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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from cdportal.adapters.errors import AdapterError, NotFound
from cdportal.adapters.kubernetes import client as kube
from cdportal.adapters.kubernetes import updater
from cdportal.core import pull_secret, updater_deployment
from cdportal.pipeline.actions import ActionRefused, Pending, perform
from cdportal.pipeline.models import Action, UpdaterDeployment

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
    return kube.configured()


def current(api_client=None) -> dict | None:
    """The updater's Deployment as the cluster has it now (None: not found). Raises AdapterError."""
    return updater.find(api_client or client(), namespace(), configured_name())


STATUS_FIELDS = (
    "name",
    "namespace",
    "image",
    "version",
    "replicas_desired",
    "replicas_ready",
    "replicas_updated",
    "replicas_available",
    "paused",
    "restarted_at",
    "rollout_complete",
    "rollout_message",
)


def observed() -> UpdaterDeployment | None:
    """The updater's Deployment as the watcher (or an action) last recorded it: what pages show.
    The configured name, else the one observed last in the updater's namespace."""
    rows = UpdaterDeployment.objects.filter(namespace=namespace())
    if configured_name():
        rows = rows.filter(name=configured_name())
    return rows.order_by("-observed_at", "-pk").first()


def status_of(row: UpdaterDeployment) -> dict:
    """The recorded Deployment in adapters.kubernetes.updater.status()'s shape (the API's)."""
    return {field: getattr(row, field) for field in STATUS_FIELDS}


def describe_restart(deployment: dict) -> str:
    meta = deployment["metadata"]
    return (
        f"set kubectl.kubernetes.io/restartedAt on {meta['namespace']}/{meta['name']}'s pod template; "
        "the updater checks every image at start"
    )


def record(deployment: dict | None) -> None:
    """Record the Deployment the API server answered with (an `updater_deployment` event), so the
    updater pages show it through the normal after-commit broadcast, as the watcher's would."""
    if not deployment:
        return
    from cdportal.pipeline.ingest import ingest

    try:
        ingest(updater.deployment_event(deployment, observed_at=timezone.now()))
    except Exception:  # the restart goes on either way; the watcher records the Deployment soon
        log.exception("recording the Image Updater's Deployment after an action failed")


def restart_updater(
    *,
    by,
    idempotency_key: str = "",
    api_client=None,
    timeout: float | None = None,
    poll: float = 1.0,
    wait: bool = True,
) -> Action:
    """Restart the updater's Deployment and follow the rollout: the Action succeeds only once
    the new ReplicaSet's pods are updated and available; on timeout it fails with kubectl's
    message. Refused (and recorded) when the updater cannot be found or another restart rolls out.

    wait=False (the page and the API) returns as soon as the restart is requested, with the
    Action still running; a background thread follows the rollout, pushes its progress to the
    page and finishes the Action."""
    restart = _Restart(api_client or client(), timeout=timeout, poll=poll)
    action = perform(
        kind=Action.Kind.RESTART_UPDATER,
        target=namespace(),
        by=by,
        permission=PERMISSION,
        parameters={"namespace": namespace()},
        prepare=restart.find,
        call=restart.follow if wait else restart.request,
        idempotency_key=idempotency_key,
        guard=restart.guard,
    )
    if not wait and action.status == Action.Status.RUNNING and action.finished_at is None:
        restart.follow_in_background(action)
    elif restart.deployment:
        _push_current(restart.api, restart.deployment["metadata"])
    return action


def check_credentials(*, by, secret: str, registry: str = "", api_client=None) -> Action:
    """Check a pull secret against a registry it is for (adapters.kubernetes.updater.check_credentials):
    the Action succeeds when the registry accepts the credentials and fails with the reason otherwise.

    A registry the credentials are not for — not in the secret's auths, not configured for a
    secret: reference in REGISTRY_CREDENTIALS — is refused before anything is sent: the Action is
    recorded as refused and ActionRefused (400, carrying it as `.action`) says which ones are."""
    target, reference = _secret_target(secret)
    asked = pull_secret.registry_host(registry)[:200] if (registry or "").strip() else ""
    check = _Check(api_client, secret, registry)
    action = perform(
        kind=Action.Kind.CHECK_CREDENTIALS,
        target=target,
        by=by,
        permission=CHECK_PERMISSION,
        parameters={"secret": reference, "registry": asked},
        call=check,
    )
    if check.checked and check.checked != asked:  # the registry actually checked
        action.parameters = {**action.parameters, "registry": check.checked}
        Action.objects.filter(pk=action.pk).update(parameters=action.parameters)
    return action


@dataclass
class _Restart:
    """One restart of the updater: find its Deployment, refuse or request, follow the rollout."""

    api: object
    timeout: float | None
    poll: float
    now: datetime = field(default_factory=timezone.now)
    deployment: dict | None = None

    @property
    def stamp(self) -> str:
        return updater_deployment.restart_stamp(self.now)

    def find(self) -> tuple[str, dict]:
        """The Deployment to restart (perform's `prepare`): its target and parameters."""
        try:
            deployment = updater.find(self.api, namespace(), configured_name())
        except AdapterError as e:
            raise ActionRefused(f"cannot find the Image Updater: {e}", status=502) from None
        if deployment is None:
            raise ActionRefused(
                f"no argocd-image-updater Deployment in namespace {namespace()}", status=404
            )
        # An earlier restart nobody finished (its follower gone, no watcher) would block this
        # one: settle it from what the Deployment shows now.
        settle_restarts(updater.status(deployment))
        self.deployment = deployment
        meta = deployment["metadata"]
        return (
            f"{meta['namespace']}/{meta['name']}",
            {
                "namespace": meta["namespace"],
                "deployment": meta["name"],
                "restarted_at": self.stamp,
            },
        )

    def guard(self, action: Action) -> str | None:
        """A paused Deployment takes the annotation only at `rollout resume`: kubectl refuses
        too. And one restart at a time."""
        return updater_deployment.restart_refusal(self.deployment) or _one_at_a_time(action)

    def request(self) -> str:
        record(updater.restart(self.api, self.deployment, self.now))
        return Pending(f"restart requested at {self.stamp}; following the rollout")

    def follow(self) -> str:
        self.request()
        return self.rollout()

    def rollout(self) -> str:
        """Wait as `kubectl rollout status` does; raise AdapterError when it does not finish."""
        meta = self.deployment["metadata"]
        done, message, _ = updater.wait_for_rollout(
            self.api,
            meta["namespace"],
            meta["name"],
            timeout=self.timeout if self.timeout is not None else rollout_timeout(),
            poll=self.poll,
            on_progress=lambda d, m: record(d),
        )
        if not done:
            raise AdapterError(message)
        return message

    def follow_in_background(self, action: Action) -> None:
        threading.Thread(
            target=_finish_in_background,
            args=(action, self.rollout, self.api, self.deployment["metadata"]),
            name="updater-rollout",
            daemon=True,
        ).start()


@dataclass
class _Check:
    """The credentials check as perform calls it; remembers which registry was checked."""

    api_client: object
    secret: str
    registry: str
    checked: str = ""

    def __call__(self) -> str:
        try:
            result = updater.check_credentials(
                self.api_client or client(),
                self.secret,
                self.registry,
                configured=settings.REGISTRY_CREDENTIALS,
            )
        except updater.RegistryNotAllowed as e:
            raise ActionRefused(str(e), status=400) from None
        self.checked = result.registry
        if not result.ok:
            raise AdapterError(result.reason)
        return result.reason


def _secret_target(secret: str) -> tuple[str, str]:
    """The Action's target and recorded reference; a value that is no reference is recorded
    without itself: it may be a pasted secret."""
    try:
        namespace, name, _ = updater.parse_reference(secret)
    except ValueError:
        return "(not a pull secret reference)", "(not a pull secret reference)"
    return f"{namespace}/{name}", secret.strip()


def _one_at_a_time(action: Action) -> str | None:
    """A second restart while one still rolls out would only restart the new pod again (two
    operators clicking at once, a restart clicked on a stale page): refuse it, naming the first."""
    earlier = (
        Action.objects.filter(
            kind=action.kind, target=action.target, finished_at__isnull=True, pk__lt=action.pk
        )
        .order_by("pk")
        .first()
    )
    if earlier is None:
        return None
    at = earlier.parameters.get("restarted_at") or earlier.started_at.isoformat(timespec="seconds")
    return (
        f"a restart of {action.target} requested by {earlier.by_name} at {at} is still rolling out; "
        "it finishes by itself"
    )


def _push_current(api, meta) -> None:
    try:
        record(updater.read(api, meta["namespace"], meta["name"]))
    except AdapterError:
        pass  # the page catches up on its next load


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
        _push_current(api, meta)
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
    running = Action.objects.filter(
        kind=Action.Kind.RESTART_UPDATER,
        finished_at__isnull=True,
        target=f"{get('namespace')}/{get('name')}",
    )
    finished = []
    for action in running:
        outcome = updater_deployment.restart_outcome(
            action.parameters.get("restarted_at", ""),
            restarted_at=get("restarted_at") or "",
            complete=bool(get("rollout_complete")),
            message=get("rollout_message") or "",
            overdue=now >= action.started_at + timeout,
        )
        if outcome is not None:
            ok, message = outcome
            finished.append(action.finish(message=message) if ok else action.finish(error=message))
    return finished


def latest_restart(namespace: str, name: str) -> Action | None:
    return Action.objects.filter(
        kind=Action.Kind.RESTART_UPDATER, target=f"{namespace}/{name}"
    ).first()


def reap_overdue_restarts(api_client=None, *, now: datetime | None = None) -> list[Action]:
    """Finish the restarts still running past UPDATER_ROLLOUT_TIMEOUT — e.g. the web process
    that followed one was restarted, and no watcher saw the rollout end: read each Deployment
    once and settle from what it shows. watch-argocd runs this periodically."""
    now = now or timezone.now()
    overdue = Action.objects.filter(
        kind=Action.Kind.RESTART_UPDATER,
        finished_at__isnull=True,
        started_at__lte=now - timedelta(seconds=rollout_timeout()),
    )
    targets = sorted({action.target for action in overdue})
    if not targets:
        return []
    api = api_client or client()
    finished: list[Action] = []
    for target in targets:
        ns, _, name = target.partition("/")
        try:
            deployment = updater.read(api, ns, name)
        except NotFound:
            for action in overdue.filter(target=target):
                finished.append(action.finish(error=f"the Deployment {target} no longer exists"))
            continue
        except AdapterError as e:
            log.warning("cannot settle the restarts of %s: %s", target, e)
            continue
        finished += settle_restarts(updater.status(deployment), now=now)
        record(deployment)
    return finished
