"""Break one stage of the demo on purpose, so a newcomer can watch the explainer name it.

A break is one of the explainer's codes (cdportal.core.explain.CODES) that the demo can bring
about for real, through its simulated parts: the simulator's GitHub half (what the team, Release
Please and the build do on the simulated GitHub), the simulated Argo CD controller and the
simulated Image Updater. cdportal then learns of it the way it would from the real systems
(webhooks, its watchers, the updater's log) and the explainer names it.

The break in force lives in one small file in the demo's temporary directory: `manage.py demo
--break CODE` writes it, the demo page's control (cdportal.demo.views) rewrites it, and the
runner reads it before every release cycle. An empty file is "healed": the next cycle runs
normally, and the cluster's breaks are undone.

The cluster's breaks hit the first application (`TARGET`); the updater's hit all of them.
"""

from __future__ import annotations

from pathlib import Path

# code -> what the demo does to produce it (shown on the demo page and in --help)
BREAKS: dict[str, str] = {
    "commits_skipped": "Only commits that are not conventional land: Release Please skips them "
    "and opens no Release PR",
    "no_release_pr": "A feature and a fix land, but the Release Please workflow does not run: "
    "no Release PR",
    "release_pr_label_pending": "The Release PR is merged but Release Please does not tag it: "
    "it stays labelled `autorelease: pending` (the next healthy cycle tags it)",
    "no_build": "The release is published as with GITHUB_TOKEN: no build run starts for its tag",
    "build_failed": "The build run fails in its push step",
    "tag_not_in_registry": "The build succeeds but pushes no image (the demo has no registry: "
    "its pushes are image_push events, so cdportal cannot tell 'missing' from 'not asked')",
    "tag_rejected_by_policy": "The first application's image policy is pinned to the running "
    "version (semver constraint <=X.Y.Z): the updater rejects the new tag",
    "updater_not_configured": "The ImageUpdater resource no longer selects the first "
    "application: its annotations are ignored and nothing updates it",
    "updater_not_running": "The Image Updater's Deployment is scaled to 0: no pod runs",
    "updater_registry_auth": "The Image Updater's registry credentials are refused: it logs 401 "
    "unauthorized for the image every cycle and writes nothing back",
    "auto_sync_off": "The first application's auto-sync is turned off: it stays OutOfSync",
    "sync_failed": "The first application's next sync fails",
    "degraded": "The first application's next rollout is Degraded (progress deadline exceeded)",
}
GITHUB_BREAKS = frozenset(
    {
        "commits_skipped",
        "no_release_pr",
        "release_pr_label_pending",
        "no_build",
        "build_failed",
        "tag_not_in_registry",
    }
)
CLUSTER_BREAKS = frozenset(BREAKS) - GITHUB_BREAKS
TARGET = "cto-controller-dev"
FILE_NAME = "break"


def check(code: str) -> str:
    """`code` if the demo can break it ("" heals); ValueError otherwise."""
    code = (code or "").strip()
    if code and code not in BREAKS:
        raise ValueError(f"the demo cannot break {code!r}; it can break: {', '.join(BREAKS)}")
    return code


class Switch:
    """The break in force, kept in a file both processes see (the demo and its web server)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def set(self, code: str) -> str:
        code = check(code)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(code)
        tmp.replace(self.path)  # atomic: a reader never sees half a code
        return code

    def current(self) -> str:
        try:
            code = self.path.read_text().strip()
        except FileNotFoundError:
            return ""
        return code if code in BREAKS else ""
