"""The light and the periods (domain/lights.py, domain/periods.py): each rule's Python and its
SQL agree for any state, deadline, day and warning, and a period's one spelling, its days and
its instants hold across years (#10)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInputError
from domain.lights import Light, days_overdue, light, light_params, light_sql, light_where, overdue_sql
from domain.periods import Day, Month, Week, parse_day, week_ends
from domain.values import State

DAYS = st.dates(date(2018, 1, 1), date(2030, 12, 31))


@given(state=st.sampled_from(list(State)), deadline=st.one_of(st.none(), DAYS), today=DAYS,
       warn_days=st.integers(0, 60))
def test_the_light_in_python_and_in_sql_agree(state, deadline, today, warn_days):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (state TEXT, deadline TEXT)")
    db.execute("INSERT INTO t VALUES (?, ?)", (state.value, deadline and deadline.isoformat()))
    params = light_params(today, warn_days)
    shown, late = db.execute(f"SELECT {light_sql()}, {overdue_sql()} FROM t", params).fetchone()
    assert shown == light(state, deadline, today, warn_days).value
    assert late == days_overdue(state, deadline, today)
    for each in Light:      # the filters select exactly the tickets showing that light
        picked = db.execute(f"SELECT count(*) FROM t WHERE {light_where(each)}", params)
        assert picked.fetchone()[0] == (shown == each.value)


@pytest.mark.parametrize("state, deadline, light_then", [
    (State.ASSIGNED, date(2026, 11, 1), Light.RED),       # past the deadline, not rectified
    (State.OPENED, date(2026, 11, 5), Light.YELLOW),      # within three days
    (State.ASSIGNED, date(2026, 11, 6), Light.GREEN),     # four days off
    (State.ASSIGNED, date(2026, 11, 20), Light.GREEN),
    # (#11) no light where no deadline binds the unit: rectified (the unit's part is done),
    # verified, closed, cancelled, or no deadline at all
    (State.RECTIFIED, date(2026, 11, 1), Light.NONE),
    (State.VERIFIED, date(2026, 11, 1), Light.NONE),
    (State.CLOSED, date(2026, 10, 1), Light.NONE),
    (State.CANCELLED, date(2026, 11, 3), Light.NONE),
    (State.ASSIGNED, None, Light.NONE),
    (State.OPENED, None, Light.NONE),
])
def test_the_light_as_the_office_reads_it(state, deadline, light_then):
    assert light(state, deadline, date(2026, 11, 2), 3) is light_then


@pytest.mark.parametrize("text, first, last", [
    ("2026-W48", date(2026, 11, 23), date(2026, 11, 29)),
    ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),    # an ISO week across the new year
    ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
])
def test_a_week_s_days(text, first, last):
    week = Week.parse(text)
    assert (week.first_day, week.last_day, str(week)) == (first, last, text)
    assert week.start.isoformat() == f"{first}T00:00:00+08:00"      # Beijing midnight
    assert week.end == week.shifted(1).start and Week.of(last) == week


def test_months_and_days():
    assert Month.parse("2026-12").shifted(1) == Month(2027, 1)
    assert Month.parse("2026-01").shifted(-1).last_day == date(2025, 12, 31)
    assert Month.parse("2024-02").last_day == date(2024, 2, 29)
    assert Day.parse("2026-11-30").first_day == parse_day("2026-11-30") == date(2026, 11, 30)


@pytest.mark.parametrize("period, text", [
    (Week, "2026-W5"), (Week, "2027-W53"), (Week, "W05"), (Week, "2026-05"), (Week, None),
    (Month, "2026-13"), (Month, "2026-1"), (Month, "202611"), (Day, "20261130"),
    (Day, "2026-02-30"), (Day, "2026-11-30 "),
])
def test_any_other_spelling_is_refused_in_chinese(period, text):
    with pytest.raises(InvalidInputError, match="无效，应写成"):
        period.parse(text)


@given(start=DAYS, days=st.integers(0, 60), hours=st.integers(0, 23))
def test_week_ends_are_the_beijing_mondays_between(start, days, hours):
    begin = Week.of(start).start + timedelta(days=start.weekday(), hours=hours)
    end = begin + timedelta(days=days)
    midnights = (Week.of(d).start for d in (start + timedelta(n) for n in range(days + 2))
                 if d.weekday() == 0)
    assert week_ends(begin, end) == [m for m in midnights if begin <= m < end]
