"""The demo repository's two GitHub Actions workflows: Release Please and the image build, as
files in its `.github/workflows/` and as the simulated GitHub runs them (cdportal.demo.github).
Their names and inputs follow the reference project's workflows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workflow:
    id: int
    file: str
    name: str
    inputs: tuple[str, ...]  # what its workflow_dispatch trigger declares
    steps: tuple[str, ...]  # the steps of its one job

    @property
    def path(self) -> str:
        return f".github/workflows/{self.file}"

    @property
    def text(self) -> str:
        declared = "".join(
            f"      {name}:\n        required: true\n        type: string\n" for name in self.inputs
        )
        inputs = f"    inputs:\n{declared}" if declared else ""
        steps = "".join(f"      - name: {step}\n        run: 'true'\n" for step in self.steps)
        return (
            f"name: {self.name}\n\non:\n  workflow_dispatch:\n{inputs}"
            f"\njobs:\n  {self.file.removesuffix('.yaml')}:\n    runs-on: ubuntu-latest\n"
            f"    steps:\n{steps}"
        )


RELEASE_PLEASE = Workflow(
    id=61_000_001,
    file="release-please.yaml",
    name="Release Please",
    inputs=(),
    steps=("Set up job", "Run googleapis/release-please-action@v4", "Complete job"),
)
BUILD = Workflow(
    id=61_000_002,
    file="binaries-release.yaml",
    name="Binaries Release",
    inputs=("version",),
    steps=(
        "Set up job",
        "Checkout",
        "Build controller (x86_64-unknown-linux-musl)",
        "Push ghcr.io/5dlabs/controller",
        "Complete job",
    ),
)
ALL = (RELEASE_PLEASE, BUILD)


def named(file_or_id: str) -> Workflow | None:
    """The workflow a URL segment names: its file name or its id, as GitHub accepts either."""
    return next((w for w in ALL if file_or_id in (w.file, str(w.id))), None)
