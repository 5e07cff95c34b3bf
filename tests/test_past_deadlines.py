"""A deadline already past makes a ticket red the moment it is set: 交办, 改派 and 延期 refuse
one, naming the earliest day it could be, unless the office says why on the record; a unit
cannot ask to be extended to a day gone by."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.errors import InvalidInputError
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page


def yesterday(app) -> date:
    return app.today() - timedelta(days=1)


def test_assigning_a_past_deadline_is_refused_with_the_earliest_day(memory_app):
    app = memory_app
    number = open_at_school_a(app)
    app.clock.advance(days=5)
    with pytest.raises(InvalidInputError) as refused:
        app.assign(number, "office", lead_unit_id="TA-P01", deadline=yesterday(app))
    assert f"最早应为今天（{app.today()}）" in refused.value.message
    assert app.ticket(number)["state"] == "opened" and app.ticket(number)["version"] == 1


def test_the_office_may_set_a_past_deadline_by_saying_why(memory_app):
    app = memory_app
    number = open_at_school_a(app)
    app.clock.advance(days=5)
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=yesterday(app),
               past_reason="补录纸质台账中已交办的问题")
    assigned = app.ticket_history(number)[-1]
    assert assigned["details"]["past_reason"] == "补录纸质台账中已交办的问题"


def test_a_reason_is_not_kept_when_the_deadline_is_not_past(memory_app):
    app = memory_app
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=app.today() + timedelta(9),
               past_reason="无关")
    assert app.ticket_history(number)[-1]["details"]["past_reason"] == ""


def test_reassigning_keeps_an_overdue_deadline_but_refuses_a_new_past_one(memory_app):
    app = memory_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)           # due 2026-11-30
    app.clock.advance(days=60)     # long overdue
    app.reassign(number, "office", lead_unit_id="TA-P01", reason="换人负责")
    with pytest.raises(InvalidInputError, match="已过"):
        app.reassign(number, "office", lead_unit_id="TA-P01", reason="换人负责",
                     deadline=yesterday(app))


def test_extending_to_a_day_gone_by_is_refused_for_the_unit_and_needs_a_reason_from_the_office(
        memory_app):
    app = memory_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)           # due 2026-11-30
    app.clock.advance(days=60)
    with pytest.raises(InvalidInputError, match="已过"):
        app.request_extension(number, "school_a", new_deadline=yesterday(app), reason="来不及")
    with pytest.raises(InvalidInputError, match="时限已过的原因"):
        app.extend_deadline(number, "office", new_deadline=yesterday(app), reason="同意")
    app.extend_deadline(number, "office", new_deadline=yesterday(app), reason="同意",
                        past_reason="按会议纪要补记延期")
    assert app.ticket(number)["deadline"] == yesterday(app)


def test_the_form_asks_for_the_reason_only_once_refused(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    app.clock.advance(days=5)
    office = Browser(web, "office")
    ticket = page(office.get(f"/tickets/{number}"))
    assert ticket.select_one("#act-assign [name=past_reason]") is None
    refused = office.post(f"/tickets/{number}/assign", {
        "lead_unit_id": "TA-P01", "deadline": yesterday(app).isoformat(),
        "expected_version": "1"})
    assert refused.status_code == 400
    form = page(refused)
    assert "最早应为今天" in form.text
    assert form.select_one("#act-assign [name=past_reason]") is not None
    done = office.post(f"/tickets/{number}/assign", {
        "lead_unit_id": "TA-P01", "deadline": yesterday(app).isoformat(),
        "past_reason": "补录", "expected_version": "1"})
    assert done.status_code in (200, 303)
    assert app.ticket(number)["state"] == "assigned"
    office.get(f"/tickets/{number}")
    assert "时限已过，原因：补录" in page(office.get(f"/tickets/{number}")).text
