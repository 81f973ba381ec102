"""The one place a Kubernetes API client is made."""

from __future__ import annotations

import os

from django.conf import settings
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from cdportal.adapters.errors import AdapterError


def kube_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """An API client from a kubeconfig file (and context), or the pod's service account.

    In-cluster configuration is used when no kubeconfig or context is given and the process
    runs in a pod (KUBERNETES_SERVICE_HOST is set); otherwise the kubeconfig (default
    ~/.kube/config, or $KUBECONFIG as kubectl reads it).
    """
    try:
        if not kubeconfig and not context and os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        return config.new_client_from_config(
            config_file=kubeconfig, context=context, persist_config=False
        )
    except (ConfigException, OSError) as e:
        raise AdapterError(f"cannot configure the Kubernetes client: {e}", permanent=True) from None


def configured() -> client.ApiClient:
    """The client the settings name (KUBECONFIG, KUBE_CONTEXT)."""
    return kube_client(settings.KUBECONFIG or None, settings.KUBE_CONTEXT or None)
