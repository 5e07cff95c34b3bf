"""Figures that do not mislead (#11): no rank for a town with nothing found, no light where no
deadline binds the unit, the overdue days an extension does not erase, the on-time rate and
extensions beside the closure rate, and the monthly recheck's recorded outcomes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.clock import at_beijing
from domain.lights import Light, light
from domain.periods import iso_week
from domain.ranking import closure_rate, deadline_passed, on_time_rate, ranked, rectified_on_time
from domain.values import State
from domain.visibility import EVERYTHING
from projections.cycle import recheck_counts, recheck_list, week_figures
from projections.ledger import ledger
from projections.queries import TicketFilter, list_tickets, ticket_row
from projections.readmodels import ReadModels
from tests.conftest import START, open_at_school_a


def test_a_town_with_nothing_found_has_no_rate_and_no_rank():
    """Nine towns tied at 第5名, one of them with nothing found at all (0 ÷ 0 shown as 0.0%)."""
    rows = [{"town_id": t, "closure_rate": r} for t, r in
            [("T1", 0.5), ("T2", None), ("T3", 0.75), ("T4", 0.5), ("T5", 0.0), ("T6", None)]]
    assert [(r["town_id"], r["rank"]) for r in ranked(rows, tiebreak=lambda r: r["town_id"])] \
        == [("T3", 1), ("T1", 2), ("T4", 2), ("T5", 4), ("T2", None), ("T6", None)]
    assert closure_rate(closed=0, reopened=0, found=0, cancelled=0) is None
    assert closure_rate(closed=0, reopened=0, found=2, cancelled=2) is None   # all withdrawn
    assert closure_rate(closed=0, reopened=0, found=3, cancelled=1) == 0.0
    assert closure_rate(closed=4, reopened=1, found=7, cancelled=1) == 0.5


def test_the_on_time_rule():
    deadline = date(2026, 11, 5)
    assert not deadline_passed(deadline, date(2026, 11, 5))       # due on the day after
    assert deadline_passed(deadline, date(2026, 11, 6))
    assert not deadline_passed(None, date(2026, 11, 6))
    assert rectified_on_time(date(2026, 11, 5), deadline)
    assert not rectified_on_time(date(2026, 11, 6), deadline)
    assert on_time_rate(0, 0) is None and on_time_rate(1, 4) == 0.25


@pytest.mark.parametrize("state", [State.RECTIFIED, State.VERIFIED, State.CLOSED,
                                   State.CANCELLED])
def test_no_light_once_the_units_part_is_done_or_the_ticket_is_finished(state):
    late = date(2026, 10, 1)
    assert light(state, late, date(2026, 11, 2), 3) is Light.NONE
    assert Light.NONE.label == "—"


def test_an_extension_keeps_the_days_already_overdue(memory_app, clock):
    app = memory_app
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=3))
    clock.advance(days=8)                                   # five days past the deadline
    app.extend_deadline(number, "office", new_deadline=START + timedelta(days=20),
                        reason="同意延期")
    db = ReadModels(app, ":memory:").fresh()
    today = app.today()
    row = ticket_row(db, number, today, 3)
    assert (row["light"], row["days_overdue"], row["overdue_incurred"]) == ("green", 0, 5)
    assert row["extensions"] == 1
    listed = list_tickets(db, TicketFilter(sight=EVERYTHING), today, 3).rows
    assert [(r["number"], r["overdue_incurred"]) for r in listed] == [(number, 5)]
    # past the new deadline too: the light follows it, the earlier days stay on the record
    clock.advance(days=15)
    db = ReadModels(app, ":memory:").fresh()
    row = ticket_row(db, number, app.today(), 3)
    assert (row["light"], row["days_overdue"], row["overdue_incurred"]) == ("red", 3, 5)


def test_the_on_time_rate_and_extensions_beside_the_closure_rate(memory_app, clock):
    app = memory_app
    late = open_at_school_a(app)                 # deadline 11-05, extended, fixed on 11-12
    app.assign(late, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=3))
    early = open_at_school_a(app)                # deadline 11-20, fixed on 11-12
    app.assign(early, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=18))
    cancelled = open_at_school_a(app)            # withdrawn after its deadline: not counted
    app.assign(cancelled, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=3))
    clock.advance(days=8)                        # Tuesday 11-10
    app.extend_deadline(late, "office", new_deadline=START + timedelta(days=30), reason="同意")
    app.cancel(cancelled, "office", reason="重复登记")
    clock.advance(days=2)                        # Thursday 11-12
    for number in (late, early):
        app.rectify(number, "school_a", measures="已分班")
        app.reinspect(number, "insp", passed=True)
    read = ReadModels(app, ":memory:")
    running = week_figures(read.fresh(), iso_week(app.today()), app.now())
    county = running.county
    # only `late`'s first deadline (11-05) has passed: due 1, met 0; the extension is counted
    assert (county["due_total"], county["on_time_total"], county["on_time_rate"]) == (1, 0, 0.0)
    assert (county["extended"], county["extended_total"]) == (1, 1)
    assert (county["found_total"], county["cancelled_total"], county["closure_rate"]) \
        == (3, 1, 0.0)
    town = running.towns[0]
    assert (town["town_id"], town["rank"], town["on_time_rate"]) == ("TA", 1, 0.0)
    clock.set(at_beijing(START + timedelta(days=21), 9))    # 11-23: `early`'s deadline passed
    db = read.fresh()
    week = iso_week(START + timedelta(days=18))
    for figures in (week_figures(db, week, app.now()),          # that week, ended
                    week_figures(db, iso_week(app.today()), app.now())):   # and running now
        assert (figures.county["due_total"], figures.county["on_time_total"],
                figures.county["on_time_rate"]) == (2, 1, 0.5)
    # at the end of the first week the withdrawn one was still due (cancelled the week after)
    assert week_figures(db, iso_week(START), app.now()).county["due_total"] == 2
    read.close()


def test_no_light_on_finished_tickets_in_lists_and_ledgers(memory_app, clock):
    app = memory_app
    done = open_at_school_a(app)
    app.assign(done, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=1))
    clock.advance(days=5)
    app.rectify(done, "school_a", measures="已整改")
    db = ReadModels(app, ":memory:").fresh()
    rows = list_tickets(db, TicketFilter(sight=EVERYTHING, light="none"), app.today(), 3).rows
    assert [(r["number"], r["light"]) for r in rows] == [(done, "none")]
    assert [r["红黄绿灯"] for r in ledger(db, app.today(), 3, sight=EVERYTHING)] == ["—"]


def test_the_recheck_counts_only_a_recorded_hold_as_held(memory_app, clock):
    app = memory_app
    numbers = [open_at_school_a(app) for _ in range(3)]
    for number in numbers:
        app.assign(number, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=9))
        app.rectify(number, "school_a", measures="已整改")
        app.reinspect(number, "insp", passed=True)
        app.close_ticket(number, "office")
    held, reopened, pending = numbers
    clock.set(at_beijing(date(2026, 12, 2), 9))
    read = ReadModels(app, ":memory:")
    before = app.now()
    clock.advance(hours=1)
    app.hold(held, "insp", note="回查：整改成果巩固")
    app.reopen(reopened, "insp", findings="回查反弹")
    db = read.fresh()
    assert recheck_counts(db, "2026-12") == {"month": "2026-12", "total": 3, "held": 1,
                                             "reopened": 1, "pending": 1}
    assert recheck_counts(db, "2026-12", before) == {"month": "2026-12", "total": 3, "held": 0,
                                                     "reopened": 0, "pending": 3}
    assert {r["number"]: r["result"] for r in recheck_list(db, "2026-12", EVERYTHING)} == {
        held: "巩固", reopened: "重新整改", pending: "未回查"}
    read.close()


def test_new_kinds_of_ticket_event_leave_the_figures_alone(memory_app, clock):
    """签收, 催办 and 批示 replies are recorded on the ticket; the weekly read model follows
    them without counting them."""
    app = memory_app
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", deadline=START + timedelta(days=9))
    app.chase(number, "office", note="请签收")
    app.acknowledge(number, "school_a", note="已签收")
    app.give_instruction(number, "leader_a", text="抓紧整改")
    app.reply_instruction(number, "school_a", instruction=1, text="已落实")
    read = ReadModels(app, ":memory:")
    figures = week_figures(read.fresh(), iso_week(app.today()), app.now())
    assert [(r["found"], r["found_total"], r["extended"]) for r in figures.rows] == [(1, 1, 0)]
    read.close()
