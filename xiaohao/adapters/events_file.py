"""Tables of our own in the SQLite events file, made at first use (so that a restore still
finds a store with nothing but the log): connections in autocommit, waiting for writers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class InEventsFile:
    """Connections to the events file that has `tables` (CREATE TABLE IF NOT EXISTS …)."""

    def __init__(self, path: Path, *tables: str) -> None:
        self.path, self.tables = path, tables
        self._made = False
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        if not self._made:
            for table in self.tables:
                conn.execute(table)
            self._made = True
        return conn

    def _held(self) -> sqlite3.Connection:
        """This thread's own connection, kept open: a follower that comes back twice a second
        keeps its page cache warm and reads the schema once, instead of opening the file
        anew each time."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn
