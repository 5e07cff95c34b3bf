"""Follow the application's notification log into the read models, one transaction per batch.

Each projection's position is written in the same transaction as its rows, so a crash can
neither lose nor double an event. A projection that meets an event it cannot apply stops there
with an error naming the notification; the others go on.

A batch is read once, each notification some projection follows decoded once (the others are
never decoded), and applied without savepoints; only a batch that fails is applied again with a
savepoint per projection, and per event in the one that failed, to find the event and keep what
came before it. A catch-up from far behind drops the query indexes, reads larger batches and
builds the indexes once at its end.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from sqlite_utils import Database

from projections.base import Item, Projection, ProjectionError

POSITIONS = "_positions"
BATCH = 5000
BULK_LAG = 20_000    # a projection further behind than this catches up without query indexes
BULK_BATCHES = 8     # and in batches this many times larger: fewer commits, each rewriting
                     # pages that the next would rewrite again


# A notification some projection follows: its id, its topic, and its event or why it failed
Entry = tuple[int, str, "Item | ProjectionError"]


@dataclass(frozen=True)
class Batch:
    """Notifications read together: those some projection follows (`entries`), how many were
    read, the last one's id, and whether any could not be decoded."""

    entries: list[Entry]
    read: int
    end: int
    undecodable: bool


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is read and applied. A batch
    holds some hundred thousand young objects, all freed by reference counting when it is
    done, which the collector would otherwise scan again and again (about a tenth of a
    catch-up's time)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _number(item: Item | ProjectionError) -> int:
    return item.notification_id if isinstance(item, ProjectionError) else item.n


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
        self._followers: dict[str, tuple[str, ...]] = {}   # topic -> the projections following
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
        positions = self.positions()
        read = 0
        while True:
            behind = {name: position for name, (position, error) in positions.items()
                      if error is None and position < head}
            if not behind:
                self._leave_bulk(last)
                return read
            size = self.batch_size * (
                BULK_BATCHES if any(self.projections[name].bulk for name in behind) else 1)
            with _collector_paused():
                batch = self._read(min(behind.values()) + 1, head, size)
                positions = self._apply_batch(batch, behind)
            read += batch.read
            if progress:
                progress(batch.end, head)

    def _bulk(self) -> dict[str, bool]:
        return {name: bool(bulk) for name, bulk in self.conn.execute(
            f"SELECT name, bulk FROM {POSITIONS}") if name in self.projections}

    def _enter_bulk(self, last: int) -> None:
        """Projections far behind drop their query indexes until they have caught up; the
        flag is stored, so a process that restarts mid-way goes on the same way."""
        flags = self._bulk()
        self._switch_bulk([self.projections[name] for name, (position, error)
                           in self.positions().items()
                           if not flags[name] and error is None and last - position > BULK_LAG],
                          True)
        for name, projection in self.projections.items():
            projection.bulk = flags.get(name, False) or projection.bulk

    def _leave_bulk(self, last: int) -> None:
        """Caught up, or stopped by an error: either way, make what there is quick to query."""
        flags = self._bulk()
        self._switch_bulk([self.projections[name] for name, (position, error)
                           in self.positions().items()
                           if flags[name] and (error is not None or position >= last)], False)

    def _switch_bulk(self, projections: list[Projection], on: bool) -> None:
        """Into bulk or out of it, the projections together in one transaction."""
        if not projections:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for projection in projections:
                (projection.begin_bulk if on else projection.end_bulk)(self.db)
                self.conn.execute(f"UPDATE {POSITIONS} SET bulk = ? WHERE name = ?",
                                  (int(on), projection.name))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        for projection in projections:
            projection.bulk = on

    def _read(self, start: int, head: int, size: int) -> Batch:
        """The batch of `size` notifications from `start` (up to `head`), those some
        projection follows decoded."""
        notifications = self.app.recorder.select_notifications(
            start=start, limit=size, stop=head)
        followers, decode = self._followers, self._decode
        entries = []
        undecodable = False
        for notification in notifications:
            topic = notification.topic
            if (names := followers.get(topic)) is None:
                names = followers[topic] = tuple(
                    name for name, p in self.projections.items() if p.follows(topic))
            if names:
                item = decode(notification)
                if item.__class__ is ProjectionError:
                    undecodable = True
                entries.append((notification.id, topic, item))
        return Batch(entries, len(notifications),
                     notifications[-1].id if notifications else head, undecodable)

    def _apply_batch(self, batch: Batch, behind: dict[str, int]
                     ) -> dict[str, tuple[int, str | None]]:
        """Hand each projection the events it follows, and commit all their rows and
        positions together; returns every projection's position and error after it. The usual
        batch goes through without savepoints; one that fails is rolled back and applied again
        projection by projection, to keep what each can apply and stop the one that fails."""
        for careful in (False, True):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                positions = self._apply_all(batch, behind, careful)
            except BaseException:
                self._rollback()
                raise
            if positions is not None:
                self.conn.execute("COMMIT")
                return positions
            self._rollback()
        raise AssertionError("a batch applied carefully cannot fail")

    def _apply_all(self, batch: Batch, behind: dict[str, int], careful: bool
                   ) -> dict[str, tuple[int, str | None]] | None:
        """Inside the batch's transaction: apply and advance each projection behind; None if
        one failed and nothing was careful. Positions are read again under the write lock:
        another process following the same read database may have applied some of the batch
        meanwhile."""
        positions = self.positions()
        now = {name: position for name, (position, error) in positions.items()
               if name in behind and error is None and position < batch.end}
        items = self._route(batch.entries, now)
        for name in now:
            projection = self.projections[name]
            if careful:
                failure = self._apply_carefully(projection, items[name], batch.undecodable)
            else:
                try:
                    failure = self._apply(projection, items[name], batch.undecodable)
                except Exception:   # a ProjectionError, or the database refusing a row
                    return None
            positions[name] = self._advance(name, batch.end, failure)
        return positions

    def _rollback(self) -> None:
        if self.conn.in_transaction:    # SQLite ends some failed transactions itself
            self.conn.execute("ROLLBACK")

    def _route(self, batch: list[Entry], now: dict[str, int]
               ) -> dict[str, list[Item | ProjectionError]]:
        """Each projection's items of the batch: the events it follows after its position.
        Events go into one list per set of followers (every ticket event to the projections
        of tickets alike), and a projection that follows one such set is handed that list."""
        groups: dict[tuple[str, ...], list[Item | ProjectionError]] = {}
        lists = {topic: groups.setdefault(names, []) for topic, names in self._followers.items()}
        for _, topic, item in batch:
            lists[topic].append(item)
        items = {}
        first = batch[0][0] if batch else 0
        for name, position in now.items():
            mine = [group for names, group in groups.items() if name in names and group]
            items[name] = mine[0] if len(mine) == 1 else sorted(chain(*mine), key=_number)
            if position >= first:       # another follower got into this batch first
                items[name] = [i for i in items[name] if _number(i) > position]
        return items

    def _apply(self, projection: Projection, items: list[Item | ProjectionError],
               undecodable: bool) -> ProjectionError | None:
        """Apply the items up to the first one that could not be decoded, if any (only looked
        for when the batch has one); that one, as the projection's failure."""
        if not undecodable:
            projection.apply(self.conn, items)
            return None
        undecodable = next((i for i in items if isinstance(i, ProjectionError)), None)
        projection.apply(self.conn,
                         items if undecodable is None else items[:items.index(undecodable)])
        return undecodable and ProjectionError(projection.name, undecodable.notification_id,
                                               undecodable.reason)

    def _apply_carefully(self, projection: Projection, items: list[Item | ProjectionError],
                         undecodable: bool) -> ProjectionError | None:
        """Apply inside a savepoint; if that fails, apply one event at a time to find the one
        that fails, keeping those before it and nothing of it."""
        self.conn.execute("SAVEPOINT projection")
        try:
            return self._apply(projection, items, undecodable)
        except Exception:
            self.conn.execute("ROLLBACK TO projection")
        finally:
            self.conn.execute("RELEASE projection")
        for item in items:
            if isinstance(item, ProjectionError):
                return ProjectionError(projection.name, item.notification_id, item.reason)
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

    def _advance(self, name: str, end: int, failure: ProjectionError | None
                 ) -> tuple[int, str | None]:
        """Write the projection's new position (or where it stopped, and why)."""
        if failure:
            self.conn.execute(
                f"UPDATE {POSITIONS} SET position = ?, error = ?, error_notification = ? "
                "WHERE name = ?", (failure.notification_id - 1, str(failure),
                                   failure.notification_id, name))
            return failure.notification_id - 1, str(failure)
        self.conn.execute(f"UPDATE {POSITIONS} SET position = ? WHERE name = ?", (end, name))
        return end, None

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
