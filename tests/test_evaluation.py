"""A year judged (#14): R1–R7 and the school rule, the CV per indicator and 学段 against its limit,
the government items the figures decide, and each shortfall's gap in plain numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.evaluation import COUNTY, evaluate
from tests.test_school_figures import GOOD


def test_a_school_short_of_teaching_rooms_says_by_how_much():
    result = evaluate({("P1", "primary"): GOOD}, {"P1": "primary"})
    gaps = {f.indicator: f.gap for f in result.shortfalls}
    assert gaps["res_teaching_aux_area"] == (
        "生均教学及辅助用房面积 3.9㎡，标准 4.5㎡，差 0.6㎡ × 1,234 人 ≈ 740㎡")
    assert gaps["gov_class_size"] == "3 个班超过 45 人，最大班额 52 人"
    assert result.schools[("P1", "primary")]["verdict"].passes       # 87% of 4.5
    assert result.cvs[("primary", "res_teaching_aux_area")] is None  # one school: no CV


def test_rooms_per_12_classes_their_area_and_school_size():
    small = GOOD | {"classes": 30, "music_rooms": 2, "art_rooms": 3, "art_room_area": 80,
                    "classes_over_limit": 0, "largest_class": 45}
    result = evaluate({("P1", "primary"): small | {"enrolment": 1600},
                       ("P1", "junior"): small | {"enrolment": 1000}}, {"P1": "nine_year"})
    by = {(f.part, f.indicator): f.gap for f in result.shortfalls}
    assert by[("primary", "gov_music_art_rooms")] == "30 个班应有音乐专用教室至少 3 间，现有 2 间"
    assert by[("junior", "gov_art_room_area")] == "美术教室最小一间 80㎡，标准 90㎡"
    assert by[("all", "gov_school_size_through_school")] == "在校生 2,600 人，超过 2,500 人"
    assert ("primary", "gov_class_size") not in by


def test_a_cv_over_its_limit_is_the_countys_shortfall():
    rich, poor = GOOD | {"teaching_aux_area": 12000}, GOOD | {"teaching_aux_area": 1500}
    result = evaluate({("P1", "primary"): rich, ("P2", "primary"): poor},
                      {"P1": "primary", "P2": "primary"})
    county = [f for f in result.shortfalls if f.subject == COUNTY]
    assert [f.indicator for f in county] == ["res_cv_primary:res_teaching_aux_area"]
    assert county[0].gap.startswith("小学生均教学及辅助用房面积校际差异系数 0.")
    assert not result.resource_passes


@given(st.floats(1.0, 20.0))
def test_the_same_schools_scaled_together_keep_their_cvs(k):
    a, b = GOOD | {"sports_area": 3000}, GOOD | {"enrolment": 500, "sports_area": 6000}
    one = evaluate({("P1", "primary"): a, ("P2", "primary"): b}, {"P1": "primary", "P2": "primary"})
    scaled = {key: {n: v * k if n in ("enrolment", "sports_area") else v for n, v in row.items()}
              for key, row in {("P1", "primary"): a, ("P2", "primary"): b}.items()}
    two = evaluate(scaled, {"P1": "primary", "P2": "primary"})
    assert abs(one.cvs[("primary", "res_sports_area")]
               - two.cvs[("primary", "res_sports_area")]) < 1e-9


def test_the_plain_cv_where_the_county_says_so():
    rows = {("P1", "primary"): GOOD | {"enrolment": 100, "sports_area": 2000},
            ("P2", "primary"): GOOD | {"enrolment": 900, "sports_area": 3600}}
    levels = {"P1": "primary", "P2": "primary"}
    weighted = evaluate(rows, levels).cvs[("primary", "res_sports_area")]
    plain = evaluate(rows, levels, weighted=False).cvs[("primary", "res_sports_area")]
    assert round(plain, 3) == 0.667 and round(weighted, 3) == 0.857   # per pupil: 20 and 4
