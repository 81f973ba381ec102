"""Real git repositories made with the git CLI: a work tree alice (and bob) commit to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def git(
    cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


class Work:
    """A work tree someone commits to. Each commit is a minute after the previous one unless
    told otherwise, so the order of `git log` is the order of the test."""

    def __init__(self, path: Path):
        self.path = path
        self.clock = T0
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", "main")

    def commit(
        self,
        message: str,
        files: dict[str, str] | None = None,
        *,
        at: int | None = None,
        author: str = "Alice Operator <alice@example.com>",
    ) -> str:
        """Write `files` (content None deletes) and commit them with `message` kept verbatim."""
        for name, content in (files or {}).items():
            target = self.path / name
            if content is None:
                git(self.path, "rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8", newline="")
            git(self.path, "add", name)
        self.clock = at if at is not None else self.clock + 60
        name, email = author[:-1].split(" <")
        git(
            self.path,
            "commit",
            "-q",
            "--allow-empty",
            "--allow-empty-message",
            "--cleanup=verbatim",
            "-F",
            "-",
            input=message.encode(),
            env=self._env(self.clock, name, email),
        )
        return self.head()

    def merge(self, branch: str, message: str, *, at: int | None = None) -> str:
        self.clock = at if at is not None else self.clock + 60
        git(
            self.path,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            message,
            branch,
            env=self._env(self.clock, "Alice Operator", "alice@example.com"),
        )
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def run(self, *args: str) -> str:
        return git(
            self.path, *args, env=self._env(self.clock + 1, "Alice Operator", "alice@example.com")
        )

    @staticmethod
    def _env(when: int, name: str, email: str) -> dict[str, str]:
        return {
            "GIT_AUTHOR_DATE": f"@{when} +0200",
            "GIT_COMMITTER_DATE": f"@{when} +0200",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
        }
