"""What each role has to do now (#11): the queues of the home pages, and how a ticket is being
dealt with (签收, 催办, 批示 and their 落实情况, 交办意见 and 改派理由) for its page.

Queues of tickets are named in `QUEUES`; each is a condition on the tickets read model, read
with the user's sight (domain/visibility.py) and, for a unit's queues, with the unit's own part:
the tickets it leads or shares, the ones it acts on. Plain rows out, lights for the given day
(domain/lights.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from domain.commands import COMMANDS
from domain.lights import light_params, light_sql, overdue_sql, red_first_sql
from domain.visibility import Sight
from projections.base import as_dicts

NOT_ACKNOWLEDGED = ("NOT EXISTS (SELECT 1 FROM acknowledgements a WHERE a.ticket_id = t.id "
                    "AND a.unit_id = {unit})")
RED_FIRST = f"{red_first_sql()}, t.deadline, t.number"
TICKETS = "tickets t"
# A unit's own queues start from the tickets it leads or shares (`ticket_units`, a handful of a
# large county's), not from every ticket in a state.
OWN = "ticket_units me CROSS JOIN tickets t ON t.id = me.ticket_id AND me.unit_id = :me"
# The office's queues of tickets waiting for someone start from the few that are
# (projections/dealings.py keeps them).
WAITING = "dealing d CROSS JOIN tickets t ON t.id = d.ticket_id"
# When the assignment now to be signed was made: a reopening assigns afresh (the dealings read
# model knows), while the ticket's own assigned_at is its first assignment.
CURRENT_ASSIGNMENT = ("coalesce((SELECT c.assigned_at FROM dealing c WHERE c.ticket_id = t.id), "
                      "t.assigned_at)")


@dataclass(frozen=True)
class Queue:
    """One queue: its title, which tickets (`source` and `where`), their order, whether it is a
    unit's (reading `:me`), and where the whole of it is listed."""

    name: str
    title: str
    where: str
    order: str
    source: str = TICKETS
    mine: bool = False
    full: str | None = None      # a /tickets filter that lists the same tickets, if any


QUEUES = {q.name: q for q in (
    # The office's
    Queue("new", "新发现待交办", "t.state = 'opened'", "t.opened_at, t.number",
          full="/tickets?state=opened"),
    Queue("extensions", "延期申请待审批", "d.asking", "t.deadline, t.number", WAITING),
    Queue("reinspection", "已整改待复查", "t.state = 'rectified'", "t.rectified_at, t.number",
          full="/tickets?state=rectified"),
    Queue("to_close", "复查通过待销号", "t.state = 'verified'", "t.verified_at, t.number",
          full="/tickets?state=verified"),
    Queue("unacknowledged", "交办后未签收", "d.unsigned > 0", "d.assigned_at, t.number",
          WAITING),
    # A unit's own: what it leads or shares
    Queue("to_acknowledge", "待签收",
          f"t.state = 'assigned' AND {NOT_ACKNOWLEDGED.format(unit=':me')}",
          "t.assigned_at, t.number", OWN, mine=True),
    Queue("to_rectify", "待整改", "t.state = 'assigned' AND t.rectifications = 0", RED_FIRST,
          OWN, mine=True),
    Queue("returned", "退回重新整改", "t.state = 'assigned' AND t.rectifications > 0",
          RED_FIRST, OWN, mine=True),
    Queue("my_extensions", "延期申请待批复",
          "t.state = 'assigned' AND t.pending_deadline IS NOT NULL", "t.deadline, t.number",
          OWN, mine=True),
    # A town's schools: seen, not its own to act on
    Queue("schools", "本镇学校的问题（只读）",
          "t.state NOT IN ('closed', 'cancelled') AND t.id NOT IN "
          "(SELECT ticket_id FROM ticket_units WHERE unit_id = :me)", RED_FIRST, mine=True),
)}


@dataclass(frozen=True)
class Rows:
    rows: list[dict]
    total: int


def ticket_queue(db: Database, name: str, today: date, warn_days: int, *, sight: Sight,
                 unit: str | None = None, limit: int | None = 8) -> Rows:
    """The tickets of queue `name` that `sight` sees (and, for a unit's queue, that concern
    `unit`), first `limit` of them (all with None), with their light and days overdue for
    `today`, the units that have not 签收 (`unacknowledged`), and the 催办 so far."""
    queue = QUEUES[name]
    if queue.mine and not unit:
        raise ValueError(f"queue {name!r} is a unit's: name the unit")
    # A unit sees what it leads or shares: its own queues need no other condition.
    clause, params = sight.where() if queue.source != OWN else ("1", {})
    params |= light_params(today, warn_days) | {"me": unit, "limit": -1 if limit is None else limit}
    matching = f"FROM {queue.source} WHERE {queue.where} AND {clause}"
    total = db.execute(f"SELECT count(*) {matching}", params).fetchone()[0]
    rows = as_dicts(db.execute(
        "SELECT t.id, t.number, t.title, t.town_id, t.unit_id, t.lead_unit_id, t.co_unit_ids, "
        f"t.state, t.deadline, t.pending_deadline, {CURRENT_ASSIGNMENT} AS assigned_at, "
        "t.rectified_at, t.opened_at, "
        "t.returns, t.reopens, t.version, "
        f"{light_sql()} AS light, {overdue_sql()} AS days_overdue "
        f"{matching} ORDER BY {queue.order} LIMIT :limit", params)) if total else []
    _add_acknowledgements(db, rows)
    return Rows(rows, total)


def _add_acknowledgements(db: Database, rows: list[dict]) -> None:
    """Each row's responsible units that have not 签收 the current assignment, and its 催办."""
    if not rows:
        return
    ids = json.dumps([r["id"] for r in rows])
    done = {(t, u) for t, u in db.execute(
        "SELECT ticket_id, unit_id FROM acknowledgements WHERE ticket_id IN "
        "(SELECT value FROM json_each(?))", (ids,))}
    chased = {t: (n, last) for t, n, last in db.execute(
        "SELECT ticket_id, count(*), max(at) FROM chases WHERE ticket_id IN "
        "(SELECT value FROM json_each(?)) GROUP BY ticket_id", (ids,))}
    for r in rows:
        units = [r["lead_unit_id"], *json.loads(r["co_unit_ids"] or "[]")] if r["lead_unit_id"] \
            else []
        r["unacknowledged"] = [u for u in units if (r["id"], u) not in done]
        r["chases"], r["last_chased_at"] = chased.get(r["id"], (0, None))


def instructions_awaiting(db: Database, unit: str, *, limit: int | None = 8) -> Rows:
    """领导批示 on tickets `unit` leads or shares (not cancelled) that it has not yet replied to
    (落实情况), oldest first."""
    where = ("t.state != 'cancelled' AND i.ticket_id IN (SELECT ticket_id FROM ticket_units "
             "WHERE unit_id = :me) AND NOT EXISTS (SELECT 1 FROM instruction_replies r WHERE "
             "r.ticket_id = i.ticket_id AND r.instruction = i.n AND r.unit_id = :me)")
    params = {"me": unit, "limit": -1 if limit is None else limit}
    base = f"FROM instructions i JOIN tickets t ON t.id = i.ticket_id WHERE {where}"
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    rows = as_dicts(db.execute(
        "SELECT t.number, t.title, t.unit_id, t.state, t.version, i.n, i.text, i.by_name, i.at "
        f"{base} ORDER BY i.at LIMIT :limit", params))
    return Rows(rows, total)


def instructions_given(db: Database, login: str, *, limit: int | None = 8) -> Rows:
    """The 批示 an account gave, newest first, each with its replies (落实情况)."""
    params = {"login": login, "limit": -1 if limit is None else limit}
    base = "FROM instructions i JOIN tickets t ON t.id = i.ticket_id WHERE i.by_login = :login"
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    rows = as_dicts(db.execute(
        "SELECT i.ticket_id, t.number, t.title, t.unit_id, t.state, i.n, i.text, i.by_name, "
        f"i.at {base} ORDER BY i.at DESC, t.number LIMIT :limit", params))
    replies = _replies(db, {r["ticket_id"] for r in rows})
    for r in rows:
        r["replies"] = replies.get((r["ticket_id"], r["n"]), [])
    return Rows(rows, total)


def _replies(db: Database, tickets: set[str]) -> dict[tuple, list[dict]]:
    found: dict[tuple, list[dict]] = {}
    for r in as_dicts(db.execute(
            "SELECT ticket_id, instruction, text, by_name, role, unit_id, at "
            "FROM instruction_replies WHERE ticket_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY seq", (json.dumps(sorted(tickets)),))):
        found.setdefault((r["ticket_id"], r["instruction"]), []).append(r)
    return found


def ticket_dealings(db: Database, ticket: dict) -> dict:
    """How a ticket (its read-model row) is being dealt with: its 批示 with their replies (in the
    shape of `XiaohaoApp.ticket`'s "instructions", so a reply form can choose among them), which
    responsible units have 签收 the current assignment and when (`acknowledged`) and which have
    not (`unacknowledged`), the 催办 (`chases`), and the office's words at each 交办, 改派 and
    重新整改 (`assignments`), oldest first."""
    tid = ticket["id"]
    replies = _replies(db, {tid})
    instructions = [
        {"n": i["n"], "text": i["text"], "by": {"login": i["by_login"], "name": i["by_name"]},
         "at": i["at"], "replies": [{"text": r["text"], "by": {"name": r["by_name"],
                                                                "role": r["role"],
                                                                "unit_id": r["unit_id"]},
                                     "at": r["at"]} for r in replies.get((tid, i["n"]), [])]}
        for i in as_dicts(db.execute("SELECT n, text, by_login, by_name, at FROM instructions "
                                  "WHERE ticket_id = ? ORDER BY n", (tid,)))]
    acknowledged = dict(db.execute("SELECT unit_id, at FROM acknowledgements WHERE ticket_id = ?",
                                   (tid,)).fetchall())
    units = [ticket["lead_unit_id"], *ticket["co_unit_ids"]] if ticket["lead_unit_id"] else []
    chases = as_dicts(db.execute("SELECT at, by_name, unit_ids, note FROM chases WHERE ticket_id = ? "
                              "ORDER BY n", (tid,)))
    for c in chases:
        c["unit_ids"] = json.loads(c["unit_ids"])
    return {"instructions": instructions,
            "acknowledged": {u: acknowledged[u] for u in units if u in acknowledged},
            "unacknowledged": [u for u in units if u not in acknowledged],
            "chases": chases, "assignments": _assignments(db, tid)}


# The event, and the command field that holds the office's (or the recheck's) words.
ASSIGNING = {"Assigned": ("assign", "note"), "Reassigned": ("reassign", "reason"),
             "Reopened": ("reopen", "findings")}


def _assignments(db: Database, ticket_id: str) -> list[dict]:
    """Each 交办 (with its 交办意见), 改派 (its 改派理由) and 重新整改 (its 回查发现)."""
    marks = ", ".join("?" * len(ASSIGNING))
    found = []
    for row in as_dicts(db.execute(
            "SELECT event, label, at, by_name, event_json FROM timeline WHERE ticket_id = ? "
            f"AND event IN ({marks}) ORDER BY version", (ticket_id, *ASSIGNING))):
        e = json.loads(row["event_json"])
        command, field = ASSIGNING[row["event"]]
        found.append({"event": row["event"], "label": row["label"], "at": row["at"],
                      "by_name": row["by_name"], "text": e.get(field) or "",
                      "text_label": COMMANDS[command].field(field).label,
                      "lead_unit_id": e.get("lead_unit_id"),
                      "co_unit_ids": e.get("co_unit_ids") or [],
                      "deadline": _plain(e.get("deadline"))})
    return found


def _plain(value):
    """A value as eventsourcing's JSON transcoder stored it (a date as {"_type_", "_data_"})."""
    return value["_data_"] if isinstance(value, dict) and "_data_" in value else value
