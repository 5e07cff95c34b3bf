"""历史视图 (#13 §1): the read models as they stood at a past moment, exactly: at each bulletin's
moment its lists and counts equal what the bulletin recorded, and a ticket as of an instant
equals its aggregate replayed to its last version then; the pages and the API show the past
to the office and the auditor only, read-only, keeping the instant in their links."""

from __future__ import annotations

import csv
import io
import random
from contextlib import nullcontext
from datetime import date, datetime, timedelta

import pytest

from domain.clock import ManualClock, at_beijing, beijing
from domain.lights import IN_RECTIFICATION, UNRECTIFIED
from domain.periods import Week
from domain.ticket import ticket_id
from domain.visibility import EVERYTHING
from projections.asof import Moment, as_of, moment_at
from projections.cycle import week_figures, weekly_trend
from projections.ledger import ledger
from projections.queries import TicketFilter, list_tickets, state_counts, ticket_row
from projections.readmodels import ReadModels
from tests.conftest import (
    START,
    assign_to_school_a,
    fresh_schema,
    open_at_school_a,
    seed_small_county,
    settings_for,
)
from tests.scenario import run_scenario
from tests.test_bulletin import friday_history
from tests.web_client import Browser, page

WARN_DAYS = 3


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fridays(request, tmp_path_factory):
    """The bulletin tests' twelve weeks of random work with the bulletins issued as the
    scheduler issues them (tests/test_bulletin.py), on an SQLite file and on PostgreSQL."""
    with fresh_schema("xh_asof") if request.param == "postgres" else nullcontext("") as schema:
        settings = settings_for(request.param, tmp_path_factory.mktemp("asof"), schema)
        history = friday_history(settings)
        yield history
        history[0].close()


def named(items: list[dict] | dict) -> list[tuple]:
    """A list's items as (number, deadline, days overdue); a bulletin's named list whole."""
    if isinstance(items, dict):
        assert not items["more"]
        items = items["items"]
    return sorted((i["number"], i["deadline"], i["days_overdue"]) for i in items)


def test_at_each_bulletins_moment_the_lists_and_counts_are_what_it_recorded(fridays):
    app, read, issued, _ = fridays
    db = read.fresh()
    for run in issued:
        content = run["content"]
        moment = moment_at(db, datetime.fromisoformat(content["as_of"]))
        if beijing(run["issued_at"]) <= datetime.fromisoformat(content["as_of"]):
            # issued on time: the moment is the log it was built from (less later non-ticket
            # events, such as the run itself)
            assert moment.position <= run["position"]
        with as_of(db, moment):
            everything = TicketFilter(sight=EVERYTHING)
            red = list_tickets(db, TicketFilter(sight=EVERYTHING, light="red"), moment.day,
                               WARN_DAYS, sort="deadline", per_page=500).rows
            monday = Week.parse(run["period"]).end.date()
            due = list_tickets(db, TicketFilter(sight=EVERYTHING, due_from=monday,
                                                due_to=monday + timedelta(days=6)),
                               moment.day, WARN_DAYS, per_page=500).rows
            states = state_counts(db, everything, moment.day, WARN_DAYS)
            rows = ledger(db, moment.day, WARN_DAYS, sight=EVERYTHING)
        assert named(red) == named(content["overdue"]), run["period"]
        assert named([t for t in due if t["state"] in UNRECTIFIED]) == \
            named(content["due_next_week"]), run["period"]
        assert sum(states[s] for s in IN_RECTIFICATION) == \
            content["totals"]["in_rectification"], run["period"]
        assert sorted(r["问题编号"] for r in rows if r["红黄绿灯"] == "红灯") == \
            sorted(i["number"] for i in content["overdue"]["items"]), run["period"]
        # what a bulletin names of an overdue item: its place, lead unit, person, leaders
        if beijing(run["issued_at"]) <= datetime.fromisoformat(content["as_of"]):
            by_number = {t["number"]: t for t in red}
            for item in content["overdue"]["items"]:
                t = by_number[item["number"]]
                assert (t["lead_unit_id"], t["co_unit_ids"], t["leader_ids"]) == (
                    item["lead_unit_id"], item["co_unit_ids"], item["leader_ids"])
    assert sum(len(r["content"]["overdue"]["items"]) for r in issued) >= 50


def test_at_each_bulletins_moment_the_figures_are_what_it_recorded(fridays):
    """The week's figures as of each bulletin's moment (on its Friday, or at its week's end for
    one made up later), for the county and each town, equal the bulletin's."""
    app, read, issued, _ = fridays
    db = read.fresh()
    for run in issued:
        content = run["content"]
        at = datetime.fromisoformat(content["as_of"])
        moment = moment_at(db, at)
        with as_of(db, moment):
            figures = week_figures(db, run["period"], at)
            trend = weekly_trend(db, run["period"])
        totals = content["totals"]
        for figure in ("found_total", "closed_total", "cancelled_total", "reopened_total",
                       "extended_total", "due_total", "on_time_total", "closure_rate",
                       "on_time_rate"):
            assert figures.county[figure] == totals[figure], (run["period"], figure)
        assert figures.county["overdue"] == totals["overdue"], run["period"]
        for town in content["towns"]:
            mine = next(t for t in figures.towns if t["town_id"] == town["town_id"])
            assert {k: mine[k] for k in ("found_total", "closed_total", "overdue", "rank")} == \
                {k: town[k] for k in ("found_total", "closed_total", "overdue", "rank")}, \
                (run["period"], town["town_id"])
        assert trend == content["trend"], run["period"]
    # the figures changed after each moment, so the view had something to take back
    assert week_figures(db, issued[0]["period"], app.now()).county["found_total"] > \
        issued[0]["content"]["totals"]["found_total"]


def replayed(app, number: str, version: int) -> dict:
    """The ticket as its aggregate stood at `version`, in the read model's terms."""
    t = app.repository.get(ticket_id(number), version=version)
    return {"state": t.state.value if hasattr(t.state, "value") else t.state,
            "deadline": t.deadline.isoformat() if t.deadline else None,
            "lead_unit_id": t.lead_unit_id, "co_unit_ids": list(t.co_unit_ids),
            "person_id": t.person_id, "leader_ids": list(dict.fromkeys(t.leader_ids)),
            "measures": t.measures or "", "returns": t.returns, "reopens": t.reopens,
            "extensions": t.extensions, "overdue_incurred": t.overdue_incurred,
            "version": t.version}


def as_read(row: dict) -> dict:
    return {k: row[k] for k in ("state", "deadline", "lead_unit_id", "co_unit_ids", "person_id",
                                "leader_ids", "measures", "returns", "reopens", "extensions",
                                "overdue_incurred", "version")} | {
        "leader_ids": list(dict.fromkeys(row["leader_ids"])), "measures": row["measures"] or ""}


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_ticket_as_of_an_instant_is_its_aggregate_replayed_to_then(store, tmp_path, request):
    """On an SQLite file and on PostgreSQL (whose notification ids may have gaps), at instants
    between events and on them: every field the aggregate holds, and its 签收."""
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    clock = ManualClock(at_beijing(START, 9))
    app = settings_for(store, tmp_path, schema).build_app(clock=clock)
    try:
        seed_small_county(app)
        numbers = run_scenario(app, clock, seed=23, steps=300)
        read = ReadModels(app, tmp_path / "read.db")
        db = read.fresh()
        rng = random.Random(5)
        instants = sorted({step["at"] + timedelta(microseconds=d) for n in numbers
                           for step in app.ticket_history(n) for d in (-1, 0)})
        checked = 0
        for instant in rng.sample(instants, 60):
            moment = moment_at(db, instant)
            with as_of(db, moment):
                for number in rng.sample(numbers, 8):
                    steps = [s for s in app.ticket_history(number) if s["at"] <= instant]
                    row = ticket_row(db, number, moment.day, WARN_DAYS)
                    if not steps:
                        assert row is None
                        continue
                    version = steps[-1]["version"]
                    assert as_read(row) == replayed(app, number, version), (number, instant)
                    aggregate = app.repository.get(ticket_id(number), version=version)
                    acknowledged = dict(db.execute(
                        "SELECT unit_id, at FROM acknowledgements WHERE ticket_id = ?",
                        (row["id"],)).fetchall())
                    assert set(acknowledged) == set(aggregate.acknowledged), (number, instant)
                    checked += 1
        assert checked > 200
        read.close()
    finally:
        app.close()


def test_the_present_is_untouched_after_a_look_at_the_past(memory_app, clock):
    number = open_at_school_a(memory_app)
    read = ReadModels(memory_app, ":memory:")
    db = read.fresh()
    opened = moment_at(db, memory_app.now())
    clock.advance(hours=1)
    assign_to_school_a(memory_app, number)
    db = read.fresh()
    with as_of(db, opened):
        assert ticket_row(db, number, opened.day, WARN_DAYS)["state"] == "opened"
        assert list(db.execute("SELECT * FROM ticket_units")) == []
    assert ticket_row(db, number, memory_app.today(), WARN_DAYS)["state"] == "assigned"
    assert db.execute("SELECT count(*) FROM ticket_units").fetchone()[0] == 2
    with as_of(db, Moment(0, opened.at)):
        assert ticket_row(db, number, opened.day, WARN_DAYS) is None


# -- the pages and the API ------------------------------------------------------------------


@pytest.fixture
def past(web_app, clock):
    """A ticket opened on Monday 09:00 and assigned at 15:00 (deadline passed by Friday)."""
    web, app = web_app
    clock.set(at_beijing(START, 9))
    number = open_at_school_a(app)
    clock.set(at_beijing(START, 15))
    app.assign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["TA"], person_id="HA",
               deadline=date(2026, 11, 4), note="请本周内完成")
    clock.set(at_beijing(START + timedelta(days=7), 10))
    app.rectify(number, "school_a", measures="已分班")
    return web, app, number


def test_the_office_reads_the_list_as_it_stood(past):
    web, app, number = past
    office = Browser(web, "office")
    now = page(office.get("/tickets"))
    assert "待复查" in now.select_one("table").text
    response = office.get("/tickets?as_of=2026-11-06T17:00")
    assert response.status_code == 200
    doc = page(response)
    band = doc.select_one(".history-band")
    assert band.text.startswith("历史视图：2026-11-06 17:00，只读")
    row = doc.select_one("table").text
    assert "整改中" in row and "待复查" not in row and "红灯" in row
    assert doc.select_one("form[action='/tickets/bulk-assign']") is None
    # the instant travels with every link to a page that can show the past
    link = doc.select_one(f"a[href^='/tickets/{number}']")["href"]
    assert link.endswith("as_of=2026-11-06T17:00:00")
    assert doc.select_one("form.filters input[name=as_of]")["value"] == "2026-11-06T17:00:00"
    assert "as_of" not in doc.select_one("nav a[href^='/bulletins']")["href"]
    # pages dated of themselves open on the instant's day and week
    assert doc.select_one("nav a[href^='/directory']")["href"] == "/directory?on=2026-11-06"
    assert doc.select_one("nav a[href^='/outbox']")["href"] == "/outbox?week=2026-W45"
    assert "as_of" not in band.select_one("a")["href"]
    assert doc.select_one("nav a[href='/tickets/new']") is None
    # before it was found there was nothing
    assert number not in page(office.get("/tickets?as_of=2026-11-02T08:59")).text


def test_the_ticket_page_as_it_stood_offers_no_action(past):
    web, app, number = past
    doc = page(Browser(web, "audit").get(f"/tickets/{number}?as_of=2026-11-02T12:00"))
    assert doc.select_one(".history-band") is not None
    assert "待交办" in doc.text and "请本周内完成" not in doc.text
    assert not doc.select("form[method=post]:not(.inline)")
    later = page(Browser(web, "office").get(f"/tickets/{number}?as_of=2026-11-06T17:00"))
    assert "请本周内完成" in later.text and "已分班" not in later.text


def test_only_the_office_and_the_auditor_look_back_and_only_to_read(past):
    web, app, number = past
    for login in ("school_a", "leader_a", "insp"):
        response = Browser(web, login).get("/tickets?as_of=2026-11-06T17:00")
        assert response.status_code == 403
        assert "历史视图仅供创建办和审计人员使用" in response.text
    office = Browser(web, "office")
    refused = office.post(f"/tickets/{number}/comment?as_of=2026-11-06T17:00",
                          {"text": "补记"})
    assert refused.status_code == 400 and "历史视图只读" in refused.text
    assert app.ticket(number)["version"] == 3
    for bad, said in (("2026-13-01", "应写作"), ("9999-01-01T00:00", "年之间"),
                      ("2030-01-01T00:00", "不能晚于现在")):
        response = office.get(f"/tickets?as_of={bad}")
        assert response.status_code == 400 and said in response.text
    response = office.get("/bulletins?as_of=2026-11-06T17:00")
    assert response.status_code == 400 and "此页面不提供历史视图" in response.text


def test_the_ledger_of_an_instant_says_so_in_its_title_row(past):
    web, app, number = past
    response = Browser(web, "office").get(
        "/ledger/export?of=county&format=csv&as_of=2026-11-06T17:00")
    assert response.status_code == 200
    assert "20261106_1700_" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["泗水县问题销号台账（历史视图：2026-11-06 17:00）"]
    ticket = dict(zip(rows[1], rows[2], strict=True))
    assert (ticket["问题编号"], ticket["整改状态"], ticket["红黄绿灯"]) == (number, "整改中", "红灯")


def test_the_api_answers_as_of_an_instant(past):
    web, app, number = past
    auditor = Browser(web, "audit")
    found = auditor.get("/api/v1/tickets?as_of=2026-11-06T17:00").json()
    assert found["as_of"]["at"].startswith("2026-11-06T17:00:00+08:00")
    assert [(t["number"], t["state"], t["light"]) for t in found["items"]] == [
        (number, "assigned", "red")]
    one = auditor.get(f"/api/v1/tickets/{number}?as_of=2026-11-02T12:00").json()
    assert one["state"] == "opened" and [s["event"] for s in one["timeline"]] == ["Opened"]
    assert auditor.get(f"/api/v1/tickets/{number}").json()["as_of"] is None
    refused = Browser(web, "school_a").get("/api/v1/tickets?as_of=2026-11-06T17:00")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_timeline_shows_every_field_and_what_changed(past, clock):
    web, app, number = past
    app.reinspect(number, "insp", passed=False, findings="分班名单未公示")
    app.request_extension(number, "school_a", new_deadline=date(2026, 11, 20), reason="需等学期调整")
    app.extend_deadline(number, "office", reason="同意延期")
    doc = page(Browser(web, "audit").get(f"/tickets/{number}"))
    entries = {li.select_one("strong").text: li for li in doc.select("ol.timeline > li")}
    assigned = {dt.text: dt.find_next("dd").text for dt in entries["交办"].select("dt")}
    assert assigned["交办意见"] == "请本周内完成"
    assert assigned["配合责任单位"] == "（无） → 甲镇" and assigned["责任人"] == "（无） → 甲校长"
    assert assigned["牵头单位"] == "（无） → 甲镇中心小学"
    assert assigned["完成时限"] == "（无） → 2026-11-04"
    assert assigned["状态"] == "待交办 → 整改中"
    extended = {dt.text: dt.find_next("dd").text for dt in entries["同意延期"].select("dt")}
    assert extended["延期意见"] == "同意延期"
    assert extended["完成时限"] == "2026-11-04 → 2026-11-20"
    assert extended["申请延至"] == "2026-11-20 → （无）"
    returned = {dt.text: dt.find_next("dd").text for dt in entries["复查"].select("dt")}
    assert returned["复查结论"] == "退回整改" and returned["复查意见"] == "分班名单未公示"
    step = next(s for s in Browser(web, "audit").get(f"/api/v1/tickets/{number}").json()["timeline"]
                if s["event"] == "Assigned")
    assert {"label": "交办意见", "value": "请本周内完成", "kind": "text"} in step["details"]
    assert {"label": "配合责任单位", "before": [], "after": ["TA"], "kind": "units"} in \
        step["changes"]
    assert {"label": "完成时限", "before": "", "after": "2026-11-04", "kind": "text"} in step["changes"]


def test_the_dashboard_and_the_check_list_as_they_stood(past):
    web, app, number = past
    office = Browser(web, "office")
    doc = page(office.get("/?as_of=2026-11-06T17:00"))
    assert doc.select_one(".history-band") is not None
    assert doc.select_one("h1 small").text.startswith("2026年11月6日")
    states = {a.contents[0].strip(): a.strong.text for a in doc.select("ul.states li > a")}
    assert states["整改中"] == "1" and states["待复查"] == "0"
    assert "全县累计（截至2026-11-06 17:00）" in doc.text
    assert all("as_of=" in a["href"] for a in doc.select("ul.states a"))
    # the week's list as laid out on Monday 9 November, looked at before and after the fix
    before = page(office.get("/checks?as_of=2026-11-09T09:00"))
    row = before.select_one(f"tr#check-{number}") or before.find(id=f"check-{number}")
    assert row is not None and "整改中" in row.text
    assert not before.select("form.row-action")
    now = page(office.get("/checks?week=2026-W46"))
    assert now.select("form.row-action") and "待复查" in now.find(id=f"check-{number}").text
    later = office.get("/checks?week=2026-W47&as_of=2026-11-09T09:00")
    assert later.status_code == 400 and "当时及以前" in later.text
    assert office.get("/rechecks?month=2026-12&as_of=2026-11-09T09:00").status_code == 400
    assert office.get("/rechecks?as_of=2026-11-09T09:00").status_code == 200


def test_the_api_figures_as_of_an_instant(past):
    web, app, number = past
    auditor = Browser(web, "audit")
    then = auditor.get("/api/v1/figures?as_of=2026-11-02T12:00").json()
    assert then["week"] == "2026-W45" and then["county"]["found_total"] == 1
    assert then["county"]["overdue"] == 0
    friday = auditor.get("/api/v1/figures?as_of=2026-11-06T17:00").json()
    assert friday["county"]["overdue"] == 1
    checks = auditor.get("/api/v1/checks?week=2026-W46&as_of=2026-11-09T09:00").json()
    assert [(i["number"], i["state_now"]) for i in checks["items"]] == [(number, "assigned")]
