"""Application stories on every store: in memory, an SQLite file and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import StaleVersionError
from domain.values import Evidence
from tests.conftest import assign_to_school_a, open_at_school_a

PHOTO = Evidence(sha256="ab" * 32, name="现场.jpg", content_type="image/jpeg", size=1234)


def test_a_finding_goes_all_the_way_to_xiaohao(app, clock):
    # An inspector logs a finding with a photo; the leader of the town is filled in.
    number = open_at_school_a(app, evidence=[PHOTO])
    assert number == "SS-2026-0001"
    ticket = app.ticket(number)
    assert (ticket["state"], ticket["town_id"], ticket["leader_ids"]) == ("opened", "TA", ["L1"])
    assert ticket["evidence_before"] == [PHOTO.as_dict()]
    # The office assigns it to the school with the town co-responsible.
    assign_to_school_a(app, number)
    # A week later the school rectifies with a photo; the inspector passes it; the office closes.
    clock.advance(days=7)
    app.rectify(number, "school_a", measures="分设两个教学班", evidence=[PHOTO])
    app.reinspect(number, "insp", passed=True, findings="已达标")
    app.close_ticket(number, "office", note="予以销号")
    history = app.ticket_history(number)
    assert [h["event"] for h in history] == ["Opened", "Assigned", "Rectified", "ReInspected",
                                            "Closed"]
    # Who did each step, in which role, and when (Beijing time from the given clock).
    assert [(h["by"]["login"], h["by"]["role"]) for h in history] == [
        ("insp", "inspector"), ("office", "office"), ("school_a", "unit"),
        ("insp", "inspector"), ("office", "office")]
    assert history[0]["at"].isoformat() == "2026-11-02T09:00:00+08:00"
    assert history[-1]["at"].date() == date(2026, 11, 9)
    assert app.ticket(number)["state"] == "closed"


def test_a_failed_reinspection_returns_the_ticket_and_counts(app):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    for _ in range(2):
        app.rectify(number, "school_a", measures="整改")
        app.reinspect(number, "insp", passed=False, findings="仍有超额班级")
    ticket = app.ticket(number)
    assert (ticket["state"], ticket["returns"]) == ("assigned", 2)


def test_the_monthly_recheck_reopens_a_closed_ticket(app, clock):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="整改")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    clock.advance(days=30)
    app.reopen(number, "insp", findings="回查发现班额反弹")
    ticket = app.ticket(number)
    assert (ticket["state"], ticket["reopens"]) == ("assigned", 1)
    assert ticket["deadline"] == date(2026, 12, 16)   # reopened on 12-02, 14 days to redo


def test_an_extension_is_asked_for_and_granted(app):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.request_extension(number, "school_a", new_deadline=date(2027, 1, 15), reason="寒假施工")
    assert app.ticket(number)["pending_extension"]["new_deadline"] == "2027-01-15"
    app.extend_deadline(number, "office", reason="同意")
    ticket = app.ticket(number)
    assert (ticket["deadline"], ticket["pending_extension"]) == (date(2027, 1, 15), None)


def test_the_co_responsible_town_may_rectify(app):
    app.register_account("office", login="town_a", name="甲镇", roles=["unit"], unit_id="TA",
                         password="long-enough")
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "town_a", measures="镇里统筹调剂教室")
    assert app.ticket(number)["state"] == "rectified"


def test_days_overdue_follow_the_clock(app, clock):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)              # deadline 2026-11-30
    clock.set(clock.now().replace(day=30, hour=23))
    assert app.ticket(number)["days_overdue"] == 0
    clock.advance(days=3)
    assert app.ticket(number)["days_overdue"] == 3


def test_a_stale_expected_version_is_refused(app):
    number = open_at_school_a(app)
    version = assign_to_school_a(app, number)
    app.comment(number, "office", text="先留言", expected_version=version)
    with pytest.raises(StaleVersionError, match="已被他人修改"):
        app.rectify(number, "school_a", measures="整改", expected_version=version)
    assert app.ticket(number)["state"] == "assigned"


def test_numbers_count_up_within_a_beijing_year(app, clock):
    first = open_at_school_a(app)
    clock.set(clock.now().replace(month=12, day=31, hour=23))   # 2026-12-31 23:00 Beijing
    second = open_at_school_a(app)
    clock.advance(hours=1)                                      # 2027-01-01 00:00 Beijing
    third = open_at_school_a(app)
    assert (first, second, third) == ("SS-2026-0001", "SS-2026-0002", "SS-2027-0001")


def test_accounts_sign_in_and_can_be_disabled(app):
    assert app.verify_password("office", "correct-horse")
    assert not app.verify_password("office", "wrong")
    app.change_password("office", "school_a", "new-password-1")
    assert app.verify_password("school_a", "new-password-1")
    app.disable_account("office", "school_a", reason="调离")
    assert not app.verify_password("school_a", "new-password-1")
    assert app.account("school_a")["disabled"] is True
