"""Which scheduler leads (scheduler/service.py's `Leadership`): a lock that whatever holds the
store releases the moment its holder dies, so that a scheduler killed with SIGKILL hands the
lead on without anyone cleaning up. On PostgreSQL a session advisory lock, held on a
connection of its own; on SQLite an exclusive `flock` of a file beside the event store."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import psycopg


class LeadInPostgres:
    """The lead is a session advisory lock named for the store's schema and county."""

    def __init__(self, connect: dict, name: str) -> None:
        self.connect, self.name = connect, name
        self._held: psycopg.Connection | None = None

    def take(self) -> bool:
        if self._held is not None:
            try:
                self._held.execute("SELECT 1")
                return True
            except psycopg.Error:      # the session is gone, and the lock with it
                self.release()
        try:
            conn = psycopg.connect(**self.connect, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            return False
        if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.name,)).fetchone()[0]:
            self._held = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._held is not None:
            try:
                self._held.close()     # closing the session releases the lock
            finally:
                self._held = None


class LeadInFile:
    """The lead is an exclusive lock on a file: the kernel releases it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._held: int | None = None

    def take(self) -> bool:
        if self._held is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return False
        self._held = handle
        return True

    def release(self) -> None:
        if self._held is not None:
            os.close(self._held)       # closing it releases the lock
            self._held = None
