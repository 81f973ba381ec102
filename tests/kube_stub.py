"""The Kubernetes API emulator for the tests: cdportal.demo.kube (kmock with list
resourceVersions, resumable watches, 410 Gone, 409 on stale writes, pod logs), plus the Argo CD
fixtures. See docs/testing.md §2.

`Kube` builds its emulator from this module's `Emulator`, so a test can swap in a subclass
(`monkeypatch.setattr(kube_stub, "Emulator", RacingEmulator)`)."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml

from cdportal.demo import kube as _kube
from cdportal.demo.kube import APPS, WORKLOADS, Emulator, free_port

__all__ = ["APPS", "FIXTURES", "WORKLOADS", "Emulator", "Kube", "free_port", "load"]

FIXTURES = Path(__file__).parent / "fixtures" / "argocd"


def load(stem: str) -> dict:
    (path,) = FIXTURES.glob(f"{stem}*.yaml")
    return yaml.safe_load(path.read_text())


class Kube(_kube.Kube):
    """kmock in its own thread and loop (the sync client would starve the test's loop)."""

    def _emulator(self) -> Emulator:
        return Emulator()  # looked up here at call time: the test's replacement, if any

    def reset(self) -> None:
        """Forget every object and recorded request: the emulator as a new one is, kept running
        so one serves a whole test session (open watch streams are the test's to end)."""
        done = threading.Event()

        def clear():
            k = self.k
            k.objects.clear()
            for recorded in (
                k.patches,
                k.content_types,
                k.log_requests,
                k.pod_logs,
                k.logs_ended,
                k.gone,
            ):
                recorded.clear()
            done.set()

        self.loop.call_soon_threadsafe(clear)
        assert done.wait(5)
