"""A 学年 judged against the standard (#14): each school's (and 学段's) R1–R7 and the per-school
rule, the inter-school CV of each indicator per 学段, and the government items the figures
decide (class size, school size, music and art rooms per 12 classes and their areas); each
failure a shortfall keyed by (subject, indicator) with its gap said in plain numbers.

Pure: rows of figures in (domain/school_year.py), results out. The thresholds are the data
file's (domain/standard.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from domain.school_figures import BY_NAME, RESOURCE_FIGURES, resource_values
from domain.standard import (
    CV_RULES,
    LEVEL_LABELS,
    LEVELS,
    RESOURCES,
    Table,
    cv,
    plain_number,
    rules,
    school_verdict,
)

COUNTY = "county"     # the subject of a county-wide shortfall (a CV)


@dataclass(frozen=True)
class Shortfall:
    """One failing indicator of one subject (a school, or the county for a CV)."""

    subject: str          # a school's code, or COUNTY
    part: str             # 学段
    indicator: str
    value: float
    threshold: float
    gap: str              # in plain words and numbers
    need: float | None = None    # what it would take: this much (in `unit`) of `needed`
    unit: str = ""
    needed: str = ""             # such as 教学及辅助用房面积


@dataclass(frozen=True)
class Evaluation:
    schools: dict[tuple[str, str], dict]       # (school, 学段) -> R1–R7 and the school rule
    cvs: dict[tuple[str, str], float | None]   # (学段, indicator) -> CV
    shortfalls: list[Shortfall]

    @property
    def resource_passes(self) -> bool:
        """资源配置: every school passes the per-school rule and every CV is within its limit."""
        return all(s["verdict"].passes for s in self.schools.values()) and not any(
            f.subject == COUNTY for f in self.shortfalls)


def _resource_shortfall(table: Table, code: str, part: str, indicator: str,
                        values: Mapping[str, float], value: float) -> Shortfall:
    """A school's R1–R7 shortfall with what it would take:
    "生均教学及辅助用房 3.9㎡，标准 4.5㎡，差 0.6㎡ × 1,234 人 ≈ 740㎡"."""
    rule, figure = table[indicator], BY_NAME[RESOURCE_FIGURES[indicator]]
    limit, pupils = rule.threshold(part), values["enrolment"]
    per100 = rule.per == "per-100-students"
    short = (limit - value) * pupils / (100 if per100 else 1)
    unit = figure.unit
    # teachers and rooms come whole: 3.3 short is 4 to add
    need = math.ceil(short - 1e-9) if figure.whole else short
    about = plain_number(short, 0 if short >= 10 else 1)
    gap = (f"{rule.name_zh} {plain_number(value)}{unit}，标准 {plain_number(limit)}{unit}，"
           f"差 {plain_number(limit - value)}{unit}"
           + (f" × {pupils / 100:,.2f} 百人" if per100 else f" × {pupils:,.0f} 人")
           + f" ≈ {about}{unit}"
           + (f"（即 {need:,} {unit}）" if figure.whole and about != f"{need:,}" else ""))
    return Shortfall(code, part, indicator, value, limit, gap, need, figure.unit, figure.label)


def _government(table: Table, code: str, part: str,
                values: Mapping[str, float]) -> list[Shortfall]:
    found = []

    def short(indicator: str, value: float, limit: float, gap: str, need: float | None = None,
              unit: str = "", needed: str = "") -> None:
        found.append(Shortfall(code, part, indicator, value, limit, gap, need, unit, needed))

    size = table["gov_class_size"].threshold(part)
    if values["largest_class"] > size or values["classes_over_limit"]:
        short("gov_class_size", values["largest_class"], size,
              f"{values['classes_over_limit']:.0f} 个班超过 {size:.0f} 人，最大班额 "
              f"{values['largest_class']:.0f} 人", max(values["classes_over_limit"], 1), "个",
              "超过班额的班级（需分班或分流）")
    per12 = values["classes"] / 12
    lacking = [(kind, values[rooms]) for rooms, kind in (("music_rooms", "音乐"), ("art_rooms", "美术"))
               if values[rooms] < per12]
    if lacking:     # one shortfall for the item (G3a), naming each kind of room short
        both = len(lacking) > 1
        have = ("、".join(f"{k} {n:.0f} 间" for k, n in lacking) if both
                else f" {lacking[0][1]:.0f} 间")
        short("gov_music_art_rooms", min(n for _, n in lacking), per12,
              f"{values['classes']:.0f} 个班应有{'、'.join(k for k, _ in lacking)}专用教室"
              f"{'各' if both else ''}至少 {math.ceil(per12)} 间，现有{have}",
              sum(math.ceil(per12) - n for _, n in lacking), "间", "音乐、美术专用教室")
    for rooms, area, kind in (("music_rooms", "gov_music_room_area", "音乐"),
                              ("art_rooms", "gov_art_room_area", "美术")):
        smallest, limit = values[f"{rooms[:-6]}_room_area"], table[area].threshold(part)
        if values[rooms] and smallest < limit:
            short(area, smallest, limit,
                  f"{kind}教室最小一间 {plain_number(smallest)}㎡，标准 {plain_number(limit)}㎡")
    return found


def evaluate(rows: Mapping[tuple[str, str], Mapping[str, float]], levels: Mapping[str, str],
             *, weighted: bool = True, table: Table | None = None) -> Evaluation:
    """Judge a year's rows ((school, 学段) -> figures) by `table` (the data file's rules
    unless the county's corrected ones are given); `levels` gives each school's level (a
    nine-year school's size is judged on its two rows together)."""
    table = table or rules()
    schools, shortfalls = {}, []
    for (code, part), values in sorted(rows.items()):
        resources = resource_values(values)
        if resources is None:
            continue
        verdict = school_verdict(resources, part, table)
        schools[(code, part)] = {"values": resources, "verdict": verdict,
                                 "enrolment": values["enrolment"]}
        shortfalls += [_resource_shortfall(table, code, part, indicator, values,
                                           resources[indicator]) for indicator in verdict.missed]
        shortfalls += _government(table, code, part, values)
    shortfalls += _school_sizes(table, rows, levels)
    cvs = {}
    for part in LEVELS:
        limit = table[CV_RULES[part]].threshold(part)
        mine = [s for (code, p), s in schools.items() if p == part]
        for indicator in RESOURCES:
            value = cv([(s["enrolment"], s["values"][indicator]) for s in mine],
                       weighted=weighted) if len(mine) > 1 else None
            cvs[(part, indicator)] = value
            if value is not None and not table[CV_RULES[part]].meets(value, part):
                shortfalls.append(Shortfall(
                    COUNTY, part, f"{CV_RULES[part]}:{indicator}", value, limit,
                    f"{LEVEL_LABELS[part]}{table[indicator].name_zh}校际差异系数 {value:.3f}，"
                    f"应不大于 {limit:.2f}"))
    return Evaluation(schools, cvs, shortfalls)


def _school_sizes(table: Table, rows, levels) -> list[Shortfall]:
    """School size: a school's pupils (a nine-year school's two parts together)."""
    pupils = {}
    for (code, _), values in rows.items():
        pupils[code] = pupils.get(code, 0) + values["enrolment"]
    found = []
    for code, total in sorted(pupils.items()):
        rule = table["gov_school_size_through_school" if levels[code] == "nine_year"
                     else "gov_school_size"]
        limit = rule.threshold("primary")
        if not rule.meets(total, "primary"):
            found.append(Shortfall(code, "all", rule.id, total, limit,
                                   f"在校生 {total:,.0f} 人，超过 {limit:,.0f} 人"))
    return found
