"""The standard's arithmetic (#14): the reference's test vector for the weighted CV, the
per-school 6-of-7 / 85% rule, and properties of both."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.standard import (
    LEVELS,
    RESOURCES,
    county_rules,
    plain_cv,
    rules,
    school_verdict,
    weighted_cv,
)

# The 2012 methodology guide's worked example: per-student library books, five primary schools.
BOOKS = [(45, 279), (37, 137), (89, 935), (76, 160), (55, 402)]


def test_the_reference_test_vector():
    per_student = [(pupils, books / pupils) for pupils, books in BOOKS]
    assert round(weighted_cv(per_student), 3) == 0.515
    assert round(plain_cv(x for _, x in per_student), 3) == 0.489
    # the weighted mean is the county's total over its pupils
    assert sum(b for _, b in BOOKS) / sum(p for p, _ in BOOKS) == pytest.approx(6.334, abs=1e-3)


def test_no_cv_without_pupils_or_resources():
    assert weighted_cv([]) is None and weighted_cv([(0, 3.0)]) is None
    assert weighted_cv([(10, 0.0), (20, 0.0)]) is None
    assert weighted_cv([(10, 4.0), (20, 4.0)]) == 0


def thresholds(level: str) -> dict[str, float]:
    return {i: rules()[i].threshold(level) for i in RESOURCES}


@pytest.mark.parametrize("level", LEVELS)
def test_a_school_meeting_every_indicator_passes(level):
    verdict = school_verdict(thresholds(level), level)
    assert verdict.passes and verdict.met == RESOURCES and not verdict.missed


def test_one_indicator_missed_passes_down_to_85_percent_of_its_threshold():
    at_floor = thresholds("primary") | {"res_teachers_above_required_qual": 3.57}   # 0.85 × 4.2
    verdict = school_verdict(at_floor, "primary")
    assert verdict.passes and verdict.missed == ("res_teachers_above_required_qual",)
    below = school_verdict(at_floor | {"res_teachers_above_required_qual": 3.56}, "primary")
    assert not below.passes
    assert below.reasons == ("R1 每百名学生拥有高于规定学历教师数 3.56，低于标准 4.2 的85%（3.57）",)


def test_two_indicators_missed_fail_however_close():
    close = thresholds("junior") | {"res_sports_area": 10.1, "res_equipment_value": 2499}
    verdict = school_verdict(close, "junior")
    assert not verdict.passes and verdict.reasons == ("7项指标仅达到5项，至少应达到6项",)


def test_the_rules_are_data_with_their_confidence():
    table = rules()
    assert [table[i].seq for i in RESOURCES] == [f"R{n}" for n in range(1, 8)]
    assert all(table[i].confidence == "high" for i in RESOURCES)
    assert table["res_cv_primary"].threshold("primary") == 0.50
    assert table["res_cv_junior"].threshold("junior") == 0.45
    assert table["gov_class_size"].threshold("junior") == 50
    assert {v["id"] for v in county_rules()["vetoes"]} >= {"veto_exam_admission",
                                                           "veto_low_recognition"}


schools = st.lists(st.tuples(st.integers(1, 3000), st.floats(0.1, 50, allow_nan=False)),
                   min_size=1, max_size=30)


@given(schools, st.floats(0.01, 100))
def test_scaling_resources_and_enrolment_together_leaves_the_cv(county, k):
    """Every school k times larger with k times the resource: the same per-pupil values and
    weights, so the same CV; and the CV has no unit (values in other units, same CV)."""
    bigger = [(p * k, x) for p, x in county]
    assert weighted_cv(bigger) == pytest.approx(weighted_cv(county), rel=1e-9, abs=1e-12)
    in_other_units = [(p, x * k) for p, x in county]
    assert weighted_cv(in_other_units) == pytest.approx(weighted_cv(county), rel=1e-9,
                                                        abs=1e-12)


values = st.fixed_dictionaries({i: st.floats(0, 3 * rules()[i].threshold("junior"))
                                for i in RESOURCES})


@given(values, st.sampled_from(LEVELS), st.sampled_from(RESOURCES))
def test_raising_a_failing_indicator_to_its_threshold_never_adds_a_shortfall(school, level,
                                                                             raised):
    before = school_verdict(school, level)
    after = school_verdict(school | {raised: max(school[raised],
                                                 rules()[raised].threshold(level))}, level)
    assert set(after.missed) <= set(before.missed)
    assert after.passes or not before.passes
