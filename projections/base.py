"""What every projection is: tables it owns, the events it follows and a handler per event."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from sqlite_utils import Database

from domain.clock import beijing


def when(event: Any) -> str:
    """Event time as Beijing ISO text: sortable, and what the UI shows."""
    return beijing(event.timestamp).isoformat(timespec="seconds")


class ProjectionError(Exception):
    """Raised when a projection meets an event it cannot apply; names the notification."""

    def __init__(self, projection: str, notification_id: int, reason: str) -> None:
        super().__init__(f"投影 {projection} 停在通知 {notification_id}：{reason}")
        self.projection = projection
        self.notification_id = notification_id
        self.reason = reason


class Projection:
    """A read model. Subclasses name their tables, the topics they follow (prefixes such as
    "domain.ticket:Ticket."), and define `on_<EventName>(conn, notification_id, event)`."""

    name: ClassVar[str]
    version: ClassVar[int] = 1          # bump when the tables change: the runner rebuilds
    topics: ClassVar[tuple[str, ...]]
    tables: ClassVar[tuple[str, ...]]

    def create_tables(self, db: Database) -> None:
        raise NotImplementedError

    def drop_tables(self, db: Database) -> None:
        for table in self.tables:
            db.execute(f"DROP TABLE IF EXISTS [{table}]")

    def follows(self, topic: str) -> bool:
        return topic.startswith(self.topics)

    def handle(self, conn: sqlite3.Connection, notification_id: int, event: Any) -> None:
        handler = getattr(self, f"on_{type(event).__name__}", None)
        if handler is None:
            raise ProjectionError(self.name, notification_id,
                                  f"不认识的事件 {type(event).__qualname__}")
        handler(conn, notification_id, event)
