"""Who sees a ticket (domain/visibility.py): the predicate and its SQL select exactly the same
tickets for any directory, account, day and tickets (#10); and the 包保 rule as the README
states it, case by case."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from domain.directory import Directory
from domain.errors import DomainError
from domain.values import Role
from domain.visibility import Sight, sight_of
from projections.tickets import TicketsProjection
from tests.conftest import START, open_at_school_a

AT = datetime(2026, 1, 1, tzinfo=UTC)
LEADERS = ["L1", "L2", "L3"]


@st.composite
def directories(draw) -> Directory:
    """A county of 1–3 towns, each with 0–3 schools, some schools right under the county, a few
    departments, heads appointed from a day, three leaders, and 包保 periods (some ended) on
    towns and schools."""
    directory = Directory(county_code="SS", county_name="测试县", timestamp=AT)
    add = directory.add_unit
    add(code="SS", name="测试县", kind="county", parent=None, level=None, at=AT)
    units = []
    for t in range(draw(st.integers(1, 3))):
        add(code=f"T{t}", name=f"镇{t}", kind="town", parent="SS", level=None, at=AT)
        units.append(f"T{t}")
        for s in range(draw(st.integers(0, 3))):
            add(code=f"T{t}-S{s}", name=f"镇{t}校{s}", kind="school", parent=f"T{t}",
                level="primary", at=AT)
            units.append(f"T{t}-S{s}")
    for s in range(draw(st.integers(0, 2))):
        add(code=f"C-S{s}", name=f"县直校{s}", kind="school", parent="SS", level="junior", at=AT)
        units.append(f"C-S{s}")
    for d in range(draw(st.integers(0, 2))):
        add(code=f"D{d}", name=f"部门{d}", kind="department", parent="SS", level=None, at=AT)
    for leader in LEADERS:
        directory.register_person(person_id=leader, name=leader, title="", unit_id="SS",
                                  email="", phone="", at=AT)
    for code in draw(st.lists(st.sampled_from(units), unique=True, max_size=3)):
        directory.register_person(person_id=f"H-{code}", name="校长", title="", unit_id=code,
                                  email="", phone="", at=AT)
        directory.appoint_head(unit_id=code, person_id=f"H-{code}", at=AT,
                               on=START + timedelta(days=draw(st.integers(0, 30))))
    for leader, target, start, length in draw(st.lists(st.tuples(      # towns and schools
            st.sampled_from(LEADERS), st.sampled_from(units), st.integers(0, 20),
            st.one_of(st.none(), st.integers(1, 20))), max_size=6)):
        on = START + timedelta(days=start)
        try:
            directory.assign_baobao(leader_id=leader, unit_id=target, on=on, at=AT)
            if length is not None:
                directory.end_baobao(leader_id=leader, unit_id=target,
                                     on=on + timedelta(days=length), at=AT)
        except DomainError:   # a period the directory refuses (it overlaps one drawn before)
            continue
    return directory


@st.composite
def accounts(draw, directory: Directory) -> tuple:
    units = sorted(directory.units)
    roles = draw(st.sets(st.sampled_from(list(Role)), min_size=1, max_size=2))
    return (roles, draw(st.one_of(st.none(), st.sampled_from(units))),
            draw(st.one_of(st.none(), st.sampled_from(sorted(directory.people)))))


@st.composite
def tickets(draw, directory: Directory) -> list[dict]:
    places = sorted(u for u in directory.units if u != "SS")
    rows = []
    for i in range(draw(st.integers(0, 25))):
        lead = draw(st.one_of(st.none(), st.sampled_from(places)))
        co = draw(st.lists(st.sampled_from(places), max_size=3, unique=True)) if lead else []
        unit = draw(st.sampled_from(places))
        rows.append({"id": f"t{i}", "seq": i, "number": f"SS-2026-{i:04d}", "title": "问题",
                     "state": "assigned", "unit_id": unit, "town_id": directory.town_of(unit),
                     "lead_unit_id": lead, "co_unit_ids": [u for u in co if u != lead],
                     "leader_ids": draw(st.lists(st.sampled_from(LEADERS), max_size=2,
                                                 unique=True))})
    return rows


def read_model(rows: list[dict]) -> Database:
    """The tickets read model holding these rows, its responsibility tables written by the
    projection's own writer."""
    db = Database(memory=True)
    projection = TicketsProjection()
    projection.create_tables(db)
    stored = [{**r, "co_unit_ids": json.dumps(r["co_unit_ids"]),
               "leader_ids": json.dumps(r["leader_ids"])} for r in rows]
    for row in stored:
        db.execute("INSERT INTO tickets (id, seq, number, title, state, unit_id, town_id, "
                   "lead_unit_id, co_unit_ids, leader_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [row[c] for c in ("id", "seq", "number", "title", "state", "unit_id",
                                     "town_id", "lead_unit_id", "co_unit_ids", "leader_ids")])
    projection._write_responsibility(db.conn, stored)
    return db


def selected(db: Database, sight: Sight) -> set[str]:
    clause, params = sight.where()
    return {n for (n,) in db.execute(f"SELECT t.number FROM tickets t WHERE {clause}", params)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_predicate_and_the_sql_select_the_same_tickets(data):
    directory = data.draw(directories())
    rows = data.draw(tickets(directory))
    db = read_model(rows)
    for _ in range(4):
        roles, unit, person = data.draw(accounts(directory))
        day = START + timedelta(days=data.draw(st.integers(0, 45)))
        sight = sight_of(roles, unit, person, directory, day)
        assert selected(db, sight) == {r["number"] for r in rows if sight.sees(r)}, \
            (roles, unit, person, day, sight)


# -- the 包保 rule as stated in the README ------------------------------------------------

def county() -> Directory:
    """Town T0 with schools S0 and S1; town T1 with school S2; leader L1 answers for T0, leader
    L2 for school S2 only."""
    d = Directory(county_code="SS", county_name="测试县", timestamp=AT)
    d.add_unit(code="SS", name="县", kind="county", parent=None, level=None, at=AT)
    for town, schools in (("T0", ("S0", "S1")), ("T1", ("S2",))):
        d.add_unit(code=town, name=town, kind="town", parent="SS", level=None, at=AT)
        for school in schools:
            d.add_unit(code=school, name=school, kind="school", parent=town, level="primary",
                       at=AT)
    for leader in LEADERS:
        d.register_person(person_id=leader, name=leader, title="", unit_id="SS", email="",
                          phone="", at=AT)
    d.assign_baobao(leader_id="L1", unit_id="T0", on=START, at=AT)
    d.assign_baobao(leader_id="L2", unit_id="S2", on=START, at=AT)
    return d


def ticket(unit: str, lead: str | None = None, co: tuple = (), leaders: tuple = ()) -> dict:
    return {"unit_id": unit, "lead_unit_id": lead, "co_unit_ids": list(co),
            "leader_ids": list(leaders)}


def leader(person: str, day: date = START) -> Sight:
    return sight_of([Role.LEADER], None, person, county(), day)


@pytest.mark.parametrize("sight, seen, unseen", [
    # a town's 包保 covers the town and every school in it
    (leader("L1"), [ticket("T0"), ticket("S0"), ticket("S1")], [ticket("T1"), ticket("S2")]),
    # a school's 包保 covers that school only, not its town nor the school beside it
    (leader("L2"), [ticket("S2")], [ticket("T1"), ticket("S0")]),
    # a ticket is a unit's when the unit leads or shares it, wherever the problem is
    (leader("L2"), [ticket("T0", lead="S2"), ticket("T0", lead="T0", co=("S2",))], []),
    # a ticket that names the leader is theirs too
    (leader("L3"), [ticket("S1", leaders=("L3",))], [ticket("S1", leaders=("L1",))]),
    # before the 包保 began the leader covers nothing
    (leader("L1", START - timedelta(days=1)), [], [ticket("S0")]),
    # a unit sees what it leads or shares, not what merely happens at it
    (sight_of([Role.UNIT], "S0", None, None, None),
     [ticket("T1", lead="S0"), ticket("T1", lead="T1", co=("S0",))], [ticket("S0")]),
    # the office, inspectors and auditors see everything
    (sight_of([Role.AUDITOR], None, None, None, None), [ticket("S2")], []),
    # several roles see what any of them would
    (sight_of([Role.UNIT, Role.LEADER], "S0", "L2", county(), START),
     [ticket("T1", lead="S0"), ticket("S2")], [ticket("S1")]),
])
def test_the_baobao_rule(sight, seen, unseen):
    assert all(sight.sees(t) for t in seen) and not any(sight.sees(t) for t in unseen)


def test_the_directory_names_the_leaders_by_the_same_rule():
    d = county()
    assert d.leaders_on("S0", START) == ["L1"] and d.leaders_on("T0", START) == ["L1"]
    assert d.leaders_on("S2", START) == ["L2"] and d.leaders_on("T1", START) == []


def test_a_leader_acts_on_exactly_the_tickets_they_see(memory_app):
    """The ticket's own check is the same rule: leader B comments on school A's ticket once
    it names them, and not before."""
    app = memory_app
    number = open_at_school_a(app)
    with pytest.raises(Exception, match="不在您的包保范围内"):
        app.comment(number, "leader_b", text="关注")
    app.assign(number, "office", lead_unit_id="TA-P01", leader_ids=["L1", "L2"],
               deadline=START + timedelta(days=20))
    app.comment(number, "leader_b", text="关注")
    assert app.ticket(number)["version"] == 3
