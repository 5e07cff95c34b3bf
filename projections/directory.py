"""Directory read models: units, people, heads, 包保 periods and accounts (never hashes)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database

from domain.clock import beijing
from projections.base import Item, Projection


class DirectoryProjection(Projection):
    name = "directory"
    version = 6
    topics = ("domain.directory:Directory.", "domain.account:Account.")
    tables = ("units", "people", "heads", "baobao", "accounts", "sign_in_locks", "sign_ins")

    def create_tables(self, db: Database) -> None:
        db["units"].create({"code": str, "name": str, "kind": str, "parent": str,
                            "level": str, "seq": int, "latitude": float, "longitude": float},
                           pk="code")
        db["people"].create({"id": str, "name": str, "title": str, "unit_id": str,
                             "email": str, "phone": str, "notify": str}, pk="id")
        # Keyed by the notification: a unit may change heads twice on one day, and a 包保 may
        # end and start again on one day.
        db["heads"].create({"seq": int, "unit_id": str, "person_id": str, "start": str,
                            "end": str}, pk="seq")
        db["baobao"].create({"seq": int, "leader_id": str, "unit_id": str, "start": str,
                             "end": str}, pk="seq")
        db["accounts"].create({"login": str, "id": str, "name": str, "roles": str,
                               "unit_id": str, "person_id": str, "disabled": int,
                               "created_at": str, "last_login_at": str}, pk="login")
        db["accounts"].create_index(["id"], unique=True)
        # A lock binds one account from one source (domain/account.py), so each is a row.
        db["sign_in_locks"].create({"login": str, "source": str, "until": str},
                                   pk=("login", "source"))
        # Who came and went, for the auditor: sign-ins, failed attempts and sign-outs.
        db["sign_ins"].create({"seq": int, "login": str, "event": str, "at": str,
                               "source": str, "reason": str}, pk="seq")
        db["sign_ins"].create_index(["login", "seq"])

    # Directory events
    def on_Started(self, conn: sqlite3.Connection, item: Item) -> None:
        pass   # the county itself arrives as its first UnitAdded

    def on_UnitAdded(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                     (e.code, e.name, e.kind, e.parent, e.level, item.n))

    def on_UnitLocated(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("UPDATE units SET latitude = ?, longitude = ? WHERE code = ?",
                     (e.latitude, e.longitude, e.code))

    def on_PersonRegistered(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, 'immediate')",
                     (e.person_id, e.name, e.title, e.unit_id, e.email, e.phone))

    def on_PersonUpdated(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        for column, value in e.changes.items():   # columns come from the aggregate's own list
            conn.execute(f"UPDATE people SET {column} = ? WHERE id = ?", (value, e.person_id))

    def on_HeadAppointed(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute('UPDATE heads SET "end" = ? WHERE unit_id = ? AND "end" IS NULL',
                     (e.on.isoformat(), e.unit_id))
        conn.execute("INSERT INTO heads VALUES (?, ?, ?, ?, NULL)",
                     (item.n, e.unit_id, e.person_id, e.on.isoformat()))

    def on_BaobaoAssigned(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO baobao VALUES (?, ?, ?, ?, NULL)",
                     (item.n, e.leader_id, e.unit_id, e.on.isoformat()))

    def on_BaobaoEnded(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute('UPDATE baobao SET "end" = ? WHERE leader_id = ? AND unit_id = ? '
                     'AND "end" IS NULL', (e.on.isoformat(), e.leader_id, e.unit_id))

    # Account events
    def on_Registered(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        conn.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, 0, ?, NULL)",
                     (e.login, item.aggregate, e.name, json.dumps(e.roles), e.unit_id,
                      e.person_id, item.at))

    @staticmethod
    def _account(conn: sqlite3.Connection, item: Item, **values: Any) -> None:
        sets = ", ".join(f"{column} = ?" for column in values)
        conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", (*values.values(), item.aggregate))

    def on_PasswordChanged(self, conn: sqlite3.Connection, item: Item) -> None:
        pass   # hashes never leave the event store

    def on_Disabled(self, conn: sqlite3.Connection, item: Item) -> None:
        self._account(conn, item, disabled=1)

    def on_Enabled(self, conn: sqlite3.Connection, item: Item) -> None:
        self._account(conn, item, disabled=0)

    def _sign_in(self, conn: sqlite3.Connection, item: Item, reason: str | None = None) -> None:
        conn.execute("INSERT INTO sign_ins SELECT ?, login, ?, ?, ?, ? FROM accounts WHERE id = ?",
                     (item.n, item.name, item.at, item.event.source, reason, item.aggregate))

    def on_LoggedIn(self, conn: sqlite3.Connection, item: Item) -> None:
        self._account(conn, item, last_login_at=item.at)
        conn.execute("DELETE FROM sign_in_locks WHERE source = ? AND login = "
                     "(SELECT login FROM accounts WHERE id = ?)", (item.event.source, item.aggregate))
        self._sign_in(conn, item)

    def on_LoginFailed(self, conn: sqlite3.Connection, item: Item) -> None:
        e = item.event
        if e.locked_until:
            until = beijing(e.locked_until).isoformat(timespec="microseconds")
            conn.execute("INSERT OR REPLACE INTO sign_in_locks SELECT login, ?, ? FROM accounts "
                         "WHERE id = ?", (e.source, until, item.aggregate))
        self._sign_in(conn, item, e.reason)

    def on_LoggedOut(self, conn: sqlite3.Connection, item: Item) -> None:
        self._sign_in(conn, item)

    def on_ApiTokenIssued(self, conn: sqlite3.Connection, item: Item) -> None:
        pass   # token digests never leave the event store

    def on_ApiTokenRevoked(self, conn: sqlite3.Connection, item: Item) -> None:
        pass
