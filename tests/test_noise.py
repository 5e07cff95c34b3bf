"""Less noise (#11): the daily 逾期督办 and 到期提醒 name only what is new since the
recipient's last one, as recorded, and say how many are still open; on a day with nothing new
nobody is written to. A month of reminders with the scheduler ticking each working day: each
leader's mails follow the changes of their overdue set, and a leader whose one ticket stays
overdue for four weeks hears of it once instead of every day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.clock import ManualClock, at_beijing
from domain.workdays import is_working_day
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START, open_at_school_a, seed_small_county, settings_for
from tests.test_cycle import with_contacts
from xiaohao import wiring
from xiaohao.adapters.mail import bodies

DAYS = 28
# name -> (school, its unit account, deadline as days after START)
TICKETS = {"a1": ("TA-P01", "school_a", 1), "a2": ("TA-P01", "school_a", 9),
           "a3": ("TA-P01", "school_a", 22), "b1": ("TB-J01", "school_b", 2),
           "b2": ("TB-J01", "school_b", 16)}
RECTIFIED = {"b1": 15, "a2": 24}           # rectified on that day, before the reminders
EXTENDED = {"b2": (20, 40)}                # on day 20, the deadline moves to day 40
LEADER_SCHOOLS = {"L1": "TA-P01", "L2": "TB-J01"}


def _deadline(name: str, day: int) -> int:
    moved = EXTENDED.get(name)
    return moved[1] if moved and day >= moved[0] else TICKETS[name][2]


def overdue_on(school: str, day: int) -> set[str]:
    """The tickets of `school` overdue on the morning of day `day`, from the plan alone."""
    return {name for name, (unit, _, _) in TICKETS.items() if unit == school
            and _deadline(name, day) < day and not RECTIFIED.get(name, DAYS + 1) <= day}


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """Four weeks of the plan above, the scheduler ticking at 09:00 every day."""
    tmp = tmp_path_factory.mktemp("noise")
    clock = ManualClock(at_beijing(START, 7))
    settings = settings_for("sqlite", tmp)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with_contacts(app)
    numbers = {}
    for name, (school, _, due) in TICKETS.items():
        numbers[name] = open_at_school_a(app, unit_id=school, title=f"问题{name}")
        app.assign(numbers[name], "office", lead_unit_id=school,
                   deadline=START + timedelta(days=due))
    cycle = wiring.cycle(settings, app)
    for day in range(DAYS):
        clock.set(at_beijing(START + timedelta(days=day), 8))
        for name, on in RECTIFIED.items():
            if on == day:
                app.rectify(numbers[name], TICKETS[name][1], measures="已整改", evidence=[])
        for name, (on, to) in EXTENDED.items():
            if on == day:
                app.extend_deadline(numbers[name], "office", reason="同意",
                                    new_deadline=START + timedelta(days=to))
        clock.set(at_beijing(START + timedelta(days=day), 9))
        cycle.tick()
    by_number = {n: name for name, n in numbers.items()}
    return app, cycle, by_number, clock


def mails(app, read, key: str) -> dict[int, dict]:
    """The reminders sent to `key`, by day (as days after START)."""
    rows = read.fresh().execute("SELECT id, period FROM deliveries WHERE kind = 'reminders' "
                                "AND recipient_key = ?", (key,)).fetchall()
    return {(date.fromisoformat(p) - START).days: app.delivery(i) for i, p in rows}


@pytest.mark.parametrize("leader", LEADER_SCHOOLS)
def test_each_leader_hears_only_of_changes_to_their_overdue_set(month, leader):
    app, cycle, by_number, _ = month
    sent = mails(app, cycle.read, f"leader-{leader}")
    known: set[str] = set()
    expected_days, every_day = [], 0
    for day in range(DAYS):
        if not is_working_day(START + timedelta(days=day)):
            assert day not in sent
            continue
        now = overdue_on(LEADER_SCHOOLS[leader], day)
        every_day += bool(now)            # what a mail a day used to send
        new = now - known
        if not new:
            assert day not in sent, (leader, day)
            continue
        expected_days.append(day)
        payload = sent[day]["payload"]
        assert {by_number[i["number"]] for i in payload["overdue"]} == new, (leader, day)
        assert payload["open"] == len(now)
        text, html = bodies(sent[day])
        assert f"目前共逾期 {len(now)} 项" in text and f"新增 {len(new)} 项" in text
        known = now
    assert sorted(sent) == expected_days
    # L1's first ticket stays overdue from the first Wednesday on: 19 mails a day used to send
    assert every_day >= {"L1": 18, "L2": 10}[leader] and len(sent) <= 3, (every_day, sorted(sent))


def test_a_school_hears_of_what_is_newly_overdue_or_newly_due(month):
    app, cycle, by_number, _ = month
    sent = mails(app, cycle.read, "unit-TA-P01")
    told: set[str] = set()
    for day in sorted(sent):
        payload = sent[day]["payload"]
        named = {by_number[i["number"]] for i in payload["overdue"] + payload["due_soon"]}
        assert named and named.isdisjoint(told - {by_number[i["number"]]
                                                  for i in payload["overdue"]})
        assert payload["open"]["overdue"] == len(overdue_on("TA-P01", day))
        assert (("新增逾期" in sent[day]["subject"]) == bool(payload["overdue"])
                and ("到期" in sent[day]["subject"].split("：")[1]) == bool(payload["due_soon"]))
        told |= named
    working = sum(is_working_day(START + timedelta(days=d)) for d in range(DAYS))
    assert len(sent) <= 6 < working


def test_the_weekly_digest_still_lists_everything(month):
    app, cycle, by_number, _ = month
    week = "2026-W48"     # its Friday, 27 November, is day 25
    friday = (date.fromisocalendar(2026, 48, 5) - START).days
    run = app.cycle_run("bulletin", week)
    assert run is not None
    row = cycle.read.fresh().execute(
        "SELECT id FROM deliveries WHERE kind = 'bulletin' AND period = ? "
        "AND recipient_key = 'leader-L1'", (week,)).fetchone()
    payload = app.delivery(row[0])["payload"]
    assert {by_number[i["number"]] for i in payload["overdue"]["items"]} == \
        overdue_on("TA-P01", friday)


def test_since_the_last_mail_comes_from_the_record_not_the_process(month, tmp_path):
    """A reminders run in a fresh process, with read models rebuilt from the log, knows what
    each recipient was last told."""
    app, cycle, _, clock = month
    day = START + timedelta(days=DAYS)           # the Monday after the month
    assert is_working_day(day)
    clock.set(at_beijing(day, 9))
    fresh = ReadModels(app, tmp_path / "rebuilt.sqlite3")
    run, issued = issue(app, fresh, "reminders", day.isoformat(), warn_days=3)
    assert issued
    keys = {k for (k,) in fresh.fresh().execute(
        "SELECT recipient_key FROM deliveries WHERE kind = 'reminders' AND period = ?",
        (day.isoformat(),))}
    assert "leader-L1" not in keys and "leader-L2" not in keys   # nothing new for them
