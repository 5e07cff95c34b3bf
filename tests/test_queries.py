"""List and ledger queries, checked against figures computed from the aggregates."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from domain.errors import InvalidInputError
from domain.visibility import EVERYTHING, Sight
from projections.ledger import COLUMNS, ledger
from projections.queries import TicketFilter, light_counts, list_tickets
from projections.readmodels import ReadModels
from tests.scenario import read_history


def as_office(**narrowed) -> TicketFilter:
    """A filter as the office's list applies it: over every ticket."""
    return TicketFilter(sight=EVERYTHING, **narrowed)


def expected_light(ticket: dict, today: date) -> str:
    """The rule of domain/lights.py, written again here on purpose."""
    if ticket["state"] not in ("opened", "assigned") or ticket["deadline"] is None:
        return "none"       # no deadline binds the unit: no light (#11)
    if ticket["deadline"] < today:
        return "red"
    return "yellow" if ticket["deadline"] <= today + timedelta(days=3) else "green"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """One random history on the in-memory store, read into a read database."""
    app, db, numbers = read_history(tmp_path_factory.mktemp("q"), seed=21, steps=500)
    return app, db, {n: app.ticket(n) for n in numbers}


@pytest.mark.parametrize("offset", [-20, 0, 5, 30])
def test_lights_and_overdue_days_for_any_day(history, offset):
    app, db, tickets = history
    today = app.today() + timedelta(days=offset)
    rows = {r["number"]: r for r in list_tickets(db, as_office(), today, 3, per_page=500).rows}
    assert set(rows) == set(tickets)
    for number, ticket in tickets.items():
        assert rows[number]["light"] == expected_light(ticket, today), number
        overdue = (today - ticket["deadline"]).days if expected_light(ticket, today) == "red" else 0
        assert rows[number]["days_overdue"] == overdue
    counts = light_counts(db, as_office(), today, 3)
    live = [t for t in tickets.values() if t["state"] != "cancelled"]
    assert counts == {light: sum(expected_light(t, today) == light for t in live)
                      for light in ("red", "yellow", "green", "none")}


@pytest.mark.parametrize("light", ["red", "yellow", "green", "none"])
@pytest.mark.parametrize("offset", [0, 9])
def test_the_light_filter_keeps_exactly_that_light(history, light, offset):
    app, db, tickets = history
    today = app.today() + timedelta(days=offset)
    page = list_tickets(db, as_office(light=light), today, 3, per_page=500)
    assert {r["number"] for r in page.rows} == {
        n for n, t in tickets.items() if expected_light(t, today) == light}
    assert {r["light"] for r in page.rows} <= {light}


@pytest.mark.parametrize(("f", "keep"), [
    (as_office(town="TA"), lambda t: t["town_id"] == "TA"),
    (as_office(unit="TA"), lambda t: t["unit_id"] == "TA" or t["lead_unit_id"] == "TA"
     or "TA" in t["co_unit_ids"]),
    (as_office(state="assigned"), lambda t: t["state"] == "assigned"),
    (as_office(severity="grave"), lambda t: t["severity"] == "grave"),
    (as_office(source="monthly_recheck"), lambda t: t["source"] == "monthly_recheck"),
    (as_office(indicator="gov_class_size"), lambda t: t["indicator_id"] == "gov_class_size"),
    (as_office(leader="L2"), lambda t: "L2" in t["leader_ids"]),
    (as_office(text="音乐教室"), lambda t: "音乐教室" in t["title"]),
    (as_office(text="音乐"), lambda t: "音乐" in t["title"]),
    (as_office(text="整改措施"), lambda t: "整改措施" in (t.get("measures") or "")),
    (as_office(text='"; DROP'), lambda t: False),
    (TicketFilter(sight=Sight(covered=frozenset({"TB-J01"}))), lambda t: "TB-J01" in
     [t["unit_id"], t["lead_unit_id"], *t["co_unit_ids"]]),
    (TicketFilter(sight=Sight(unit="TA")), lambda t: "TA" in
     [t["lead_unit_id"], *t["co_unit_ids"]]),
    (TicketFilter(sight=Sight(leader="L2", unit="TA-P01")), lambda t: "L2" in
     t["leader_ids"] or "TA-P01" in [t["lead_unit_id"], *t["co_unit_ids"]]),
    (TicketFilter(sight=Sight()), lambda t: False),
    (as_office(town="TA", state="rectified"), lambda t: t["town_id"] == "TA"
     and t["state"] == "rectified"),
    (as_office(due_from=date(2027, 1, 4), due_to=date(2027, 1, 10)),
     lambda t: t["deadline"] is not None and date(2027, 1, 4) <= t["deadline"] <= date(2027, 1, 10)),
])
def test_filters_keep_exactly_the_matching_tickets(history, f, keep):
    app, db, tickets = history
    page = list_tickets(db, f, app.today(), 3, per_page=500)
    assert {r["number"] for r in page.rows} == {n for n, t in tickets.items() if keep(t)}
    assert page.total == len(page.rows)


def test_state_counts_count_every_state(history):
    from collections import Counter

    from projections.queries import state_counts

    app, db, tickets = history
    expected = Counter(t["state"] for t in tickets.values())
    counts = state_counts(db, as_office(), app.today(), 3)
    assert counts == {s: expected.get(s, 0) for s in counts}
    assert set(counts) == {"opened", "assigned", "rectified", "verified", "closed", "cancelled"}


def test_pages_cover_the_list_once_in_order(history):
    app, db, tickets = history
    seen = []
    first = list_tickets(db, as_office(), app.today(), 3, sort="deadline", per_page=7)
    for page in range(1, first.pages + 1):
        seen += [r["number"] for r in list_tickets(db, as_office(), app.today(), 3,
                                                   sort="deadline", page=page, per_page=7).rows]
    assert sorted(seen) == sorted(tickets) and len(seen) == len(set(seen))
    deadlines = [tickets[n]["deadline"] or date.min for n in seen]
    assert deadlines == sorted(deadlines)   # NULL deadlines (never assigned) sort first


def test_ledgers_have_the_office_columns_and_leave_out_cancelled(history):
    app, db, tickets = history
    county = ledger(db, app.today(), 3, sight=EVERYTHING)
    assert list(county[0]) == COLUMNS
    assert [r["序号"] for r in county] == list(range(1, len(county) + 1))
    assert {r["问题编号"] for r in county} == {n for n, t in tickets.items()
                                           if t["state"] != "cancelled"}
    town = ledger(db, app.today(), 3, sight=EVERYTHING, town="TB")
    assert {r["镇街"] for r in town} == {"乙镇"}
    school = ledger(db, app.today(), 3, sight=EVERYTHING, school="TA-P01")
    assert {r["学校/单位"] for r in school} == {"甲镇中心小学"}
    closed = [r for r in county if r["整改状态"] == "已销号"]
    assert closed and all(r["销号时间"] for r in closed)
    assert all(r["包保领导"] in ("陈领导", "范领导") for r in county)


def test_a_ledger_page_is_a_slice_of_the_whole(history):
    app, db, _ = history
    whole = ledger(db, app.today(), 3, sight=EVERYTHING, town="TA")
    assert len(whole) > 10
    page = ledger(db, app.today(), 3, sight=EVERYTHING, town="TA", page=2, per_page=5)
    assert page == whole[5:10]
    assert [r["序号"] for r in page] == [6, 7, 8, 9, 10]


def test_a_ledger_is_never_cut_short(tmp_path):
    """Regression (#3 benchmark): ledgers once went through the list's 500-row page cap."""
    from tests.conftest import settings_for
    from tests.history import build_history

    app = settings_for("memory", tmp_path).build_app()
    tickets = build_history(app, 5000)
    db = ReadModels(app, ":memory:").fresh()
    assert tickets > 500
    assert len(ledger(db, date(2026, 11, 2), 3, sight=EVERYTHING)) == tickets   # the history cancels none


# Regression tests from the review of the read models (#3).

@pytest.mark.parametrize("sort", ["light", "town", "deadline"])
def test_descending_reverses_the_whole_order(history, sort):
    app, db, _ = history
    up = [r["number"] for r in list_tickets(db, as_office(), app.today(), 3, sort=sort,
                                            per_page=500).rows]
    down = list_tickets(db, as_office(), app.today(), 3, sort=sort, descending=True,
                        per_page=500).rows
    key = {"light": lambda r: ({"red": 0, "yellow": 1, "green": 2, "none": 3}[r["light"]],),
           "town": lambda r: (r["town_id"] or "", r["unit_id"]),
           "deadline": lambda r: (r["deadline"] or "",)}[sort]
    assert [key(r) for r in down] == sorted((key(r) for r in down), reverse=True)
    assert len(up) == len(down)


@pytest.mark.parametrize("text", ["%", "_", "\\"])
def test_short_searches_treat_wildcards_as_text(history, text):
    app, db, _ = history
    assert list_tickets(db, as_office(text=text), app.today(), 3).total == 0


@pytest.mark.parametrize("week", ["2026-W5", "2027-W53", "W05", "2026-05"])
def test_bad_week_labels_are_refused(history, week):
    from projections.cycle import week_figures

    app, db, _ = history
    with pytest.raises(InvalidInputError, match="周次"):
        week_figures(db, week, app.now())


def _light(row: dict, today: date) -> int:
    """0 red, 1 yellow, 2 green, 3 none, worked out here from the state and the deadline."""
    deadline = row["deadline"] and date.fromisoformat(row["deadline"])
    if row["state"] not in ("opened", "assigned") or not deadline:
        return 3
    return 0 if deadline < today else 1 if deadline <= today + timedelta(days=3) else 2


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", ["light", "overdue", "deadline", "opened", "number", "town"])
def test_every_sort_pages_through_in_order(history, sort, descending):
    """The rows of a page are chosen by their keys before they are read whole (#4 speed-up):
    page after page, each order holds across the whole list, ties broken by number."""
    app, db, tickets = history
    today = app.today()
    rows = []
    for page in range(1, 100):
        got = list_tickets(db, as_office(), today, 3, sort=sort, descending=descending,
                           page=page, per_page=9)
        rows += got.rows
        if page == got.pages:
            break
    assert sorted(r["number"] for r in rows) == sorted(tickets)
    overdue = {r["number"]: (today - date.fromisoformat(r["deadline"])).days
               if _light(r, today) == 0 else 0 for r in rows}
    key = {"light": lambda r: (_light(r, today), r["deadline"] or ""),
           "overdue": lambda r: (overdue[r["number"]],),
           "deadline": lambda r: (r["deadline"] or "",),
           "opened": lambda r: (r["opened_at"],),
           "number": lambda r: (r["number"],),
           "town": lambda r: (r["town_id"] or "", r["unit_id"])}[sort]
    for before, after in pairwise(rows):
        a, b = key(before), key(after)
        assert (a > b if descending else a < b) or (a == b and before["number"] < after["number"])
    assert all(r["days_overdue"] == overdue[r["number"]] for r in rows)
