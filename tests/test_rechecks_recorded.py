"""月回查 ends only with a recorded outcome (#11): each item of the month's recheck list stays
未回查, with both actions offered to inspectors and the office, until 回查巩固 (with a note and
photos) or 重新整改 is recorded; the page says which, when and by whom, and counts them."""

from __future__ import annotations

from projections.cycle import recheck_counts
from projections.readmodels import ReadModels
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser, jpeg_photo, page


def closed_at_school_a(app, title: str) -> str:
    number = open_at_school_a(app, title=title)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已整改")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    return number


def rows_of(response) -> dict[str, object]:
    return {tr.td.text: tr for tr in page(response).select("table.rechecks tbody tr")}


def counts_of(response) -> dict[str, int]:
    totals = page(response).select_one(".recheck-counts")
    return {name: int(totals.select_one(f"strong.{name}").text)
            for name in ("held", "reopened", "pending")}


def test_each_item_stays_unrechecked_until_an_outcome_is_recorded(web_app, clock):
    web, app = web_app
    held, reopened, waiting = (closed_at_school_a(app, title) for title in (
        "操场积水", "围墙破损", "厕所蹲位不足"))
    clock.advance(days=30)                    # December: November's closings come back
    inspector = Browser(web, "insp")
    listing = inspector.get("/rechecks?month=2026-12")
    assert counts_of(listing) == {"held": 0, "reopened": 0, "pending": 3}
    for number, row in rows_of(listing).items():
        assert row.select_one(".outcome").text.strip() == "未回查", number
        actions = [f["action"] for f in row.select("form")]
        assert actions == [f"/rechecks/2026-12/{number}/hold", f"/rechecks/2026-12/{number}/reopen"]

    # 巩固, recorded from the list with a note and a photo.
    form = rows_of(listing)[held].select_one('form[action$="/hold"]')
    assert form["enctype"] == "multipart/form-data"
    response = inspector.post(
        f"/tickets/{held}/hold",
        {"note": "现场查看，积水已排除", "expected_version": form.select_one(
            'input[name="expected_version"]')["value"]},
        files=[("evidence", ("recheck.jpg", jpeg_photo(), "image/jpeg"))])
    assert response.status_code == 303
    assert app.ticket(held)["held_on"] is not None
    assert app.ticket(held)["state"] == "closed"
    # 重新整改, from the same list.
    response = inspector.post(f"/tickets/{reopened}/reopen", {"findings": "围墙再次破损"})
    assert response.status_code == 303

    listing = inspector.get("/rechecks?month=2026-12")
    assert counts_of(listing) == {"held": 1, "reopened": 1, "pending": 1}
    rows = rows_of(listing)
    outcome = rows[held].select_one(".outcome").text
    assert "巩固" in outcome and "2026年12月2日" in outcome and "insp" in outcome
    assert "现场查看，积水已排除" in outcome
    assert "已重新整改" in rows[reopened].select_one(".outcome").text
    assert "围墙再次破损" in rows[reopened].select_one(".outcome").text
    assert rows[waiting].select_one(".outcome").text.strip() == "未回查"
    # Only the item still waiting offers actions.
    assert not rows[held].select("form") and not rows[reopened].select("form")
    assert len(rows[waiting].select("form")) == 2
    # The held ticket's page shows the recheck's photo in its own round.
    detail = page(inspector.get(f"/tickets/{held}"))
    assert "recheck.jpg" in detail.text
    # The bulletin's counting (projections/cycle.py) agrees with the page.
    reads = ReadModels(app, ":memory:")
    counts = recheck_counts(reads.fresh(), "2026-12")
    assert (counts["held"], counts["reopened"], counts["pending"]) == (1, 1, 1)


def test_the_office_may_record_a_leader_only_reads(web_app, clock):
    web, app = web_app
    number = closed_at_school_a(app, "操场积水")
    clock.advance(days=30)
    office = rows_of(Browser(web, "office").get("/rechecks?month=2026-12"))[number]
    assert len(office.select("form")) == 2
    leader = rows_of(Browser(web, "leader_a").get("/rechecks?month=2026-12"))[number]
    assert not leader.select("form")
    assert leader.select_one(".outcome").text.strip() == "未回查"
    auditor = rows_of(Browser(web, "audit").get("/rechecks?month=2026-12"))[number]
    assert not auditor.select("form")


def test_a_hold_needs_a_note_and_is_recorded_once(web_app, clock):
    web, app = web_app
    number = closed_at_school_a(app, "操场积水")
    clock.advance(days=30)
    inspector = Browser(web, "insp")
    inspector.get("/rechecks?month=2026-12")
    refused = inspector.post(f"/tickets/{number}/hold", {"note": ""})
    assert refused.status_code == 400 and app.ticket(number)["held_on"] is None
    assert inspector.post(f"/tickets/{number}/hold", {"note": "已巩固"}).status_code == 303
    again = inspector.post(f"/tickets/{number}/hold", {"note": "再记一次"})
    assert again.status_code == 409
    assert "已于" in page(again).select_one(".error").text


def test_a_reopening_after_a_hold_is_what_the_list_says(web_app, clock):
    web, app = web_app
    number = closed_at_school_a(app, "操场积水")
    clock.advance(days=30)
    app.hold(number, "insp", note="看似巩固")
    clock.advance(days=3)
    app.reopen(number, "office", findings="又积水了")
    listing = Browser(web, "office").get("/rechecks?month=2026-12")
    assert counts_of(listing) == {"held": 0, "reopened": 1, "pending": 0}
    assert "已重新整改" in rows_of(listing)[number].select_one(".outcome").text
