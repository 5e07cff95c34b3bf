"""Waking a node's read-model follower when events are stored (web/readside.py's `Wakeups`):
on PostgreSQL a statement trigger on the events table NOTIFYs a channel named for the schema,
and the follower LISTENs on a connection of its own, so another node's write reaches this
node's read models at once rather than at the next poll."""

from __future__ import annotations

import re
import threading
import time

import psycopg

POLL_SLICE = 0.25     # how often a waiting follower looks up to see whether it should stop


class PostgresWakeups:
    def __init__(self, connect: dict, schema: str, events_table: str) -> None:
        self.connect, self.schema, self.table = connect, schema, events_table
        self.channel = re.sub(r"[^a-z0-9_]", "_", f"xiaohao_events_{schema or 'public'}".lower())
        self._listening: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(**self.connect, autocommit=True)
        if self.schema:
            conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    def install(self) -> None:
        """The trigger that tells of new events, made once per schema (nodes starting
        together take turns)."""
        function = f"{self.channel}_notify"
        with self._connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (function,))
            conn.execute(f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
                         f"LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('{self.channel}', ''); "
                         "RETURN NULL; END $$")
            conn.execute(f"CREATE OR REPLACE TRIGGER {function} AFTER INSERT ON {self.table} "
                         f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")

    def wait(self, seconds: float, stopping: threading.Event) -> bool:
        """Wait up to `seconds` for new events (True when told of some), or until `stopping`."""
        if self._listening is None:
            self._listening = self._connect()
            self._listening.execute(f"LISTEN {self.channel}")
        deadline = time.monotonic() + seconds
        while not stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            try:
                for _ in self._listening.notifies(timeout=min(POLL_SLICE, left), stop_after=1):
                    return True
            except psycopg.Error:      # the connection dropped: listen again next time
                self.close()
                stopping.wait(min(POLL_SLICE, max(left, 0)))
                return False
        return False

    def close(self) -> None:
        if self._listening is not None:
            try:
                self._listening.close()
            finally:
                self._listening = None
