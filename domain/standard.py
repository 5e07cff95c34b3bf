"""The standard's arithmetic (教督〔2017〕6号, #14): each indicator's threshold for a 学段, whether a
value meets it, the per-school rule (at least 6 of the 7 resource indicators met, the seventh at
least 85% of its threshold), and the inter-school coefficient of variation (差异系数), weighted by
enrolment as the Ministry's methodology does, or plain where a county's setting asks for it.

The thresholds, comparators and the rule's figures are read from the data files beside this one
(`indicators.yaml`, `rules.yaml`: copied from the reference, each value with its source and how
far it is confirmed); nothing here restates a number of the standard.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data"
LEVELS = ("primary", "junior")           # 学段: 小学, 初中
LEVEL_LABELS = {"primary": "小学", "junior": "初中"}
# The seven resource indicators (R1–R7), in the standard's order.
RESOURCES = ("res_teachers_above_required_qual", "res_backbone_teachers", "res_pe_art_teachers",
             "res_teaching_aux_area", "res_sports_area", "res_equipment_value",
             "res_multimedia_classrooms")
SCHOOL_RULE = "res_school_compliance_rule"
CV_RULES = {"primary": "res_cv_primary", "junior": "res_cv_junior"}
# Each unit of the data file as a report writes it after a number ("" for a mark or a ratio
# said on its own).
UNITS_ZH = {"%": "%", "CNY per student": "元/生", "CNY per student per year": "元",
            "attainment level (I-IV)": "级", "boolean": "", "coefficient": "",
            "count of indicators met (out of 7)": "项", "m2 per room": "㎡/间",
            "m2 per student": "㎡/生", "ratio (teacher avg pay / civil-servant avg pay)": "倍",
            "rooms of each type per 12 classes": "间/12个班", "rooms per 100 students": "间/百生",
            "students": "人", "students (funding basis)": "人", "students per class": "人/班",
            "teachers per 100 students": "人/百生"}


@dataclass(frozen=True)
class Rule:
    """One indicator of the standard as the data file gives it."""

    id: str
    seq: str
    category: str          # resource, government, quality, recognition
    name_zh: str
    comparator: str        # ge, le, eq
    unit: str              # as the data file says it ("boolean" for an item judged by a mark)
    thresholds: Mapping[str, float]     # by 学段; "county" for a county-wide item
    strict: bool
    per: str
    confidence: str
    unconfirmed: bool
    source: str
    extra: Mapping[str, float]          # such as min_ratio_for_rest

    def threshold(self, level: str) -> float:
        return self.thresholds.get(level, self.thresholds.get("all"))

    def meets(self, value: float, level: str) -> bool:
        """Whether `value` meets this rule for a school of `level`."""
        limit = self.threshold(level)
        if self.comparator == "ge":
            return value > limit if self.strict else value >= limit
        if self.comparator == "le":
            return value < limit if self.strict else value <= limit
        return value == limit


def _rule(row: dict) -> Rule:
    threshold = row["threshold"]
    thresholds = dict(threshold) if isinstance(threshold, dict) else {"all": threshold}
    return Rule(row["id"], str(row["seq"]), row["category"], row["name_zh"], row["comparator"],
                row["unit"],
                {k: float(v) for k, v in thresholds.items()}, bool(row.get("strict", False)),
                row["per"], row.get("confidence", "low"), bool(row.get("unconfirmed", False)),
                row.get("source", ""),
                {k: float(v) for k, v in row.items() if k == "min_ratio_for_rest"})


@cache
def rules() -> dict[str, Rule]:
    """Every indicator of the standard by id, in its order."""
    rows = yaml.safe_load((DATA / "indicators.yaml").read_text(encoding="utf-8"))
    return {row["id"]: _rule(row) for row in rows}


Table = Mapping[str, Rule]     # every indicator by id, as a county judges by it now


def corrected(table: Table, corrections: Iterable[tuple[str, str, float]]) -> dict[str, Rule]:
    """The table with each (indicator, 学段 or "all", value) applied in turn, later over
    earlier: a value the office corrected, or an overlay's (domain/rule_book.py)."""
    table = dict(table)
    for indicator, level, value in corrections:
        rule = table[indicator]
        thresholds = ({"all": value} if level == "all"
                      else {**_by_level(rule.thresholds), level: value})
        table[indicator] = replace(rule, thresholds=thresholds)
    return table


def _by_level(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Thresholds spelt per 学段 (so one 学段's can change alone)."""
    if "all" in thresholds:
        return {level: thresholds["all"] for level in LEVELS} | {"county": thresholds["all"]}
    return dict(thresholds)


@cache
def overlays() -> dict[str, dict]:
    """Provincial values stricter than the national ones (overlays.yaml), by name: each with
    its label and its values (indicator, 学段 or "all", value, source)."""
    return yaml.safe_load((DATA / "overlays.yaml").read_text(encoding="utf-8"))


@cache
def county_rules() -> dict:
    """Prerequisites, pass logic, vetoes and scope notes (rules.yaml), as the file has them."""
    return yaml.safe_load((DATA / "rules.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SchoolVerdict:
    """A school's resource indicators against the per-school rule."""

    met: tuple[str, ...]           # indicators met
    missed: tuple[str, ...]        # indicators not met
    passes: bool                   # the per-school rule holds
    reasons: tuple[str, ...]       # why not, in Chinese


def school_verdict(values: Mapping[str, float], level: str,
                   table: Table | None = None) -> SchoolVerdict:
    """R1–R7 of one school (or one 学段 of a nine-year school) against the per-school rule:
    at least `threshold` (6) of the 7 met, and each one missed at least `min_ratio_for_rest`
    (85%) of its threshold."""
    table = table or rules()
    rule = table[SCHOOL_RULE]
    needed, floor = int(rule.threshold(level)), rule.extra["min_ratio_for_rest"]
    met = tuple(i for i in RESOURCES if table[i].meets(values[i], level))
    missed = tuple(i for i in RESOURCES if i not in met)
    reasons = []
    if len(met) < needed:
        reasons.append(f"7项指标仅达到{len(met)}项，至少应达到{needed}项")
    for i in missed:
        limit = table[i].threshold(level)
        if values[i] < floor * limit:
            reasons.append(f"{table[i].seq} {table[i].name_zh} {plain_number(values[i])}，"
                           f"低于标准 {plain_number(limit)} 的{floor:.0%}（{plain_number(floor * limit)}）")
    return SchoolVerdict(met, missed, not reasons, tuple(reasons))


def plain_number(value: float, digits: int = 2) -> str:
    """A figure as a report writes it: thousands separated, no trailing zeros."""
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def weighted_cv(schools: Sequence[tuple[float, float]]) -> float | None:
    """The enrolment-weighted coefficient of variation of (enrolment, value) pairs: with
    P = Σ Pᵢ, X̄ = Σ (Pᵢ/P)·Xᵢ and S = √(Σ (Pᵢ/P)·(Xᵢ − X̄)²), CV = S / X̄. None when it cannot
    be computed (no pupils, or a mean of zero)."""
    total = sum(p for p, _ in schools)
    if total <= 0:
        return None
    mean = sum(p * x for p, x in schools) / total
    if mean == 0:
        return None
    spread = sum(p * (x - mean) ** 2 for p, x in schools) / total
    return math.sqrt(spread) / mean


def plain_cv(values: Iterable[float]) -> float | None:
    """The unweighted coefficient of variation (population standard deviation over the mean)."""
    values = list(values)
    return weighted_cv([(1.0, v) for v in values]) if values else None


def cv(schools: Sequence[tuple[float, float]], *, weighted: bool = True) -> float | None:
    """The county's CV for one indicator and 学段, weighted by enrolment unless the county's
    setting says otherwise (the weighting is confirmed for the 2012 methodology only)."""
    return weighted_cv(schools) if weighted else plain_cv(x for _, x in schools)
