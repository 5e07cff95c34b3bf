"""The read database: one SQLite file under var/, opened in WAL mode with explicit transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database


def open_read_db(path: Path | str) -> Database:
    """Open (or create) the read database. ":memory:" gives a private in-memory one."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: the runner opens and ends each batch's transaction itself.
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    return Database(conn)
