"""Weekly figures, check lists and recheck lists, against figures replayed from the events."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from domain.clock import beijing
from domain.periods import Week, iso_week
from domain.visibility import EVERYTHING
from projections.cycle import FIGURES, check_list, recheck_list, week_figures
from projections.readmodels import ReadModels
from tests.scenario import as_of, read_history


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    app, db, numbers = read_history(tmp_path_factory.mktemp("c"), seed=5, steps=700)
    return app, db, {n: (app.ticket(n), app.ticket_history(n)) for n in numbers}


def weeks_of(app, histories) -> list[str]:
    """Every ISO week from the first event to today."""
    first = min(h[0]["at"] for _, h in histories.values()).date()
    days = (app.today() - first).days
    return sorted({iso_week(first + timedelta(days=d)) for d in range(days + 1)})


def test_week_figures_match_the_events(history):
    app, db, histories = history
    for week in weeks_of(app, histories):
        end = Week.parse(week).end
        expected: dict[tuple, Counter] = defaultdict(Counter)
        checked: dict[tuple, set] = defaultdict(set)
        for number, (ticket, steps) in histories.items():
            place = (ticket["town_id"] or "", ticket["unit_id"])
            for step in steps:
                if iso_week(step["at"].date()) != week:
                    continue
                name = step["event"]
                figure = {"Opened": "found", "Rectified": "rectified", "Closed": "closed",
                          "Reopened": "reopened", "Cancelled": "cancelled",
                          "DeadlineExtended": "extended"}.get(name)
                if name == "ReInspected" and not step["details"]["passed"]:
                    figure = "returned"
                if figure:
                    expected[place][figure] += 1
                if name in ("ProgressChecked", "ReInspected"):
                    checked[place].add(number)
            moment = min(end, beijing(app.now()))
            state, deadline = as_of(steps, moment)
            if state in ("opened", "assigned") and deadline and deadline < moment.date():
                expected[place]["overdue"] += 1
        for place, numbers in checked.items():
            expected[place]["checked"] = len(numbers)
        figures = week_figures(db, week, app.now())
        got = {(r["town_id"], r["unit_id"]): Counter({k: r[k] for k in FIGURES if r[k]})
               for r in figures.rows}
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}, week


def test_closure_rates_count_what_was_found_and_closed_up_to_the_week(history):
    """Cumulative figures are the sums of the weekly ones, cancelled and reopened counted in
    their own columns; the rate is (closed − reopened) ÷ (found − cancelled) (#11)."""
    app, db, histories = history
    week = iso_week(app.today() - timedelta(days=30))
    end = Week.parse(week).end
    totals: dict[tuple, Counter] = defaultdict(Counter)
    names = {"Opened": "found", "Closed": "closed", "Cancelled": "cancelled",
             "Reopened": "reopened", "DeadlineExtended": "extended"}
    for ticket, steps in histories.values():
        place = (ticket["town_id"] or "", ticket["unit_id"])
        for step in steps:
            if step["at"] >= end:
                break
            if step["event"] in names:
                totals[place][names[step["event"]]] += 1
    rows = week_figures(db, week, app.now()).rows
    columns = ("found", "closed", "cancelled", "reopened", "extended")
    assert {(r["town_id"], r["unit_id"]): tuple(r[f"{c}_total"] for c in columns)
            for r in rows if r["found_total"]} \
        == {p: tuple(totals[p][c] for c in columns) for p in totals}
    for r in rows:
        t = totals[(r["town_id"], r["unit_id"])]
        standing = t["found"] - t["cancelled"]
        assert r["closure_rate"] == (
            round((t["closed"] - t["reopened"]) / standing, 4) if standing else None)


def test_towns_are_ranked_by_closure_rate(history):
    app, db, _ = history
    towns = week_figures(db, iso_week(app.today()), app.now()).towns
    rated = [t for t in towns if t["closure_rate"] is not None]
    assert rated and all(0 <= t["closure_rate"] <= 1 for t in rated)
    rates = [t["closure_rate"] for t in rated]
    assert rates == sorted(rates, reverse=True)
    assert towns[0]["rank"] == 1
    assert towns[:len(rated)] == rated       # the unranked (nothing found) come last
    assert all(t["rank"] is None for t in towns[len(rated):])


def test_the_check_list_is_what_was_open_on_monday(history):
    app, db, histories = history
    for week in weeks_of(app, histories)[1:-1]:
        monday = Week.parse(week).start
        listed = {r["number"]: r for r in check_list(db, week, 3, EVERYTHING)}
        expected = {n for n, (_, steps) in histories.items()
                    if as_of(steps, monday)[0] in ("opened", "assigned", "rectified")}
        assert set(listed) == expected, week
        rows = check_list(db, week, 3, EVERYTHING)
        for place in {(r["town_id"], r["unit_id"]) for r in rows}:   # red first in each school
            lights = [r["light"] == "red" for r in rows if (r["town_id"], r["unit_id"]) == place]
            assert lights == sorted(lights, reverse=True)
        for number, row in listed.items():
            steps = histories[number][1]
            visited = any(iso_week(s["at"].date()) == week and
                          s["event"] in ("ProgressChecked", "ReInspected") for s in steps)
            assert bool(row["checked"]) == visited


def _still_unrechecked(steps: list[dict], closed: dict, moment: str) -> bool:
    """No reopening and no recorded hold between the closing and `moment` (ISO text)."""
    after = [s["event"] for s in steps if closed["at"].isoformat() < s["at"].isoformat() < moment]
    until = after[:after.index("Reopened")] if "Reopened" in after else after
    return "Reopened" not in after and "RecheckHeld" not in until


def test_the_recheck_list_is_last_months_closures_and_what_is_still_unrechecked(history):
    app, db, histories = history
    months = sorted({s["at"].strftime("%Y-%m") for _, steps in histories.values()
                     for s in steps})
    for month in months[1:]:
        first = date.fromisoformat(f"{month}-01")
        previous = (first - timedelta(days=1)).strftime("%Y-%m")
        expected = Counter(n for n, (_, steps) in histories.items() for s in steps
                           if s["event"] == "Closed" and s["at"].strftime("%Y-%m") == previous)
        carried = Counter(n for n, (_, steps) in histories.items() for s in steps
                          if s["event"] == "Closed" and s["at"].strftime("%Y-%m") < previous
                          and _still_unrechecked(steps, s, first.isoformat()))
        got = recheck_list(db, month, EVERYTHING)
        assert Counter(r["number"] for r in got) == expected + carried, month
        assert Counter(r["number"] for r in got if r["carried"]) == carried, month
        for r in got:
            steps = histories[r["number"]][1]
            after = [s["event"] for s in steps if s["at"].isoformat() > r["closed_at"]]
            outcome = after[after.index("Reopened") - 1::-1] if "Reopened" in after else after
            expected_result = ("重新整改" if "Reopened" in after
                               else "巩固" if "RecheckHeld" in outcome else "未回查")
            assert r["result"] == expected_result


@pytest.mark.parametrize(("fraction", "overdue"), [(0, 0), (500_000, 1)])
def test_an_event_at_or_just_after_monday_midnight(memory_app, clock, fraction, overdue):
    """Regression (#3 review): intervals ended at full precision but began at whole seconds,
    so an extension half a second into Monday counted the ticket overdue twice. An event at
    the very instant the week ends belongs to the next week; half a second later, not."""
    from datetime import datetime

    from domain.clock import BEIJING
    from tests.conftest import open_at_school_a

    number = open_at_school_a(memory_app)
    memory_app.assign(number, "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 3))
    clock.set(datetime(2026, 11, 9, 0, 0, 0, fraction, tzinfo=BEIJING))   # Monday of W46
    memory_app.extend_deadline(number, "office", new_deadline=date(2026, 11, 20), reason="同意")
    clock.advance(days=1)
    db = ReadModels(memory_app, ":memory:").fresh()
    figures = week_figures(db, "2026-W45", memory_app.now())
    assert sum(r["overdue"] for r in figures.rows) == overdue


def test_the_weekly_trend_sums_what_was_found_and_closed(memory_app, clock, tmp_path):
    from projections.cycle import weekly_trend
    from projections.readmodels import ReadModels
    from tests.conftest import assign_to_school_a, open_at_school_a

    first = open_at_school_a(memory_app)                 # week 45
    clock.advance(days=7)
    second = open_at_school_a(memory_app)                # week 46, closed in week 46
    for number in (first, second):
        assign_to_school_a(memory_app, number)
        memory_app.rectify(number, "school_a", measures="已整改")
        memory_app.reinspect(number, "insp", passed=True)
    memory_app.close_ticket(second, "office")
    read = ReadModels(memory_app, tmp_path / "r.sqlite3")
    trend = weekly_trend(read.fresh(), "2026-W46", weeks=3)
    assert trend == [{"week": "2026-W44", "found": 0, "closed": 0},
                     {"week": "2026-W45", "found": 1, "closed": 0},
                     {"week": "2026-W46", "found": 1, "closed": 1}]
    read.close()


def test_the_counts_agree_with_the_lists(history):
    """check_counts and recheck_counts (what a bulletin prints) say what the lists hold."""
    from projections.cycle import check_counts, recheck_counts

    app, db, histories = history
    for week in weeks_of(app, histories):
        rows = check_list(db, week, 3, EVERYTHING)
        assert check_counts(db, week) == {"total": len(rows),
                                          "checked": sum(bool(r["checked"]) for r in rows)}
    for month in sorted({f"{Week.parse(w).start:%Y-%m}" for w in weeks_of(app, histories)}):
        rows = recheck_list(db, month, EVERYTHING)
        assert recheck_counts(db, month) == {
            "month": month, "total": len(rows),
            "held": sum(r["result"] == "巩固" for r in rows),
            "reopened": sum(r["result"] == "重新整改" for r in rows),
            "pending": sum(r["result"] == "未回查" for r in rows)}
