"""A school year's figures (#14), one aggregate per 学年: each school's row per 学段 as last
imported from a workbook (by the office: who, when, the file's sha256 and name) or entered in a
school's own form. Every accepted import or entry is an event, so each year's figures keep their
history; a workbook with any bad row records nothing and says every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInputError, NotPermittedError, UnknownReferenceError
from domain.periods import YEARS
from domain.school_figures import BY_NAME, check_row
from domain.standard import LEVEL_LABELS

FIGURES_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/school-year-figures")
YEAR = re.compile(r"^\s*(\d{4})(?:\s*[-—–至]\s*(\d{4}))?\s*(?:学年)?\s*$")
SHOWN = 20      # problems a refusal's message names; the rest are counted (all are listed)
# Open tickets a shortfall may adopt, as the read side names them: (unit, indicator) -> numbers
# (domain/assessing.py checks each).
Candidates = Mapping[tuple[str, str], Sequence[str]]


def figures_id(county_code: str, year: int) -> UUID:
    return uuid5(FIGURES_NAMESPACE, f"{county_code}:{year}")


def parse_school_year(text: str | int) -> int:
    """A 学年 as the year it begins: 2019, "2019-2020", "2019—2020学年"; anything else is a
    Chinese error."""
    m = YEAR.match(str(text))
    if not m or (m.group(2) and int(m.group(2)) != int(m.group(1)) + 1) \
            or int(m.group(1)) not in YEARS:
        raise InvalidInputError(f"学年应写作 2019-2020（{YEARS.start}—{YEARS.stop - 2} 年之间）")
    return int(m.group(1))


def year_label(year: int) -> str:
    return f"{year}-{year + 1}学年"


@dataclass(frozen=True)
class Row:
    """One school's figures for one 学段, and where they came from (for saying what is wrong:
    a sheet and row, and each figure's column)."""

    school: str
    part: str
    values: Mapping[str, float | None]
    where: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)   # figure -> what the cell held

    @property
    def key(self) -> str:
        return f"{self.school}|{self.part}"

    @property
    def blank(self) -> bool:
        """Nothing filled in: a school that has not reported yet (left out, not refused)."""
        return not self.unreadable and all(v is None for v in self.values.values())


class FiguresRefused(InvalidInputError):
    """A workbook or form with problems: nothing was recorded; `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        shown = "；".join(problems[:SHOWN]) + (f"；另有 {len(problems) - SHOWN} 处"
                                              if len(problems) > SHOWN else "")
        super().__init__(f"数据未导入，共 {len(problems)} 处问题：{shown}")
        self.problems = problems


class SchoolYearFigures(Aggregate):
    """The figures of one 学年: rows by "school|学段"."""

    @staticmethod
    def create_id(county_code: str, year: int) -> UUID:
        return figures_id(county_code, year)

    @event("Started")
    def __init__(self, county_code: str, year: int, timestamp: datetime) -> None:
        self.county_code, self.year = county_code, year
        self.rows: dict[str, dict] = {}
        self.imports: list[str] = []       # sha256 of each workbook taken, oldest first
        self.history: list[dict] = []      # each import and entry: when, who, what
        self.checklist: dict[str, dict] = {}      # item -> its mark (domain/checklist.py)
        self.shortfalls: dict[str, str] = {}      # "subject|学段|indicator" -> ticket number
        self.judgements: list[dict] = []          # each verdict as it was given, oldest first

    @event("Imported")
    def imported(self, rows: list[dict], file_sha256: str, file_name: str, by: dict,
                 timestamp: datetime) -> None:
        """A workbook taken (`file_sha256`: the workbook's, not an evidence file's)."""
        for row in rows:
            self.rows[f"{row['school']}|{row['part']}"] = row["values"]
        self.imports.append(file_sha256)
        self.history.append({"at": timestamp.isoformat(), "by": by["name"], "rows": len(rows),
                             "file_name": file_name, "file_sha256": file_sha256})

    @event("Entered")
    def entered(self, school: str, part: str, values: dict, by: dict,
                timestamp: datetime) -> None:
        self.rows[f"{school}|{part}"] = values
        self.history.append({"at": timestamp.isoformat(), "by": by["name"], "rows": 1,
                             "school": school, "part": part})

    @event("Marked")
    def marked(self, item: str, entry: dict, by: dict, timestamp: datetime) -> None:
        self.checklist[item] = {**entry, "by": by["name"], "at": timestamp.isoformat()}

    @event("Judged")
    def judged(self, kind: str, cause: str, verdict: dict, rules: dict, failing: list[str],
               opened: dict[str, str], adopted: dict[str, str], met: list[str],
               timestamp: datetime) -> None:
        """The year judged (domain/assessing.py) after an import, an entry, a mark or a rule
        change (`kind`): the verdict as given now, under which rules, the shortfalls' keys,
        and the tickets opened, adopted and found met."""
        self.shortfalls.update(opened)
        self.shortfalls.update(adopted)
        self.judgements.append({"at": timestamp.isoformat(), "kind": kind, "cause": cause,
                                "verdict": verdict,
                                "rules": rules, "failing": failing, "opened": len(opened),
                                "adopted": len(adopted), "met": len(met)})


class FiguresCommands:
    """Mixed into XiaohaoApp (which provides `_get`, `save`, `_require_office`, `_account`,
    `directory`, `now` and `county_code`)."""

    def import_figures(self, by: str, year: str | int, rows: Sequence[Row], *, sha256: str,
                       file_name: str, candidates: Candidates | None = None) -> bool:
        """Take a workbook's rows for a 学年 (the office): all of them (a row left wholly
        blank is a school yet to report: left out), or, with any problem, none
        (FiguresRefused), and judge the year (domain/assessing.py; `candidates` names
        open tickets a shortfall may adopt). The same workbook again records nothing: False."""
        actor = self._require_office(by, "导入学校数据")
        figures = self._figures_of(parse_school_year(year))
        rows = [row for row in rows if not row.blank]
        problems = self._problems(rows)
        if problems:
            raise FiguresRefused(problems)
        if not rows:
            raise FiguresRefused(["工作簿中没有填写任何学校的数据"])
        taken = [{"school": r.school, "part": r.part, "values": dict(r.values)} for r in rows]
        if sha256 in figures.imports and all(
                figures.rows.get(f"{t['school']}|{t['part']}") == t["values"] for t in taken):
            return False
        file_name = file_name[:200]
        figures.imported(rows=taken, file_sha256=sha256, file_name=file_name,
                         by=actor.stamp(), timestamp=self.now())
        self._judge_and_save([figures], "import", f"导入{file_name}", candidates)
        return True

    def enter_figures(self, by: str, year: str | int, row: Row, *,
                      candidates: Candidates | None = None) -> None:
        """A school's own figures for one 学段, entered in its form (the school's account, or
        the office)."""
        account = self._account(by)
        if "office" not in account.roles and account.unit_id != row.school:
            raise NotPermittedError("只能填报本校的数据")
        problems = self._problems([row])
        if problems:
            raise FiguresRefused(problems)
        figures = self._figures_of(parse_school_year(year))
        figures.entered(school=row.school, part=row.part, values=dict(row.values),
                        by={"login": account.login, "name": account.name}, timestamp=self.now())
        name = self.directory().units[row.school]["name"]
        self._judge_and_save([figures], "entry", f"{name}填报{LEVEL_LABELS[row.part]}数据",
                             candidates)

    def school_figures(self, year: str | int) -> dict:
        """A 学年's rows by (school, 学段), and the workbooks taken."""
        figures = self._figures_of(parse_school_year(year))
        return {"year": figures.year, "label": year_label(figures.year),
                "rows": {tuple(k.split("|")): v for k, v in figures.rows.items()},
                "imports": list(figures.imports)}

    def _figures_of(self, year: int) -> SchoolYearFigures:
        key = figures_id(self.county_code, year)
        try:
            return self._get(key, "")
        except UnknownReferenceError:   # not started yet: the first import or entry starts it
            return SchoolYearFigures(county_code=self.county_code, year=year,
                                     timestamp=self.now())

    def _problems(self, rows: Sequence[Row]) -> list[str]:
        """Every problem of every row, each said with where it is."""
        units = self.directory().units
        problems, seen = [], set()
        for row in rows:
            unit = units.get(row.school)
            if unit is None or unit["kind"] != "school":
                problems.append(f"{row.where}：未知的学校代码 {str(row.school)[:30]}")
                continue
            if row.key in seen:
                problems.append(f"{row.where}：{unit['name']}的"
                                f"{LEVEL_LABELS.get(row.part, row.part)}数据重复")
                continue
            seen.add(row.key)
            for name, held in row.unreadable.items():
                problems.append(f"{_place(row, name)}：应为数字，现为“{held[:20]}”")
            for p in check_row(unit["level"], row.part, row.values):
                if p.figure not in row.unreadable:
                    problems.append(f"{_place(row, p.figure)}：{p.reason}")
        return problems


def _place(row: Row, figure: str | None) -> str:
    """Where a figure of a row is: its sheet, row and column when it came from a workbook."""
    if not figure:
        return row.where
    column = row.columns.get(figure)
    return f"{row.where}{f' {column}列' if column else ''}（{BY_NAME[figure].label}）"
