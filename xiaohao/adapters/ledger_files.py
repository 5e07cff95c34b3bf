"""Ledgers (台账) as files: Excel workbooks laid out as a county office keeps them, and CSV.

- the county: a sheet for the whole county, one per town, and the county-level items;
- a town (一镇一册): a summary, a sheet per school, and the town's own items;
- a school (一校一案): one sheet.
Each sheet has a title row (with the day it stands at), a frozen header with an auto-filter,
set widths, real dates, the light as a coloured cell, 序号 from 1, and a print setup a clerk
can file: A4 landscape, fitted to the width, the header on every page, pages numbered.
`LedgerFiles` is what the web's LedgerFiles asks for.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from domain.lights import Light
from projections.ledger import COLUMNS

WIDTHS = {"序号": 6, "问题编号": 15, "镇街": 10, "学校/单位": 18, "问题描述": 44, "对应指标": 26,
          "发现时间": 12, "整改措施": 32, "牵头单位": 16, "责任单位": 18, "责任人": 10,
          "包保领导": 12, "完成时限": 12, "逾期天数": 8, "整改状态": 10, "复查人": 10,
          "复查时间": 12, "复查意见": 24, "销号时间": 12, "红黄绿灯": 8}
DATE_COLUMNS = {"发现时间", "完成时限", "复查时间", "销号时间"}
WRAPPED = {"问题描述", "整改措施", "对应指标", "责任单位", "复查意见"}
# The light's cell, by the label the ledger row carries: fill, and text that reads on it.
LIGHT_CELLS = {Light.RED.label: ("FFC62828", "FFFFFFFF"), Light.YELLOW.label: ("FFF9A825", "FF000000"),
               Light.GREEN.label: ("FF2E7D32", "FFFFFFFF")}
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
A4 = Worksheet.PAPERSIZE_A4


def workbook(sheets: Iterable[tuple[str, list[dict]]], title: str,
             summary: tuple[list[str], list[list]] | None = None) -> bytes:
    """An .xlsx of (sheet name, ledger rows) pairs, each numbered from 1; `title` heads every
    sheet; a `summary` (header, rows) comes first as 汇总."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    if summary is not None:
        header, rows = summary
        sheet = book.create_sheet(_sheet_name("汇总", used))
        _print_setup(sheet)
        _titled(sheet, f"{title}（汇总）", header, [6 if h == "序号" else 14 for h in header])
        for row in rows:
            sheet.append(row)
    for name, rows in sheets:
        sheet = book.create_sheet(_sheet_name(name, used))
        _write_sheet(sheet, [{**row, "序号": i} for i, row in enumerate(rows, start=1)],
                     f"{title}（{name}）")
    if not used:
        _write_sheet(book.create_sheet("台账"), [], title)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _print_setup(sheet) -> None:
    """A4 landscape, fitted to the width, the header rows on every page, pages numbered."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:2"
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


def _sheet_name(name: str, used: set[str]) -> str:
    base = BAD_SHEET_CHARS.sub("_", name).strip("'")[:28] or "台账"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}{n}", n + 1
    used.add(candidate)
    return candidate


def _titled(sheet, title: str, columns: list[str], widths: list[float]) -> None:
    """Widths, the title row and the header row (frozen beneath), of a write-only sheet."""
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A3"
    heading = WriteOnlyCell(sheet, title)
    heading.font = Font(bold=True, size=14)
    sheet.append([heading])
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFDDE6F0")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        header.append(cell)
    sheet.append(header)


def _write_sheet(sheet, rows: list[dict], title: str) -> None:
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{len(rows) + 2}"
    _print_setup(sheet)
    _titled(sheet, title, COLUMNS, [WIDTHS[c] for c in COLUMNS])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row[column]
            if column in DATE_COLUMNS and value:
                value = date.fromisoformat(value)
            cell = WriteOnlyCell(sheet, value)
            if isinstance(value, str):
                cell.data_type = "s"    # text stays text: "=…" typed by someone is no formula
            if column in DATE_COLUMNS:
                cell.number_format = "yyyy-mm-dd"
            if column in WRAPPED:
                cell.alignment = wrap
            if column == "红黄绿灯" and value in LIGHT_CELLS:
                fill, text = LIGHT_CELLS[value]
                cell.fill = PatternFill("solid", fgColor=fill)
                cell.font = Font(color=text, bold=True)
            cells.append(cell)
        sheet.append(cells)


def csv_bytes(rows: list[dict], title: str | None = None) -> bytes:
    """The ledger as CSV, UTF-8 with a byte-order mark so that Excel reads the Chinese; a
    `title` (a view of the past says which) is a row of its own above the header."""
    out = io.StringIO()
    if title:
        csv.writer(out, lineterminator="\r\n").writerow([title])
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _inert(v) for k, v in row.items()} for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _inert(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV
    injection: a finding typed as "=HYPERLINK(…)" must stay words)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


class LedgerFiles:
    def workbook(self, sheets: Iterable[tuple[str, list[dict]]], title: str,
                 summary: tuple[list[str], list[list]] | None = None) -> bytes:
        return workbook(sheets, title, summary)

    def csv(self, rows: list[dict], title: str | None = None) -> bytes:
        return csv_bytes(rows, title)
