"""The read side as one object: the read database, its projections and their runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eventsourcing.application import Application
from sqlite_utils import Database

from projections.base import Projection
from projections.dealings import DealingsProjection
from projections.directory import DirectoryProjection
from projections.runner import ProjectionRunner, Status
from projections.runs import RunsProjection
from projections.seal import SealProjection
from projections.store import open_read_db
from projections.tickets import TicketsProjection
from projections.timeline import TimelineProjection
from projections.weekly import WeeklyProjection


def all_projections() -> list[Projection]:
    return [DirectoryProjection(), TicketsProjection(), TimelineProjection(), WeeklyProjection(),
            RunsProjection(), DealingsProjection(), SealProjection()]


class ReadModels:
    """Opens the read database next to an application and keeps it caught up."""

    def __init__(self, app: Application, path: Path | str,
                 projections: list[Projection] | None = None) -> None:
        self.db: Database = open_read_db(path)
        self.runner = ProjectionRunner(app, self.db, projections or all_projections())

    def fresh(self) -> Database:
        """The read database after catching up, so a user sees their own last write."""
        self.runner.catch_up()
        return self.db

    def status(self) -> list[Status]:
        return self.runner.status()

    def rebuild(self, names: list[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> int:
        return self.runner.rebuild(names or [], progress=progress)

    def close(self) -> None:
        self.db.conn.close()
