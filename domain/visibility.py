"""Who may see a ticket, stated once: as a predicate over one ticket, and as the SQL that selects
the same tickets from the tickets read model. Every list, page, file, export, check and recheck
list, bulletin and digest asks here; so does the ticket itself before a unit or a leader acts.

- The office, inspectors and auditors see every ticket.
- A unit's account sees the tickets its unit leads (牵头) or shares (配合). A town's (镇街)
  account also sees the tickets of its schools, as a 包保 of the town would.
- A leader sees the tickets of the units their 包保 covers on the day, and every ticket that
  names them among its 包保领导. A 包保 of a town covers the town and every school in it; a
  包保 of a school covers that school only. A ticket is a unit's when the problem is there or the
  unit leads or shares it.
- An account with several roles sees what any of them would.

Seeing is not acting: a unit acts only on the tickets it leads or shares (a town reads its
schools' tickets), a leader on every ticket it sees (批示, 留言).

A ticket here is a mapping with `unit_id`, `lead_unit_id`, `co_unit_ids` and `leader_ids`: a
row of the read model, a bulletin item or the aggregate's own fields. The SQL reads the tickets
read model: `tickets` (as `t`), `ticket_units` (a ticket's lead and co-responsible units) and
`ticket_leaders`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from domain.values import Role

SEE_EVERYTHING = frozenset({Role.OFFICE, Role.INSPECTOR, Role.AUDITOR})


def covers(target: Mapping[str, Any], unit: Mapping[str, Any]) -> bool:
    """Whether a 包保 of `target` covers `unit` (both units of the directory)."""
    return unit["code"] == target["code"] or (
        target["kind"] == "town" and unit["kind"] == "school" and unit["parent"] == target["code"])


def covered_units(targets: Iterable[str], units: Mapping[str, Mapping[str, Any]]
                  ) -> frozenset[str]:
    """Every unit covered by a 包保 of any of `targets`."""
    chosen = [units[code] for code in targets if code in units]
    return frozenset(u["code"] for u in units.values() if any(covers(t, u) for t in chosen))


def responsible_units(ticket: Mapping[str, Any]) -> list[str]:
    """The units whose accounts see the ticket: its lead unit and co-responsible units."""
    lead = ticket["lead_unit_id"]
    return [lead, *ticket["co_unit_ids"]] if lead else []


def concerned_units(ticket: Mapping[str, Any]) -> set[str]:
    """The units a 包保 must cover for its leader to see the ticket."""
    return {ticket["unit_id"], *responsible_units(ticket)}


@dataclass(frozen=True)
class Sight:
    """What one account (or one role of it) sees on one day."""

    everything: bool = False
    unit: str | None = None                  # the account's unit, when it acts as a unit
    leader: str | None = None                # the account's person, when a leader
    covered: frozenset[str] = frozenset()    # the units the leader's 包保 covers on the day,
                                             # or a town account's town and schools

    def sees(self, ticket: Mapping[str, Any]) -> bool:
        return bool(
            self.everything
            or (self.unit is not None and self.unit in responsible_units(ticket))
            or (self.leader is not None and self.leader in ticket["leader_ids"])
            or (self.covered and not self.covered.isdisjoint(concerned_units(ticket))))

    def acts_on(self, ticket: Mapping[str, Any]) -> bool:
        """Whether the account may act on a ticket it sees: a unit on what it leads or shares,
        a leader on all it sees."""
        return bool(
            self.everything
            or (self.unit is not None and self.unit in responsible_units(ticket))
            or (self.leader is not None and (
                self.leader in ticket["leader_ids"]
                or not self.covered.isdisjoint(concerned_units(ticket)))))

    def answers_for(self, unit: str) -> bool:
        """Whether the account may take a unit's ledger: its own unit, or one its 包保 covers
        (the rows are still only those it sees)."""
        return self.everything or unit == self.unit or unit in self.covered

    def where(self, alias: str = "t") -> tuple[str, dict[str, Any]]:
        """The same rule as `sees`, as a condition on the tickets read model and its
        parameters."""
        if self.everything:
            return "1", {}
        either, params = [], {}
        if self.unit is not None:
            either.append(f"{alias}.id IN (SELECT ticket_id FROM ticket_units "
                          "WHERE unit_id = :sight_unit)")
            params["sight_unit"] = self.unit
        if self.leader is not None:
            either.append(f"{alias}.id IN (SELECT ticket_id FROM ticket_leaders "
                          "WHERE leader_id = :sight_leader)")
            params["sight_leader"] = self.leader
        if self.covered:
            covered = "(SELECT value FROM json_each(:sight_covered))"
            either.append(f"{alias}.unit_id IN {covered} OR {alias}.id IN "
                          f"(SELECT ticket_id FROM ticket_units WHERE unit_id IN {covered})")
            params["sight_covered"] = json.dumps(sorted(self.covered))
        return "(" + (" OR ".join(either) or "0") + ")", params


EVERYTHING = Sight(everything=True)   # what the office sees, and what a county-wide run counts


class Baobao(Protocol):
    """What a sight needs of the directory."""

    units: Mapping[str, Mapping[str, Any]]

    def baobao_scope(self, leader_id: str, day: date) -> frozenset[str]: ...


def sight_of(roles: Iterable[Role | str], unit_id: str | None, person_id: str | None,
             directory: Baobao | None, day: date | None) -> Sight:
    """What an account holding `roles` sees on `day`: what any of its roles would. A leader's
    包保 and a town's schools are read from `directory` (none without one)."""
    roles = {Role(r) for r in roles}
    if roles & SEE_EVERYTHING:
        return EVERYTHING
    leader = person_id if Role.LEADER in roles and person_id else None
    unit = unit_id if Role.UNIT in roles else None
    covered: frozenset[str] = frozenset()
    if directory is not None:
        if leader:
            covered = directory.baobao_scope(leader, day)
        town = directory.units.get(unit) if unit else None
        if town is not None and town["kind"] == "town":
            covered |= covered_units([unit], directory.units)
    return Sight(unit=unit, leader=leader, covered=covered)
