"""The seal's leaves and head (domain/checkpoints.py `SealLeaves`), in two tables of the event
store's own database, so that they are backed up with it and every node sees one seal:
`xiaohao_seal_leaves` (leaf index → notification id, leaf hash) and `xiaohao_seal_head` (one
row: size, last id, frontier, last checkpoint). Made at first use, like the counts table, so a
restore still finds an empty schema."""

from __future__ import annotations

import threading
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from domain.checkpoints import SealHead
from xiaohao.adapters.events_file import InEventsFile

LEAVES, HEAD = "xiaohao_seal_leaves", "xiaohao_seal_head"


def _leaves_table(blob: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {LEAVES} (leaf_index BIGINT PRIMARY KEY, "
            f"notification_id BIGINT NOT NULL, leaf_hash {blob} NOT NULL)")


def _head_table(blob: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {HEAD} (one INTEGER PRIMARY KEY CHECK (one = 1), "
            f"size BIGINT NOT NULL, last_id BIGINT NOT NULL, frontier {blob} NOT NULL, "
            "checkpoint_size BIGINT NOT NULL, checkpoint_at TEXT NOT NULL, hash TEXT NOT NULL)")


HEAD_COLUMNS = "size, last_id, frontier, checkpoint_size, checkpoint_at, hash"
# The head moves; the last checkpoint stays as mark_checkpoint left it.
MOVE_HEAD = (f"INSERT INTO {HEAD} VALUES (1, %s, %s, %s, 0, '', %s) ON CONFLICT (one) DO UPDATE "
             "SET size = excluded.size, last_id = excluded.last_id, frontier = excluded.frontier")


def _moved(head: SealHead) -> tuple:
    return head.size, head.last_id, head.frontier, head.hash


def _head(row) -> SealHead:
    return SealHead(row[0], row[1], bytes(row[2]), row[3], row[4], row[5]) if row else SealHead()


class SealInSqlite(InEventsFile):
    """In the SQLite events file. Its commits are not flushed to disk one by one (synchronous
    NORMAL under WAL): the seal is made from committed events, so a power cut can only take it
    back to an earlier state, which the next follow brings forward again."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _leaves_table("BLOB"), _head_table("BLOB"))

    def _connect(self):
        conn = super()._connect()
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def head(self) -> SealHead:
        return _head(self._held().execute(f"SELECT {HEAD_COLUMNS} FROM {HEAD}").fetchone())

    def append(self, before: SealHead, rows, after: SealHead) -> bool:
        conn = self._held()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _head(conn.execute(f"SELECT {HEAD_COLUMNS} FROM {HEAD}").fetchone()).size \
                    != before.size:
                conn.execute("ROLLBACK")
                return False
            conn.executemany(f"INSERT INTO {LEAVES} VALUES (?, ?, ?)", rows)
            conn.execute(MOVE_HEAD.replace("%s", "?"), _moved(after))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

    def mark_checkpoint(self, size: int, at: str) -> None:
        self._held().execute(f"UPDATE {HEAD} SET checkpoint_size = ?, checkpoint_at = ? "
                             "WHERE checkpoint_size < ?", (size, at, size))

    def leaves(self, start: int, limit: int) -> list[tuple[int, int, bytes]]:
        with closing(self._connect()) as conn:
            return conn.execute(f"SELECT leaf_index, notification_id, leaf_hash FROM {LEAVES} "
                                "WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?",
                                (start, limit)).fetchall()


class StoredInSqlite(InEventsFile):
    """The events file's rows as the seal reads them (domain/checkpoints.py `StoredRows`):
    the same columns the recorder reads, without making each originator id a UUID first."""

    def __init__(self, path: Path, table: str) -> None:
        super().__init__(path)
        self.select = (f"SELECT rowid, originator_id, originator_version, topic, state "
                       f"FROM {table} WHERE rowid >= ? AND rowid <= ? ORDER BY rowid LIMIT ?")

    def __call__(self, start: int, stop: int, limit: int) -> list[tuple]:
        return [(n, bytes.fromhex(originator.replace("-", "")), version, topic, state)
                for n, originator, version, topic, state in
                self._held().execute(self.select, (start, stop, limit))]


class SealInPostgres:
    """In the PostgreSQL schema of the event store."""

    def __init__(self, connect: dict, schema: str) -> None:
        self.connect, self.schema = connect, schema
        self._made = False

    def _connect(self):
        import psycopg
        from psycopg import errors

        conn = psycopg.connect(**self.connect, autocommit=True)
        if self.schema:
            conn.execute(f'SET search_path TO "{self.schema}"')
        if not self._made:
            for table in (_leaves_table("BYTEA"), _head_table("BYTEA")):
                try:
                    conn.execute(table)
                except (errors.UniqueViolation, errors.InternalError):
                    pass    # another node made it at the same moment
            self._made = True
        return conn

    def head(self) -> SealHead:
        with self._connect() as conn:
            return _head(conn.execute(f"SELECT {HEAD_COLUMNS} FROM {HEAD}").fetchone())

    def append(self, before: SealHead, rows, after: SealHead) -> bool:
        with self._connect() as conn, conn.transaction():
            conn.execute(f"LOCK TABLE {HEAD} IN EXCLUSIVE MODE")
            if _head(conn.execute(f"SELECT {HEAD_COLUMNS} FROM {HEAD}").fetchone()).size \
                    != before.size:
                return False
            with conn.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {LEAVES} VALUES (%s, %s, %s)", rows)
            conn.execute(MOVE_HEAD, _moved(after))
        return True

    def mark_checkpoint(self, size: int, at: str) -> None:
        with self._connect() as conn:
            conn.execute(f"UPDATE {HEAD} SET checkpoint_size = %s, checkpoint_at = %s "
                         "WHERE checkpoint_size < %s", (size, at, size))

    def leaves(self, start: int, limit: int) -> list[tuple[int, int, bytes]]:
        with self._connect() as conn:
            return [(i, n, bytes(h)) for i, n, h in conn.execute(
                f"SELECT leaf_index, notification_id, leaf_hash FROM {LEAVES} "
                "WHERE leaf_index >= %s ORDER BY leaf_index LIMIT %s", (start, limit))]


class SealInMemory:
    """For the in-memory store."""

    def __init__(self) -> None:
        self._head = SealHead()
        self._rows: list[tuple[int, int, bytes]] = []
        self._lock = threading.Lock()

    def head(self) -> SealHead:
        return self._head

    def append(self, before: SealHead, rows, after: SealHead) -> bool:
        with self._lock:
            if self._head.size != before.size:
                return False
            self._rows.extend(rows)
            self._head = replace(after, checkpoint_size=self._head.checkpoint_size,
                                 checkpoint_at=self._head.checkpoint_at)
            return True

    def mark_checkpoint(self, size: int, at: str) -> None:
        with self._lock:
            if size > self._head.checkpoint_size:
                self._head = replace(self._head, checkpoint_size=size, checkpoint_at=at)

    def leaves(self, start: int, limit: int) -> list[tuple[int, int, bytes]]:
        return self._rows[start:start + limit]
