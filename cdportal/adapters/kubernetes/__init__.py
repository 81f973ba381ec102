"""Kubernetes: Argo CD Applications, the Argo CD Image Updater and its logs, through the official
`kubernetes` client.

- `client` — the one API client factory (kubeconfig, context or the pod's service account);
- `errors` — the API server's answers as cdportal.adapters.errors types, in its own words;
- `argocd` — Applications, ImageUpdater resources and `ImagesUpdated` Events as pipeline events;
- `applications` — read and merge-patch one Application (the on-call actions' one call);
- `updater` — the updater's Deployment: find, show, restart, follow; its pull secrets;
- `watchers` — list-then-watch loops handing events to a sink they are given;
- `logs` — the updater pods and their log streams.
"""
