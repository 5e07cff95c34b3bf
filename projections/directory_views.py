"""Directory questions: the unit tree, people, and the 包保 map as of any day."""

from __future__ import annotations

import json
from datetime import date

from sqlite_utils import Database

from projections.base import as_dicts


def _rows(db: Database, sql: str, params: tuple = ()) -> list[dict]:
    return as_dicts(db.execute(sql, params))


def unit_tree(db: Database) -> list[dict]:
    """The county with its bodies, towns and schools nested under `children`, in seed order
    (with where each is, when the office has said so: `latitude`, `longitude`)."""
    units = _rows(db, "SELECT code, name, kind, parent, level, latitude, longitude FROM units "
                 "ORDER BY seq")
    by_code = {u["code"]: {**u, "children": []} for u in units}
    roots = []
    for unit in by_code.values():
        parent = by_code.get(unit["parent"])
        (parent["children"] if parent else roots).append(unit)
    return roots


def people(db: Database, unit: str | None = None) -> list[dict]:
    where, params = ("WHERE p.unit_id = ?", (unit,)) if unit else ("", ())
    return _rows(db, "SELECT p.*, u.name AS unit_name FROM people p LEFT JOIN units u "
                 f"ON u.code = p.unit_id {where} ORDER BY p.unit_id, p.id", params)


def unit_row(db: Database, code: str) -> dict | None:
    """One unit as the tree holds it (without children), or None."""
    rows = _rows(db, "SELECT code, name, kind, parent, level, latitude, longitude FROM units "
                 "WHERE code = ?", (code,))
    return rows[0] if rows else None


def person_row(db: Database, person_id: str) -> dict | None:
    """One person as `people` gives them, or None."""
    rows = _rows(db, "SELECT p.*, u.name AS unit_name FROM people p LEFT JOIN units u "
                 "ON u.code = p.unit_id WHERE p.id = ?", (person_id,))
    return rows[0] if rows else None


def baobao_map(db: Database, day: date) -> list[dict]:
    """Each leader with the towns and schools they answered for on `day`."""
    rows = _rows(db, 'SELECT b.leader_id, p.name AS leader_name, b.unit_id, u.name AS unit_name '
                 "FROM baobao b JOIN people p ON p.id = b.leader_id JOIN units u ON "
                 'u.code = b.unit_id WHERE b.start <= ? AND (b."end" IS NULL OR b."end" > ?) '
                 "ORDER BY b.leader_id, u.seq", (day.isoformat(), day.isoformat()))
    leaders: dict[str, dict] = {}
    for r in rows:
        leader = leaders.setdefault(r["leader_id"], {"leader_id": r["leader_id"],
                                                     "leader_name": r["leader_name"], "units": []})
        leader["units"].append({"code": r["unit_id"], "name": r["unit_name"]})
    return list(leaders.values())


def heads_on(db: Database, day: date) -> dict[str, str]:
    """Unit code → the person heading it on `day`."""
    return dict(db.execute('SELECT unit_id, person_id FROM heads WHERE start <= ? AND '
                           '("end" IS NULL OR "end" > ?)', (day.isoformat(), day.isoformat())))


def names(db: Database) -> dict[str, str]:
    """Unit codes and person ids → their names, for showing rows that hold only codes."""
    return dict(db.execute("SELECT code, name FROM units UNION ALL SELECT id, name FROM people"))


def units_of_kind(db: Database, *kinds: str) -> list[dict]:
    """Units of the given kinds (town, school, department…) in seed order, for choosing one."""
    marks = ", ".join("?" * len(kinds))
    return _rows(db, f"SELECT code, name, kind, parent FROM units WHERE kind IN ({marks}) "
                 "ORDER BY seq", kinds)


def accounts(db: Database, now_iso: str) -> list[dict]:
    """Every login with its roles, unit, person, whether it is disabled, and the locks that
    hold at `now_iso` (each from one source, with its end)."""
    rows = _rows(db, "SELECT a.login, a.name, a.roles, a.unit_id, u.name AS unit_name, "
                 "a.person_id, a.disabled, a.last_login_at "
                 "FROM accounts a LEFT JOIN units u ON u.code = a.unit_id ORDER BY a.login")
    locks: dict[str, list[dict]] = {}
    for lock in _rows(db, "SELECT login, source, until FROM sign_in_locks WHERE until > ? "
                      "ORDER BY until", (now_iso,)):
        locks.setdefault(lock.pop("login"), []).append(lock)
    for row in rows:
        row["roles"] = json.loads(row["roles"])
        row["locks"] = locks.get(row["login"], [])
    return rows


def sign_ins(db: Database, limit: int = 50) -> list[dict]:
    """The latest sign-ins, failed attempts and sign-outs, newest first."""
    return _rows(db, "SELECT login, event, at, source, reason FROM sign_ins ORDER BY seq DESC "
                 "LIMIT ?", (limit,))


def leaders(db: Database) -> list[dict]:
    """The people who answer for towns (包保领导), in the order of their ids."""
    return _rows(db, "SELECT p.id, p.name, p.title FROM people p WHERE p.id IN "
                 "(SELECT leader_id FROM baobao) ORDER BY p.id")


def directory_version(db: Database) -> int:
    """Changes whenever the directory read model does: a key for caching what is read of it."""
    row = db.execute("SELECT position FROM _positions WHERE name = 'directory'").fetchone()
    return row[0] if row else 0
