"""Ledgers (台账) as files: Excel workbooks laid out as a county office keeps them, and CSV.

- the county: a sheet for the whole county, then one per town;
- a town (一镇一册): a sheet per school (and one for the town's own items);
- a school (一校一案): one sheet.
Each sheet has a title row, a frozen header with an auto-filter, set widths, real dates, and the
light as a coloured cell. `LedgerFiles` is what the web's LedgerFiles asks for.
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

from domain.lights import Light
from projections.ledger import COLUMNS

WIDTHS = {"序号": 6, "问题编号": 15, "镇街": 10, "学校/单位": 18, "问题描述": 48, "对应指标": 30,
          "发现时间": 12, "整改措施": 36, "牵头单位": 16, "责任单位": 20, "责任人": 10,
          "包保领导": 12, "完成时限": 12, "整改状态": 10, "销号时间": 12, "红黄绿灯": 8}
DATE_COLUMNS = {"发现时间", "完成时限", "销号时间"}
WRAPPED = {"问题描述", "整改措施", "对应指标", "责任单位"}
# The light's cell, by the label the ledger row carries: fill, and text that reads on it.
LIGHT_CELLS = {Light.RED.label: ("FFC62828", "FFFFFFFF"), Light.YELLOW.label: ("FFF9A825", "FF000000"),
               Light.GREEN.label: ("FF2E7D32", "FFFFFFFF")}
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def workbook(sheets: Iterable[tuple[str, list[dict]]], title: str) -> bytes:
    """An .xlsx of (sheet name, ledger rows) pairs; `title` heads every sheet."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    for name, rows in sheets:
        sheet = book.create_sheet(_sheet_name(name, used))
        _write_sheet(sheet, rows, f"{title}（{name}）")
    if not used:
        _write_sheet(book.create_sheet("台账"), [], title)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = BAD_SHEET_CHARS.sub("_", name).strip("'")[:28] or "台账"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}{n}", n + 1
    used.add(candidate)
    return candidate


def _write_sheet(sheet, rows: list[dict], title: str) -> None:
    for i, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = WIDTHS[column]
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{len(rows) + 2}"
    heading = WriteOnlyCell(sheet, title)
    heading.font = Font(bold=True, size=14)
    sheet.append([heading])
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, column)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFDDE6F0")
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header.append(cell)
    sheet.append(header)
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
    def workbook(self, sheets: Iterable[tuple[str, list[dict]]], title: str) -> bytes:
        return workbook(sheets, title)

    def csv(self, rows: list[dict], title: str | None = None) -> bytes:
        return csv_bytes(rows, title)
