"""A year's school figures from the Excel template (#14): the template lists the directory's
schools, a filled one is taken whole and recorded once, and a bad one is refused with every
problem by sheet, row and column, recording nothing. On every store."""

from __future__ import annotations

import hashlib
import io

import pytest
from openpyxl import Workbook, load_workbook

from domain.application import SYSTEM
from domain.errors import NotPermittedError
from domain.school_year import (
    FiguresRefused,
    Row,
    figures_id,
    parse_school_year,
    year_label,
)
from tests.test_school_figures import GOOD
from xiaohao.adapters.figures_workbook import HEADERS, SHEET, read, template


def schools(app) -> list[dict]:
    return [u for u in app.directory().units.values() if u["kind"] == "school"]


def filled(app, change=None) -> bytes:
    """The template for the small county filled with GOOD figures, `change(sheet)` applied."""
    book = load_workbook(io.BytesIO(template(schools(app), "2019-2020学年学校数据")))
    sheet = book[SHEET]
    for row in sheet.iter_rows(min_row=3):
        for i, value in enumerate(GOOD.values(), start=3):
            row[i].value = value
    if change:
        change(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def take(app, data: bytes, by: str = "office") -> bool:
    return app.import_figures(by, "2019-2020", read(data), sha256=hashlib.sha256(data).hexdigest(),
                              file_name="学校数据.xlsx")


@pytest.fixture
def county(app):
    app.add_unit(SYSTEM, code="TA-N01", name="甲镇九年一贯制学校", kind="school", parent="TA",
                 level="nine_year")
    return app


def test_the_template_lists_each_school_once_per_part(county):
    sheet = load_workbook(io.BytesIO(template(schools(county), "t")))[SHEET]
    rows = [(r[0], r[2]) for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert rows == [("TA-P01", "小学"), ("TB-J01", "初中"), ("TA-N01", "小学"),
                    ("TA-N01", "初中")]
    assert [c.value for c in sheet[2]] == list(HEADERS)


def test_a_filled_template_is_taken_once(county):
    data = filled(county)
    assert take(county, data) is True
    taken = county.school_figures(2019)
    assert taken["label"] == "2019-2020学年" and len(taken["rows"]) == 4
    assert taken["rows"][("TA-N01", "junior")]["sports_area"] == GOOD["sports_area"]
    key = figures_id(county.county_code, 2019)
    version = county.repository.get(key).version
    assert take(county, data) is False                      # the same workbook: nothing new
    assert county.repository.get(key).version == version
    # a corrected workbook is a new import; the first stays in the history
    assert take(county, filled(county, lambda s: setattr(s["K3"], "value", 5000))) is True
    assert county.school_figures("2019")["rows"][("TA-P01", "primary")]["teaching_aux_area"] \
        == 5000
    assert len(county.school_figures(2019)["imports"]) == 2
    # the workbook's digest is not an evidence file's: backups and the sweep do not look for it
    from xiaohao.evidence_upkeep import named_evidence
    assert hashlib.sha256(data).hexdigest() not in named_evidence(
        county, county.recorder.max_notification_id())


def cell(ref: str, value):
    return lambda sheet: setattr(sheet[ref], "value", value)


@pytest.mark.parametrize(("change", "problems"), [
    (cell("A3", "TA-P99"), ["学校数据 第3行：未知的学校代码 TA-P99"]),
    (cell("L3", "约三百"), ["学校数据 第3行 L列（体育运动场馆面积）：应为数字，现为“约三百”"]),
    (cell("K4", -12), ["学校数据 第4行 K列（教学及辅助用房面积）：教学及辅助用房面积不能为负数"]),
    (cell("C3", "初中"), ["学校数据 第3行：该校为小学，没有初中学段的数据"]),
    (cell("C4", "高中"), ["学校数据 第4行：学段应为“小学”或“初中”"]),
    (lambda s: (cell("L3", "约三百")(s), cell("D5", 12.5)(s)),
     ["学校数据 第3行 L列（体育运动场馆面积）：应为数字，现为“约三百”",
      "学校数据 第5行 D列（在校生数）：在校生数应为整数"]),
])
def test_a_bad_workbook_is_refused_whole_with_every_problem(county, change, problems):
    with pytest.raises(FiguresRefused) as refused:
        take(county, filled(county, change))
    assert refused.value.problems == problems
    assert county.school_figures(2019)["rows"] == {}        # nothing recorded


def test_a_workbook_without_the_sheet_or_not_a_workbook(county):
    book = Workbook()
    book.active.title = "Sheet1"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(FiguresRefused, match="没有“学校数据”工作表"):
        read(out.getvalue())
    with pytest.raises(FiguresRefused, match="无法读取该文件"):
        read(b"not a workbook")


def test_a_school_enters_its_own_figures_and_no_other(county):
    county.enter_figures("school_a", 2019, Row("TA-P01", "primary", GOOD))
    assert county.school_figures(2019)["rows"][("TA-P01", "primary")] == GOOD
    with pytest.raises(NotPermittedError):
        county.enter_figures("school_a", 2019, Row("TB-J01", "junior", GOOD))
    with pytest.raises(NotPermittedError):
        take(county, filled(county), by="school_a")


@pytest.mark.parametrize(("text", "year"), [("2019", 2019), ("2019-2020", 2019),
                                            ("2019—2020学年", 2019), (2021, 2021)])
def test_school_years(text, year):
    assert parse_school_year(text) == year and year_label(year).startswith(str(year))


@pytest.mark.parametrize("text", ["2019-2021", "19-20", "1999", "学年"])
def test_not_school_years(text):
    with pytest.raises(Exception, match="学年应写作"):
        parse_school_year(text)


def test_a_school_yet_to_report_is_left_out_and_the_template_holds_what_is_taken(county):
    def clear_b(sheet):      # 乙镇中学 has not reported: its row is blank
        for cell in sheet[4][3:]:
            cell.value = None

    assert take(county, filled(county, clear_b))
    taken = county.school_figures(2019)["rows"]
    assert ("TB-J01", "junior") not in taken and ("TA-P01", "primary") in taken
    again = load_workbook(io.BytesIO(template(schools(county), "t", taken)))[SHEET]
    rows = {(r[0], r[2]): r[3:] for r in again.iter_rows(min_row=3, values_only=True)}
    assert rows[("TA-P01", "小学")][0] == GOOD["enrolment"]
    assert set(rows[("TB-J01", "初中")]) == {None}
    with pytest.raises(FiguresRefused, match="没有填写任何学校的数据"):
        take(county, template(schools(county), "t"))
