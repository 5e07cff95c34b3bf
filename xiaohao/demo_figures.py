"""The demo county's school figures for the 2018-2019 学年 (the year the plan of July 2019 rests
on), plausible and deterministic, failing where the plan's §三 says the county falls short:

- 洙泗中学 and 龙城中学 over 2,000 pupils;
- 63 primary classes over 45 pupils and 41 junior classes over 50, in the two town streets and
  a few towns;
- teaching and auxiliary rooms short by 17,196.71 ㎡ at 10 primaries and 7,836 ㎡ at 3 juniors;
  sports grounds short by 17,675.5 ㎡ at 3 primaries;
- 47 music and 48 art rooms short at primaries;
- PE and arts teachers short (110 at primaries and 47 at juniors, at the ten largest of
  each, which takes the CV of that indicator over its limit).

Everything else meets the standard with room to spare. The plan names no other figures: these
are invented, like the schools themselves.
"""

from __future__ import annotations

import math
import random
import zlib

from domain.school_year import Row
from domain.standard import rules

YEAR = 2018
SHA256 = "d" * 64       # stands for the workbook the office would have uploaded
# What the office has marked of the items the figures cannot decide (the rest 未评估).
CHECKLIST = {
    "gov_special_ed_funding": {"value": 6500, "evidence": "2018年度教育经费统计表",
                               "note": "县特殊教育学校1所（演示数据）"},
    "gov_teacher_salary": {"value": 1.02, "evidence": "2018年度工资统计"},
    "gov_teacher_rotation_rate": {"value": 8.2, "evidence": "2018年教师交流轮岗名单",
                                  "note": "交流 96 人，符合条件 1,170 人（演示数据）"},
    "gov_teacher_training_hours": {"value": 100, "evidence": "教师培训学分登记"},
    "veto_key_schools": {"mark": "met", "evidence": "2019年秋季招生工作方案"},
    "veto_exam_admission": {"mark": "met", "evidence": "2019年秋季招生工作方案"},
}
# Class sizes: school -> classes over the limit (63 primary, 41 junior in all)
CLASSES_OVER = {"T01-P01": 12, "T01-P02": 10, "T01-P03": 6, "T01-P04": 5, "T02-P01": 12,
                "T02-P02": 9, "T02-P03": 5, "T03-P01": 4,
                "T01-J01": 14, "T01-J02": 7, "T02-J01": 12, "T03-J01": 4, "T04-J01": 4}
# Teaching and auxiliary rooms short (㎡), school -> shortfall
ROOMS_SHORT = {"T03-P02": 1650.5, "T05-P02": 1890.0, "T09-P02": 1702.21, "T13-P02": 1480.0,
               "T04-P03": 1925.0, "T06-P02": 1544.0, "T07-P03": 1811.0, "T08-P02": 1598.0,
               "T10-P02": 1870.0, "T12-P02": 1726.0,                      # 17,196.71 ㎡
               "T05-J01": 2640.0, "T09-J01": 2596.0, "T13-J01": 2600.0}    # 7,836 ㎡
SPORTS_SHORT = {"T04-P02": 5980.5, "T07-P02": 6195.0, "T11-P01": 5500.0}   # 17,675.5 ㎡
# Music and art rooms short at primaries (47 and 48)
MUSIC_SHORT = {"T01-P01": 3, "T01-P02": 3, "T01-P03": 2, "T01-P04": 2, "T01-P05": 2, "T01-P06": 2,
               "T02-P01": 3, "T02-P02": 3, "T02-P03": 2, "T02-P04": 2, "T02-P05": 2}
# PE and arts teachers short: primaries (about 110) and juniors (about 47)
TEACHERS_SHORT = {"primary": 110, "junior": 47}
TOWN_STREETS = ("T01", "T02")


def _good(code: str, part: str) -> dict[str, float]:
    """A school meeting every figure with room to spare (10–35% above each threshold)."""
    rng = random.Random(zlib.crc32(code.encode()))
    urban = code[:3] in TOWN_STREETS
    if code in ("T01-J01", "T02-J01"):          # 洙泗中学, 龙城中学: over 2,000 pupils
        pupils = 2360 if code == "T01-J01" else 2150
    elif urban:
        pupils = rng.randint(1500, 1900)
    elif code in ROOMS_SHORT or code in SPORTS_SHORT:     # the larger town schools
        pupils = rng.randint(1000, 1400)
    else:
        pupils = rng.randint(350, 1100)
    size = 44 if part == "primary" else 49
    classes = math.ceil(pupils / (size - rng.randint(2, 6)))
    table = rules()

    def above(indicator: str) -> float:
        return table[indicator].threshold(part) * rng.uniform(1.1, 1.35)

    per100 = lambda indicator: math.ceil(above(indicator) * pupils / 100)  # noqa: E731
    rooms = math.ceil(classes / 12)
    return {"enrolment": pupils, "classes": classes, "classes_over_limit": 0,
            "largest_class": size - 1,
            "teachers_above_qual": per100("res_teachers_above_required_qual"),
            "backbone_teachers": per100("res_backbone_teachers"),
            "pe_art_teachers": per100("res_pe_art_teachers"),
            "teaching_aux_area": round(above("res_teaching_aux_area") * pupils, 1),
            "sports_area": round(above("res_sports_area") * pupils, 1),
            "equipment_value": round(above("res_equipment_value") * pupils, -2),
            "multimedia_classrooms": per100("res_multimedia_classrooms"),
            "music_rooms": rooms, "music_room_area": 98, "art_rooms": rooms, "art_room_area": 92}


def _short_of(values: dict, part: str, figure: str, indicator: str, need: float) -> None:
    """Set a figure so that the school is short of `indicator` by `need` (its own unit)."""
    limit = rules()[indicator].threshold(part) * values["enrolment"]
    values[figure] = round(limit - need, 2)


def demo_rows(schools: dict[str, dict]) -> list[Row]:
    """A row per school (code -> its directory unit), the §三 shortfalls in place."""
    rows = {code: _good(code, unit["level"]) for code, unit in sorted(schools.items())}
    for code, over in CLASSES_OVER.items():
        part = schools[code]["level"]
        rows[code] |= {"classes_over_limit": over,
                       "largest_class": (52 if part == "primary" else 58) + over % 5}
    for code, need in ROOMS_SHORT.items():
        _short_of(rows[code], schools[code]["level"], "teaching_aux_area",
                  "res_teaching_aux_area", need)
    for code, need in SPORTS_SHORT.items():
        _short_of(rows[code], "primary", "sports_area", "res_sports_area", need)
    music_left, art_left = 47, 48
    for code, short in MUSIC_SHORT.items():
        values, rooms = rows[code], math.ceil(rows[code]["classes"] / 12)
        values["music_rooms"] = rooms - short
        values["art_rooms"] = rooms - short - (1 if code == "T01-P01" else 0)
        music_left -= short
        art_left -= short + (1 if code == "T01-P01" else 0)
    rural = [c for c in rows if c[:3] not in TOWN_STREETS and schools[c]["level"] == "primary"]
    for code in rural[:music_left]:      # the rest: one room each at rural primaries
        rows[code]["music_rooms"] -= 1
    for code in rural[:art_left]:
        rows[code]["art_rooms"] -= 1
    for values in rows.values():      # a school without such a room has no smallest one
        for rooms in ("music", "art"):
            if not values[f"{rooms}_rooms"]:
                values[f"{rooms}_room_area"] = 0
    for part, total in TEACHERS_SHORT.items():
        mine = sorted((c for c in rows if schools[c]["level"] == part),
                      key=lambda c: -rows[c]["enrolment"])[:10]       # the ten largest
        each, more = divmod(total, len(mine))
        for i, code in enumerate(mine):   # whole teachers short: `total` in all
            values = rows[code]
            needed = rules()["res_pe_art_teachers"].threshold(part) * values["enrolment"] / 100
            values["pe_art_teachers"] = max(0, math.ceil(needed) - each - (i < more))
    return [Row(code, schools[code]["level"], values, "演示数据")
            for code, values in rows.items()]
