"""Questions pages, bulletins and exports ask of the read models. Plain rows out; no SQL outside.

The traffic light is computed here for a given day by the rule of domain/lights.py, never
stored; what a user may see is domain/visibility.py's rule, as SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlite_utils import Database

from domain.errors import InvalidInputError
from domain.lights import Light, light_params, light_sql, light_where, overdue_sql, red_first_sql
from domain.values import State
from domain.visibility import Sight
from projections.event_details import changes, details

LIGHT_SQL = light_sql()
OVERDUE_SQL = overdue_sql()
SORTS = {"number": ["t.number"], "deadline": ["t.deadline"], "opened": ["t.opened_at"],
         "light": [red_first_sql(), "t.deadline"],
         "overdue": ["days_overdue"], "town": ["t.town_id", "t.unit_id"]}
REVERSED = {"newest": "opened"}     # a sort that is another one turned round


@dataclass(frozen=True, kw_only=True)
class TicketFilter:
    """What a ticket list can be narrowed by: always what the user sees (`EVERYTHING` for the
    office, inspectors and auditors), and any of the other fields."""

    sight: Sight

    town: str | None = None
    unit: str | None = None          # where the problem is, or lead, or co-responsible
    state: str | None = None
    light: str | None = None
    indicator: str | None = None
    severity: str | None = None
    source: str | None = None
    leader: str | None = None
    text: str | None = None          # in the title, description, measures or number, or a
                                     # school's or town's name
    opened_by: str | None = None     # 我登记的: the login that opened it
    responsible: tuple[str | None, str | None] | None = None   # 我负责的: (person, unit)
    due_from: date | None = None     # deadline on or after (e.g. next week's due items)
    due_to: date | None = None       # deadline on or before


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


def _where(db: Database, f: TicketFilter, today: date, warn_days: int) -> _Query:
    q = _Query(params=light_params(today, warn_days))
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
        q.add(light_where(Light(f.light)))
    if f.leader:
        q.add("t.id IN (SELECT ticket_id FROM ticket_leaders WHERE leader_id = :leader)",
              leader=f.leader)
    needle = (f.text or "").replace("\x00", "").strip()    # a NUL finds nothing and breaks FTS
    if needle:
        q.add(*_text_where(db, needle))
    if f.opened_by:
        q.add("t.opened_by = :opened_by", opened_by=f.opened_by)
    if f.responsible:
        person, unit = f.responsible
        q.add("(t.person_id = :my_person OR t.lead_unit_id = :my_unit)", my_person=person,
              my_unit=unit)
    if f.due_from:
        q.add("t.deadline >= :due_from", due_from=f.due_from.isoformat())
    if f.due_to:
        q.add("t.deadline <= :due_to", due_to=f.due_to.isoformat())
    q.add(*f.sight.where())
    return q


def _text_where(db: Database, needle: str) -> tuple[str, dict]:
    """The tickets a text finds: by the words of their number, title, description and
    measures, and a school's or a town's name finds its tickets too ("星村镇中心小学",
    "星村镇"). The places are looked up first, so a text that names none is one indexed
    question of the word index."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if len(needle) >= 3:
        words = "t.seq IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH :text)"
        text = '"' + needle.replace('"', '""') + '"'
    else:     # trigrams need three characters: scan for shorter ones
        words = ("(t.title LIKE :text ESCAPE '\\' OR t.description LIKE :text ESCAPE '\\' "
                 "OR t.measures LIKE :text ESCAPE '\\' OR t.number LIKE :text ESCAPE '\\')")
        text = f"%{escaped}%"
    named = db.execute("SELECT code, kind FROM units WHERE name LIKE ? ESCAPE '\\'",
                       (f"%{escaped}%",)).fetchall()
    if not named:
        return words, {"text": text}
    places = json.dumps([code for code, _ in named])
    towns = json.dumps([code for code, kind in named if kind == "town"])
    return (f"t.rowid IN (SELECT t.rowid FROM tickets t WHERE {words} "
            "UNION SELECT p.rowid FROM tickets p WHERE p.unit_id IN "
            "(SELECT value FROM json_each(:places)) UNION SELECT p.rowid FROM tickets p "
            "WHERE p.town_id IN (SELECT value FROM json_each(:towns)))",
            {"text": text, "places": places, "towns": towns})


def visible_numbers(db: Database, numbers: list[str], sight: Sight) -> set[str]:
    """Which of these ticket numbers a sight sees."""
    clause, params = sight.where()
    return {n for (n,) in db.execute(
        f"SELECT t.number FROM tickets t WHERE t.number IN (SELECT value FROM json_each(:numbers)) "
        f"AND {clause}", params | {"numbers": json.dumps(numbers)})}


MAX_PAGE = 100_000    # far beyond any county's lists, and within what SQLite can count to


def list_tickets(db: Database, f: TicketFilter, today: date, warn_days: int, *,
                 sort: str = "light", descending: bool = False, page: int = 1,
                 per_page: int = 50) -> Page:
    """One page of tickets with their light and days overdue for `today`, the names of their
    town, unit and lead unit (`town_name`, `unit_name`, `lead_name`), and the total."""
    if sort in REVERSED:              # 最新登记: the 发现时间 order, newest first
        sort, descending = REVERSED[sort], not descending
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    if page > MAX_PAGE:
        raise InvalidInputError(f"页码须在 1 到 {MAX_PAGE} 之间")
    page, per_page = max(1, page), min(max(1, per_page), 500)
    q = _where(db, f, today, warn_days)
    total = db.execute(f"SELECT count(*) FROM tickets t WHERE {q.sql}", q.params).fetchone()[0]
    # With one light chosen, the light order is the deadline's, which an index serves.
    columns = SORTS["deadline"] if sort == "light" and f.light else SORTS[sort]
    by_light = sort == "overdue" or (sort == "light" and not f.light)
    order = ", ".join(f"{column}{' DESC' if descending else ''}" for column in columns)
    # The page's rows are chosen by their keys alone and only then read whole: sorting every
    # matching row with all its columns costs a large town's list a third more.
    # The light and days overdue are worked out for every matching row only when they order it.
    derived = f", {LIGHT_SQL} AS light, {OVERDUE_SQL} AS days_overdue" if by_light else ""
    chosen = (f"SELECT rowid FROM (SELECT t.rowid{derived} FROM tickets t WHERE {q.sql} "
              f"ORDER BY {order}, t.number LIMIT :limit OFFSET :offset)")
    cursor = db.execute(
        f"SELECT t.*, {LIGHT_SQL} AS light, {OVERDUE_SQL} AS days_overdue, "
        "town.name AS town_name, place.name AS unit_name, lead.name AS lead_name "
        "FROM tickets t LEFT JOIN units town ON town.code = t.town_id "
        "LEFT JOIN units place ON place.code = t.unit_id "
        "LEFT JOIN units lead ON lead.code = t.lead_unit_id "
        f"WHERE t.rowid IN ({chosen}) ORDER BY {order}, t.number",
        q.params | {"limit": per_page, "offset": (page - 1) * per_page})
    columns = [c[0] for c in cursor.description]
    return Page([_decoded(dict(zip(columns, row, strict=True))) for row in cursor], total, page,
                per_page)


LISTS = ("co_unit_ids", "leader_ids", "evidence_before", "evidence_after")   # JSON in the row


def _decoded(ticket: dict) -> dict:
    """A ticket row with its lists as lists, as every page and the API give them."""
    for column in LISTS:
        ticket[column] = json.loads(ticket[column] or "[]")
    return ticket


def light_counts(db: Database, f: TicketFilter, today: date, warn_days: int) -> dict[str, int]:
    """How many of the filtered tickets show each light (cancelled ones are not counted)."""
    q = _where(db, f, today, warn_days)
    counts = dict(db.execute(
        f"SELECT {LIGHT_SQL} AS light, count(*) FROM tickets t WHERE {q.sql} "
        "AND t.state != 'cancelled' GROUP BY light", q.params).fetchall())
    return {light.value: counts.get(light.value, 0) for light in Light}


def state_counts(db: Database, f: TicketFilter, today: date, warn_days: int) -> dict[str, int]:
    """How many of the filtered tickets are in each state (every state named, zeros too)."""
    q = _where(db, f, today, warn_days)
    counts = dict(db.execute(f"SELECT t.state, count(*) FROM tickets t WHERE {q.sql} "
                             "GROUP BY t.state", q.params).fetchall())
    return {state.value: counts.get(state.value, 0) for state in State}


def ticket_row(db: Database, number: str, today: date, warn_days: int) -> dict | None:
    """One ticket by its number, with its light and days overdue for `today` and its lists
    (co-responsible units, leaders, evidence) decoded; None when there is no such ticket."""
    cursor = db.execute(f"SELECT t.*, {LIGHT_SQL} AS light, {OVERDUE_SQL} AS days_overdue "
                        "FROM tickets t WHERE t.number = :number",
                        light_params(today, warn_days) | {"number": number})
    row = cursor.fetchone()
    if row is None:
        return None
    return _decoded(dict(zip([c[0] for c in cursor.description], row, strict=True)))


def timeline(db: Database, ticket_id: str) -> list[dict]:
    """A ticket's events as readable rows, oldest first, each with every field it carries
    (`details`) and what it changed on the ticket (`changes`), projections/event_details.py."""
    cursor = db.execute("SELECT version, event, label, at, by_login, by_name, role, unit_id, "
                        "summary, event_json FROM timeline WHERE ticket_id = ? ORDER BY version",
                        (ticket_id,))
    columns = [c[0] for c in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor]
    changed = changes(db, ticket_id)
    for row in rows:     # a field the event changed is said once, as its change
        row["changes"] = changed.get(row["version"], [])
        said = {c["label"] for c in row["changes"]}
        row["details"] = [d for d in details(row["event"], row.pop("event_json"))
                          if d["label"] not in said]
    return rows


def open_by_indicator(db: Database) -> dict[tuple[str, str], list[str]]:
    """Open tickets (neither 销号 nor 撤销) naming an indicator, by (unit, indicator), oldest
    first: the ones a 学年's shortfall may adopt (domain/assessing.py checks each)."""
    found: dict[tuple[str, str], list[str]] = {}
    for unit, indicator, number in db.execute(
            "select unit_id, indicator_id, number from tickets where indicator_id is not null "
            "and state not in ('closed', 'cancelled') order by opened_at, number"):
        found.setdefault((unit, indicator), []).append(number)
    return found
