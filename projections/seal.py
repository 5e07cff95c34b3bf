"""The `seal` read model: the checkpoints recorded (with the runs that printed each), and the
verifications run against the seal, for the audit page."""

from __future__ import annotations

import json
import sqlite3

from sqlite_utils import Database

from domain.clock import beijing
from projections.base import Item, Projection, as_dicts


class SealProjection(Projection):
    name = "seal"
    topics = ("domain.checkpoints:", "domain.cycle:CycleRun.")
    tables = ("checkpoints", "checkpoint_prints", "verifications")

    def create_tables(self, db: Database) -> None:
        db["checkpoints"].create({"size": int, "root": str, "at": str, "reason": str,
                                  "hash": str, "signature_algorithm": str, "key": str,
                                  "position": int}, pk="size")
        db["checkpoint_prints"].create({"size": int, "kind": str, "period": str,
                                        "number": int}, pk=("kind", "period"))
        db["checkpoint_prints"].create_index(["size"])
        db["verifications"].create({"id": str, "by_login": str, "ok": int, "events": int,
                                    "sealed": int, "checkpoints": int, "given": int,
                                    "problems": str, "started_at": str, "done_at": str},
                                   pk="id")

    def apply(self, conn: sqlite3.Connection, items) -> None:
        for item in items:
            kind = type(item.event).__qualname__
            handler = {"Checkpoint.Recorded": self._checkpoint, "CycleRun.Issued": self._run,
                       "CycleRun.Signed": self._signed, "CycleRun.Edited": _nothing,
                       "Verification.Completed": self._verification}.get(kind)
            if handler is None:
                raise self.unknown(item)
            handler(conn, item)

    def _checkpoint(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (e.size, e.root, e.at, e.reason, e.hash, e.signature_algorithm, e.key,
                      item.n))

    def _run(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        if seal := e.content.get("seal"):
            conn.execute("INSERT INTO checkpoint_prints VALUES (?, ?, ?, ?)",
                         (seal["size"], e.kind, e.period, e.number))

    def _signed(self, conn: sqlite3.Connection, item: Item) -> None:
        """A bulletin prints the checkpoint taken as it was signed."""
        e = item.event
        if e.seal:
            conn.execute("INSERT OR REPLACE INTO checkpoint_prints VALUES (?, 'bulletin', ?, ?)",
                         (e.seal["size"], e.period, e.number))

    def _verification(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO verifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (item.aggregate, e.by, int(e.ok), e.events, e.sealed, e.checkpoints,
                      e.given, json.dumps(e.problems, ensure_ascii=False),
                      beijing(e.started_at).isoformat(timespec="seconds"), item.at))


def _nothing(conn: sqlite3.Connection, item: Item) -> None:
    """An event the audit page has nothing to say of."""


def checkpoints(db: Database, limit: int = 60) -> list[dict]:
    """The newest checkpoints first, each with the runs that printed it."""
    rows = as_dicts(db.execute("SELECT * FROM checkpoints ORDER BY size DESC LIMIT ?", (limit,)))
    prints: dict[int, list[dict]] = {}
    if rows:
        for p in as_dicts(db.execute("SELECT * FROM checkpoint_prints WHERE size >= ? "
                                     "ORDER BY period", (rows[-1]["size"],))):
            prints.setdefault(p["size"], []).append(p)
    return [r | {"prints": prints.get(r["size"], [])} for r in rows]


def checkpoint_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM checkpoints").fetchone()[0]


def verifications(db: Database, limit: int = 10) -> list[dict]:
    """The latest checks of the log against its seal, newest first."""
    return [r | {"problems": json.loads(r["problems"])} for r in as_dicts(db.execute(
        "SELECT * FROM verifications ORDER BY done_at DESC LIMIT ?", (limit,)))]
