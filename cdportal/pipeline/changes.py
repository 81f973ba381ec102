"""What an ingested event (or an action starting or finishing) changed: the ids of the rows the
pages show. Ingest collects them inside its transaction; after commit they go to whoever
registered to show them (cdportal.pipeline.publish)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Changes:
    """What an ingested event changed: the live layer re-renders exactly these."""

    releases: set[int] = field(default_factory=set)
    components: set[int] = field(default_factory=set)
    applications: set[int] = field(default_factory=set)
    images: set[int] = field(default_factory=set)
    updaters: set[int] = field(default_factory=set)  # UpdaterDeployment rows
    actions: set[int] = field(default_factory=set)  # Action rows started or finished
    events: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.releases
            or self.components
            or self.applications
            or self.images
            or self.updaters
            or self.actions
            or self.events
        )

    def merge(self, other: Changes) -> None:
        self.releases |= other.releases
        self.components |= other.components
        self.applications |= other.applications
        self.images |= other.images
        self.updaters |= other.updaters
        self.actions |= other.actions
        self.events.extend(other.events)
