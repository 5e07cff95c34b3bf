"""The ticket page says what happened to its deadline and its fixes (#11): an extension granted
before the deadline passed is named beside the deadline, and a reopening after a monthly
recheck beside the returns, not only in the record."""

from __future__ import annotations

from datetime import date

from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page


def fields(detail) -> dict[str, str]:
    dl = detail.select_one("dl.fields")
    return {dt.text: dd.text for dt, dd in zip(dl.select("dt"), dl.select("dd"), strict=True)}


def test_an_extension_and_a_reopening_show_on_the_ticket(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    shown = fields(page(Browser(web, "school_a").get(f"/tickets/{number}")))
    assert "延期" not in shown["完成时限"] and shown["退回次数"] == "0"
    app.extend_deadline(number, "office", new_deadline=date(2027, 1, 15), reason="同意")
    app.rectify(number, "school_a", measures="已整改")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    app.reopen(number, "insp", findings="回查反弹", deadline=date(2027, 3, 1))
    shown = fields(page(Browser(web, "school_a").get(f"/tickets/{number}")))
    assert shown["完成时限"] == "2027年3月1日（已延期 1 次）"
    assert shown["退回次数"] == "0（另经月回查重新整改 1 次）"
    assert shown["上次整改措施"] == "已整改 （未通过，已退回重新整改）" and "整改措施" not in shown


def test_a_reopened_ticket_waits_for_signing_since_its_reopening(memory_app, clock):
    """The 签收 queues date a reopened ticket's assignment from the reopening, not from its
    first assignment a month and more before (#11)."""
    from domain.visibility import EVERYTHING
    from projections.queues import ticket_queue
    from projections.readmodels import ReadModels

    app = memory_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    assigned_on = app.today()
    app.rectify(number, "school_a", measures="已整改")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    clock.advance(days=40)
    app.reopen(number, "insp", findings="回查反弹", deadline=date(2027, 3, 1))
    db = ReadModels(app, ":memory:").fresh()
    for name, unit in (("to_acknowledge", "TA-P01"), ("unacknowledged", None)):
        rows = ticket_queue(db, name, app.today(), 3, sight=EVERYTHING, unit=unit).rows
        assert [(r["number"], r["assigned_at"][:10]) for r in rows] == [
            (number, str(app.today()))], name
    assert app.today() != assigned_on


def test_the_record_names_the_co_responsible_units_and_says_a_role_once(web_app):
    """办理记录's 交办 line names the 配合单位 too; a name that already says its role (the
    demo's 创建办（县教育体育局）) is not followed by it again."""
    from domain.application import SYSTEM

    web, app = web_app
    app.register_account(SYSTEM, login="bureau", name="创建办（县教育体育局）", roles=["office"],
                         unit_id="EDU", password="password-1")
    number = open_at_school_a(app)
    app.assign(number, "bureau", lead_unit_id="TA-P01", co_unit_ids=["TA"],
               deadline=date(2026, 11, 30))
    record = page(Browser(web, "office").get(f"/tickets/{number}")).select("ol.timeline li")
    assigned = next(li.get_text(" ", strip=True) for li in record if "交办" in li.text)
    assert "牵头单位 甲镇中心小学，配合单位 甲镇，完成时限 2026-11-30" in assigned
    assert "创建办（县教育体育局）（创建办）" not in assigned
