"""Tables of our own in the SQLite events file, made at first use (so that a restore still
finds a store with nothing but the log): connections in autocommit, waiting for writers."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class InEventsFile:
    """Connections to the events file that has `tables` (CREATE TABLE IF NOT EXISTS …)."""

    def __init__(self, path: Path, *tables: str) -> None:
        self.path, self.tables = path, tables
        self._made = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        if not self._made:
            for table in self.tables:
                conn.execute(table)
            self._made = True
        return conn
