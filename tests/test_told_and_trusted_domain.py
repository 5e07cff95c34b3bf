"""The ticket's own rules for being told and for proof (#11): 签收 and 催办, 批示 and their
落实情况, the monthly recheck's 巩固, evidence rounds and doubtful photos, the overdue days an
extension keeps, and what a town's account sees and may do."""

from __future__ import annotations

from datetime import date

import pytest

from domain.application import SYSTEM
from domain.errors import (
    IllegalTransitionError,
    InvalidInputError,
    NotPermittedError,
    OutOfScopeError,
)
from tests.conftest import assign_to_school_a, open_at_school_a


def photo(name: str, **facts) -> dict:
    return {"sha256": format(abs(hash(name)), "x").rjust(64, "0")[:64], "name": name,
            "content_type": "image/jpeg", "size": 100, **facts}


@pytest.fixture
def town_account(memory_app):
    memory_app.register_account(SYSTEM, login="town_a", name="甲镇", roles=["unit"],
                                unit_id="TA", password="password-1")
    return "town_a"


def assigned(app) -> str:
    number = open_at_school_a(app)
    assign_to_school_a(app, number)   # lead TA-P01, co-responsible TA
    return number


def test_each_responsible_unit_acknowledges_once(memory_app, town_account):
    number = assigned(memory_app)
    assert memory_app.ticket(number)["unacknowledged"] == ["TA-P01", "TA"]
    memory_app.acknowledge(number, "school_a", note="收到")
    with pytest.raises(IllegalTransitionError, match="本单位已签收"):
        memory_app.acknowledge(number, "school_a")
    assert memory_app.ticket(number)["unacknowledged"] == ["TA"]
    memory_app.acknowledge(number, town_account)
    assert memory_app.ticket(number)["unacknowledged"] == []
    with pytest.raises(OutOfScopeError):
        memory_app.acknowledge(number, "school_b")


def test_a_reassignment_asks_only_new_units_to_acknowledge(memory_app):
    number = assigned(memory_app)
    memory_app.acknowledge(number, "school_a")
    memory_app.reassign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["EDU"],
                        reason="教体局配合")
    assert memory_app.ticket(number)["unacknowledged"] == ["EDU"]


def test_chasing_names_the_units_that_have_not_acknowledged(memory_app):
    number = assigned(memory_app)
    memory_app.acknowledge(number, "school_a")
    memory_app.chase(number, "office", note="请甲镇签收")
    chased = memory_app.ticket_history(number)[-1]
    assert chased["event"] == "Chased" and chased["details"]["unit_ids"] == ["TA"]
    with pytest.raises(NotPermittedError):
        memory_app.chase(number, "insp")


def test_instructions_are_replied_to_by_number(memory_app):
    number = assigned(memory_app)
    memory_app.give_instruction(number, "leader_a", text="本月底前解决")
    memory_app.reply_instruction(number, "school_a", instruction=1, text="已采购桌椅")
    memory_app.reply_instruction(number, "office", instruction=1, text="已督办")
    with pytest.raises(InvalidInputError, match="没有第 2 条批示"):
        memory_app.reply_instruction(number, "school_a", instruction=2, text="x")
    with pytest.raises(NotPermittedError):
        memory_app.reply_instruction(number, "leader_a", instruction=1, text="x")
    (given,) = memory_app.ticket(number)["instructions"]
    assert given["text"] == "本月底前解决"
    assert [r["text"] for r in given["replies"]] == ["已采购桌椅", "已督办"]


def closed(app) -> str:
    number = assigned(app)
    app.rectify(number, "school_a", measures="分班", evidence=[photo("after.jpg")])
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    return number


def test_a_recheck_that_held_is_recorded_once_per_closure(memory_app):
    number = closed(memory_app)
    memory_app.hold(number, "insp", note="回查未反弹", evidence=[photo("recheck.jpg")])
    assert memory_app.ticket(number)["held_on"] == memory_app.today()
    with pytest.raises(IllegalTransitionError, match="已于"):
        memory_app.hold(number, "office", note="再记一次")
    with pytest.raises(InvalidInputError, match="回查情况不能为空"):
        memory_app.hold(closed(memory_app), "insp", note=" ")


def test_a_failed_fix_is_no_longer_the_current_evidence(memory_app):
    number = closed(memory_app)
    assert memory_app.ticket(number)["evidence_after"]
    memory_app.reopen(number, "insp", findings="反弹")
    after = memory_app.ticket(number)
    assert after["evidence_after"] == [] and after["unacknowledged"] == ["TA-P01", "TA"]
    memory_app.rectify(number, "school_a", measures="再分班", evidence=[photo("again.jpg")])
    memory_app.reinspect(number, "insp", passed=False, findings="仍超员")
    assert memory_app.ticket(number)["evidence_after"] == []


def test_units_add_photos_of_the_problem_before_the_fix(memory_app):
    number = assigned(memory_app)
    memory_app.add_evidence(number, "school_a", evidence=[photo("before.jpg")], note="补拍")
    assert [e["name"] for e in memory_app.ticket(number)["evidence_before"]] == ["before.jpg"]
    with pytest.raises(InvalidInputError, match="请选择"):
        memory_app.add_evidence(number, "school_a", evidence=[])


def test_doubtful_photos_are_flagged_not_refused(memory_app, clock):
    memory_app.locate_unit(SYSTEM, code="TA-P01", latitude=35.65, longitude=117.27)
    number = assigned(memory_app)
    found = memory_app.ticket(number)["opened_on"]
    early = photo("early.jpg", taken_at="2026-10-27 10:00:00", gps=[35.6501, 117.2701])
    far = photo("far.jpg", taken_at=f"{found} 15:00:00", gps=[35.75, 117.27])
    plain = photo("plain.jpg")
    memory_app.rectify(number, "school_a", measures="分班", evidence=[early, far, plain])
    flags = memory_app.ticket(number)["photo_flags"]
    assert [(f["name"], f["reason"][:4]) for f in flags] == [
        ("early.jpg", "拍摄时间"), ("far.jpg", "拍摄地点")]
    assert "11.1 公里" in flags[1]["reason"]
    recorded = memory_app.ticket_history(number)[-1]["details"]["flags"]
    assert recorded == flags


def test_bad_photo_facts_are_refused():
    from domain.values import Evidence
    with pytest.raises(InvalidInputError, match="拍摄时间"):
        Evidence.parse(photo("x.jpg", taken_at="yesterday"))
    with pytest.raises(InvalidInputError, match="拍摄地点"):
        Evidence.parse(photo("x.jpg", gps=[91, 0]))
    assert "gps" not in Evidence.parse(photo("x.jpg")).as_dict()


def test_an_extension_keeps_the_overdue_days_already_incurred(memory_app, clock):
    number = assigned(memory_app)      # due 2026-11-30
    clock.set(clock.now().replace(year=2026, month=12, day=4))
    assert memory_app.ticket(number)["days_overdue"] == 4
    memory_app.extend_deadline(number, "office", new_deadline=date(2026, 12, 20), reason="同意")
    ticket = memory_app.ticket(number)
    assert (ticket["days_overdue"], ticket["overdue_incurred"], ticket["extensions"]) == (0, 4, 1)


def test_a_town_account_reads_its_schools_tickets_but_acts_only_on_its_own(
        memory_app, town_account):
    school_only = open_at_school_a(memory_app)
    memory_app.assign(school_only, "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 30))
    from domain.visibility import sight_of
    sight = sight_of(["unit"], "TA", None, memory_app.directory(), memory_app.today())
    assert sight.sees({"unit_id": "TA-P01", "lead_unit_id": "TA-P01", "co_unit_ids": [],
                       "leader_ids": []})
    assert not sight.sees({"unit_id": "TB-J01", "lead_unit_id": "TB-J01", "co_unit_ids": [],
                           "leader_ids": []})
    with pytest.raises(OutOfScopeError, match="不属于本单位"):
        memory_app.comment(school_only, town_account, text="镇里关注")
    shared = assigned(memory_app)
    memory_app.comment(shared, town_account, text="镇里配合")


def test_people_choose_how_they_are_told(memory_app):
    assert memory_app.directory().people["HA"].get("notify") is None
    memory_app.choose_notification("school_a", "daily")
    assert memory_app.directory().people["HA"]["notify"] == "daily"
    with pytest.raises(InvalidInputError, match="通知方式"):
        memory_app.choose_notification("school_a", "weekly")
    with pytest.raises(NotPermittedError):
        memory_app.choose_notification("school_a", "daily", person_id="HB")
    memory_app.choose_notification("office", "immediate", person_id="HA")
    assert memory_app.directory().people["HA"]["notify"] == "immediate"
    with pytest.raises(NotPermittedError, match="未关联人员"):
        memory_app.choose_notification("insp", "daily")


def test_a_returned_ticket_is_not_offered_for_cancelling(memory_app):
    number = assigned(memory_app)
    memory_app.rectify(number, "school_a", measures="分班")
    memory_app.reinspect(number, "insp", passed=False, findings="仍超员")
    assert "cancel" not in memory_app.allowed_commands(number, "office")


def test_cancelling_drops_a_pending_extension_request(memory_app):
    number = assigned(memory_app)
    memory_app.request_extension(number, "school_a", new_deadline=date(2026, 12, 31),
                                 reason="工期长")
    memory_app.cancel(number, "office", reason="重复登记")
    assert memory_app.ticket(number)["pending_extension"] is None
