"""Bad input gets a named error with a clear message, and nothing is recorded."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import (
    DuplicateError,
    InvalidInputError,
    OutOfScopeError,
    StaleVersionError,
    UnknownReferenceError,
)
from tests.conftest import assign_to_school_a, open_at_school_a


def event_count(app) -> int:
    return app.recorder.max_notification_id() or 0


@pytest.mark.parametrize(("overrides", "error", "message"), [
    (dict(title=""), InvalidInputError, "问题标题不能为空"),
    (dict(title="   "), InvalidInputError, "问题标题不能为空"),
    (dict(title="超" * 201), InvalidInputError, "问题标题过长"),
    (dict(description="长" * 5001), InvalidInputError, "问题描述过长"),
    (dict(title="bad\udcffbyte"), InvalidInputError, "无效的 UTF-8"),
    (dict(title="控制\x07字符"), InvalidInputError, "控制字符"),
    (dict(unit_id="NOPE"), UnknownReferenceError, "未知的单位"),
    (dict(indicator_id="res_nope"), UnknownReferenceError, "未知的评估指标"),
    (dict(leader_ids=["NOBODY"]), UnknownReferenceError, "未知的人员"),
    (dict(severity="特别严重"), InvalidInputError, "严重程度"),
    (dict(source="听说"), InvalidInputError, "问题来源"),
    (dict(category="别的"), InvalidInputError, "问题类别"),
    (dict(deadline=date(2026, 11, 1)), InvalidInputError, "早于发现日期"),
    (dict(evidence=[{"sha256": "xyz", "name": "a.jpg", "content_type": "image/jpeg",
                     "size": 3}]), InvalidInputError, "sha256"),
    (dict(evidence=[{"sha256": "a" * 64, "name": "a.svg", "content_type": "image/svg+xml",
                     "size": 3}]), InvalidInputError, "不支持的证据文件类型"),
])
def test_opening_with_bad_input_records_nothing(app, overrides, error, message):
    before = event_count(app)
    with pytest.raises(error, match=message):
        open_at_school_a(app, **overrides)
    assert event_count(app) == before


def test_exactly_200_and_5000_characters_are_accepted(app):
    number = open_at_school_a(app, title="题" * 200, description="述" * 5000)
    assert len(app.ticket(number)["title"]) == 200


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(lead_unit_id="NOPE"), UnknownReferenceError, "未知的单位"),
    (dict(lead_unit_id="TA-P01", co_unit_ids=["NOPE"]), UnknownReferenceError, "未知的单位"),
    (dict(lead_unit_id="TA-P01", person_id="NOBODY"), UnknownReferenceError, "未知的人员"),
    (dict(lead_unit_id="TA-P01", deadline=date(2026, 10, 1)), InvalidInputError, "早于发现日期"),
    (dict(lead_unit_id="TA-P01"), InvalidInputError, "必须确定完成时限"),
])
def test_assigning_with_bad_input_records_nothing(app, kwargs, error, message):
    number = open_at_school_a(app)
    before = event_count(app)
    with pytest.raises(error, match=message):
        app.assign(number, "office", **kwargs)
    assert event_count(app) == before


def test_unknown_ticket_and_account(app):
    with pytest.raises(UnknownReferenceError, match="未知的问题编号"):
        app.close_ticket("SS-2026-9999", "office")
    with pytest.raises(UnknownReferenceError, match="未知的账号"):
        open_at_school_a(app) and app.comment("SS-2026-0001", "ghost", text="hi")


def test_a_unit_acting_on_another_units_ticket_records_nothing(app):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    before = event_count(app)
    with pytest.raises(OutOfScopeError):
        app.rectify(number, "school_b", measures="不是我们的")
    assert event_count(app) == before


def test_a_concurrent_edit_is_a_stale_version(app):
    number = open_at_school_a(app)
    version = assign_to_school_a(app, number)
    app.check_progress(number, "insp", note="检查", expected_version=version)
    before = event_count(app)
    with pytest.raises(StaleVersionError):
        app.rectify(number, "school_a", measures="整改", expected_version=version)
    assert event_count(app) == before


def test_rectification_dates_must_be_real(app):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    with pytest.raises(InvalidInputError, match="不能晚于今天"):
        app.rectify(number, "school_a", measures="整改", completed_on=date(2026, 11, 3))
    with pytest.raises(InvalidInputError, match="整改措施不能为空"):
        app.rectify(number, "school_a", measures="")


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(login="Bad Login!", roles=["unit"], unit_id="TA"), InvalidInputError, "登录名"),
    (dict(login="system", roles=["office"]), InvalidInputError, "登录名"),
    (dict(login="SYSTEM", roles=["office"]), InvalidInputError, "登录名"),
    (dict(login=None, roles=["office"]), InvalidInputError, "登录名"),
    (dict(login="newone", roles=["king"]), InvalidInputError, "角色"),
    (dict(login="newone", roles=["unit"]), InvalidInputError, "必须指定所属单位"),
    (dict(login="newone", roles=["leader"]), InvalidInputError, "必须关联人员"),
    (dict(login="newone", roles=["office"], password="short"), InvalidInputError, "密码至少"),
    (dict(login="newone", roles=["office"], password=None), InvalidInputError, "密码至少"),
    # #12 (等保: a password has a complexity rule): one kind of character is not enough.
    (dict(login="newone", roles=["office"], password="12345678"), InvalidInputError, "密码太简单"),
    (dict(login="newone", roles=["office"], password="password"), InvalidInputError, "密码太简单"),
    (dict(login="newone", roles=["office"], password="！！！！！！！！"), InvalidInputError, "密码太简单"),
    (dict(login="Office", roles=["office"]), DuplicateError, "已被使用"),
])
def test_bad_accounts_are_refused(app, kwargs, error, message):
    before = event_count(app)
    with pytest.raises(error, match=message):
        app.register_account("office", name="新账号", **({"password": "long-enough"} | kwargs))
    assert event_count(app) == before


def test_a_disabled_account_cannot_act(app):
    from domain.errors import AccountDisabledError

    app.disable_account("office", "insp", reason="离职")
    with pytest.raises(AccountDisabledError):
        open_at_school_a(app)


# Regression tests from the review of issue #2: wrong types get named errors, not tracebacks.

@pytest.mark.parametrize("overrides", [
    dict(deadline="2026-12-01"),
    dict(deadline=__import__("datetime").datetime(2026, 12, 1)),
    dict(unit_id=["TA-P01"]),
    dict(unit_id=None),
    dict(indicator_id=["gov_class_size"]),
    dict(leader_ids="L1"),
    dict(evidence=None),
    dict(evidence=[{"sha256": "a" * 64, "name": "a.jpg", "content_type": "image/jpeg",
                    "size": "3"}]),
    dict(evidence=[{"sha256": "a" * 64, "name": "a.jpg", "content_type": "image/jpeg",
                    "size": 3, "extra": 1}]),
])
def test_opening_with_wrong_types_is_a_named_error(app, overrides):
    before = event_count(app)
    with pytest.raises((InvalidInputError, UnknownReferenceError)):
        open_at_school_a(app, **overrides)
    assert event_count(app) == before


STEPS_TO = {
    "opened": [],
    "assigned": [assign_to_school_a],
    "rectified": [assign_to_school_a, lambda app, n: app.rectify(n, "school_a", measures="整改")],
}
STEPS_TO["closed"] = [*STEPS_TO["rectified"], lambda app, n: app.reinspect(n, "insp", passed=True),
                      lambda app, n: app.close_ticket(n, "office")]


@pytest.mark.parametrize(("state", "call"), [
    ("rectified", lambda app, n: app.reinspect(n, "insp", passed="false")),
    ("rectified", lambda app, n: app.reinspect(n, "insp", passed=1)),
    ("assigned", lambda app, n: app.rectify(n, "school_a", measures="x", completed_on="2026-11-02")),
    ("assigned", lambda app, n: app.request_extension(n, "school_a", new_deadline="2027-01-01",
                                                      reason="r")),
    ("closed", lambda app, n: app.reopen(n, "insp", findings="f", deadline="2027-01-01")),
    ("opened", lambda app, n: app.comment(None, "office", text="x")),
    ("opened", lambda app, n: app.comment(n, None, text="x")),
    ("opened", lambda app, n: app.assign(n, "office", lead_unit_id="TA-P01", co_unit_ids="TA")),
])
def test_commands_with_wrong_types_are_named_errors(app, state, call):
    number = open_at_school_a(app)
    for step in STEPS_TO[state]:
        step(app, number)
    before = event_count(app)
    with pytest.raises((InvalidInputError, UnknownReferenceError)):
        call(app, number)
    assert event_count(app) == before


def test_a_reinspection_is_passed_only_by_true(app):
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="整改")
    with pytest.raises(InvalidInputError, match="复查结论"):
        app.reinspect(number, "insp", passed="false")
    assert app.ticket(number)["state"] == "rectified"


def test_events_record_the_canonical_login(app):
    number = open_at_school_a(app)
    app.comment(number, "OFFICE", text="大写登录")
    assert app.ticket_history(number)[-1]["by"]["login"] == "office"


def test_a_disabled_account_cannot_change_its_own_password(app):
    from domain.errors import AccountDisabledError

    app.disable_account("office", "school_b", reason="调离")
    with pytest.raises(AccountDisabledError):
        app.change_password("school_b", "school_b", "another-password")


def test_verify_password_is_false_for_nonsense(app):
    assert not app.verify_password(None, "x")
    assert not app.verify_password("office", None)
    assert not app.verify_password("nobody", "correct-horse")
