"""Failed sign-ins per source (domain/signing_in.py `SourceFailures`), kept in a small table of
the event store's own database, so that every web node on that store counts the same failures.

The table is made at first use rather than when the application is built: a restore needs
an empty schema, and a counter that starts empty loses nothing.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

TABLE = "sign_in_failures"


class FailuresInSqlite:
    """The counts in the SQLite events file (shared by the processes of one host)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._made = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        if not self._made:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (source TEXT NOT NULL, "
                         "period INTEGER NOT NULL, failures INTEGER NOT NULL, "
                         "PRIMARY KEY (source, period))")
            self._made = True
        return conn

    def count(self, source: str, window: int) -> int:
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT failures FROM {TABLE} WHERE source = ? AND period = ?",
                               (source, window)).fetchone()
        return row[0] if row else 0

    def add(self, source: str, window: int) -> None:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"DELETE FROM {TABLE} WHERE period < ?", (window,))
            conn.execute(f"INSERT INTO {TABLE} (source, period, failures) VALUES (?, ?, 1) "
                         "ON CONFLICT (source, period) DO UPDATE SET failures = failures + 1",
                         (source, window))
            conn.execute("COMMIT")


class FailuresInPostgres:
    """The counts in the PostgreSQL schema of the event store (shared by every node)."""

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
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (source TEXT NOT NULL, "
                                     "period BIGINT NOT NULL, failures INTEGER NOT NULL, "
                                     "PRIMARY KEY (source, period))").format(self.table))
            except (errors.UniqueViolation, errors.InternalError):
                pass    # another node made it at the same moment
            self._made = True
        return conn

    def count(self, source: str, window: int) -> int:
        from psycopg import sql

        with self._connect() as conn:
            row = conn.execute(sql.SQL("SELECT failures FROM {} WHERE source = %s AND "
                                       "period = %s").format(self.table),
                               (source, window)).fetchone()
        return row[0] if row else 0

    def add(self, source: str, window: int) -> None:
        from psycopg import sql

        with self._connect() as conn, conn.transaction():
            conn.execute(sql.SQL("DELETE FROM {} WHERE period < %s").format(self.table),
                         (window,))
            conn.execute(sql.SQL("INSERT INTO {} AS f (source, period, failures) VALUES "
                                 "(%s, %s, 1) ON CONFLICT (source, period) DO UPDATE SET "
                                 "failures = f.failures + 1").format(self.table),
                         (source, window))
