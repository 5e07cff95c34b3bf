"""The cycle running itself through a simulated month (#5): one check list and one bulletin per
week, one recheck list per month, digests to the right people with figures worked out from
the events, every one in the outbox once; and a scheduler stopped over a Friday."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from datetime import date, timedelta

import pytest

from domain.application import SYSTEM
from domain.clock import ManualClock, at_beijing, beijing, beijing_date
from domain.periods import iso_week
from projections.readmodels import ReadModels
from tests.conftest import START, seed_small_county, settings_for
from tests.scenario import as_of, run_scenario
from xiaohao import wiring

LEADER_TOWNS = {"L1": "TA", "L2": "TB"}


def with_contacts(app) -> None:
    """Mail addresses for the leaders and heads for the schools (the small county has none)."""
    for person in ("L1", "L2", "HA", "HB"):
        app.update_person(SYSTEM, person, email=f"{person.lower()}@county.example")
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HA", on=START)
    app.appoint_head(SYSTEM, unit_id="TB-J01", person_id="HB", on=START)


def maildir(settings) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((settings.outbox_dir / "new").glob("*"))]


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """A month of random work with the scheduler ticking after every step, the county set to
    sign a bulletin left unsigned for two hours as it stands."""
    tmp = tmp_path_factory.mktemp("cycle")
    clock = ManualClock(at_beijing(START, 9))
    settings = settings_for("sqlite", tmp, bulletin_auto_sign=True)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with_contacts(app)
    cycle = wiring.cycle(settings, app)
    ticks = []

    def tick(_step):
        ticks.append(clock.now())
        cycle.tick()

    numbers = run_scenario(app, clock, seed=3, steps=60, after_step=tick)
    assert beijing_date(clock.now()) >= START + timedelta(days=31), "the month must be covered"
    histories = {n: (app.ticket(n), app.ticket_history(n)) for n in numbers}
    return app, settings, cycle, histories, ticks


def runs(app, kind: str, periods) -> dict:
    return {p: r for p in periods if (r := app.cycle_run(kind, p)) is not None}


def test_one_check_list_and_one_bulletin_a_week_one_recheck_list_a_month(month):
    app, _, cycle, _, ticks = month
    end = ticks[-1]
    weeks = sorted({iso_week(START + timedelta(days=d)) for d in range((end.date() - START).days + 1)})
    mondays = [w for w in weeks if at_beijing(date.fromisocalendar(*map(int, w.split("-W")), 1), 8)
               <= end]
    fridays = [w for w in weeks if at_beijing(date.fromisocalendar(*map(int, w.split("-W")), 5),
                                              16) <= end]
    assert list(runs(app, "checklist", weeks)) == mondays
    bulletins = runs(app, "bulletin", weeks)
    assert list(bulletins) == fridays
    assert [b["number"] for b in bulletins.values()] == list(range(1, len(fridays) + 1))
    signed = [b for b in bulletins.values() if not b["draft"]]
    assert [b["document_number"] for b in signed] == \
        [f"泗创办通〔2026〕{n}号" for n in range(1, len(signed) + 1)]
    assert all(b["signed_by"] == "system" and b["signed_at"] - b["issued_at"] >= timedelta(hours=2)
               for b in signed)
    assert len(signed) >= len(fridays) - 1     # the last may still wait for its two hours
    assert list(runs(app, "recheck", ["2026-10", "2026-11", "2026-12", "2027-01"])) == \
        ["2026-11", "2026-12"]   # the first working days: 2 November, 1 December
    read = cycle.read.fresh()
    assert read.execute("SELECT count(*) FROM runs WHERE kind = 'bulletin'").fetchone()[0] == \
        len(fridays)


def test_each_leader_gets_the_county_and_their_own_towns(month):
    app, _, _, histories, _ = month
    for week, run in runs(app, "bulletin", [iso_week(START + timedelta(weeks=i))
                                             for i in range(6)]).items():
        moment = min(at_beijing(date.fromisocalendar(*map(int, week.split("-W")), 1), 0)
                     + timedelta(days=7), beijing(run["issued_at"]))
        digests = {d["recipient"]["key"]: d for d in _deliveries(app, "bulletin", week)}
        assert {"leader-L1", "leader-L2"} <= set(digests)
        for leader, town in LEADER_TOWNS.items():
            payload = digests[f"leader-{leader}"]["payload"]
            assert payload["totals"] == run["content"]["totals"]
            expected = set()
            for number, (ticket, steps) in histories.items():
                state, deadline = as_of(steps, moment)
                if ticket["town_id"] == town and state in ("opened", "assigned") and deadline \
                        and deadline < moment.date():
                    expected.add(number)
            assert {i["number"] for i in payload["overdue"]["items"]} == expected, (week, leader)
            assert [t["town_id"] for t in payload["towns"]] == [town]


def test_units_hear_of_their_own_overdue_and_due_soon_items(month):
    """A unit's own items are those it leads or shares, as on its pages (#10: the digests
    used to tell the lead unit alone)."""
    app, _, _, _, _ = month
    shared = set()
    for day in (START + timedelta(days=d) for d in range(35)):
        for d in _deliveries(app, "reminders", day.isoformat()):
            if d["recipient"]["key"].startswith("unit-"):
                unit = d["recipient"]["key"].removeprefix("unit-")
                for item in d["payload"]["overdue"] + d["payload"]["due_soon"]:
                    assert unit in [item["lead_unit_id"], *item["co_unit_ids"]]
                    assert date.fromisoformat(item["deadline"]) <= day + timedelta(days=3)
                    if unit != item["lead_unit_id"]:
                        shared.add(unit)
                assert d["recipient"]["address"] == {"TA-P01": "ha@county.example",
                                                     "TB-J01": "hb@county.example"}.get(unit)
    assert shared      # towns share their schools' tickets in this history


def test_every_digest_is_in_the_outbox_once(month):
    app, settings, cycle, _, _ = month
    db = cycle.read.fresh()
    queued = db.execute("SELECT message_id, state FROM deliveries").fetchall()
    assert queued and {state for _, state in queued} == {"delivered"}
    messages = maildir(settings)
    ids = Counter(m["Message-ID"] for m in messages)
    assert ids == Counter({message_id: 1 for message_id, _ in queued})
    for m in messages:
        assert m.is_multipart() and m.get_content_type() == "multipart/alternative"
        text, html = (part.get_content() for part in m.iter_parts())
        assert "问题销号系统" in text and "<script" not in html.lower() and "<img" not in html
        assert m["Subject"].startswith("【")


def test_a_scheduler_stopped_over_a_friday_issues_that_bulletin_when_it_starts(tmp_path):
    clock = ManualClock(at_beijing(START + timedelta(days=3), 18))   # a Thursday evening
    settings = settings_for("sqlite", tmp_path)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    before = wiring.cycle(settings, app)
    before.tick()
    before.stop()                                          # stopped over Friday
    week = iso_week(START)
    assert app.cycle_run("bulletin", week) is None
    clock.set(at_beijing(START + timedelta(days=7), 10))   # back on Monday at ten
    after = wiring.cycle(settings, app)
    issued = after.tick()
    after.stop()
    assert [(r["kind"], r["period"]) for r in issued] == [
        ("bulletin", week), ("checklist", iso_week(START + timedelta(days=7))),
        ("reminders", (START + timedelta(days=7)).isoformat())]   # in order; none twice
    assert wiring.cycle(settings, app).tick() == []


def _deliveries(app, kind: str, period: str) -> list[dict]:
    from domain.cycle import run_id
    from domain.delivery import delivery_id

    run = run_id(app.county_code, kind, period)
    if app.cycle_run(kind, period) is None:
        return []
    keys = [f"leader-{p}" for p in LEADER_TOWNS] + [f"unit-{u}" for u in
                                                    ("TA-P01", "TB-J01", "TA", "TB", "EDU")]
    found = []
    for key in keys:
        if delivery_id(run, key) in app.repository:
            found.append(app.delivery(delivery_id(run, key)))
    return found




def test_the_runs_read_model_rebuilt_from_zero_is_the_same(month, tmp_path):
    app, _, cycle, _, _ = month
    fresh = ReadModels(app, tmp_path / "again.sqlite3").fresh()
    for table in ("runs", "deliveries"):
        query = f"SELECT * FROM {table} ORDER BY id"
        assert fresh.execute(query).fetchall() == cycle.read.fresh().execute(query).fetchall()
