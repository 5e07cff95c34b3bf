"""School figures as an Excel workbook (#14): the template the office downloads, already listing
the directory's schools (a row per school and 学段, a nine-year school two), and reading a filled
one back into rows (domain/school_year.py `Row`), each cell said by sheet, row and column when it
is wrong. What a row must hold is checked by the domain; here only that the workbook is one, has
its sheet and columns, and has numbers where numbers go."""

from __future__ import annotations

import io
from collections.abc import Mapping
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from domain.directory import SCHOOL_PARTS
from domain.school_figures import FIGURES
from domain.school_year import FiguresRefused, Row
from domain.standard import LEVEL_LABELS

SHEET = "学校数据"
KEYS = ("学校代码", "学校名称", "学段")
HEADERS = (*KEYS, *(f"{f.label}（{f.unit}）" for f in FIGURES))
PARTS = {label: part for part, label in LEVEL_LABELS.items()}
FIRST = 3          # the title is row 1, the header row 2


def _title_and_header(sheet, title: str, header) -> None:
    """Row 1 the title, row 2 the header in bold on a shaded ground."""
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(header))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFDDE6F0")
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def template(schools: list[dict], title: str,
             filled: Mapping[tuple[str, str], Mapping] | None = None) -> bytes:
    """A workbook listing `schools` (code, name, level), a row per 学段, with the figures the
    year already holds (`filled`, by (school, 学段)) so the office corrects rather than
    retypes; the rest left blank."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    _title_and_header(sheet, title, HEADERS)
    for school in schools:
        for part in SCHOOL_PARTS[school["level"]]:
            values = (filled or {}).get((school["code"], part), {})
            sheet.append([school["code"], school["name"], LEVEL_LABELS[part],
                          *(values.get(f.name) for f in FIGURES)])
    sheet.freeze_panes = f"D{FIRST}"
    for i in range(1, len(HEADERS) + 1):
        sheet.column_dimensions[get_column_letter(i)].width = 22 if i == 2 else 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(data: bytes) -> list[Row]:
    """The rows of a filled template, a cell that is not a number kept as `unreadable` for
    the import to say with the rest; FiguresRefused for a workbook that is not one, lacks the
    sheet or a column, or names a 学段 that is not one."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError):
        raise FiguresRefused(["无法读取该文件，请上传由模板填写的 Excel 工作簿（.xlsx）"]) from None
    if SHEET not in book.sheetnames:
        raise FiguresRefused([f"工作簿中没有“{SHEET}”工作表（现有：{'、'.join(book.sheetnames)}）"])
    lines = book[SHEET].iter_rows(values_only=True)
    next(lines, None)                                 # the title
    header = [str(c).strip() if c is not None else "" for c in next(lines, ())]
    missing = [h for h in HEADERS if h not in header]
    if missing:
        raise FiguresRefused([f"{SHEET} 第2行缺少列：{'、'.join(missing)}"])
    at = {h: header.index(h) for h in HEADERS}
    rows, problems = [], []
    for number, line in enumerate(lines, start=FIRST):
        cells = list(line) + [None] * (len(header) - len(line))
        if not any(c not in (None, "") for c in cells):
            continue
        where = f"{SHEET} 第{number}行"
        part = PARTS.get(str(cells[at["学段"]] or "").strip())
        if part is None:
            problems.append(f"{where}：学段应为“小学”或“初中”")
            continue
        values, columns, unreadable = {}, {}, {}
        for figure, heading in zip(FIGURES, HEADERS[len(KEYS):], strict=True):
            columns[figure.name] = get_column_letter(at[heading] + 1)
            value = cells[at[heading]]
            if isinstance(value, str) and value.strip() == "":
                value = None
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
                unreadable[figure.name], value = str(value), None
            values[figure.name] = value
        rows.append(Row(str(cells[at["学校代码"]] or "").strip(), part, values, where, columns,
                        unreadable))
    book.close()
    if problems:
        raise FiguresRefused(problems)
    return rows


def report(title: str, sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """The 自评报告 as a workbook: each (sheet name, header, rows) a sheet with the title on
    top, set up to print on A4 landscape, fitted to the width, the header repeated on every
    page and the page number in the footer."""
    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sheets:
        sheet = book.create_sheet(name[:31])
        _title_and_header(sheet, title if len(sheets) == 1 else f"{title}：{name}", header)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:     # typed text stays text: "=…" runs nothing
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        for i, heading in enumerate(header, start=1):
            widest = max([len(str(heading))] + [len(str(r[i - 1])) for r in rows[:200]
                                                if i <= len(r)])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, widest * 1.6))
        sheet.freeze_panes = "A3"
        sheet.print_title_rows = "2:2"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class FiguresWorkbooks:
    """What the web's FiguresWorkbooks asks for."""

    def report(self, title: str, sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
        return report(title, sheets)

    def template(self, schools: list[dict], title: str,
                 filled: Mapping[tuple[str, str], Mapping] | None = None) -> bytes:
        return template(schools, title, filled)

    def read(self, data: bytes) -> list[Row]:
        return read(data)
