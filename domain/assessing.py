"""Judging a 学年 and keeping one ticket per shortfall (#14).

Every change that can move the verdict (an import, a school's own entry, a checklist mark, a
corrected rule or an overlay) judges the year again under the rules in force and records a
`Judged` event with the verdict as given then. Each shortfall, keyed by (学年, subject, 学段,
indicator), holds the number of its ticket: an open ticket for the same school and indicator is
adopted (the read side names candidates; each is checked here), otherwise the system opens one
with source 自查自评. A shortfall the figures now meet records a rectification by the system on
its ticket, which an inspector then re-inspects; nothing is ever closed by itself. All of it is
saved at once: the year, the rule book, the new tickets, the counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.actor import SYSTEM_ACTOR
from domain.checklist import (
    ITEMS,
    checklist_shortfalls,
    clean_entry,
    entry_words,
    require_item,
    verdict,
)
from domain.clock import beijing
from domain.errors import UnknownReferenceError
from domain.evaluation import COUNTY, Evaluation, Shortfall, evaluate
from domain.periods import YEARS
from domain.rule_book import RuleBook, require_correction, require_overlay, rule_book_id
from domain.school_year import (
    Candidates,
    SchoolYearFigures,
    figures_id,
    parse_school_year,
    year_label,
)
from domain.standard import CV_RULES, LEVEL_LABELS, RESOURCES, Table, overlays, rules
from domain.ticketing import Numbers
from domain.values import State

# The ticket category of each indicator a shortfall names (the CVs take their resource's).
CATEGORIES = {
    "res_teachers_above_required_qual": "teachers", "res_backbone_teachers": "teachers",
    "res_pe_art_teachers": "teachers", "res_teaching_aux_area": "buildings",
    "res_sports_area": "sports", "res_equipment_value": "equipment",
    "res_multimedia_classrooms": "equipment", "gov_music_art_rooms": "special_rooms",
    "gov_music_room_area": "special_rooms", "gov_art_room_area": "special_rooms",
    "gov_school_size": "scale", "gov_school_size_through_school": "scale",
    "gov_class_size": "class_size", "gov_school_layout": "organisation",
    "gov_unified_standards": "buildings", "gov_small_school_funding": "funding",
    "gov_special_ed_funding": "funding", "gov_teacher_salary": "funding",
    "qual_teacher_training_funds": "funding", "qual_it_teaching": "equipment",
}
GROUP_CATEGORIES = {"prerequisite": "organisation", "government": "teachers",
                    "quality": "management", "recognition": "management", "veto": "management"}
# A ticket adopted or held is "open" while it is not 销号 or 撤销.
FINISHED = (State.CLOSED, State.CANCELLED)


def shortfall_key(f: Shortfall) -> str:
    return f"{f.subject}|{f.part}|{f.indicator}"


@dataclass(frozen=True)
class _Batch:
    """What one save judges: the years (by 学年) and the tickets opened so far (by number),
    so a later year adopts the ticket an earlier one has just opened."""

    years: dict[int, SchoolYearFigures]
    opened: dict[str, object]


@dataclass(frozen=True)
class Judgement:
    """A 学年 judged now: the evaluation, the verdict, every shortfall by key."""

    year: int
    evaluation: Evaluation
    verdict: object
    shortfalls: dict[str, Shortfall]
    table: Table


class AssessmentCommands:
    """Mixed into XiaohaoApp (with FiguresCommands and TicketCommands)."""

    cv_weighted: bool = True

    # -- commands ------------------------------------------------------------------------

    def mark_item(self, by: str, year: str | int, item_id: str, *, mark: str | None = None,
                  value: float | str | None = None, evidence: str = "", note: str = "",
                  candidates: Candidates | None = None) -> None:
        """The office marks what the figures cannot decide (or gives a valued item's
        number); the year is judged again."""
        actor = self._require_office(by, "评估达标项目")
        item = require_item(item_id)
        entry = clean_entry(item, mark, value, evidence, note)
        figures = self._figures_of(parse_school_year(year))
        figures.marked(item=item.id, entry=entry, by=actor.stamp(), timestamp=self.now())
        self._judge_and_save([figures], "mark",
                             f"评估项目：{item.label}（{entry_words(item, entry)}）", candidates)

    def correct_rule(self, by: str, indicator: str, level: str, value: float | str, *,
                     reason: str, source: str, candidates: Candidates | None = None) -> list[int]:
        """Correct a threshold (an event with the reason and the source); every year with
        figures is judged again under it. Returns those years."""
        actor = self._require_office(by, "更正评估标准")
        indicator, level, value, reason, source = require_correction(
            indicator, level, value, reason, source)
        book = self._rule_book()
        previous = book.table()[indicator].threshold(level)   # None: the 学段 had none
        book.corrected(indicator=indicator, level=level, value=value, previous=previous,
                       reason=reason, source=source, by=actor.stamp(), timestamp=self.now())
        name = rules()[indicator].name_zh
        return self._judge_all(book, f"更正标准：{name} 改为 {value:g}", candidates)

    def set_overlay(self, by: str, name: str, on: bool, *, reason: str,
                    candidates: Candidates | None = None) -> list[int]:
        """Turn a provincial overlay on or off; every year with figures is judged again."""
        actor = self._require_office(by, "启用或停用地方标准")
        book = self._rule_book()
        name, reason = require_overlay(name, reason)
        if (name in book.overlays) == bool(on):
            return []
        book.overlay_set(name=name, on=bool(on), reason=reason, by=actor.stamp(),
                         timestamp=self.now())
        label = overlays()[name]["label"]
        return self._judge_all(book, f"{'启用' if on else '停用'}{label}", candidates)

    # -- reading -------------------------------------------------------------------------

    def rule_book(self) -> RuleBook:
        """The county's rule book (a private copy)."""
        return self._rule_book()

    def judgement(self, year: str | int) -> tuple[Judgement, SchoolYearFigures]:
        """A 学年 judged under the rules in force now, and its figures (with the shortfalls'
        tickets, the checklist and every judgement recorded)."""
        figures = self._figures_of(parse_school_year(year))
        return self._judge(figures, self._rule_book().table(figures.year)), figures

    # -- the work ------------------------------------------------------------------------

    def _rule_book(self) -> RuleBook:
        try:
            return self._get(rule_book_id(self.county_code), "")
        except UnknownReferenceError:
            return RuleBook(county_code=self.county_code, timestamp=self.now())

    def _judge(self, figures: SchoolYearFigures, table: Table) -> Judgement:
        levels = {code: u["level"] for code, u in self.directory().units.items()
                  if u["kind"] == "school"}
        rows = {}
        for key, values in figures.rows.items():
            school, part = key.split("|")
            if school in levels:
                rows[(school, part)] = values
        judged = evaluate(rows, levels, weighted=self.cv_weighted, table=table)
        found = judged.shortfalls + checklist_shortfalls(figures.checklist, table)
        return Judgement(figures.year, judged, verdict(judged, figures.checklist, table),
                         {shortfall_key(f): f for f in found}, table)

    def _judge_all(self, book: RuleBook, cause: str, candidates: Candidates | None) -> list[int]:
        years = [figures for figures in map(self._figures_or_none, YEARS)
                 if figures is not None]
        self._judge_and_save(years, "rule", cause, candidates, also=(book,))
        return [f.year for f in years]

    def _figures_or_none(self, year: int) -> SchoolYearFigures | None:
        try:
            return self._get(figures_id(self.county_code, year), "")
        except UnknownReferenceError:
            return None

    def _judge_and_save(self, years: list[SchoolYearFigures], kind: str, cause: str,
                        candidates: Candidates | None, also: tuple = ()) -> None:
        """Judge each year under the rules in force (the rule book in `also` when it has just
        changed), record it, and save everything at once: holding the numbering lock, since
        new tickets take numbers."""
        book = next((a for a in also if isinstance(a, RuleBook)), None) or self._rule_book()
        now = self.now()
        with self._numbering:
            numbers = Numbers(self._counter)
            changed: list = []
            batch = _Batch({f.year: f for f in years}, {})
            for figures in sorted(years, key=lambda f: f.year):   # last year's first
                judged = self._judge(figures, book.table(figures.year))
                changed += self._ticketed(figures, judged, book, kind, cause, candidates or {},
                                          numbers, now, batch)
            self._save(*also, *years, *numbers.recorded(now), *changed)

    def _ticketed(self, figures: SchoolYearFigures, judged: Judgement, book: RuleBook,
                  kind: str, cause: str, candidates: Candidates, numbers: Numbers,
                  now: datetime, batch: _Batch) -> list:
        """The tickets a judgement opens, adopts or rectifies (recorded on the year)."""
        directory, today = self.directory(), self.today()
        held = set(figures.shortfalls.values())
        previous = batch.years.get(figures.year - 1) or self._figures_or_none(figures.year - 1)
        last_year = previous.shortfalls if previous is not None else {}
        was_failing = set(figures.judgements[-1]["failing"]) if figures.judgements else set()
        opened, adopted, touched = {}, {}, []
        for key, shortfall in judged.shortfalls.items():
            if key in figures.shortfalls and not (
                    key not in was_failing and self._finished(figures.shortfalls[key], batch)):
                continue     # held; unless it came back and its ticket is 销号 or 撤销
            number = self._adoptable(key, shortfall, last_year, candidates, held, batch)
            if number is not None:
                adopted[key] = number
                held.add(number)
                continue
            ticket = self._numbered(numbers, beijing(now).year, self._finding(
                SYSTEM_ACTOR, directory, **self._ticket_fields(figures, judged, shortfall,
                                                             directory, cause, today), at=now))
            opened[key] = ticket.number
            batch.opened[ticket.number] = ticket
            touched.append(ticket)
        met = []
        for key, number in figures.shortfalls.items():
            if key in judged.shortfalls:
                continue
            ticket = self._ticket(number)
            if ticket.met_by_figures(SYSTEM_ACTOR.stamp(), at=now,
                                     measures=f"{year_label(figures.year)}{cause}：此项已达标准"
                                              f"（{_met_words(key, judged)}），请复查"):
                met.append(key)
                touched.append(ticket)
        figures.judged(kind=kind, cause=cause, verdict=judged.verdict.as_dict(), rules=book.in_force(),
                       failing=sorted(judged.shortfalls), opened=opened, adopted=adopted,
                       met=met, timestamp=now)
        return touched

    def _finished(self, number: str, batch: _Batch) -> bool:
        """Whether a held ticket is 销号 or 撤销, so a shortfall that comes back needs a ticket
        of its own (one 待复查 stays: its re-inspection will find the figures short)."""
        ticket = batch.opened.get(number) or self._ticket(number)
        return ticket.state in FINISHED

    def _adoptable(self, key: str, shortfall: Shortfall, last_year: Mapping[str, str],
                   candidates: Candidates, held: set[str], batch: _Batch) -> str | None:
        """An open ticket for the same subject and indicator: last year's for this shortfall
        (opened in this same batch, perhaps), or one the read side names (a ledger item
        opened by hand). Each is checked here."""
        named = [last_year[key]] if key in last_year else []
        subject = self._subject_unit(shortfall)
        named += candidates.get((subject, _ticket_indicator(shortfall)), ())
        for number in named:
            if number in held:
                continue
            try:
                ticket = batch.opened.get(number) or self._ticket(number)
            except UnknownReferenceError:
                continue
            if ticket.state not in FINISHED and ticket.unit_id == subject \
                    and ticket.indicator_id == _ticket_indicator(shortfall):
                return number
        return None

    def _subject_unit(self, shortfall: Shortfall) -> str:
        return self._county_unit() if shortfall.subject == COUNTY else shortfall.subject

    def _county_unit(self) -> str:
        return self.county_code      # the directory's root unit (start_directory)

    def _ticket_fields(self, figures: SchoolYearFigures, judged: Judgement, f: Shortfall,
                       directory, cause: str, today) -> dict:
        unit = self._subject_unit(f)
        title, category, severity = _describe(f, judged, directory)
        return dict(title=title, description=f"{year_label(figures.year)}自查自评（{cause}）：{f.gap}",
                    unit_id=unit, category=category, indicator_id=_ticket_indicator(f),
                    severity=severity, source="self_assessment", deadline=None,
                    leader_ids=directory.leaders_on(unit, today), evidence=[])


def _ticket_indicator(f: Shortfall) -> str | None:
    """The indicator a shortfall's ticket names (a CV its rule; a veto or prerequisite none)."""
    indicator = f.indicator.split(":")[0]
    return indicator if indicator in rules() else None


def _describe(f: Shortfall, judged: Judgement, directory) -> tuple[str, str, str]:
    """A shortfall's ticket title, category and severity."""
    table = judged.table
    if f.subject == COUNTY and ":" in f.indicator:
        resource = f.indicator.split(":")[1]
        return (f"全县{LEVEL_LABELS[f.part]}{table[resource].name_zh}校际差异系数超过"
                f"{table[CV_RULES[f.part]].threshold(f.part):g}", CATEGORIES[resource], "serious")
    if f.subject == COUNTY:
        item = ITEMS[f.indicator]
        category = CATEGORIES.get(item.id, GROUP_CATEGORIES[item.group])
        if item.group == "veto":
            return f"存在否决情形：{item.label}", category, "grave"
        county = "" if item.label.startswith("全县") else "全县"
        return f"{county}{item.label}未达标", category, "grave" if item.group == "prerequisite" \
            else "serious"
    school = directory.units[f.subject]["name"]
    part = f"（{LEVEL_LABELS[f.part]}）" if f.part in LEVEL_LABELS and \
        directory.units[f.subject]["level"] == "nine_year" else ""
    passes = judged.evaluation.schools.get((f.subject, f.part))
    severity = "serious" if passes is not None and not passes["verdict"].passes else "normal"
    if f.indicator in ("gov_school_size", "gov_school_size_through_school", "gov_class_size"):
        severity = "serious"
    return f"{school}{part}{table[f.indicator].name_zh}未达标", CATEGORIES[f.indicator], severity


def _met_words(key: str, judged: Judgement) -> str:
    """What the figures now say of a shortfall they meet."""
    subject, part, indicator = key.split("|")
    values = judged.evaluation.schools.get((subject, part))
    if values and indicator in RESOURCES:
        rule = judged.table[indicator]
        return (f"{rule.name_zh} {values['values'][indicator]:.2f}，标准 "
                f"{rule.threshold(part):g}")
    if subject == COUNTY and ":" in indicator:
        value = judged.evaluation.cvs.get((part, indicator.split(":")[1]))
        return f"差异系数 {value:.3f}" if value is not None else "差异系数不再计算"
    return "数据已达标" if subject != COUNTY else "评估项目已标记为达标"
