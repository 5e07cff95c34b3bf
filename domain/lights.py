"""The traffic light (红黄绿灯) and the groups of states the cycle counts, each stated once: in
Python, and as the SQL that says the same over a read model's `state` and `deadline` columns.

The light is derived for a day, never stored, and only where a deadline still binds the
responsible unit: a ticket not yet rectified (待交办 or 整改中) with a deadline is red when past
it, yellow when due within `warn_days` days, green otherwise. Every other ticket shows no light
("—"): once rectified (待复查, 复查通过) the unit has done its part and the rest is the inspector's
and the office's; closed and cancelled tickets are finished; a ticket without a deadline has
nothing to be late for. A green light on any of those would say "on schedule" where no schedule
runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from domain.values import Labelled, State

# Not yet rectified: what a deadline still binds, so what can be overdue.
UNRECTIFIED = frozenset({State.OPENED, State.ASSIGNED})
# Not yet through re-inspection: 在整改, and what the weekly check list holds.
IN_RECTIFICATION = UNRECTIFIED | {State.RECTIFIED}


class Light(Labelled):
    """红黄绿灯"""

    RED = "red", "红灯"
    YELLOW = "yellow", "黄灯"
    GREEN = "green", "绿灯"
    NONE = "none", "—"        # no deadline binds the unit (see the module's docstring)




def days_overdue(state: str, deadline: date | None, today: date) -> int:
    """Days past the deadline while not yet rectified (the red light's measure)."""
    if deadline is None or state not in UNRECTIFIED:
        return 0
    return max(0, (today - deadline).days)


def light(state: str, deadline: date | None, today: date, warn_days: int) -> Light:
    if deadline is None or state not in UNRECTIFIED:
        return Light.NONE
    if deadline < today:
        return Light.RED
    return Light.YELLOW if deadline <= today + timedelta(days=warn_days) else Light.GREEN


# -- the same in SQL: parameters :today and :soon (light_params), ISO dates as text ----------

def light_params(today: date, warn_days: int) -> dict[str, str]:
    return {"today": today.isoformat(), "soon": (today + timedelta(days=warn_days)).isoformat()}


def in_states(states: Iterable[State], column: str = "t.state") -> str:
    """`column IN (...)` for a group of states, always written in the same order (a partial
    index is only used by a query whose WHERE repeats the index's own)."""
    return f"{column} IN ({', '.join(repr(s.value) for s in sorted(states))})"


def unrectified_sql(state: str = "t.state") -> str:
    return in_states(UNRECTIFIED, state)


def _red(state: str, deadline: str) -> str:
    return f"{unrectified_sql(state)} AND {deadline} < :today"


def _soon(state: str, deadline: str) -> str:
    return f"{unrectified_sql(state)} AND {deadline} <= :soon"


def light_sql(state: str = "t.state", deadline: str = "t.deadline") -> str:
    """The light as a CASE expression."""
    return (f"CASE WHEN {_red(state, deadline)} THEN 'red' "
            f"WHEN {_soon(state, deadline)} THEN 'yellow' "
            f"WHEN {_lit(state, deadline)} THEN 'green' ELSE 'none' END")


def _lit(state: str, deadline: str) -> str:
    return f"{unrectified_sql(state)} AND {deadline} IS NOT NULL"


def light_where(wanted: Light, state: str = "t.state", deadline: str = "t.deadline") -> str:
    """The tickets showing one light, written so that an index on (state, deadline) serves it."""
    match Light(wanted):
        case Light.RED:
            return _red(state, deadline)
        case Light.YELLOW:
            return f"{_soon(state, deadline)} AND {deadline} >= :today"
        case Light.GREEN:
            return f"{unrectified_sql(state)} AND {deadline} > :soon"
        case _:
            return f"NOT ({_lit(state, deadline)})"


def red_first_sql(light: str = "light") -> str:
    """An order for a column holding lights: red, then yellow, then green, then none."""
    return f"CASE {light} WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 WHEN 'green' THEN 2 ELSE 3 END"


def overdue_sql(state: str = "t.state", deadline: str = "t.deadline") -> str:
    """Days overdue as an expression."""
    return (f"CASE WHEN {_red(state, deadline)} THEN "
            f"CAST(julianday(:today) - julianday({deadline}) AS INTEGER) ELSE 0 END")
