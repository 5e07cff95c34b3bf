"""What every projection is: tables it owns, the events it follows, and how it applies a batch.

The runner hands a projection the batch's events as `Item`s, decoded once and shared. Simple
projections define `on_<EventName>(conn, item)`; busy ones override `apply` to work through the
batch in memory and write it back with a few `executemany` calls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from sqlite_utils import Database

from domain.clock import beijing


def when(event: Any) -> str:
    """Event time as Beijing ISO text, to the microsecond so that text order is time order."""
    return beijing(event.timestamp).isoformat(timespec="microseconds")


class Item(NamedTuple):
    """One event of a batch, with what every projection needs of it worked out once (a named
    tuple: a batch makes a couple of hundred thousand of them, and a tuple is the cheapest)."""

    n: int            # its notification id: its place in the log
    event: Any
    name: str         # the event class's name, e.g. "Assigned"
    at: str           # Beijing ISO time
    aggregate: str    # the originator id as hex
    state: bytes      # the stored JSON, for read models that keep it as it is

    @classmethod
    def of(cls, n: int, event: Any, state: bytes) -> Item:
        return cls(n, event, type(event).__name__, when(event), event.originator_id.hex, state)


def as_dicts(cursor: sqlite3.Cursor) -> list[dict]:
    """A query's rows as dicts by column name."""
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


class ProjectionError(Exception):
    """Raised when a projection meets an event it cannot apply; names the notification."""

    def __init__(self, projection: str, notification_id: int, reason: str) -> None:
        super().__init__(f"投影 {projection} 停在通知 {notification_id}：{reason}")
        self.projection = projection
        self.notification_id = notification_id
        self.reason = reason


class Projection:
    """A read model: its tables, the topic prefixes it follows (such as "domain.ticket:Ticket."),
    the event names it knows, and `apply`."""

    name: ClassVar[str]
    version: ClassVar[int] = 1          # bump when the tables change: the runner rebuilds
    topics: ClassVar[tuple[str, ...]]
    tables: ClassVar[tuple[str, ...]]
    # Indexes that only queries use, name -> CREATE statement. A long catch-up drops them and
    # builds them again at its end, which is much cheaper than keeping them up row by row.
    query_indexes: ClassVar[dict[str, str]] = {}
    bulk = False                        # set by the runner during such a catch-up

    def create_tables(self, db: Database) -> None:
        raise NotImplementedError

    def create_query_indexes(self, db: Database) -> None:
        for statement in self.query_indexes.values():
            db.execute(statement)

    def begin_bulk(self, db: Database) -> None:
        """Prepare for a long catch-up: drop what queries alone need."""
        for name in self.query_indexes:
            db.execute(f"DROP INDEX IF EXISTS [{name}]")

    def end_bulk(self, db: Database) -> None:
        """Caught up after a long catch-up: make the tables quick to query again."""
        self.create_query_indexes(db)

    def drop_tables(self, db: Database) -> None:
        for table in self.tables:
            db.execute(f"DROP TABLE IF EXISTS [{table}]")

    def follows(self, topic: str) -> bool:
        return topic.startswith(self.topics)

    def unknown(self, item: Item) -> ProjectionError:
        return ProjectionError(self.name, item.n,
                               f"不认识的事件 {type(item.event).__qualname__}")

    def apply(self, conn: sqlite3.Connection, items: Sequence[Item]) -> None:
        """Apply a batch, one handler call per event."""
        for item in items:
            handler = getattr(self, f"on_{item.name}", None)
            if handler is None:
                raise self.unknown(item)
            handler(conn, item)
