"""The rules a county judges by (#14): the data file's thresholds, a provincial overlay the
office has turned on (overlays.yaml), and the values the office has corrected, each an event with
who, when, why and on what source. One aggregate per county; the table it gives is what every
evaluation uses, and each judgement records the corrections it was made under.
"""

from __future__ import annotations

import math
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.checklist import UPPER_BOUNDS
from domain.errors import InvalidInputError, UnknownReferenceError
from domain.standard import LEVEL_LABELS, RESOURCES, SCHOOL_RULE, Rule, corrected, overlays, rules

RULES_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/standard-rules")
LEVEL_CHOICES = {"all": "各学段", **LEVEL_LABELS}
TEXT_LIMIT = 500


def rule_book_id(county_code: str) -> UUID:
    return uuid5(RULES_NAMESPACE, county_code)


class RuleBook(Aggregate):
    """The corrections and overlays of one county, oldest first."""

    @staticmethod
    def create_id(county_code: str) -> UUID:
        return rule_book_id(county_code)

    @event("Started")
    def __init__(self, county_code: str, timestamp: datetime) -> None:
        self.county_code = county_code
        self.corrections: list[dict] = []
        self.overlays: list[str] = []
        self.overlay_changes: list[dict] = []    # each turned on or off: who, when, why

    @event("Corrected")
    def corrected(self, indicator: str, level: str, value: float, previous: float | None,
                  reason: str, source: str, by: dict, timestamp: datetime) -> None:
        self.corrections.append({"indicator": indicator, "level": level, "value": value,
                                 "previous": previous, "reason": reason, "source": source,
                                 "by": by, "at": timestamp.isoformat()})

    @event("OverlaySet")
    def overlay_set(self, name: str, on: bool, reason: str, by: dict,
                    timestamp: datetime) -> None:
        self.overlays = [o for o in self.overlays if o != name] + ([name] if on else [])
        self.overlay_changes.append({"name": name, "on": on, "reason": reason, "by": by,
                                     "at": timestamp.isoformat()})

    def table(self, year: int | None = None) -> dict[str, Rule]:
        """The rules in force for a 学年: the data file's, each overlay on (its values from the
        学年 they apply from), then the office's corrections. Without a year, every value
        of every overlay on."""
        steps = [(v["indicator"], v["level"], float(v["value"]))
                 for name in self.overlays for v in overlays()[name]["values"]
                 if year is None or year >= v.get("from_year", year)]
        return corrected(rules(), steps + self._corrections())

    def _corrections(self) -> list[tuple[str, str, float]]:
        return [(c["indicator"], c["level"], c["value"]) for c in self.corrections]

    def in_force(self) -> dict:
        """What a judgement records of the rules it was made under: how many indicators the
        office's corrections leave different from the data file, and the overlays on."""
        national, mine = rules(), corrected(rules(), self._corrections())
        changed = sum(mine[i].thresholds != national[i].thresholds for i in national)
        return {"corrections": changed, "overlays": list(self.overlays)}


def looser(indicator: str, level: str, value: float) -> bool:
    """Whether a corrected value asks less than the national one (the page warns)."""
    rule = rules()[indicator]
    national = rule.threshold("all" if level == "all" else level)
    if national is None:
        national = min(rule.thresholds.values()) if rule.comparator == "ge" \
            else max(rule.thresholds.values())
    return value < national if rule.comparator == "ge" else value > national \
        if rule.comparator == "le" else value != national


def require_correction(indicator: str, level: str, value: float | str, reason: str,
                       source: str) -> tuple[str, str, float, str, str]:
    """A correction as the office states it, checked: a known indicator with a number to
    correct, a 学段 it has, a finite non-negative value, and both a reason and a source."""
    rule = rules().get(indicator) if isinstance(indicator, str) else None
    if rule is None or rule.unit == "boolean":
        raise UnknownReferenceError(f"没有可更正数值的指标：{str(indicator)[:40]}")
    if level not in LEVEL_CHOICES or (level != "all" and "all" in rule.thresholds
                                      and rule.per == "county-wide"):
        raise InvalidInputError(f"{rule.name_zh}的学段应为："
                                f"{'、'.join(LEVEL_CHOICES.values())}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError("更正后的数值应为数字") from None
    highest = UPPER_BOUNDS.get(rule.unit)
    if not math.isfinite(number) or number < 0 or (highest is not None and number > highest):
        raise InvalidInputError("更正后的数值应为不小于0的数字" if highest is None
                                else f"{rule.name_zh}的数值应在 0 到 {highest:g} 之间")
    if rule.id == SCHOOL_RULE and not (number.is_integer() and 1 <= number <= len(RESOURCES)):
        raise InvalidInputError(f"达标项数应为 1 到 {len(RESOURCES)} 之间的整数")
    texts = []
    for text, label in ((reason, "更正理由"), (source, "依据（文件或来源）")):
        text = text.strip() if isinstance(text, str) else ""
        if not text or len(text) > TEXT_LIMIT:
            raise InvalidInputError(f"请填写{label}（最多 {TEXT_LIMIT} 字）")
        texts.append(text)
    return indicator, level, number, texts[0], texts[1]


def require_overlay(name: str, reason: str) -> tuple[str, str]:
    """A known overlay, and the reason for turning it on or off (required)."""
    if name not in overlays():
        raise UnknownReferenceError(f"未知的地方标准：{str(name)[:40]}")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > TEXT_LIMIT:
        raise InvalidInputError(f"请填写启用或停用的理由（最多 {TEXT_LIMIT} 字）")
    return name, reason
