"""The weekly bulletin (周通报): its figures against the events, its number, and one bulletin
per week however many schedulers try (#5)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta

import pytest

from domain.application import SYSTEM
from domain.clock import ManualClock, at_beijing, beijing
from domain.cycle import bulletin_number
from domain.errors import DomainError, InvalidInputError
from domain.periods import Week, iso_week
from domain.telling import NAMED_LIMIT
from domain.visibility import EVERYTHING
from projections.bulletin import PERIOD, bulletin_content, for_issue
from projections.cycle import check_list, week_figures
from projections.readmodels import ReadModels
from projections.runs import outbox
from scheduler.runs import issue
from scheduler.schedule import Schedule
from tests.conftest import START, open_at_school_a, seed_small_county, settings_for
from tests.history import START as HISTORY_START
from tests.history import build_history
from tests.scenario import SCHOOLS, as_of, moves, run_scenario
from tests.test_numbering_and_restart import ROOT, durable_settings, env_for  # noqa: F401
from tests.web_client import Browser, page
from xiaohao.adapters.mail import bodies

UNRECTIFIED = ("opened", "assigned")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    clock = ManualClock(at_beijing(START, 9))
    app = settings_for("memory", tmp_path_factory.mktemp("b")).build_app(clock=clock)
    seed_small_county(app)
    numbers = run_scenario(app, clock, seed=11, steps=500)
    read = ReadModels(app, ":memory:")
    histories = {n: (app.ticket(n), app.ticket_history(n)) for n in numbers}
    weeks = sorted({iso_week(START + timedelta(days=d))
                    for d in range((app.today() - START).days + 1)})
    return app, read, histories, weeks


COUNTED = {"Opened": "found", "Closed": "closed", "Cancelled": "cancelled",
           "Reopened": "reopened", "DeadlineExtended": "extended"}


def counted_by(at, week: str, moment) -> bool:
    """Is an event at `at` in the cumulative figures of `week`'s bulletin as of `moment`?"""
    return at < Week.parse(week).end and at <= moment


def expected_totals(histories: dict, week: str, moment, before=None) -> dict:
    """The bulletin's totals worked out from each ticket's events alone: this issue's counts
    (本期: counted now and not by the bulletin `before`, a (week, moment)), the cumulative
    counts, the closure rate, and the on-time rate (deadline set at assignment passed;
    rectified by then with a fix that passed) (#11)."""
    end = Week.parse(week).end
    totals = dict.fromkeys([*(f"{c}_period" for c in COUNTED.values()),
                            *(f"{c}_total" for c in COUNTED.values()),
                            "due_total", "on_time_total", "in_rectification", "overdue"], 0)
    overdue, due = set(), set()
    next_monday = end.date()
    for number, (_, steps) in histories.items():
        first_deadline = completed = None
        on_time = cancelled = False
        for step in steps:
            name, at = step["event"], step["at"]
            if not counted_by(at, week, moment):
                break
            if name in COUNTED:
                totals[f"{COUNTED[name]}_total"] += 1
                totals[f"{COUNTED[name]}_period"] += not (before and counted_by(at, *before))
            if name == "Assigned" and first_deadline is None:
                first_deadline = step["details"]["deadline"]
            if name == "Rectified":
                completed = step["details"]["completed_on"]
            if name == "ReInspected" and step["details"]["passed"]:
                on_time = on_time or completed <= first_deadline
            cancelled = cancelled or name == "Cancelled"
        if first_deadline and first_deadline < moment.date() and not cancelled:
            totals["due_total"] += 1
            totals["on_time_total"] += on_time
        state, deadline = as_of(steps, moment)
        totals["in_rectification"] += state in (*UNRECTIFIED, "rectified")
        if state in UNRECTIFIED and deadline and deadline < moment.date():
            overdue.add(number)
        if state in UNRECTIFIED and deadline and \
                next_monday <= deadline <= next_monday + timedelta(days=6):
            due.add(number)
    totals["overdue"] = len(overdue)
    standing = totals["found_total"] - totals["cancelled_total"]
    totals["closure_rate"] = round(
        (totals["closed_total"] - totals["reopened_total"]) / standing, 4) if standing else None
    totals["on_time_rate"] = round(totals["on_time_total"] / totals["due_total"], 4) \
        if totals["due_total"] else None
    return {"totals": totals, "overdue": overdue, "due": due}


def adds_up(bulletins: list[dict]) -> None:
    """The last bulletin's cumulative figures are the sums of the 本期 figures of all the
    bulletins issued, for the county, each town and each department (#11)."""
    last = bulletins[-1]
    for figure in PERIOD:
        assert last["totals"][f"{figure}_total"] == sum(
            b["totals"][f"{figure}_period"] for b in bulletins), (last["week"], figure)
        for part, key in (("towns", "town_id"), ("departments", "unit_id")):
            for row in last[part]:
                assert row[f"{figure}_total"] == sum(
                    r[figure] for b in bulletins for r in b[part] if r[key] == row[key]), \
                    (last["week"], figure, row[key])


def test_every_bulletin_says_what_the_events_say(history):
    app, read, histories, weeks = history
    printed: list[dict] = []
    for week in weeks:
        run, issued = issue(app, read, "bulletin", week, warn_days=3)
        assert issued
        content = run["content"]
        moment = min(Week.parse(week).end, beijing(app.now()))
        before = (printed[-1]["week"], datetime.fromisoformat(printed[-1]["as_of"])) \
            if printed else None
        expected = expected_totals(histories, week, moment, before)
        assert {k: v for k, v in content["totals"].items() if k != "period"} == \
            expected["totals"], week
        assert {i["number"] for i in content["overdue"]["items"]} == expected["overdue"], week
        assert {i["number"] for i in content["due_next_week"]["items"]} == expected["due"], week
        assert content["overdue"]["more"] == content["due_next_week"]["more"] == 0
        towns, departments = content["towns"], content["departments"]
        rows = towns + departments
        for figure in PERIOD:
            # the rows add up to no more than the county (county-level bodies aside)
            assert sum(r[f"{figure}_total"] for r in rows) <= content["totals"][f"{figure}_total"]
        printed.append(content)
        adds_up(printed)
        ranks = [t["rank"] for t in towns if t["rank"] is not None]
        assert ranks == sorted(ranks)
        assert all(t["rank"] is None for t in towns[len(ranks):])   # unranked last
        assert all((t["rank"] is None) == (t["found_total"] == t["cancelled_total"])
                   for t in towns)
        checks = check_list(read.db, week, 3, EVERYTHING)
        assert content["check_list"] == {"total": len(checks),
                                         "checked": sum(bool(c["checked"]) for c in checks)}
        assert content["trend"][-1]["week"] == week and len(content["trend"]) == 12
        assert run["number"] == weeks.index(week) + 1
    # issued after their weeks ended, each 本期 is its calendar week, from the campaign's start
    assert printed[0]["totals"]["period"] == "11月2日—11月8日24:00"
    assert printed[1]["totals"]["period"] == "11月8日24:00—11月15日24:00"
    # the history exercises every figure: some met deadlines, some missed, some extended
    assert any(0 < c["totals"]["on_time_total"] < c["totals"]["due_total"] for c in printed)
    assert printed[-1]["totals"]["extended_total"] and printed[-1]["totals"]["cancelled_total"]


# Weeks of the Friday history whose run is missed, and when it is made up: (week index, day of
# the week, hour) -> the weeks issued then, oldest first, as a scheduler starting then would.
MADE_UP = {(5, 5, 10): [4, 5], (9, 0, 9): [8]}
NEVER = 10                     # missed and never made up: week 11's 本期 spans two weeks
FRIDAY_WEEKS = 12


def act(app, rng, numbers: list[str], *, find: bool = False) -> None:
    """One step of a random history (tests/scenario.py's moves): a finding, or a ticket moved."""
    if find or not numbers or rng.random() < 0.12:
        numbers.append(app.open_ticket(
            rng.choice(["insp", "office"]), title=f"问题{len(numbers) + 1}：功能教室不足",
            description="周检查发现", unit_id=rng.choice(list(SCHOOLS)), category="功能教室",
            severity="一般", source="周检查", indicator_id=None))
        return
    try:
        rng.choice(moves(app, rng.choice(numbers), rng))()
    except DomainError:
        pass


@pytest.fixture(scope="module")
def fridays(tmp_path_factory):
    """Twelve weeks of work with the bulletins issued as the scheduler issues them: on Friday
    at 16:00 (after what was recorded at that very instant), some weeks missed and made up
    later (after their week's end, or within the next week), one never; with findings and
    other changes every day, Friday evenings and weekends included. Returns the app, the
    bulletins in the order issued, and each ticket's events."""
    return friday_history(settings_for("memory", tmp_path_factory.mktemp("f")))


def friday_history(settings):
    """The `fridays` history on the store `settings` name (see the fixture)."""
    rng = random.Random(17)
    clock = ManualClock(at_beijing(START, 9))
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    read = ReadModels(app, ":memory:")
    numbers: list[str] = []
    issued: list[dict] = []

    def issue_week(index: int) -> None:
        week = iso_week(START + timedelta(weeks=index))
        _, new = issue(app, read, "bulletin", week, warn_days=3)
        assert new
        issued.append(app.sign_bulletin(SYSTEM, week))    # signed as it was drafted

    for i in range(FRIDAY_WEEKS):
        monday = Week.of(START + timedelta(weeks=i)).start
        friday = Schedule().bulletin_due(str(Week.of(monday.date())))
        moments = sorted({monday + timedelta(minutes=rng.randint(8 * 60, 7 * 24 * 60 - 1),
                                             seconds=rng.random() * 60) for _ in range(40)}
                         | {friday, friday + timedelta(hours=3, seconds=rng.random()),
                            monday + timedelta(days=5, hours=11),
                            monday + timedelta(days=7, microseconds=-1)})
        for made_up in [k for k in MADE_UP if k[0] == i]:
            moments.append(monday + timedelta(days=made_up[1], hours=made_up[2]))
        for moment in sorted(moments):
            clock.set(moment)
            act(app, rng, numbers, find=moment.weekday() >= 4 and moment >= friday)
            if moment == friday and i not in (NEVER, *(w for ws in MADE_UP.values() for w in ws)):
                issue_week(i)
            for week in MADE_UP.get((i, moment.weekday(), moment.hour), []) \
                    if moment.minute == moment.second == 0 else []:
                issue_week(week)
    histories = {n: app.ticket_history(n) for n in numbers}
    return app, read, issued, histories


def test_bulletins_issued_on_fridays_add_up_to_their_cumulative_figures(fridays):
    """#11: 本期 runs from the previous bulletin's moment to this one's, so findings on a
    Friday evening or a weekend are in the next bulletin's 本期, and the cumulative figures
    are the sums of the 本期 figures of the bulletins issued, however they were issued."""
    app, read, issued, histories = fridays
    assert [r["number"] for r in issued] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    printed, after_friday = [], 0
    for run in issued:
        content = run["content"]
        moment = datetime.fromisoformat(content["as_of"])
        assert moment == min(Week.parse(run["period"]).end, beijing(run["issued_at"]))
        before = (printed[-1]["week"], datetime.fromisoformat(printed[-1]["as_of"])) \
            if printed else None
        expected = expected_totals({n: (None, h) for n, h in histories.items()},
                                   run["period"], moment, before)["totals"]
        assert {k: content["totals"][k] for k in expected} == expected, run["period"]
        printed.append(content)
        adds_up(printed)
        after_friday += sum(1 for steps in histories.values() for step in steps
                            if step["event"] == "Opened"
                            and moment < step["at"] < Week.parse(run["period"]).end)
    # findings after a bulletin and before its week ended, which a week's line would drop
    assert after_friday >= 10
    assert all(b["totals"]["found_period"] for b in printed)
    assert printed[-1]["totals"]["closed_total"] and printed[-1]["totals"]["cancelled_total"]
    labels = [b["totals"]["period"] for b in printed]
    assert labels[:2] == ["11月2日—11月6日16:00", "11月6日16:00—11月13日16:00"]
    # week 4 made up on week 5's Saturday, as of its end; week 5 as of that Saturday morning
    assert labels[4:7] == ["11月27日16:00—12月6日24:00", "12月6日24:00—12月12日10:00",
                           "12月12日10:00—12月18日16:00"]
    # week 8 (across the new year) made up on the Monday after it
    assert labels[8] == "2026年12月25日16:00—2027年1月3日24:00"
    # week 10 never issued: week 11's 本期 runs on from week 9's Friday
    assert labels[10] == "1月8日16:00—1月22日16:00"


def test_a_week_earlier_than_a_bulletin_issued_is_refused(fridays):
    """Week 10 was never issued; week 11's 本期 has counted it, so it cannot be issued now."""
    app, read, _, _ = fridays
    before = app.recorder.max_notification_id()
    week = iso_week(START + timedelta(weeks=NEVER))
    with pytest.raises(InvalidInputError, match="已发布第12期周通报.*不能再补发更早的"):
        issue(app, read, "bulletin", week, warn_days=3)
    assert app.recorder.max_notification_id() == before
    assert app.cycle_run("bulletin", week) is None
    # a scheduler that found week 0 not yet issued, and builds it while another issues it and
    # the weeks after, is not refused: issue_run hands it the run issued (#5)
    assert bulletin_content(read.fresh(), iso_week(START), app.now())["week"] == iso_week(START)


def test_after_a_bulletin_issued_before_its_figures_were_sums_本期_is_counted_anew(
        memory_app, clock):
    """A bulletin issued by an earlier version printed net cumulative figures (found less
    cancelled) and no 本期: the next one counts the events after its moment again (#11)."""
    app = memory_app
    read = ReadModels(app, ":memory:")
    first = open_at_school_a(app)
    clock.set(at_beijing(START + timedelta(days=2), 10))
    app.cancel(first, "office", reason="重复登记")
    friday = at_beijing(START + timedelta(days=4), 16)
    clock.set(friday)
    app.issue_run(SYSTEM, "bulletin", iso_week(START), {
        "week": iso_week(START), "as_of": friday.isoformat(timespec="microseconds"),
        "totals": {"found_week": 1, "closed_week": 0, "found_total": 0, "closed_total": 0},
        "towns": [{"town_id": "TA", "found_total": 0, "closed_total": 0}],
        "departments": []}, app.recorder.max_notification_id())
    clock.set(friday + timedelta(hours=4))
    open_at_school_a(app)                       # a Friday evening finding
    clock.set(friday + timedelta(days=7))
    open_at_school_a(app)
    run, _ = issue(app, read, "bulletin", iso_week(START + timedelta(days=7)), warn_days=3)
    totals = run["content"]["totals"]
    assert (totals["found_period"], totals["cancelled_period"]) == (2, 0)
    assert (totals["found_total"], totals["cancelled_total"]) == (3, 1)
    assert totals["period"] == "11月6日16:00—11月13日16:00"
    assert [(t["town_id"], t["found"]) for t in run["content"]["towns"]] == [("TA", 2)]


def test_the_page_and_the_leaders_mail_say_本期_with_its_dates(web_app, clock, tmp_path):
    """#11: a Saturday's finding, after the first bulletin, is the second's 本期, so labelled
    with the dates it covers, on the page and in a 包保 leader's weekly mail."""
    web, app = web_app
    read = ReadModels(app, tmp_path / "read.sqlite3")
    clock.set(at_beijing(START + timedelta(days=1), 9))
    open_at_school_a(app)
    clock.set(at_beijing(START + timedelta(days=4), 16))
    issue(app, read, "bulletin", iso_week(START), warn_days=3)
    clock.set(at_beijing(START + timedelta(days=5), 10))
    open_at_school_a(app)                                        # on the Saturday
    clock.set(at_beijing(START + timedelta(days=11), 16))
    week = iso_week(START + timedelta(days=7))
    issue(app, read, "bulletin", week, warn_days=3)
    doc = page(Browser(web, "office").get(f"/bulletins/{week}"))
    text = doc.select_one(".bulletin").text
    assert "本期（11月6日16:00—11月13日16:00）全县新发现问题 1 项" in text
    assert "累计发现问题 2 项" in text and "本周（" not in text
    assert [th.text for th in doc.select("table.plain thead th")][2:4] == ["本期发现", "本期销号"]
    read.fresh()
    mail = next(d for d in outbox(read.db) if d["recipient_key"] == "leader-L1"
                and d["period"] == week)
    plain, html = bodies(app.delivery(mail["id"]))
    assert "本期（11月6日16:00—11月13日16:00）全县新发现问题 1 项" in plain
    assert "本期（11月6日16:00—11月13日16:00）全县新发现问题 <b>1</b> 项" in html


def test_an_overdue_item_is_named_with_its_people(history):
    app, read, histories, weeks = history
    named = [i for w in weeks
             for i in app.cycle_run("bulletin", w)["content"]["overdue"]["items"]]
    assert named, "the scenario should leave something overdue"
    for item in named:
        ticket = histories[item["number"]][0]
        assert item["unit"] and item["unit"] != ticket["unit_id"]   # a name, not a code
        assert item["days_overdue"] >= 1
        assert item["leaders"] == [{"L1": "陈领导", "L2": "范领导"}.get(p, p)
                                   for p in ticket["leader_ids"]]


def test_a_week_is_issued_once(history):
    app, read, _, weeks = history
    first = app.cycle_run("bulletin", weeks[0])
    again, issued = issue(app, read, "bulletin", weeks[0], warn_days=3)
    assert not issued and again == first
    assert again["content"]["week"] == weeks[0]


@pytest.mark.parametrize("week, message", [
    ("2026-W99", "周次"), ("W45", "周次"), ("", "周次"), ("2026-W44", "早于创建工作开始"),
    ("2099-W10", "尚未开始"),
])
def test_a_week_that_cannot_have_a_bulletin_is_refused(history, week, message):
    app, read, _, _ = history
    before = app.recorder.max_notification_id()
    with pytest.raises(InvalidInputError, match=message):
        issue(app, read, "bulletin", week, warn_days=3)
    assert app.recorder.max_notification_id() == before


def test_bulletins_are_numbered_from_the_campaigns_first_week():
    start = START + timedelta(days=2)   # a Wednesday: its week is 期 1
    assert bulletin_number(start, iso_week(START)) == 1
    assert bulletin_number(start, iso_week(START + timedelta(weeks=3))) == 4
    assert bulletin_number(start, iso_week(START - timedelta(weeks=1))) == 0


@pytest.mark.slow
def test_two_schedulers_issue_each_week_once(durable_settings, tmp_path):  # noqa: F811
    app = durable_settings.build_app(clock=ManualClock(at_beijing(START, 9)))
    seed_small_county(app)
    weeks = [iso_week(START + timedelta(weeks=i)) for i in range(5)]
    go = tmp_path / "go"
    racers = [subprocess.Popen(
        [sys.executable, "-m", "tests.issue_bulletins", ",".join(weeks), str(go),
         str(tmp_path / f"read{i}.sqlite3")], cwd=ROOT, env=env_for(durable_settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    go.touch()
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], [err for _, err in outputs]
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert sorted(w for w, how, _ in lines if how == "issued") == weeks   # each exactly once
    assert {(w, n) for w, _, n in lines} == {(w, str(i + 1)) for i, w in enumerate(weeks)}
    topics = [n.topic for n in app.recorder.select_notifications(start=1, limit=10_000)
              if n.topic.endswith("CycleRun.Issued")]
    assert len(topics) == len(weeks)


def test_a_bulletin_names_the_longest_overdue_first_and_counts_the_rest():
    """A 通报 naming twenty thousand items is not read: it names NAMED_LIMIT, oldest deadline
    first (the order the content lists them in), and says how many more there are."""
    items = [{"number": f"SS-2026-{i:04d}", "deadline": f"2026-10-{1 + i % 28:02d}"}
             for i in range(NAMED_LIMIT + 7)]
    issued = for_issue({"overdue": items, "due_next_week": items[:3], "week": "2026-W45"})
    assert issued["overdue"] == {"items": items[:NAMED_LIMIT], "more": 7}
    assert issued["due_next_week"] == {"items": items[:3], "more": 0}
    assert issued["week"] == "2026-W45"


def test_each_places_overdue_is_counted_from_the_items_it_names(tmp_path):
    """Regression (#16): the bulletin counts each town's and unit's overdue items from the
    items it names, not read again; the counts are those week_figures reads on its own (as the
    工作台 does), for every week of a long history, ended or running."""
    clock = ManualClock(HISTORY_START)
    app = settings_for("memory", tmp_path).build_app(clock=clock)
    build_history(app, 6000, units=60)
    db = ReadModels(app, ":memory:").fresh()
    last = datetime.fromisoformat(db.execute("SELECT max(at) FROM timeline").fetchone()[0])
    clock.set(last + timedelta(hours=1))     # the running week's moment: after every event
    week, weeks = Week.of(HISTORY_START.date()), []
    while week.start < app.now():
        weeks.append(str(week))
        week = week.shifted(1)
    counted = 0
    for week in weeks:
        content = bulletin_content(db, week, app.now())
        alone = week_figures(db, week, app.now())
        places = Counter((i["town_id"], i["unit_id"]) for i in content["overdue"])
        assert places == {(r["town_id"], r["unit_id"]): r["overdue"]
                          for r in alone.rows if r["overdue"]}, week
        assert [(t["town_id"], t["overdue"], t["rank"]) for t in content["towns"]] == \
            [(t["town_id"], t["overdue"], t["rank"]) for t in alone.towns], week
        assert {d["unit_id"]: d["overdue"] for d in content["departments"]} == \
            {r["unit_id"]: r["overdue"] for r in alone.rows
             if r["unit_id"] in {d["unit_id"] for d in content["departments"]}}, week
        counted += sum(places.values())
    assert len(weeks) > 50 and counted > 1000
