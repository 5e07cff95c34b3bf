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


STATISTICS_EVERY = 20_000     # events, at the least, between two gatherings of statistics


class ReadModels:
    """Opens the read database next to an application and keeps it caught up."""

    def __init__(self, app: Application, path: Path | str,
                 projections: list[Projection] | None = None) -> None:
        self.db: Database = open_read_db(path)
        self.runner = ProjectionRunner(app, self.db, projections or all_projections())
        self._statistics_at: int | None = None     # the position at the last ANALYZE here

    def fresh(self) -> Database:
        """The read database after catching up, so a user sees their own last write."""
        self.runner.catch_up()
        return self.db

    def status(self) -> list[Status]:
        return self.runner.status()

    def rebuild(self, names: list[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> int:
        read = self.runner.rebuild(names or [], progress=progress)
        self.gather_statistics()
        return read

    def gather_statistics(self) -> None:
        """What SQLite's planner knows of the tables' shapes (ANALYZE): which index to walk
        for a filter and an order. Without it a list of tens of thousands of tickets may be
        sorted whole to show fifty. About a second for a county's 100,000 tickets."""
        self.db.execute("ANALYZE")
        self._statistics_at = self._lowest_position()

    def keep_statistics(self) -> bool:
        """Gather the statistics when there are none, or when the read models have grown by a
        quarter (and at least STATISTICS_EVERY events) since; True when it did."""
        if self._statistics_at is None and self.db["sqlite_stat1"].exists():
            self._statistics_at = self._lowest_position()    # kept from an earlier run
        if self._statistics_at is not None and self._lowest_position() - self._statistics_at \
                < max(STATISTICS_EVERY, self._statistics_at // 4):
            return False
        self.gather_statistics()
        return True

    def _lowest_position(self) -> int:
        return min((s.position for s in self.runner.status()), default=0)

    def close(self) -> None:
        self.db.conn.close()
