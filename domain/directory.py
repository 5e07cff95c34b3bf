"""The county's directory as one aggregate: the unit tree, people, heads and the 包保 map.

Every change is an event with the date it takes effect, so the directory can answer
"who was responsible for this unit on day D" for any past day.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateError, InvalidInputError, UnknownReferenceError
from domain.values import clean_text, require_day
from domain.visibility import covered_units, covers

DIRECTORY_NAMESPACE = uuid5(NAMESPACE_URL, "https://xiaohao.local/directory")
UNIT_KINDS = {"county": "县", "department": "县直部门", "town": "镇街", "school": "学校"}
PARENT_KINDS = {"department": {"county"}, "town": {"county"}, "school": {"town", "county"}}
SCHOOL_LEVELS = {"primary": "小学", "junior": "初中", "nine_year": "九年一贯制"}
# The 学段 a school of each level has: a nine-year school (九年一贯制) has a primary part and a
# junior part, each judged against its own thresholds.
SCHOOL_PARTS = {"primary": ("primary",), "junior": ("junior",), "nine_year": ("primary", "junior")}


@lru_cache(maxsize=64)
def directory_id(county_code: str) -> UUID:
    return uuid5(DIRECTORY_NAMESPACE, county_code)


# field -> (label, max length, required)
PERSON_FIELDS = {
    "name": ("姓名", 50, True), "title": ("职务", 100, False), "unit_id": ("所属单位", 40, True),
    "email": ("邮箱", 200, False), "phone": ("电话", 40, False),
    "notify": ("通知方式", 20, False),
}
# How a person is told of what happens to their tickets (assigned, returned, 批示…): each
# message at once, or one digest a day. A person who never chose is told at once.
NOTIFY_MODES = {"immediate": "即时通知", "daily": "每日汇总"}
IMMEDIATE = "immediate"


def notify_mode(person: dict | None) -> str:
    return (person or {}).get("notify") or IMMEDIATE


def _in_force(period: dict, day: date) -> bool:
    return date.fromisoformat(period["from"]) <= day and (
        period["to"] is None or day < date.fromisoformat(period["to"])
    )


ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def valid_address(text: str) -> bool:
    """One plain mail address (no name, no list, no spaces): what a digest can be sent to."""
    return ADDRESS.fullmatch(text) is not None


class Directory(Aggregate):
    """Units, people and responsibilities of one county."""

    @staticmethod
    def create_id(county_code: str) -> UUID:
        return directory_id(county_code)

    @event("Started")
    def __init__(self, county_code: str, county_name: str, timestamp: datetime) -> None:
        self.county_code = county_code
        self.county_name = county_name
        self.units: dict[str, dict] = {}
        self.people: dict[str, dict] = {}
        self.heads: dict[str, list[dict]] = {}
        self.baobao: list[dict] = []

    # -- units --------------------------------------------------------------------------------

    def add_unit(
        self, *, code: str, name: str, kind: str, parent: str | None, level: str | None,
        at: datetime,
    ) -> None:
        code = clean_text(code, "单位编码", limit=40)
        if code in self.units:
            raise DuplicateError(f"单位编码 {code} 已存在")
        if kind not in UNIT_KINDS:
            raise InvalidInputError(f"单位类型 {kind} 无效")
        if parent is None or kind == "county":
            if self.units or kind != "county" or parent is not None:
                raise InvalidInputError("县是唯一的根单位；其他单位都要有上级单位")
        elif self.unit(parent)["kind"] not in PARENT_KINDS[kind]:
            allowed = "或".join(UNIT_KINDS[k] for k in sorted(PARENT_KINDS[kind]))
            raise InvalidInputError(f"{UNIT_KINDS[kind]}的上级单位必须是{allowed}")
        if (kind == "school") != (level is not None) or (level and level not in SCHOOL_LEVELS):
            raise InvalidInputError("学校须注明学段（小学、初中或九年一贯制），其他单位不填")
        self._unit_added(code, clean_text(name, "单位名称", limit=100), kind, parent, level, at)

    @event("UnitAdded")
    def _unit_added(
        self, code: str, name: str, kind: str, parent: str | None, level: str | None,
        timestamp: datetime,
    ) -> None:
        self.units[code] = {
            "code": code, "name": name, "kind": kind, "parent": parent, "level": level,
        }

    def locate_unit(self, *, code: str, latitude: float, longitude: float, at: datetime) -> None:
        """Where a school (or any unit) is, so that rectification photos can be checked."""
        self.unit(code)
        try:
            latitude, longitude = float(latitude), float(longitude)
        except (TypeError, ValueError):
            raise InvalidInputError("经纬度必须是数字") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInputError("纬度须在 -90 到 90 之间，经度须在 -180 到 180 之间")
        self._unit_located(code, round(latitude, 6), round(longitude, 6), at)

    @event("UnitLocated")
    def _unit_located(self, code: str, latitude: float, longitude: float,
                      timestamp: datetime) -> None:
        self.units[code]["location"] = [latitude, longitude]

    def unit(self, code: str) -> dict:
        if not isinstance(code, str) or code not in self.units:
            raise UnknownReferenceError(f"未知的单位：{code}")
        return self.units[code]

    def unit_name(self, code: str | None) -> str:
        """A unit's name for a message: its code when the directory does not know it (a unit
        removed since), nothing for none."""
        if not code:
            return ""
        return self.units[code]["name"] if code in self.units else code

    def find_unit(self, code_or_name: str) -> dict:
        """A unit by code or by its exact name (names are unique within a county)."""
        if isinstance(code_or_name, str) and code_or_name in self.units:
            return self.units[code_or_name]
        for unit in self.units.values():
            if unit["name"] == code_or_name:
                return unit
        raise UnknownReferenceError(f"未知的单位：{code_or_name}")

    def town_of(self, code: str) -> str | None:
        """The town or street a unit lies in (itself for a town), or None for county bodies."""
        unit = self.unit(code)
        while unit is not None:
            if unit["kind"] == "town":
                return unit["code"]
            unit = self.units.get(unit["parent"]) if unit["parent"] else None
        return None

    def children(self, code: str) -> list[dict]:
        return [u for u in self.units.values() if u["parent"] == code]

    # -- people and heads ----------------------------------------------------------------------

    def register_person(
        self, *, person_id: str, name: str, title: str, unit_id: str, email: str, phone: str,
        at: datetime,
    ) -> None:
        person_id = clean_text(person_id, "人员编号", limit=40)
        if person_id in self.people:
            raise DuplicateError(f"人员编号 {person_id} 已存在")
        fields = self._person_fields(
            {"name": name, "title": title, "unit_id": unit_id, "email": email, "phone": phone})
        self._person_registered(person_id=person_id, timestamp=at, **fields)

    @event("PersonRegistered")
    def _person_registered(
        self, person_id: str, name: str, title: str, unit_id: str, email: str, phone: str,
        timestamp: datetime,
    ) -> None:
        self.people[person_id] = {
            "id": person_id, "name": name, "title": title, "unit_id": unit_id,
            "email": email, "phone": phone,
        }

    def update_person(self, *, person_id: str, changes: dict, at: datetime) -> None:
        self.person(person_id)
        if not changes or set(changes) - set(PERSON_FIELDS):
            raise InvalidInputError(f"可修改的人员信息：{'、'.join(PERSON_FIELDS)}")
        self._person_updated(person_id, self._person_fields(changes), at)

    def _person_fields(self, fields: dict) -> dict:
        """Clean the given person fields; the unit must exist and an email must look like one."""
        cleaned = {}
        for name, value in fields.items():
            label, limit, required = PERSON_FIELDS[name]
            cleaned[name] = clean_text(value, label, limit=limit, required=required)
        if "unit_id" in cleaned:
            self.unit(cleaned["unit_id"])
        if cleaned.get("email") and not valid_address(cleaned["email"]):
            raise InvalidInputError(f"邮箱地址无效：{cleaned['email']}")
        if "notify" in cleaned and cleaned["notify"] not in NOTIFY_MODES:
            raise InvalidInputError(f"通知方式只能是：{'、'.join(NOTIFY_MODES.values())}")
        return cleaned

    @event("PersonUpdated")
    def _person_updated(self, person_id: str, changes: dict, timestamp: datetime) -> None:
        self.people[person_id].update(changes)

    def person(self, person_id: str) -> dict:
        if not isinstance(person_id, str) or person_id not in self.people:
            raise UnknownReferenceError(f"未知的人员：{person_id}")
        return self.people[person_id]

    def appoint_head(self, *, unit_id: str, person_id: str, on: date, at: datetime) -> None:
        """Make a person the head (负责人) of a unit from a day; the previous head's term ends then."""
        self.unit(unit_id)
        self.person(person_id)
        current = self.heads.get(unit_id, [])
        if current and require_day(on, "任职日期") < date.fromisoformat(current[-1]["from"]):
            raise InvalidInputError("任职日期早于现任负责人的任职日期")
        self._head_appointed(unit_id, person_id, on, at)

    @event("HeadAppointed")
    def _head_appointed(self, unit_id: str, person_id: str, on: date, timestamp: datetime) -> None:
        terms = self.heads.setdefault(unit_id, [])
        if terms:
            terms[-1]["to"] = on.isoformat()
        terms.append({"person_id": person_id, "from": on.isoformat(), "to": None})

    def head_on(self, unit_id: str, day: date) -> str | None:
        return next(
            (t["person_id"] for t in self.heads.get(unit_id, []) if _in_force(t, day)), None
        )

    # -- 包保 --------------------------------------------------------------------------------

    def assign_baobao(self, *, leader_id: str, unit_id: str, on: date, at: datetime) -> None:
        """A county leader starts answering (包保) for a town or school."""
        self.person(leader_id)
        if self.unit(unit_id)["kind"] not in ("town", "school"):
            raise InvalidInputError("包保对象必须是镇街或学校")
        require_day(on, "包保开始日期")
        for period in self._periods(leader_id, unit_id):
            if period["to"] is None:
                raise DuplicateError("该领导已包保此单位")
            if on < date.fromisoformat(period["to"]):
                raise InvalidInputError(f"包保开始日期 {on} 早于上一段包保的结束日期 {period['to']}")
        self._baobao_assigned(leader_id, unit_id, on, at)

    def _periods(self, leader_id: str, unit_id: str) -> list[dict]:
        return [p for p in self.baobao if p["leader_id"] == leader_id and p["unit_id"] == unit_id]

    @event("BaobaoAssigned")
    def _baobao_assigned(
        self, leader_id: str, unit_id: str, on: date, timestamp: datetime
    ) -> None:
        self.baobao.append(
            {"leader_id": leader_id, "unit_id": unit_id, "from": on.isoformat(), "to": None}
        )

    def end_baobao(self, *, leader_id: str, unit_id: str, on: date, at: datetime) -> None:
        current = [p for p in self._periods(leader_id, unit_id) if p["to"] is None]
        if not current:
            raise UnknownReferenceError("没有这项进行中的包保关系")
        if require_day(on, "包保结束日期") < date.fromisoformat(current[0]["from"]):
            raise InvalidInputError(f"包保结束日期 {on} 早于开始日期 {current[0]['from']}")
        self._baobao_ended(leader_id, unit_id, on, at)

    @event("BaobaoEnded")
    def _baobao_ended(self, leader_id: str, unit_id: str, on: date, timestamp: datetime) -> None:
        for period in self.baobao:
            if period["leader_id"] == leader_id and period["unit_id"] == unit_id and (
                period["to"] is None
            ):
                period["to"] = on.isoformat()

    def _targets_on(self, day: date) -> list[dict]:
        return [p for p in self.baobao if _in_force(p, day)]

    def leaders_on(self, unit_id: str, day: date) -> list[str]:
        """The leaders whose 包保 covers a unit on a day (a school's own, and its town's)."""
        unit = self.unit(unit_id)
        return list(dict.fromkeys(p["leader_id"] for p in self._targets_on(day)
                                  if covers(self.units[p["unit_id"]], unit)))

    def baobao_targets(self, leader_id: str, day: date) -> list[str]:
        """The towns and schools a leader answers for on a day, as the 包保 map names them."""
        return list(dict.fromkeys(p["unit_id"] for p in self._targets_on(day)
                                  if p["leader_id"] == leader_id))

    def baobao_scope(self, leader_id: str, day: date) -> frozenset[str]:
        """Every unit a leader's 包保 covers on a day (see domain/visibility.py)."""
        return covered_units(self.baobao_targets(leader_id, day), self.units)

    def leaders_with_baobao(self, day: date) -> list[str]:
        """The leaders answering for any town or school on a day, in the order they began."""
        return list(dict.fromkeys(p["leader_id"] for p in self._targets_on(day)))

    def responsible_on(self, unit_id: str, day: date) -> dict:
        """Who answered for a unit on a day: its head and its 包保 leaders."""
        return {
            "unit_id": unit_id,
            "day": day.isoformat(),
            "head": self.head_on(unit_id, day),
            "leaders": self.leaders_on(unit_id, day),
        }
