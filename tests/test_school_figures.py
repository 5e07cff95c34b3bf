"""A school's figures (#14): the checks a row must pass, table-driven, and R1–R7 from them."""

from __future__ import annotations

import pytest

from domain.school_figures import FIGURES, check_row, parts_of, resource_values
from domain.standard import school_verdict

GOOD = {"enrolment": 1234, "classes": 28, "classes_over_limit": 3, "largest_class": 52,
        "teachers_above_qual": 60, "backbone_teachers": 14, "pe_art_teachers": 12,
        "teaching_aux_area": 4812.6, "sports_area": 9800, "equipment_value": 2_600_000,
        "multimedia_classrooms": 30, "music_rooms": 2, "music_room_area": 96,
        "art_rooms": 2, "art_room_area": 90}


def test_a_good_row_passes_and_gives_r1_to_r7():
    assert check_row("primary", "primary", GOOD) == []
    r = resource_values(GOOD)
    assert r["res_teachers_above_required_qual"] == pytest.approx(60 / 1234 * 100)
    assert r["res_teaching_aux_area"] == pytest.approx(4812.6 / 1234)      # 3.9 ㎡ per pupil
    verdict = school_verdict(r, "primary")     # 3.9 is 87% of 4.5: the school rule holds
    assert verdict.missed == ("res_teaching_aux_area",) and verdict.passes
    smaller = school_verdict(resource_values(GOOD | {"teaching_aux_area": 4565.8}), "primary")
    assert not smaller.passes      # 3.7 is 82%


@pytest.mark.parametrize(("level", "part", "changes", "figure", "reason"), [
    ("primary", "junior", {}, None, "该校为小学，没有初中学段的数据"),
    ("junior", "primary", {}, None, "该校为初中，没有小学学段的数据"),
    ("primary", "primary", {"sports_area": -1}, "sports_area", "体育运动场馆面积不能为负数"),
    ("primary", "primary", {"enrolment": 12.5}, "enrolment", "在校生数应为整数"),
    ("primary", "primary", {"equipment_value": None}, "equipment_value", "缺少教学仪器设备值"),
    ("primary", "primary", {"classes_over_limit": 29}, "classes_over_limit",
     "超过班额的班级数多于班级数"),
    ("primary", "primary", {"classes": 0, "classes_over_limit": 0, "largest_class": 0},
     "classes", "有在校生但班级数为0"),
    ("primary", "primary", {"enrolment": 0}, "enrolment", "在校生数应大于0"),
    ("primary", "primary", {"sports_area": 1e308}, "sports_area",
     "体育运动场馆面积不应超过 1,000,000㎡，请核对"),
    ("primary", "<b>x</b>", {}, None, "学段应为“小学”或“初中”"),
    ("primary", "primary", {"largest_class": 40}, "largest_class",
     "有超过班额的班级，最大班额应多于 45 人"),
    ("junior", "junior", {"classes_over_limit": 0, "largest_class": 52}, "classes_over_limit",
     "最大班额超过 50 人，超过班额的班级数不应为0"),
    ("primary", "primary", {"art_rooms": 0}, "art_room_area", "没有美术专用教室，美术教室最小一间面积应为0"),
    ("primary", "primary", {"art_room_area": 0}, "art_room_area",
     "有美术专用教室数，请填美术教室最小一间面积"),
])
def test_a_bad_row_is_refused_with_its_reason(level, part, changes, figure, reason):
    problems = check_row(level, part, GOOD | changes)
    assert [(p.figure, p.reason) for p in problems] == [(figure, reason)]


def test_a_nine_year_school_reports_both_parts():
    assert parts_of("nine_year") == ("primary", "junior")
    assert check_row("nine_year", "junior", GOOD) == []
    assert len(FIGURES) == 15
    assert resource_values(GOOD | {"enrolment": 0, "classes": 0, "classes_over_limit": 0}) \
        is None
