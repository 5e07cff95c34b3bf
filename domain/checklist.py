"""What the figures cannot decide (#14): the prerequisites, the government items other than class
size, school size and the music and art rooms, the quality items, social recognition and the
vetoes. The office marks each 达标 / 未达标 / 未评估 with its evidence and a note; a county-wide item
with a number (such as special-education funds per pupil) may instead be given its value, which
is judged against the threshold in force. And the verdict: per 学段 and for the county, as
rules.yaml's pass logic says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import InvalidInputError, UnknownReferenceError
from domain.evaluation import COUNTY, Evaluation, Shortfall
from domain.standard import LEVELS, UNITS_ZH, Table, county_rules, plain_number, rules

MET, UNMET, UNASSESSED = "met", "unmet", "unassessed"
MARKS = {MET: "达标", UNMET: "未达标", UNASSESSED: "未评估"}
# A veto is a situation that must not exist: its marks say whether it does.
VETO_MARKS = {MET: "不存在", UNMET: "存在", UNASSESSED: "未评估"}
# The government items the school figures decide (domain/evaluation.py); the rest are marked.
DECIDED_BY_FIGURES = frozenset({
    "gov_music_art_rooms", "gov_music_room_area", "gov_art_room_area", "gov_school_size",
    "gov_school_size_through_school", "gov_class_size"})
GROUPS = {"prerequisite": "前提条件", "resource": "资源配置", "government": "政府保障程度",
          "quality": "教育质量", "recognition": "社会认可度", "veto": "否决情形"}
# The recognition veto is the recognition item itself, not a second mark.
DERIVED_VETOES = {"veto_low_recognition": "rec_social_recognition"}
COMPARATORS_ZH = {"ge": "不低于", "le": "不高于", "eq": "等于"}
UPPER_BOUNDS = {"%": 100, "attainment level (I-IV)": 4, "coefficient": 1}
TEXT_LIMIT = 500


@dataclass(frozen=True)
class Item:
    """One thing the office marks (or gives a value for)."""

    id: str
    group: str
    seq: str
    label: str
    valued: bool          # judged from a number the office enters, against the threshold

    @property
    def marks(self) -> dict[str, str]:
        """The marks as the office reads them for this item."""
        return VETO_MARKS if self.group == "veto" else MARKS

    def unit(self) -> str:
        return UNITS_ZH.get(rules()[self.id].unit, "") if self.valued else ""


def _items() -> dict[str, Item]:
    found: dict[str, Item] = {}
    for i, row in enumerate(county_rules()["prerequisites"], start=1):
        found[row["id"]] = Item(row["id"], "prerequisite", f"P{i}", row["text_zh"], False)
    for rule in rules().values():
        if rule.category in ("government", "quality", "recognition") \
                and rule.id not in DECIDED_BY_FIGURES:
            valued = (rule.per == "county-wide" and rule.unit != "boolean"
                      and set(rule.thresholds) == {"all"})
            found[rule.id] = Item(rule.id, rule.category, rule.seq, rule.name_zh, valued)
    for i, row in enumerate(county_rules()["vetoes"], start=1):
        if row["id"] not in DERIVED_VETOES:
            found[row["id"]] = Item(row["id"], "veto", f"V{i}", row["text_zh"], False)
    return found


ITEMS = _items()


def require_item(item_id: str) -> Item:
    try:
        return ITEMS[item_id]
    except (KeyError, TypeError):
        raise UnknownReferenceError(f"未知的评估项目：{str(item_id)[:40]}") from None


def clean_entry(item: Item, mark: str | None, value: float | str | None, evidence: str,
                note: str) -> dict:
    """A mark as the office gives it: a value for a valued item (left empty: 未评估 again),
    a mark for the rest; evidence and note as short text."""
    if value not in (None, ""):
        if not item.valued:
            raise InvalidInputError(f"“{item.label}”按达标情况标记，不填数值")
        mark, value = None, _number(item, value)
    else:
        value = None
        if item.valued and mark is None:
            mark = UNASSESSED
        if mark not in MARKS:
            raise InvalidInputError(f"请选择{'、'.join(item.marks.values())}")
    for text, label in ((evidence, "佐证材料"), (note, "说明")):
        if not isinstance(text, str) or len(text) > TEXT_LIMIT:
            raise InvalidInputError(f"{label}最多 {TEXT_LIMIT} 字")
    return {"mark": mark, "value": value, "evidence": evidence.strip(), "note": note.strip()}


def _number(item: Item, value: float | str) -> float:
    """A valued item's number, within what its unit allows (a share at most 100%, a
    monitoring level I–IV, a coefficient at most 1)."""
    try:
        number = float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        raise InvalidInputError(f"“{item.label}”的数值应为数字") from None
    unit = rules()[item.id].unit
    highest = UPPER_BOUNDS.get(unit)
    if not math.isfinite(number) or number < 0 or (highest is not None and number > highest):
        within = f"0 到 {highest:g}{item.unit()}" if highest is not None else "不小于0"
        raise InvalidInputError(f"“{item.label}”的数值应在{within}之间" if highest is not None
                                else f"“{item.label}”的数值应为不小于0的数字")
    if unit == "attainment level (I-IV)" and not number.is_integer():
        raise InvalidInputError(f"“{item.label}”应为 1 到 4 级")
    return number


def mark_of(item: Item, entry: Mapping | None, table: Table) -> str:
    """达标 / 未达标 / 未评估 of an item as marked (a value judged by the rule in force)."""
    if not entry:
        return UNASSESSED
    if entry.get("value") is not None:
        return MET if table[item.id].meets(entry["value"], "all") else UNMET
    return entry["mark"]


def item_gap(item: Item, entry: Mapping, table: Table) -> str:
    """What a failing item is short of, in plain words."""
    if entry.get("value") is not None:
        rule, unit = table[item.id], item.unit()
        return (f"现为 {plain_number(entry['value'])}{unit}，标准"
                f"{COMPARATORS_ZH[rule.comparator]} {plain_number(rule.threshold('all'))}{unit}")
    said = "存在此情形" if item.group == "veto" else "评估为未达标"
    return said + (f"（{entry['note']}）" if entry.get("note") else "")


def entry_words(item: Item, entry: Mapping) -> str:
    """A mark as the record says it: "8.2%" or "不存在"."""
    if entry.get("value") is not None:
        return f"{plain_number(entry['value'])}{item.unit()}"
    return item.marks[entry["mark"]]


def checklist_shortfalls(entries: Mapping[str, Mapping], table: Table) -> list[Shortfall]:
    """A county shortfall for every item marked (or valued) 未达标."""
    found = []
    for item_id, entry in entries.items():
        item = ITEMS.get(item_id)
        if item is not None and mark_of(item, entry, table) == UNMET:
            value = entry.get("value")
            found.append(Shortfall(COUNTY, "all", item.id, value if value is not None else 0.0,
                                   table[item.id].threshold("all") if item.id in table else 1.0,
                                   item_gap(item, entry, table)))
    return found


@dataclass(frozen=True)
class Verdict:
    """The county's verdict: each group's, the resources' per 学段, and the whole."""

    parts: dict[str, str]          # 学段 -> met / unmet / unassessed (资源配置)
    groups: dict[str, str]         # group -> met / unmet / unassessed
    county: str
    unassessed: int                # checklist items not yet marked

    def as_dict(self) -> dict:
        return {"parts": self.parts, "groups": self.groups, "county": self.county,
                "unassessed": self.unassessed}


def _worst(marks: list[str]) -> str:
    return UNMET if UNMET in marks else UNASSESSED if UNASSESSED in marks or not marks else MET


def verdict(judged: Evaluation, entries: Mapping[str, Mapping], table: Table) -> Verdict:
    """rules.yaml's pass logic: every school meets the per-school rule and every CV its limit
    (资源配置, per 学段); all government items, all quality items, recognition; no veto, and
    the prerequisites. Any 未达标 fails the county; otherwise any 未评估 leaves it open."""
    parts = {}
    for part in LEVELS:
        schools = [s for (_, p), s in judged.schools.items() if p == part]
        over = any(f.subject == COUNTY and f.part == part for f in judged.shortfalls)
        parts[part] = (UNASSESSED if not schools else
                       UNMET if over or not all(s["verdict"].passes for s in schools) else MET)
    marks: dict[str, list[str]] = {group: [] for group in GROUPS}
    marks["resource"] = list(parts.values())
    for item in ITEMS.values():
        marks[item.group].append(mark_of(item, entries.get(item.id), table))
    figure_failures = any(f.indicator in DECIDED_BY_FIGURES for f in judged.shortfalls)
    marks["government"].append(UNMET if figure_failures else
                               MET if judged.schools else UNASSESSED)
    groups = {group: _worst(found) for group, found in marks.items()}
    unassessed = sum(mark_of(i, entries.get(i.id), table) == UNASSESSED for i in ITEMS.values())
    return Verdict(parts, groups, _worst(list(groups.values())), unassessed)
