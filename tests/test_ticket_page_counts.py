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
    assert shown["完成时限"] == "2027-03-01（已延期 1 次）"
    assert shown["退回次数"] == "0（另经月回查重新整改 1 次）"


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
