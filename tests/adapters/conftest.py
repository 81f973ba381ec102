"""Fixtures for the adapter tests: git without any configuration, and a work tree."""

from __future__ import annotations

import os

import pytest
from gitrepos import Work


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch, tmp_path):
    """Work on a machine without any git config: no user.name, no init.defaultBranch."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Alice Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "alice@example.com")


@pytest.fixture
def work(tmp_path) -> Work:
    return Work(tmp_path / "work")
