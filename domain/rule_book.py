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

from domain.errors import InvalidInputError, UnknownReferenceError
from domain.standard import LEVEL_LABELS, Rule, corrected, overlays, rules

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

    def table(self) -> dict[str, Rule]:
        """The rules in force: the data file's, each overlay on, then the office's corrections."""
        steps = [(v["indicator"], v["level"], float(v["value"]))
                 for name in self.overlays for v in overlays()[name]["values"]]
        steps += [(c["indicator"], c["level"], c["value"]) for c in self.corrections]
        return corrected(rules(), steps)

    def in_force(self) -> dict:
        """What a judgement records of the rules it was made under."""
        return {"corrections": len(self.corrections), "overlays": list(self.overlays)}


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
    if not math.isfinite(number) or number < 0:
        raise InvalidInputError("更正后的数值应为不小于0的数字")
    texts = []
    for text, label in ((reason, "更正理由"), (source, "依据（文件或来源）")):
        text = text.strip() if isinstance(text, str) else ""
        if not text or len(text) > TEXT_LIMIT:
            raise InvalidInputError(f"请填写{label}（最多 {TEXT_LIMIT} 字）")
        texts.append(text)
    return indicator, level, number, texts[0], texts[1]


def require_overlay(name: str) -> str:
    if name not in overlays():
        raise UnknownReferenceError(f"未知的地方标准：{str(name)[:40]}")
    return name
