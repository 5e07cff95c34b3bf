"""A school's figures for one school year (学年) and 学段 (#14): what a school reports, as the
Excel template and the form ask for it, the checks each row must pass before anything is
recorded, and R1–R7 worked out from them (domain/standard.py judges those).

A nine-year school (九年一贯制) reports a primary row and a junior row; any other school only the
row of its own 学段.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.directory import SCHOOL_LEVELS, SCHOOL_PARTS
from domain.standard import LEVEL_LABELS, RESOURCES, rules


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    unit: str
    whole: bool = True          # a count (whole number), else an amount (area, money)
    most: float = 100_000       # beyond any one school's (a typing slip, or an overflow)


FIGURES = (
    Figure("enrolment", "在校生数", "人"),
    Figure("classes", "班级数", "个"),
    Figure("classes_over_limit", "超过班额的班级数", "个"),
    Figure("largest_class", "最大班额", "人"),
    Figure("teachers_above_qual", "高于规定学历教师数", "人"),
    Figure("backbone_teachers", "县级以上骨干教师数", "人"),
    Figure("pe_art_teachers", "体育、艺术（音乐、美术）专任教师数", "人"),
    Figure("teaching_aux_area", "教学及辅助用房面积", "㎡", whole=False, most=1_000_000),
    Figure("sports_area", "体育运动场馆面积", "㎡", whole=False, most=1_000_000),
    Figure("equipment_value", "教学仪器设备值", "元", whole=False, most=10_000_000_000),
    Figure("multimedia_classrooms", "网络多媒体教室数", "间"),
    Figure("music_rooms", "音乐专用教室数", "间"),
    Figure("music_room_area", "音乐教室最小一间面积", "㎡", whole=False, most=10_000),
    Figure("art_rooms", "美术专用教室数", "间"),
    Figure("art_room_area", "美术教室最小一间面积", "㎡", whole=False, most=10_000),
)
BY_NAME = {f.name: f for f in FIGURES}
# Which figure each resource indicator counts, over the pupils (or per 100 pupils, as the
# indicator's `per` says).
RESOURCE_FIGURES = dict(zip(RESOURCES, (
    "teachers_above_qual", "backbone_teachers", "pe_art_teachers", "teaching_aux_area",
    "sports_area", "equipment_value", "multimedia_classrooms"), strict=True))


@dataclass(frozen=True)
class Problem:
    """Why a row of figures cannot be taken, at which figure (None: the row as a whole)."""

    figure: str | None
    reason: str


def parts_of(level: str) -> tuple[str, ...]:
    """The 学段 a school of `level` reports."""
    return SCHOOL_PARTS[level]


def check_row(school_level: str, part: str, values: Mapping[str, float | None]) -> list[Problem]:
    """Every reason a school's row for one 学段 cannot be taken: a 学段 the school does not
    have, a missing or negative figure, a fraction where a count is asked for, more classes
    over the limit than classes, rooms without their area."""
    problems = []
    if part not in LEVEL_LABELS:
        return [Problem(None, "学段应为“小学”或“初中”")]
    if part not in parts_of(school_level):
        problems.append(Problem(None, f"该校为{SCHOOL_LEVELS[school_level]}，没有"
                                      f"{LEVEL_LABELS[part]}学段的数据"))
        return problems
    for figure in FIGURES:
        value = values.get(figure.name)
        if value is None:
            problems.append(Problem(figure.name, f"缺少{figure.label}"))
        elif value < 0:
            problems.append(Problem(figure.name, f"{figure.label}不能为负数"))
        elif value > figure.most:
            problems.append(Problem(figure.name, f"{figure.label}不应超过 {figure.most:,.0f}"
                                                 f"{figure.unit}，请核对"))
        elif figure.whole and value != int(value):
            problems.append(Problem(figure.name, f"{figure.label}应为整数"))
    if problems:
        return problems
    return _consistent(part, values)


def _consistent(part: str, values: Mapping[str, float]) -> list[Problem]:
    """Figures that contradict each other (a typing slip, not a shortfall)."""
    problems = []
    limit = rules()["gov_class_size"].threshold(part)
    if not values["enrolment"]:
        problems.append(Problem("enrolment", "在校生数应大于0"))
    elif not values["classes"]:
        problems.append(Problem("classes", "有在校生但班级数为0"))
    if values["classes_over_limit"] > values["classes"]:
        problems.append(Problem("classes_over_limit", "超过班额的班级数多于班级数"))
    if values["enrolment"] and values["largest_class"] > values["enrolment"]:
        problems.append(Problem("largest_class", "最大班额多于在校生数"))
    if values["classes_over_limit"] and values["largest_class"] <= limit:
        problems.append(Problem("largest_class", f"有超过班额的班级，最大班额应多于 {limit:.0f} 人"))
    if not values["classes_over_limit"] and values["largest_class"] > limit:
        problems.append(Problem("classes_over_limit",
                                f"最大班额超过 {limit:.0f} 人，超过班额的班级数不应为0"))
    for rooms, area in (("music_rooms", "music_room_area"), ("art_rooms", "art_room_area")):
        if values[rooms] and not values[area]:
            problems.append(Problem(area, f"有{BY_NAME[rooms].label}，请填{BY_NAME[area].label}"))
        if not values[rooms] and values[area]:
            problems.append(Problem(area, f"没有{BY_NAME[rooms].label[:-1]}，"
                                          f"{BY_NAME[area].label}应为0"))
    return problems


def resource_values(values: Mapping[str, float]) -> dict[str, float] | None:
    """R1–R7 of a row: each figure over the pupils, per pupil or per 100 pupils as the
    indicator says; None for a row without pupils."""
    pupils = values["enrolment"]
    if not pupils:
        return None
    table = rules()
    return {indicator: values[figure] / pupils * (100 if table[indicator].per
                                                  == "per-100-students" else 1)
            for indicator, figure in RESOURCE_FIGURES.items()}
