"""Follow the application's notification log into the read models, one transaction per batch.

Each projection's position is written in the same transaction as its rows, so a crash can
neither lose nor double an event. A projection that meets an event it cannot apply stops there
with an error naming the notification; the others go on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from sqlite_utils import Database

from projections.base import Item, Projection, ProjectionError

POSITIONS = "_positions"
BATCH = 5000
BULK_LAG = 20_000    # a projection further behind than this catches up without query indexes


@dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    error: str | None
    bulk: bool = False      # catching up from far behind, query indexes built at the end

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class ProjectionRunner:
    """Keeps a set of projections in one read database up to date with one application."""

    def __init__(self, app: Application, db: Database, projections: Sequence[Projection],
                 batch_size: int = BATCH) -> None:
        self.app = app
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self._followed: dict[str, bool] = {}    # topic -> does any projection follow it
        self._prepare()

    # -- positions ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create what is missing; a projection whose version changed starts again from zero."""
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {POSITIONS} (name TEXT PRIMARY KEY, version INTEGER, "
            "position INTEGER NOT NULL, error TEXT, error_notification INTEGER, "
            "bulk INTEGER NOT NULL DEFAULT 0)")
        if "bulk" not in self.db[POSITIONS].columns_dict:     # a read database from before
            self.db.execute(f"ALTER TABLE {POSITIONS} ADD COLUMN bulk INTEGER NOT NULL DEFAULT 0")
        for projection in self.projections.values():
            row = self._row(projection.name)
            if row is None or row[0] != projection.version:
                self._reset(projection)

    def _row(self, name: str) -> tuple | None:
        return self.conn.execute(
            f"SELECT version, position, error FROM {POSITIONS} WHERE name = ?", (name,)
        ).fetchone()

    def _reset(self, projection: Projection) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            projection.drop_tables(self.db)
            projection.create_tables(self.db)
            self.conn.execute(
                f"INSERT OR REPLACE INTO {POSITIONS} VALUES (?, ?, 0, NULL, NULL, 0)",
                (projection.name, projection.version))
            projection.bulk = False
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def positions(self) -> dict[str, tuple[int, str | None]]:
        rows = self.conn.execute(f"SELECT name, position, error FROM {POSITIONS}").fetchall()
        return {name: (position, error) for name, position, error in rows
                if name in self.projections}

    def status(self) -> list[Status]:
        head = self.app.recorder.max_notification_id() or 0
        bulk = self._bulk()
        return [Status(name, position, head, error, bulk[name])
                for name, (position, error) in sorted(self.positions().items())]

    # -- catching up ---------------------------------------------------------------------------

    def catch_up(self, progress: Callable[[int, int], None] | None = None,
                 stop: int | None = None) -> int:
        """Apply every recorded event the projections have not seen (up to `stop`, when given);
        returns how many notifications were read. `progress(position, head)` follows each
        batch."""
        last = self.app.recorder.max_notification_id() or 0
        head = last if stop is None else min(last, stop)
        self._enter_bulk(last)
        read = 0
        while True:
            behind = {name: position for name, (position, error) in self.positions().items()
                      if error is None and position < head}
            if not behind:
                self._leave_bulk(last)
                return read
            batch = self._read(min(behind.values()) + 1, head)
            end = batch[-1][0].id if batch else head
            self._apply_batch(batch, behind, end)
            read += len(batch)
            if progress:
                progress(end, head)

    def _bulk(self) -> dict[str, bool]:
        return {name: bool(bulk) for name, bulk in self.conn.execute(
            f"SELECT name, bulk FROM {POSITIONS}") if name in self.projections}

    def _enter_bulk(self, last: int) -> None:
        """Projections far behind drop their query indexes until they have caught up; the
        flag is stored, so a process that restarts mid-way goes on the same way."""
        flags = self._bulk()
        for name, (position, error) in self.positions().items():
            projection = self.projections[name]
            if not flags[name] and error is None and last - position > BULK_LAG:
                self._switch_bulk(projection, True)
            projection.bulk = flags[name] or projection.bulk

    def _leave_bulk(self, last: int) -> None:
        """Caught up, or stopped by an error: either way, make what there is quick to query."""
        flags = self._bulk()
        for name, (position, error) in self.positions().items():
            if flags[name] and (error is not None or position >= last):
                self._switch_bulk(self.projections[name], False)

    def _switch_bulk(self, projection: Projection, on: bool) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            (projection.begin_bulk if on else projection.end_bulk)(self.db)
            self.conn.execute(f"UPDATE {POSITIONS} SET bulk = ? WHERE name = ?",
                              (int(on), projection.name))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        projection.bulk = on

    def _apply_until_failure(self, projection: Projection, items: list[Item]
                             ) -> ProjectionError:
        """Apply one event at a time to find the one that fails, keeping those before it and
        nothing of it."""
        for item in items:
            self.conn.execute("SAVEPOINT one")
            try:
                projection.apply(self.conn, [item])
            except Exception as error:
                self.conn.execute("ROLLBACK TO one")
                self.conn.execute("RELEASE one")
                if isinstance(error, ProjectionError):
                    return error
                return ProjectionError(projection.name, item.n,
                                       f"{type(error).__name__}: {error}")
            self.conn.execute("RELEASE one")
        raise AssertionError("a batch failed but none of its events does alone")

    def _read(self, start: int, head: int) -> list[tuple[Notification, Item | ProjectionError | None]]:
        """A batch of notifications, each decoded when some projection follows it."""
        batch = []
        for notification in self.app.recorder.select_notifications(
                start=start, limit=self.batch_size, stop=head):
            followed = self._followed.get(notification.topic)
            if followed is None:
                followed = self._followed[notification.topic] = any(
                    p.follows(notification.topic) for p in self.projections.values())
            batch.append((notification, self._decode(notification) if followed else None))
        return batch

    def _apply_batch(self, batch: list[tuple[Notification, Item | ProjectionError | None]],
                     behind: dict[str, int], end: int) -> None:
        """Hand each projection the events it follows, and commit all their rows and
        positions together. Positions are read again under the write lock: another process
        following the same read database may have applied some of the batch meanwhile."""
        followers: dict[str, list[str]] = {}
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            now = {name: position for name, (position, error) in self.positions().items()
                   if name in behind and error is None and position < end}
            items: dict[str, list[Item | ProjectionError]] = {name: [] for name in now}
            for notification, item in batch:
                if item is None:
                    continue
                names = followers.get(notification.topic)
                if names is None:
                    names = followers[notification.topic] = [
                        name for name in now
                        if self.projections[name].follows(notification.topic)]
                for name in names:
                    if notification.id > now[name]:
                        items[name].append(item)
            for name in now:
                self._apply(self.projections[name], items[name], end)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _apply(self, projection: Projection, items: list[Item | ProjectionError],
               end: int) -> None:
        """Apply to one projection inside the batch. At the first event it cannot decode or
        apply, keep what came before and stop there with the error."""
        undecodable = next((i for i in items if isinstance(i, ProjectionError)), None)
        good = items if undecodable is None else items[:items.index(undecodable)]
        self.conn.execute("SAVEPOINT projection")
        try:
            projection.apply(self.conn, good)
            failure = undecodable and ProjectionError(projection.name,
                                                      undecodable.notification_id,
                                                      undecodable.reason)
        except Exception:   # a ProjectionError, or the database refusing a row
            self.conn.execute("ROLLBACK TO projection")
            failure = self._apply_until_failure(projection, good)
        if failure:
            self.conn.execute(
                f"UPDATE {POSITIONS} SET position = ?, error = ?, error_notification = ? "
                "WHERE name = ?", (failure.notification_id - 1, str(failure),
                                   failure.notification_id, projection.name))
        else:
            self.conn.execute(f"UPDATE {POSITIONS} SET position = ? WHERE name = ?",
                              (end, projection.name))
        self.conn.execute("RELEASE projection")

    def _decode(self, notification: Notification) -> Item | ProjectionError:
        try:
            event = self.app.mapper.to_domain_event(notification)
            return Item.of(notification.id, event, notification.state)
        except Exception as error:   # an unknown topic or a state we cannot read
            return ProjectionError("", notification.id,
                                   f"无法解码事件 {notification.topic}：{error}")

    def follow(self, stopping: threading.Event, poll_seconds: float = 0.1,
               after: Callable[[list[Status]], None] | None = None) -> None:
        """Keep catching up until `stopping` is set: polling, which works on SQLite (no
        subscriptions there) and on PostgreSQL alike."""
        while not stopping.is_set():
            if self.catch_up() and after:
                after(self.status())
            stopping.wait(poll_seconds)

    # -- rebuilding ------------------------------------------------------------------------------

    def rebuild(self, names: Sequence[str] = (), *,
                progress: Callable[[int, int], None] | None = None) -> int:
        """Drop and replay the named projections (all when none are named)."""
        for name in names or list(self.projections):
            if name not in self.projections:
                raise KeyError(name)
            self._reset(self.projections[name])
        return self.catch_up(progress)
