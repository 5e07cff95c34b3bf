"""One ticket for every shortfall, once (#14): an import opens a ticket per failing indicator
(by the system, source 自查自评, the gap in plain numbers), adopts an open ticket for the same
school and indicator, opens nothing on a re-import, and records a rectification by the system
when the figures meet the standard again. The checklist's 未达标 items, corrected rules and the
Shandong overlay judge the year again; each verdict stays readable as it was given. On every
store."""

from __future__ import annotations

import pytest

from domain.application import SYSTEM
from domain.errors import InvalidInputError, NotPermittedError, UnknownReferenceError
from domain.school_year import Row
from tests.conftest import open_at_school_a
from tests.test_school_figures import GOOD

YEAR = 2019
# TA-P01 is short of teaching rooms (3.9 ㎡ of 4.5) and has three classes over 45; TB-J01 meets
# every figure a junior school is judged on but its size.
SHORT = GOOD | {"music_rooms": 3, "art_rooms": 3}
JUNIOR = GOOD | {"enrolment": 900, "classes": 20, "classes_over_limit": 0, "largest_class": 48,
                 "teachers_above_qual": 60, "teaching_aux_area": 6000, "sports_area": 9800,
                 "equipment_value": 2_600_000, "multimedia_classrooms": 30, "music_rooms": 2,
                 "art_rooms": 2}


def rows(primary=SHORT, junior=JUNIOR) -> list[Row]:
    return [Row("TA-P01", "primary", dict(primary), "学校数据 第3行"),
            Row("TB-J01", "junior", dict(junior), "学校数据 第4行")]


def take(app, sha="a" * 64, **kwargs) -> bool:
    return app.import_figures("office", YEAR, kwargs.pop("rows", rows()), sha256=sha,
                              file_name="学校数据.xlsx", **kwargs)


def held(app) -> dict[str, str]:
    return app.judgement(YEAR)[1].shortfalls


def test_each_shortfall_opens_one_ticket_by_the_system(app):
    assert take(app)
    tickets = held(app)
    assert set(tickets) == {"TA-P01|primary|res_teaching_aux_area",
                            "TA-P01|primary|gov_class_size"}
    ticket = app.ticket(tickets["TA-P01|primary|res_teaching_aux_area"])
    assert ticket["source"] == "self_assessment" and ticket["state"] == "opened"
    assert ticket["opened_by"]["login"] == SYSTEM
    assert ticket["indicator_id"] == "res_teaching_aux_area" and ticket["category"] == "buildings"
    assert ticket["title"] == "甲镇中心小学生均教学及辅助用房面积未达标"
    assert "生均教学及辅助用房面积 3.9㎡，标准 4.5㎡，差 0.6㎡ × 1,234 人 ≈ 740㎡" \
        in ticket["description"]
    # the same figures again, from the same file or another: nothing new
    assert not take(app)
    assert take(app, sha="b" * 64)
    assert held(app) == tickets
    judgements = app.judgement(YEAR)[1].judgements
    assert [j["opened"] for j in judgements] == [2, 0]


def test_an_open_ticket_for_the_same_school_and_indicator_is_adopted(app):
    by_hand = open_at_school_a(app, indicator_id="gov_class_size", category="class_size")
    closed_elsewhere = open_at_school_a(app, indicator_id="res_teaching_aux_area")
    app.cancel(closed_elsewhere, "office", reason="重复登记")
    take(app, candidates={("TA-P01", "gov_class_size"): [by_hand],
                          ("TA-P01", "res_teaching_aux_area"): [closed_elsewhere]})
    tickets = held(app)
    assert tickets["TA-P01|primary|gov_class_size"] == by_hand
    assert tickets["TA-P01|primary|res_teaching_aux_area"] != closed_elsewhere  # cancelled


def test_figures_that_now_meet_record_a_rectification_not_a_close(app):
    take(app)
    number = held(app)["TA-P01|primary|res_teaching_aux_area"]
    take(app, sha="c" * 64, rows=rows(primary=SHORT | {"teaching_aux_area": 5600}))
    ticket = app.ticket(number)
    assert ticket["state"] == "rectified"            # 待复查: an inspector decides
    assert "此项已达标准" in ticket["measures"] and "4.54" in ticket["measures"]
    assert held(app)["TA-P01|primary|res_teaching_aux_area"] == number
    take(app, sha="d" * 64)                           # short again: the same ticket, no new one
    assert held(app)["TA-P01|primary|res_teaching_aux_area"] == number
    assert app.ticket(number)["state"] == "rectified"


def test_the_checklist_judges_what_figures_cannot(app):
    take(app)
    judged, _ = app.judgement(YEAR)
    assert judged.verdict.groups == {
        "prerequisite": "unassessed", "resource": "met", "government": "unmet",   # class size
        "quality": "unassessed", "recognition": "unassessed", "veto": "unassessed"}
    assert judged.verdict.county == "unmet" and judged.verdict.parts["junior"] == "met"
    app.mark_item("office", YEAR, "veto_key_schools", mark="unmet", evidence="城区设重点班 2 个",
                  note="七年级实验班")
    app.mark_item("office", YEAR, "gov_special_ed_funding", value=7000, evidence="2019年决算表")
    judged, figures = app.judgement(YEAR)
    assert judged.verdict.groups["veto"] == "unmet" and judged.verdict.county == "unmet"
    assert judged.verdict.groups["government"] == "unmet"     # class size fails it already
    veto = app.ticket(figures.shortfalls["county|all|veto_key_schools"])
    assert veto["title"] == "存在否决情形：存在重点学校或重点班" and veto["severity"] == "grave"
    assert veto["unit_id"] == "SS"
    assert "county|all|gov_special_ed_funding" not in figures.shortfalls   # 7000 ≥ 6000
    with pytest.raises(InvalidInputError):
        app.mark_item("office", YEAR, "gov_school_layout", value=3)        # a marked item
    for item, value in (("gov_teacher_certification", 150), ("qual_monitoring_level", 2.5),
                        ("qual_monitoring_interschool_gap", 3)):
        with pytest.raises(InvalidInputError):        # a share over 100%, level I–IV, CV ≤ 1
            app.mark_item("office", YEAR, item, value=value)
    app.mark_item("office", YEAR, "gov_special_ed_funding", value="")      # cleared
    assert app.judgement(YEAR)[1].checklist["gov_special_ed_funding"]["mark"] == "unassessed"
    app.mark_item("office", YEAR, "gov_special_ed_funding", value=7000)
    with pytest.raises(UnknownReferenceError):
        app.mark_item("office", YEAR, "no_such_item", mark="met")
    with pytest.raises(NotPermittedError, match="^督查员无权评估达标项目$"):
        app.mark_item("insp", YEAR, "veto_key_schools", mark="met")


def test_a_corrected_rule_judges_again_and_keeps_the_old_verdict(app):
    take(app)
    number = held(app)["TA-P01|primary|res_teaching_aux_area"]
    with pytest.raises(InvalidInputError):       # a correction needs its reason and source
        app.correct_rule("office", "res_teaching_aux_area", "primary", 3.5, reason="",
                         source="x")
    assert app.rule_book().corrections == []
    years = app.correct_rule("office", "res_teaching_aux_area", "primary", 3.5,
                             reason="省定标准", source="鲁教督字〔2017〕3号")
    assert years == [YEAR]
    judged, figures = app.judgement(YEAR)
    assert judged.table["res_teaching_aux_area"].threshold("primary") == 3.5
    assert judged.table["res_teaching_aux_area"].threshold("junior") == 5.8
    assert app.ticket(number)["state"] == "rectified"
    before, after = figures.judgements[-2:]
    assert "TA-P01|primary|res_teaching_aux_area" in before["failing"]
    assert "TA-P01|primary|res_teaching_aux_area" not in after["failing"]
    assert after["rules"] == {"corrections": 1, "overlays": []}
    assert after["cause"].startswith("更正标准：生均教学及辅助用房面积 改为 3.5")
    correction = app.rule_book().corrections[0]
    assert (correction["previous"], correction["reason"]) == (4.5, "省定标准")


def test_the_shandong_overlay_is_stricter(app):
    take(app)
    app.mark_item("office", YEAR, "gov_special_ed_funding", value=7000)
    assert "county|all|gov_special_ed_funding" not in held(app)
    app.set_overlay("office", "shandong", True, reason="泗水县按山东省标准评估")
    number = held(app)["county|all|gov_special_ed_funding"]
    ticket = app.ticket(number)
    assert "7,000元，标准不低于 8,000元" in ticket["description"]
    assert app.set_overlay("office", "shandong", True, reason="再次") == []   # already on
    app.set_overlay("office", "shandong", False, reason="按国家标准")
    assert app.ticket(number)["state"] == "rectified"


def test_a_new_year_adopts_last_years_ticket(memory_app):
    app = memory_app
    take(app)
    last = held(app)["TA-P01|primary|gov_class_size"]
    app.import_figures("office", YEAR + 1, rows(), sha256="e" * 64, file_name="x.xlsx")
    assert app.judgement(YEAR + 1)[1].shortfalls["TA-P01|primary|gov_class_size"] == last


def test_the_change_since_the_latest_import(memory_app):
    from domain.readiness import since_last_import

    app = memory_app
    take(app)
    assert since_last_import(app.judgement(YEAR)[1].judgements) is None   # nothing before
    app.mark_item("office", YEAR, "veto_key_schools", mark="met")
    take(app, sha="f" * 64, rows=rows(primary=SHORT | {"teaching_aux_area": 5600,
                                                       "classes_over_limit": 0,
                                                       "largest_class": 45}))
    change = since_last_import(app.judgement(YEAR)[1].judgements)
    assert change.resolved == ["TA-P01|primary|gov_class_size",
                               "TA-P01|primary|res_teaching_aux_area"]
    assert change.new == [] and ("government", "unmet", "unassessed") in change.verdicts


def test_an_overlay_applies_from_its_year_and_corrections_stay_possible(memory_app):
    app = memory_app
    for year in (2018, 2019):
        app.import_figures("office", year, rows(), sha256=f"{year}".ljust(64, "0"),
                           file_name="x.xlsx")
        app.mark_item("office", year, "gov_special_ed_funding", value=7000)
    with pytest.raises(InvalidInputError):
        app.set_overlay("office", "shandong", True, reason=" ")     # a reason is required
    app.set_overlay("office", "shandong", True, reason="省定标准自2019年起")
    assert "county|all|gov_special_ed_funding" not in app.judgement(2018)[1].shortfalls
    assert "county|all|gov_special_ed_funding" in app.judgement(2019)[1].shortfalls
    change = app.rule_book().overlay_changes[-1]
    assert (change["on"], change["reason"]) == (True, "省定标准自2019年起")
    assert app.judgement(2019)[1].judgements[-1]["cause"].startswith("启用山东省标准")
    for indicator, level, value in (("res_school_compliance_rule", "all", 8),
                                    ("gov_teacher_certification", "all", 150)):
        with pytest.raises(InvalidInputError):
            app.correct_rule("office", indicator, level, value, reason="r", source="s")
    app.correct_rule("office", "res_pe_art_teachers", "all", 0.5, reason="r", source="s")
    app.correct_rule("office", "res_pe_art_teachers", "all", 0.9, reason="回到国家标准",
                     source="s")
    assert app.judgement(2019)[1].judgements[-1]["rules"]["corrections"] == 0


def test_one_correction_over_two_years_opens_one_ticket_for_both(memory_app):
    """The second year adopts the ticket the first opened in the same save (it was two)."""
    app = memory_app
    good = SHORT | {"sports_area": 9800}
    for year in (2018, 2019):
        app.import_figures("office", year, rows(primary=good), sha256=f"{year}".ljust(64, "0"),
                           file_name="x.xlsx")
    app.correct_rule("office", "res_sports_area", "primary", 9.0, reason="r", source="s")
    key = "TA-P01|primary|res_sports_area"
    assert app.judgement(2018)[1].shortfalls[key] == app.judgement(2019)[1].shortfalls[key]


def test_a_shortfall_that_comes_back_after_its_ticket_was_closed_gets_a_new_one(memory_app):
    app = memory_app
    take(app)
    key = "TA-P01|primary|res_teaching_aux_area"
    first = held(app)[key]
    take(app, sha="c" * 64, rows=rows(primary=SHORT | {"teaching_aux_area": 5600}))
    app.reinspect(first, "insp", passed=True)
    app.close_ticket(first, "office")
    take(app, sha="d" * 64)                      # short again
    again = held(app)[key]
    assert again != first and app.ticket(again)["state"] == "opened"
    take(app, sha="e" * 64, rows=rows(primary=SHORT | {"classes_over_limit": 2}))
    assert held(app)[key] == again               # still failing: the same ticket
