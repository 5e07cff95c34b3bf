"""Feedback where the user is looking (#11): what became of a form is said next to it, in place
for htmx and at the form's anchor for a plain POST; a refused form comes back as it was sent;
only actions the user may take are offered; a check is recorded on this week's list only; and
批量交办 goes with its default choice."""

from __future__ import annotations

from datetime import date

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page

WEEK = "2026-W45"          # the clock's week (conftest.START)


def waiting_for_reinspection(app) -> str:
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已分班")
    return number


def closed(app, title: str = "操场积水") -> str:
    number = waiting_for_reinspection(app)
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    return number


# The ticket page ------------------------------------------------------------------------

def test_a_done_action_is_said_at_the_head_of_the_actions_and_only_once(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.get(f"/tickets/{number}")
    response = office.post(f"/tickets/{number}/comment", {"text": "请尽快整改"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/tickets/{number}#actions"
    drawn = page(office.get(f"/tickets/{number}"))
    assert drawn.select_one("#actions [data-feedback]").text == "已留言"
    assert not drawn.select("#messages .flash")                  # not at the top of the page
    assert not page(office.get(f"/tickets/{number}")).select("[data-feedback]")   # once


def test_a_refused_form_comes_back_as_sent_with_the_reason_in_it(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    office = Browser(web, "office")
    office.get(f"/tickets/{number}")
    sent = {"lead_unit_id": "TA-P01", "co_unit_ids": ["TA"], "deadline": "2026-02-30",
            "note": "请按期整改"}
    response = office.post(f"/tickets/{number}/assign", sent)
    assert response.status_code == 400 and app.ticket(number)["state"] == "opened"
    form = page(response).select_one("details#act-assign")
    assert form.has_attr("open")
    reason = form.select_one("form > .error[role=alert]")
    assert "完成时限" in reason.text and reason.has_attr("autofocus")   # shown without JS too
    assert form.select_one('select[name="lead_unit_id"] option[selected]')["value"] == "TA-P01"
    assert [o["value"] for o in form.select('select[name="co_unit_ids"] option[selected]')] == [
        "TA"]
    assert form.select_one('input[name="deadline"]')["value"] == "2026-02-30"
    assert form.select_one('textarea[name="note"]').text == "请按期整改"
    # The other forms are drawn as ever, and nothing is said at the top of the page.
    assert not page(response).select("details#act-comment .error, #messages .error")


def test_htmx_gets_the_refusal_inside_the_redrawn_form(web_app):
    web, app = web_app
    number = waiting_for_reinspection(app)
    inspector = Browser(web, "insp")
    inspector.get(f"/tickets/{number}")
    response = inspector.post(f"/tickets/{number}/reinspect", {"passed": "0", "findings": ""},
                              htmx=True)
    assert response.status_code == 400 and "hx-retarget" not in response.headers
    fragment = page(response)
    assert fragment.select_one("article#ticket")                  # the ticket alone, in place
    assert fragment.select_one("#act-reinspect .error").text.strip()
    assert fragment.select_one('#act-reinspect input[value="0"]').has_attr("checked")
    done = inspector.post(f"/tickets/{number}/reinspect", {"passed": "1"}, htmx=True)
    assert page(done).select_one("#actions [data-feedback]").text == "已记录复查结论"


# 周检查 -------------------------------------------------------------------------------------

def test_the_week_list_offers_each_one_only_what_they_may_do(web_app, clock):
    web, app = web_app
    waiting = waiting_for_reinspection(app)
    open_one = open_at_school_a(app, title="在整改")
    assign_to_school_a(app, open_one)
    clock.advance(days=7)
    week = "2026-W46"

    def offers(login: str) -> dict[str, list[str]]:
        rows = page(Browser(web, login).get(f"/checks?week={week}")).select("table.checks tr[id]")
        return {r["id"].removeprefix("check-"): [b.text for b in r.select("button")]
                for r in rows}

    assert offers("insp") == {open_one: ["记录检查进度"], waiting: ["复查通过", "退回整改"]}
    # The office may not re-inspect (#11): it is offered the visit it may record.
    assert offers("office") == {open_one: ["记录检查进度"], waiting: ["记录检查进度"]}
    assert offers("leader_a") == {open_one: [], waiting: []}
    # Re-inspected since Monday: the row says so and offers no 复查 any more.
    app.reinspect(waiting, "insp", passed=True)
    row = page(Browser(web, "insp").get(f"/checks?week={week}")).select_one(f"#check-{waiting}")
    assert "现为复查通过" in row.text and not row.select("form")


def test_a_past_weeks_list_only_reads_and_a_check_posted_to_it_is_refused(web_app, clock):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    clock.advance(days=14)                    # W47: W46's list is a past week's
    inspector = Browser(web, "insp")
    listing = page(inspector.get("/checks?week=2026-W47"))
    assert listing.select(f"#check-{number} form")
    past = page(inspector.get("/checks?week=2026-W46"))
    assert past.select(f"#check-{number}") and not past.select("table.checks form")
    assert "只供查看" in past.select_one(".hint").text
    assert past.select("table.checks th")[-1].text == "当周检查"     # not 本周 (#11)
    version = app.ticket(number)["version"]
    for htmx in (False, True):
        refused = inspector.post(f"/checks/2026-W46/{number}",
                                 {"result": "visit", "note": "补记"}, htmx=htmx)
        assert refused.status_code == 400
        reason = page(refused).select_one(f"#check-{number} .error").text
        assert reason == "检查只能记在本周（2026-W47）的清单上；2026-W46 的清单只供查看"
    # Not even on that week's list (opened after its Monday): said above the list.
    refused = inspector.post(f"/checks/{WEEK}/{number}", {"result": "visit", "note": "补记"})
    assert "检查只能记在本周" in page(refused).select_one(".totals + .error").text
    assert app.ticket(number)["version"] == version          # nothing recorded


def test_an_htmx_check_redraws_its_row_and_the_weeks_count(web_app, clock):
    web, app = web_app
    visited = open_at_school_a(app)
    assign_to_school_a(app, visited)
    waiting = waiting_for_reinspection(app)
    clock.advance(days=7)
    week = "2026-W46"
    inspector = Browser(web, "insp")
    assert page(inspector.get(f"/checks?week={week}")).select_one("#checked-count").text == "0"
    response = inspector.post(f"/checks/{week}/{visited}", {"result": "visit", "note": "进度正常"},
                              htmx=True)
    fragment = page(response)
    row = fragment.select_one(f"tr#check-{visited}")
    assert row.select_one("[data-feedback]").text == "已记录检查" and not row.select("form")
    totals = fragment.select_one("#check-totals")
    assert totals["hx-swap-oob"] == "true" and totals.select_one("#checked-count").text == "1"
    response = inspector.post(f"/checks/{week}/{waiting}", {"result": "pass", "note": "到位"},
                              htmx=True)
    row = page(response).select_one(f"tr#check-{waiting}")
    assert "现为复查通过" in row.text and not row.select("form, button")
    assert page(response).select_one("#checked-count").text == "2"


def test_a_plain_check_lands_back_at_its_row(web_app, clock):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    clock.advance(days=7)
    week = "2026-W46"
    inspector = Browser(web, "insp")
    inspector.get(f"/checks?week={week}")
    refused = inspector.post(f"/checks/{week}/{number}", {"result": "elsewhere", "note": "写了一半"})
    assert refused.status_code == 400
    row = page(refused).select_one(f"#check-{number}")
    assert row.select_one(".error").has_attr("autofocus")
    assert row.select_one('input[name="note"]')["value"] == "写了一半"
    done = inspector.post(f"/checks/{week}/{number}", {"result": "visit", "note": "进度正常"})
    assert done.headers["location"] == f"/checks?week={week}#check-{number}"
    listing = page(inspector.get(f"/checks?week={week}"))
    assert listing.select_one(f"#check-{number} [data-feedback]").text == "已记录检查"
    assert listing.select_one("#checked-count").text == "1"


# 月回查 -------------------------------------------------------------------------------------

def test_a_recheck_is_recorded_from_its_row_and_said_there(web_app, clock):
    web, app = web_app
    held, reopened = closed(app, "操场积水"), closed(app, "围墙破损")
    clock.advance(days=30)
    month = "2026-12"
    inspector = Browser(web, "insp")
    inspector.get(f"/rechecks?month={month}")
    response = inspector.post(f"/rechecks/{month}/{held}/hold", {"note": "积水已排除"}, htmx=True)
    fragment = page(response)
    row = fragment.select_one(f"tr#recheck-{held}")
    assert "巩固" in row.select_one(".outcome").text and not row.select("form")
    assert row.select_one("[data-feedback]").text == "已记录回查：整改成果巩固"
    assert fragment.select_one("#recheck-counts")["hx-swap-oob"] == "true"
    assert fragment.select_one("#recheck-counts strong.held").text == "1"
    # A plain form refused: the list again, the reason in the row, what was typed kept.
    refused = inspector.post(f"/rechecks/{month}/{reopened}/reopen",
                             {"findings": "围墙再次破损", "deadline": "2026-13-01"})
    assert refused.status_code == 400 and app.ticket(reopened)["state"] == "closed"
    row = page(refused).select_one(f"#recheck-{reopened}")
    assert "新的完成时限" in row.select_one(".error").text
    assert row.select_one('form[action$="/reopen"] input[name="findings"]')["value"] == "围墙再次破损"
    done = inspector.post(f"/rechecks/{month}/{reopened}/reopen", {"findings": "围墙再次破损"})
    assert done.headers["location"] == f"/rechecks?month={month}#recheck-{reopened}"
    listing = page(inspector.get(f"/rechecks?month={month}"))
    assert listing.select_one(f"#recheck-{reopened} [data-feedback]").text == "已退回重新整改"


def test_a_recheck_of_a_ticket_off_the_list_is_refused(web_app, clock):
    web, app = web_app
    number = closed(app)
    inspector = Browser(web, "insp")
    inspector.get("/rechecks?month=2026-11")
    refused = inspector.post(f"/rechecks/2026-11/{number}/hold", {"note": "巩固"})
    assert refused.status_code == 404 and app.ticket(number)["held_on"] is None


# 批量交办 -----------------------------------------------------------------------------------

def test_bulk_assign_goes_with_its_default_choice_and_no_deadline(web_app):
    web, app = web_app
    dated = open_at_school_a(app, deadline=date(2026, 11, 27))
    undated = open_at_school_a(app, unit_id="TB-J01")
    office = Browser(web, "office")
    form = page(office.get("/tickets")).select_one("form#bulk-assign")
    assert not form.select("[required]")      # the browser lets the default choice go (#11)
    first = form.select_one('select[name="lead_unit_id"] option')      # the default choice
    assert (first["value"], first.text) == ("", "各问题所在单位")
    assert not form.select('select[name="lead_unit_id"] option[selected]')
    response = office.post("/tickets/bulk-assign", {"numbers": [dated, undated]})
    assert response.headers["location"] == "/tickets?state=opened#bulk-assign"
    assert app.ticket(dated)["state"] == "assigned"
    assert app.ticket(dated)["lead_unit_id"] == "TA-P01"
    assert str(app.ticket(dated)["deadline"]) == "2026-11-27"
    assert app.ticket(undated)["state"] == "opened"
    said = page(office.get("/tickets?state=opened")).select_one("#bulk-assign [data-feedback]")
    assert said.text == f"已交办 1 项；未能交办 1 项：{undated}：交办时必须确定完成时限"


def test_a_bulk_message_names_a_few_failures_and_fits_in_the_session(web_app):
    web, app = web_app
    numbers = [open_at_school_a(app) for _ in range(8)]
    office = Browser(web, "office")
    office.get("/tickets")
    office.post("/tickets/bulk-assign", {"numbers": numbers})     # none has a deadline
    said = page(office.get("/tickets?state=opened")).select_one("#bulk-assign [data-feedback]")
    assert said.text.startswith("已交办 0 项；未能交办 8 项：") and said.text.endswith("……")
    assert said.text.count("交办时必须确定完成时限") == 5


def test_a_refused_bulk_assign_keeps_the_choices(web_app):
    web, app = web_app
    first = open_at_school_a(app)
    office = Browser(web, "office")
    office.get("/tickets")
    nothing = office.post("/tickets/bulk-assign", {"lead_unit_id": "TA", "deadline": "2026-11-30",
                                                   "note": "统一交办"})
    assert nothing.status_code == 400
    form = page(nothing).select_one("form#bulk-assign")
    assert form.select_one(".error").text == "请先勾选要交办的问题"
    assert form.select_one('select[name="lead_unit_id"] option[selected]')["value"] == "TA"
    assert form.select_one('input[name="deadline"]')["value"] == "2026-11-30"
    assert form.select_one('input[name="note"]')["value"] == "统一交办"
    bad_day = office.post("/tickets/bulk-assign", {"numbers": [first], "deadline": "2026-11-31"})
    assert bad_day.status_code == 400 and app.ticket(first)["state"] == "opened"
    box = page(bad_day).select_one(f'input[name="numbers"][value="{first}"]')
    assert box.has_attr("checked")


def test_the_ticket_list_offers_nothing_to_those_who_may_not_act(web_app):
    web, app = web_app
    open_at_school_a(app)
    waiting_for_reinspection(app)
    for login in ("insp", "leader_a", "audit", "school_a"):
        listing = page(Browser(web, login).get("/tickets"))
        assert not listing.select("main form[method=post], input[name=numbers]"), login
