"""A seeded random history on the small test county: tickets opened and moved through every
legal step by the right people, with the clock moving on. Shared by read-model tests."""

from __future__ import annotations

import random
from datetime import date, timedelta

from domain.application import XiaohaoApp
from domain.clock import ManualClock, beijing_date
from domain.errors import DomainError

SCHOOLS = {"TA-P01": "school_a", "TB-J01": "school_b"}
LEADER_OF = {"TA-P01": "leader_a", "TB-J01": "leader_b"}


def moves(app: XiaohaoApp, number: str, rng: random.Random) -> list:
    """The commands that are legal for the ticket now, as callables."""
    ticket = app.ticket(number)
    unit = SCHOOLS[ticket["unit_id"]]
    today = app.today()
    later = (ticket["deadline"] or today) + timedelta(days=rng.randint(1, 30))
    state = ticket["state"]
    common = [lambda: app.comment(number, "office", text=f"第{rng.randint(1, 99)}次催办"),
              lambda: app.give_instruction(number, LEADER_OF[ticket["unit_id"]], text="抓紧整改")]
    by_state = {
        "opened": [lambda: app.assign(number, "office", lead_unit_id=ticket["unit_id"],
                                      co_unit_ids=[ticket["town_id"]],
                                      person_id=rng.choice([None, "HA" if unit == "school_a" else "HB"]),
                                      deadline=today + timedelta(days=rng.randint(0, 20))),
                   lambda: app.cancel(number, "office", reason="重复登记"),
                   lambda: app.check_progress(number, "insp", note="现场查看")],
        "assigned": [lambda: app.rectify(number, unit, measures="整改措施" + "。" * rng.randint(1, 5)),
                     lambda: app.reassign(number, "office", lead_unit_id=ticket["unit_id"],
                                          co_unit_ids=rng.choice([[], [ticket["town_id"]]]),
                                          reason="调整责任单位"),
                     lambda: app.rectify(number, unit, measures="已整改"),
                     lambda: app.check_progress(number, "insp", note="检查进度"),
                     lambda: app.extend_deadline(number, "office", new_deadline=later, reason="同意")],
        "rectified": [lambda: app.reinspect(number, "insp", passed=True),
                      lambda: app.reinspect(number, "insp", passed=False, findings="未达标")],
        "verified": [lambda: app.close_ticket(number, "office", note="销号")],
        "closed": [lambda: app.reopen(number, "insp", findings="回查反弹"),
                   lambda: app.hold(number, "insp", note="回查巩固")],
        "cancelled": [],
    }
    others = common
    if state == "assigned" and ticket["pending_extension"] is None:
        others.append(lambda: app.request_extension(number, unit, new_deadline=later,
                                                    reason="工期"))
    if state == "assigned" and ticket["pending_extension"] is not None:
        others.append(lambda: app.refuse_extension(number, "office", reason="不同意"))
    # Mostly move the ticket on, so that histories reach every state.
    return by_state[state] if by_state[state] and rng.random() < 0.75 else others


def run_scenario(app: XiaohaoApp, clock: ManualClock, *, seed: int, steps: int,
                 after_step=None) -> list[str]:
    """Open tickets and move them at random; returns the ticket numbers."""
    rng = random.Random(seed)
    numbers: list[str] = []
    for step in range(steps):
        # Odd steps, down to fractions of a second, so events land just after week boundaries.
        clock.advance(hours=rng.choice([1, 2, 5, 20, 48]), seconds=rng.random() * 90)
        if not numbers or rng.random() < 0.2:
            school = rng.choice(list(SCHOOLS))
            numbers.append(app.open_ticket(
                rng.choice(["insp", "office"]), title=f"问题{len(numbers) + 1}：音乐教室面积不足",
                description=f"第{beijing_date(clock.now())}日发现", unit_id=school,
                category=rng.choice(["功能教室", "大班额"]), severity=rng.choice(["一般", "严重"]),
                source=rng.choice(["周检查", "月回查"]), indicator_id=rng.choice([None, "gov_class_size"])))
        else:
            number = rng.choice(numbers)
            options = moves(app, number, rng)
            try:
                rng.choice(options)()
            except DomainError:
                pass   # e.g. a deadline that the random date put before today: refused, fine
        if after_step:
            after_step(step)
    return numbers


def read_history(var_dir, *, seed: int, steps: int):
    """A random history on the in-memory store with its read models caught up:
    (app, read database, ticket numbers)."""
    from domain.clock import at_beijing
    from projections.readmodels import ReadModels
    from tests.conftest import START, seed_small_county, settings_for

    clock = ManualClock(at_beijing(START, 9))
    app = settings_for("memory", var_dir).build_app(clock=clock)
    seed_small_county(app)
    numbers = run_scenario(app, clock, seed=seed, steps=steps)
    return app, ReadModels(app, ":memory:").fresh(), numbers


STATE_AFTER = {"Opened": "opened", "Assigned": "assigned", "Rectified": "rectified",
               "Closed": "closed", "Reopened": "assigned", "Cancelled": "cancelled"}


def as_of(history: list[dict], moment) -> tuple[str | None, date | None]:
    """State and deadline of a ticket at a moment, replayed from its events."""
    state = deadline = None
    for step in history:
        if step["at"] > moment:
            break
        name, details = step["event"], step["details"]
        if name == "ReInspected":
            state = "verified" if details["passed"] else "assigned"
        else:
            state = STATE_AFTER.get(name, state)
        if name in ("Opened", "Assigned", "Reassigned", "Reopened"):
            deadline = details["deadline"]
        if name == "DeadlineExtended":
            deadline = details["new_deadline"]
    return state, deadline
