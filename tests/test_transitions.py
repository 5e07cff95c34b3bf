"""Every command in every state, and every role on every command: table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import IllegalTransitionError, NotPermittedError, OutOfScopeError
from tests.conftest import assign_to_school_a, open_at_school_a

# How to bring a fresh ticket into each state.
SETUP = {
    "opened": [],
    "assigned": ["assign"],
    "rectified": ["assign", "rectify"],
    "verified": ["assign", "rectify", "reinspect_pass"],
    "closed": ["assign", "rectify", "reinspect_pass", "close"],
    "cancelled": ["cancel"],
}

# Each command as its natural actor performs it.
COMMANDS = {
    "assign": lambda app, n: assign_to_school_a(app, n),
    "reassign": lambda app, n: app.reassign(n, "office", lead_unit_id="TA", reason="改由镇牵头"),
    "request_extension": lambda app, n: app.request_extension(
        n, "school_a", new_deadline=date(2026, 12, 31), reason="工期长"),
    "extend_deadline": lambda app, n: app.extend_deadline(
        n, "office", new_deadline=date(2026, 12, 31), reason="同意"),
    "refuse_extension": lambda app, n: app.refuse_extension(n, "office", reason="不同意"),
    "rectify": lambda app, n: app.rectify(n, "school_a", measures="已分班"),
    "reinspect_pass": lambda app, n: app.reinspect(n, "insp", passed=True),
    "reinspect_fail": lambda app, n: app.reinspect(n, "insp", passed=False, findings="未达标"),
    "close": lambda app, n: app.close_ticket(n, "office"),
    "reopen": lambda app, n: app.reopen(n, "insp", findings="回查反弹"),
    "cancel": lambda app, n: app.cancel(n, "office", reason="重复登记"),
    "comment": lambda app, n: app.comment(n, "office", text="请加快"),
    "give_instruction": lambda app, n: app.give_instruction(n, "leader_a", text="限期解决"),
    "check_progress": lambda app, n: app.check_progress(n, "insp", note="现场检查"),
    "acknowledge": lambda app, n: app.acknowledge(n, "school_a"),
    "chase": lambda app, n: app.chase(n, "office", note="请尽快签收"),
    "hold": lambda app, n: app.hold(n, "insp", note="回查未反弹"),
    "add_evidence": lambda app, n: app.add_evidence(n, "office", evidence=[PHOTO]),
}
PHOTO = {"sha256": "a" * 64, "name": "before.jpg", "content_type": "image/jpeg", "size": 10}

# state -> {legal command: state afterwards}; everything else is illegal in that state.
LEGAL = {
    "opened": {"assign": "assigned", "cancel": "cancelled", "comment": "opened",
               "give_instruction": "opened", "check_progress": "opened",
               "add_evidence": "opened"},
    "assigned": {"reassign": "assigned", "request_extension": "assigned",
                 "extend_deadline": "assigned", "rectify": "rectified", "cancel": "cancelled",
                 "comment": "assigned", "give_instruction": "assigned",
                 "check_progress": "assigned", "acknowledge": "assigned", "chase": "assigned",
                 "add_evidence": "assigned"},
    "rectified": {"reinspect_pass": "verified", "reinspect_fail": "assigned",
                  "comment": "rectified", "give_instruction": "rectified",
                  "check_progress": "rectified"},
    "verified": {"close": "closed", "comment": "verified", "give_instruction": "verified"},
    "closed": {"reopen": "assigned", "comment": "closed", "give_instruction": "closed",
               "hold": "closed"},
    "cancelled": {"comment": "cancelled"},
}


def ticket_in(app, state: str) -> str:
    number = open_at_school_a(app)
    for step in SETUP[state]:
        COMMANDS[step](app, number)
    assert app.ticket(number)["state"] == state
    return number


@pytest.mark.parametrize("state", list(SETUP))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_in_state(memory_app, state, command):
    number = ticket_in(memory_app, state)
    before = memory_app.ticket(number)
    if command in LEGAL[state]:
        version = COMMANDS[command](memory_app, number)
        after = memory_app.ticket(number)
        assert version == before["version"] + 1
        assert after["state"] == LEGAL[state][command]
    else:
        with pytest.raises(expected_refusal(state, command)):
            COMMANDS[command](memory_app, number)
        assert memory_app.ticket(number) == before   # nothing recorded


UNIT_COMMANDS = {"request_extension", "rectify", "acknowledge"}


def expected_refusal(state: str, command: str) -> type[Exception]:
    """A ticket never assigned belongs to no unit yet, so a unit is refused for scope first."""
    if command in UNIT_COMMANDS and state in ("opened", "cancelled"):
        return OutOfScopeError
    return IllegalTransitionError


def test_refusing_needs_a_pending_request(memory_app):
    number = ticket_in(memory_app, "assigned")
    with pytest.raises(IllegalTransitionError, match="没有待审批的延期申请"):
        memory_app.refuse_extension(number, "office", reason="不同意")
    COMMANDS["request_extension"](memory_app, number)
    with pytest.raises(IllegalTransitionError, match="已有待审批"):
        COMMANDS["request_extension"](memory_app, number)
    memory_app.refuse_extension(number, "office", reason="不同意")
    assert memory_app.ticket(number)["pending_extension"] is None
    assert memory_app.ticket(number)["deadline"] == date(2026, 11, 30)


def test_cancel_is_refused_after_any_rectification(memory_app):
    number = ticket_in(memory_app, "rectified")
    COMMANDS["reinspect_fail"](memory_app, number)   # back to assigned, but it was rectified
    with pytest.raises(IllegalTransitionError, match="已提交过整改"):
        COMMANDS["cancel"](memory_app, number)


# Which roles may do what; the state is the one the command needs.
ROLE_LOGINS = ["office", "insp", "school_a", "leader_a", "audit"]
ALLOWED = {
    ("assign", "opened"): {"office"},
    ("reassign", "assigned"): {"office"},
    ("request_extension", "assigned"): {"school_a"},
    ("extend_deadline", "assigned"): {"office"},
    ("rectify", "assigned"): {"school_a"},
    ("reinspect", "rectified"): {"insp"},
    ("close", "verified"): {"office"},
    ("reopen", "closed"): {"office", "insp"},
    ("cancel", "opened"): {"office"},
    ("comment", "assigned"): {"office", "insp", "school_a", "leader_a"},
    ("give_instruction", "assigned"): {"leader_a"},
    ("check_progress", "assigned"): {"office", "insp"},
    ("acknowledge", "assigned"): {"school_a"},
    ("chase", "assigned"): {"office"},
    ("hold", "closed"): {"office", "insp"},
    ("add_evidence", "assigned"): {"office", "insp", "school_a"},
}
AS_LOGIN = {
    "assign": lambda app, n, who: app.assign(n, who, lead_unit_id="TA-P01",
                                             deadline=date(2026, 11, 30)),
    "reassign": lambda app, n, who: app.reassign(n, who, lead_unit_id="TA", reason="改派"),
    "request_extension": lambda app, n, who: app.request_extension(
        n, who, new_deadline=date(2026, 12, 31), reason="工期长"),
    "extend_deadline": lambda app, n, who: app.extend_deadline(
        n, who, new_deadline=date(2026, 12, 31), reason="同意"),
    "rectify": lambda app, n, who: app.rectify(n, who, measures="已分班"),
    "reinspect": lambda app, n, who: app.reinspect(n, who, passed=True),
    "close": lambda app, n, who: app.close_ticket(n, who),
    "reopen": lambda app, n, who: app.reopen(n, who, findings="反弹"),
    "cancel": lambda app, n, who: app.cancel(n, who, reason="重复"),
    "comment": lambda app, n, who: app.comment(n, who, text="留言"),
    "give_instruction": lambda app, n, who: app.give_instruction(n, who, text="批示"),
    "check_progress": lambda app, n, who: app.check_progress(n, who, note="检查"),
    "acknowledge": lambda app, n, who: app.acknowledge(n, who),
    "chase": lambda app, n, who: app.chase(n, who),
    "hold": lambda app, n, who: app.hold(n, who, note="巩固"),
    "add_evidence": lambda app, n, who: app.add_evidence(n, who, evidence=[PHOTO]),
}


@pytest.mark.parametrize(("command", "state"), list(ALLOWED))
@pytest.mark.parametrize("login", ROLE_LOGINS)
def test_role_may_or_may_not(memory_app, command, state, login):
    number = ticket_in(memory_app, state)
    before = memory_app.ticket(number)
    if login in ALLOWED[(command, state)]:
        AS_LOGIN[command](memory_app, number, login)
        assert memory_app.ticket(number)["version"] == before["version"] + 1
    else:
        with pytest.raises(NotPermittedError):
            AS_LOGIN[command](memory_app, number, login)
        assert memory_app.ticket(number) == before


def test_only_inspectors_and_the_office_open_tickets(memory_app):
    for login in ["school_a", "leader_a", "audit"]:
        with pytest.raises(NotPermittedError):
            memory_app.open_ticket(login, title="x", description="", unit_id="TA-P01",
                                   category="大班额", severity="一般", source="周检查")


@pytest.mark.parametrize("command", ["rectify", "request_extension", "comment"])
def test_a_unit_cannot_act_on_another_units_ticket(memory_app, command):
    number = ticket_in(memory_app, "assigned")
    before = memory_app.ticket(number)
    with pytest.raises(OutOfScopeError, match="不属于本单位"):
        AS_LOGIN[command](memory_app, number, "school_b")
    assert memory_app.ticket(number) == before



def test_leaders_act_only_within_their_baobao(memory_app):
    number = ticket_in(memory_app, "assigned")
    with pytest.raises(OutOfScopeError, match="包保范围"):
        memory_app.give_instruction(number, "leader_b", text="批示")
    memory_app.give_instruction(number, "leader_a", text="批示")


def test_every_ticket_event_has_a_chinese_label():
    from domain.ticket import EVENT_LABELS, Ticket

    events = {name for name, value in vars(Ticket).items()
              if isinstance(value, type) and issubclass(value, Ticket.Event)
              and name not in ("Event", "Created")}   # Created: the library's unused default
    assert events == set(EVENT_LABELS)
