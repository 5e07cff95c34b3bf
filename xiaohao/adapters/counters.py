"""Counts that every web node on one event store must share, kept in a small table of that
store's own database: failed sign-ins per source and quarter-hour (the domain's
`SourceFailures`), and bytes uploaded per account and day (the web's `UploadQuota`).

Each count is (kind, key, period) → amount. Adding to a period forgets that kind's earlier
periods, so the table holds only what still matters. The table is made at first use rather
than when the application is built: a restore needs an empty schema, and a count that starts
empty loses nothing.
"""

from __future__ import annotations

import threading
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Protocol

from xiaohao.adapters.events_file import InEventsFile

TABLE = "xiaohao_counts"
UNBOUNDED = 2**62
COLUMNS = ("(kind TEXT NOT NULL, key TEXT NOT NULL, period BIGINT NOT NULL, "
           "amount BIGINT NOT NULL, PRIMARY KEY (kind, key, period))")


class Counts(Protocol):
    def count(self, kind: str, key: str, period: int) -> int: ...

    def add(self, kind: str, key: str, period: int, amount: int, most: int) -> bool:
        """Add `amount` unless the period's total would pass `most` (then nothing is added);
        say whether it was added. Earlier periods of `kind` are forgotten."""


class CountsInSqlite(InEventsFile):
    """In the SQLite events file (shared by the processes of one host)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, f"CREATE TABLE IF NOT EXISTS {TABLE} {COLUMNS}")

    def count(self, kind: str, key: str, period: int) -> int:
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT amount FROM {TABLE} WHERE kind = ? AND key = ? AND "
                               "period = ?", (kind, key, period)).fetchone()
        return row[0] if row else 0

    def add(self, kind: str, key: str, period: int, amount: int, most: int) -> bool:
        if amount > most:
            return False
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"DELETE FROM {TABLE} WHERE kind = ? AND period < ?", (kind, period))
            added = conn.execute(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?) ON CONFLICT (kind, key, period) "
                f"DO UPDATE SET amount = amount + excluded.amount "
                f"WHERE {TABLE}.amount + excluded.amount <= ?",
                (kind, key, period, amount, most)).rowcount
            conn.execute("COMMIT")
        return added == 1


class CountsInPostgres:
    """In the PostgreSQL schema of the event store (shared by every node)."""

    def __init__(self, connect: dict, schema: str) -> None:
        from psycopg import sql

        self.connect = connect
        self.table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self._made = False

    def _connect(self):
        import psycopg
        from psycopg import errors, sql

        conn = psycopg.connect(**self.connect, autocommit=True)
        if not self._made:
            try:
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} " + COLUMNS)
                             .format(self.table))
            except (errors.UniqueViolation, errors.InternalError):
                pass    # another node made it at the same moment
            self._made = True
        return conn

    def count(self, kind: str, key: str, period: int) -> int:
        from psycopg import sql

        with self._connect() as conn:
            row = conn.execute(sql.SQL("SELECT amount FROM {} WHERE kind = %s AND key = %s AND "
                                       "period = %s").format(self.table),
                               (kind, key, period)).fetchone()
        return row[0] if row else 0

    def add(self, kind: str, key: str, period: int, amount: int, most: int) -> bool:
        from psycopg import sql

        if amount > most:
            return False
        with self._connect() as conn, conn.transaction():
            conn.execute(sql.SQL("DELETE FROM {} WHERE kind = %s AND period < %s")
                         .format(self.table), (kind, period))
            added = conn.execute(sql.SQL(
                "INSERT INTO {} AS c VALUES (%s, %s, %s, %s) ON CONFLICT (kind, key, period) "
                "DO UPDATE SET amount = c.amount + excluded.amount "
                "WHERE c.amount + excluded.amount <= %s").format(self.table),
                (kind, key, period, amount, most)).rowcount
        return added == 1


class CountsInMemory:
    """For the in-memory store, which no other process shares."""

    def __init__(self) -> None:
        self.amounts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def count(self, kind: str, key: str, period: int) -> int:
        return self.amounts.get((kind, key, period), 0)

    def add(self, kind: str, key: str, period: int, amount: int, most: int) -> bool:
        with self._lock:
            self.amounts = {k: v for k, v in self.amounts.items()
                            if k[0] != kind or k[2] >= period}
            total = self.amounts.get((kind, key, period), 0) + amount
            if total > most:
                return False
            self.amounts[kind, key, period] = total
            return True


class SignInFailures:
    """Failed sign-ins per source and window (domain/signing_in.py `SourceFailures`)."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    def count(self, source: str, window: int) -> int:
        return self.counts.count("sign_in", source, window)

    def add(self, source: str, window: int) -> None:
        self.counts.add("sign_in", source, window, 1, UNBOUNDED)


class DailyUploads:
    """Bytes uploaded per account and Beijing day, up to `most_bytes` (web/config.py
    `UploadQuota`)."""

    def __init__(self, counts: Counts, most_bytes: int) -> None:
        self.counts, self.most_bytes = counts, most_bytes

    def take(self, login: str, day: date, size: int) -> bool:
        return self.counts.add("upload", login, day.toordinal(), size, self.most_bytes)
