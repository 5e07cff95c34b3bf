"""Questions pages, bulletins and exports ask of the read models. Plain rows out; no SQL outside.

The traffic light is computed here for a given day, never stored: red = past the deadline and
not yet rectified; yellow = due within `warn_days`; green otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlite_utils import Database

from domain.values import State

UNRECTIFIED = "('opened', 'assigned')"
LIGHT_SQL = (f"CASE WHEN t.state IN {UNRECTIFIED} AND t.deadline < :today THEN 'red' "
             f"WHEN t.state IN {UNRECTIFIED} AND t.deadline <= :soon THEN 'yellow' "
             "ELSE 'green' END")
OVERDUE_SQL = (f"CASE WHEN t.state IN {UNRECTIFIED} AND t.deadline < :today "
               "THEN CAST(julianday(:today) - julianday(t.deadline) AS INTEGER) ELSE 0 END")
LIGHT_LABELS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
LIGHT_WHERE = {
    "red": f"t.state IN {UNRECTIFIED} AND t.deadline < :today",
    "yellow": f"t.state IN {UNRECTIFIED} AND t.deadline >= :today AND t.deadline <= :soon",
    "green": f"NOT (t.state IN {UNRECTIFIED} AND t.deadline IS NOT NULL "
             "AND t.deadline <= :soon)",
}
SORTS = {"number": ["t.number"], "deadline": ["t.deadline"], "opened": ["t.opened_at"],
         "light": ["CASE light WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END", "t.deadline"],
         "overdue": ["days_overdue"], "town": ["t.town_id", "t.unit_id"]}
WARN_DAYS = 3


@dataclass(frozen=True)
class Scope:
    """Which tickets a user may see: those any one of the fields allows."""

    units: frozenset[str] = frozenset()   # in these towns or schools, or led or shared by them
    leader: str | None = None             # naming this 包保 leader
    responsible: str | None = None        # led by this unit, or shared with it


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list can be narrowed by; every field is optional."""

    town: str | None = None
    unit: str | None = None          # where the problem is, or lead, or co-responsible
    state: str | None = None
    light: str | None = None
    indicator: str | None = None
    severity: str | None = None
    source: str | None = None
    leader: str | None = None
    text: str | None = None
    due_from: date | None = None     # deadline on or after (e.g. next week's due items)
    due_to: date | None = None       # deadline on or before
    scope: Scope | None = None       # a unit user's or leader's visibility (None: everything)


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class _Query:
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, params: dict | None = None, **more: Any) -> None:
        self.where.append(clause)
        self.params.update(params or {}, **more)

    @property
    def sql(self) -> str:
        return " AND ".join(self.where) or "1"


def _where(f: TicketFilter, today: date, warn_days: int) -> _Query:
    q = _Query(params={"today": today.isoformat(),
                       "soon": (today + timedelta(days=warn_days)).isoformat()})
    if f.town:
        q.add("t.town_id = :town", town=f.town)
    if f.unit:
        q.add("(t.unit_id = :unit OR t.id IN (SELECT ticket_id FROM ticket_units "
              "WHERE unit_id = :unit))", unit=f.unit)
    for name in ("state", "indicator", "severity", "source"):
        value = getattr(f, name)
        if value:
            column = "indicator_id" if name == "indicator" else name
            q.add(f"t.{column} = :{name}", **{name: value})
    if f.light:   # written out so that the (town, state, deadline) index can serve it
        q.add(LIGHT_WHERE[f.light])
    if f.leader:
        q.add("t.id IN (SELECT ticket_id FROM ticket_leaders WHERE leader_id = :leader)",
              leader=f.leader)
    if f.text and len(f.text.strip()) >= 3:
        phrase = '"' + f.text.strip().replace('"', '""') + '"'
        q.add("t.seq IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH :text)",
              text=phrase)
    elif f.text and f.text.strip():   # trigrams need three characters: scan for shorter ones
        escaped = f.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q.add("(t.title LIKE :text ESCAPE '\\' OR t.description LIKE :text ESCAPE '\\' "
              "OR t.measures LIKE :text ESCAPE '\\' OR t.number LIKE :text ESCAPE '\\')",
              text=f"%{escaped}%")
    if f.due_from:
        q.add("t.deadline >= :due_from", due_from=f.due_from.isoformat())
    if f.due_to:
        q.add("t.deadline <= :due_to", due_to=f.due_to.isoformat())
    if f.scope is not None:
        q.add(*scope_clause(f.scope))
    return q


def visible_numbers(db: Database, numbers: list[str], scope: Scope | None) -> set[str]:
    """Which of these ticket numbers a scope may see (all of them for None)."""
    if scope is None:
        return set(numbers)
    clause, params = scope_clause(scope)
    return {n for (n,) in db.execute(
        f"SELECT t.number FROM tickets t WHERE t.number IN (SELECT value FROM json_each(:numbers)) "
        f"AND {clause}", params | {"numbers": json.dumps(numbers)})}


def scope_clause(scope: Scope) -> tuple[str, dict]:
    """The WHERE clause (over tickets `t`) and its parameters that keep what a scope allows."""
    return _scope_sql(scope), {"scope_units": json.dumps(sorted(scope.units)),
                               "scope_leader": scope.leader,
                               "scope_responsible": scope.responsible}


def _scope_sql(scope: Scope) -> str:
    either = []
    if scope.units:
        units = "(SELECT value FROM json_each(:scope_units))"
        either.append(f"t.town_id IN {units} OR t.unit_id IN {units} OR t.id IN "
                      f"(SELECT ticket_id FROM ticket_units WHERE unit_id IN {units})")
    if scope.leader:
        either.append("t.id IN (SELECT ticket_id FROM ticket_leaders WHERE leader_id = "
                      ":scope_leader)")
    if scope.responsible:
        either.append("t.id IN (SELECT ticket_id FROM ticket_units WHERE unit_id = "
                      ":scope_responsible)")
    return "(" + (" OR ".join(either) or "0") + ")"


def list_tickets(db: Database, f: TicketFilter, today: date, *, sort: str = "light",
                 descending: bool = False, page: int = 1, per_page: int = 50,
                 warn_days: int = WARN_DAYS) -> Page:
    """One page of tickets with their light and days overdue for `today`, the names of their
    town, unit and lead unit (`town_name`, `unit_name`, `lead_name`), and the total."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    page, per_page = max(1, page), min(max(1, per_page), 500)
    q = _where(f, today, warn_days)
    total = db.execute(f"SELECT count(*) FROM tickets t WHERE {q.sql}", q.params).fetchone()[0]
    order = ", ".join(f"{column}{' DESC' if descending else ''}" for column in SORTS[sort])
    # The page's rows are chosen by their keys alone and only then read whole: sorting every
    # matching row with all its columns costs a large town's list a third more.
    chosen = (f"SELECT rowid FROM (SELECT t.rowid, {LIGHT_SQL} AS light, {OVERDUE_SQL} AS "
              f"days_overdue FROM tickets t WHERE {q.sql} ORDER BY {order}, t.number "
              "LIMIT :limit OFFSET :offset)")
    cursor = db.execute(
        f"SELECT t.*, {LIGHT_SQL} AS light, {OVERDUE_SQL} AS days_overdue, "
        "town.name AS town_name, place.name AS unit_name, lead.name AS lead_name "
        "FROM tickets t LEFT JOIN units town ON town.code = t.town_id "
        "LEFT JOIN units place ON place.code = t.unit_id "
        "LEFT JOIN units lead ON lead.code = t.lead_unit_id "
        f"WHERE t.rowid IN ({chosen}) ORDER BY {order}, t.number",
        q.params | {"limit": per_page, "offset": (page - 1) * per_page})
    columns = [c[0] for c in cursor.description]
    return Page([dict(zip(columns, row, strict=True)) for row in cursor], total, page, per_page)


def light_counts(db: Database, f: TicketFilter, today: date,
                 warn_days: int = WARN_DAYS) -> dict[str, int]:
    """How many of the filtered tickets show each light (cancelled ones are not counted)."""
    q = _where(f, today, warn_days)
    counts = dict(db.execute(
        f"SELECT {LIGHT_SQL} AS light, count(*) FROM tickets t WHERE {q.sql} "
        "AND t.state != 'cancelled' GROUP BY light", q.params).fetchall())
    return {light: counts.get(light, 0) for light in LIGHT_LABELS}


def state_counts(db: Database, f: TicketFilter, today: date,
                 warn_days: int = WARN_DAYS) -> dict[str, int]:
    """How many of the filtered tickets are in each state (every state named, zeros too)."""
    q = _where(f, today, warn_days)
    counts = dict(db.execute(f"SELECT t.state, count(*) FROM tickets t WHERE {q.sql} "
                             "GROUP BY t.state", q.params).fetchall())
    return {state.value: counts.get(state.value, 0) for state in State}


def ticket_row(db: Database, number: str, today: date,
               warn_days: int = WARN_DAYS) -> dict | None:
    """One ticket by its number, with its light and days overdue for `today` and its lists
    (co-responsible units, leaders, evidence) decoded; None when there is no such ticket."""
    q = _where(TicketFilter(), today, warn_days)
    cursor = db.execute(f"SELECT t.*, {LIGHT_SQL} AS light, {OVERDUE_SQL} AS days_overdue "
                        "FROM tickets t WHERE t.number = :number", q.params | {"number": number})
    row = cursor.fetchone()
    if row is None:
        return None
    ticket = dict(zip([c[0] for c in cursor.description], row, strict=True))
    for column in ("co_unit_ids", "leader_ids", "evidence_before", "evidence_after"):
        ticket[column] = json.loads(ticket[column] or "[]")
    return ticket


def timeline(db: Database, ticket_id: str) -> list[dict]:
    """A ticket's events as readable rows, oldest first."""
    cursor = db.execute("SELECT version, event, label, at, by_login, by_name, role, unit_id, "
                        "summary FROM timeline WHERE ticket_id = ? ORDER BY version", (ticket_id,))
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]
