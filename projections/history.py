"""Versioned rows: a read model that must answer "as it stood then" keeps, beside its present
rows, every version of each, valid from the notification that made it up to the one that made
the next (`valid_to`, `OPEN` while it is the latest). A past log position picks exactly the
versions alive then (projections/asof.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Container

OPEN = 2**62    # `valid_to` of a row's latest version: beyond any notification id
SPAN = {"valid_from": int, "valid_to": int}


def write_versions(conn: sqlite3.Connection, table: str, columns: list[str],
                   versions: list[list], new: Container = ()) -> None:
    """Store a batch's versions, in log order, each a row's values (its key first) followed
    by the notification that made it; each closes the one before it, in the batch or stored
    (`new` holds keys with none stored: a row first made in this batch). Each list is given
    its `valid_to` in place."""
    latest: dict[object, list] = {}
    ended = []
    for version in versions:
        key, made = version[0], version[-1]
        before = latest.get(key)
        if before is None:
            if key not in new:
                ended.append((made, key, OPEN))
        else:
            before[-1] = made
        version.append(OPEN)
        latest[key] = version
    # `+valid_to`: found by the row's key, never by the span index, which holds every open row
    conn.executemany(f"UPDATE {table} SET valid_to = ? WHERE {columns[0]} = ? AND +valid_to = ?",
                     ended)
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}, valid_from, valid_to) "
                     f"VALUES ({', '.join('?' * (len(columns) + 2))})", versions)


def alive_at(position: int) -> str:
    """The condition that picks the versions alive at a log position."""
    return f"valid_from <= {int(position)} AND valid_to > {int(position)}"
