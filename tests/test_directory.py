"""The directory remembers: who answered for a unit on any past day."""

from __future__ import annotations

from datetime import date

import pytest

from domain.application import SYSTEM
from domain.errors import DuplicateError, InvalidInputError, UnknownReferenceError


def test_who_was_responsible_on_a_day(app):
    # Town A's 包保 leader changes hands on 2027-03-01; the school's head changes on 2027-02-01.
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HA", on=date(2026, 9, 1))
    app.register_person(SYSTEM, person_id="HA2", name="新校长", title="校长", unit_id="TA-P01")
    app.appoint_head(SYSTEM, unit_id="TA-P01", person_id="HA2", on=date(2027, 2, 1))
    app.end_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2027, 3, 1))
    app.assign_baobao(SYSTEM, leader_id="L2", unit_id="TA", on=date(2027, 3, 1))

    def on(day: str) -> dict:
        return app.responsible_on("TA-P01", date.fromisoformat(day))

    assert on("2026-08-31") == {"unit_id": "TA-P01", "day": "2026-08-31", "head": None,
                                "leaders": []}
    assert (on("2026-12-01")["head"], on("2026-12-01")["leaders"]) == ("HA", ["L1"])
    assert (on("2027-02-15")["head"], on("2027-02-15")["leaders"]) == ("HA2", ["L1"])
    assert (on("2027-03-01")["head"], on("2027-03-01")["leaders"]) == ("HA2", ["L2"])


def test_the_tree_knows_each_schools_town(app):
    directory = app.directory()
    assert directory.town_of("TA-P01") == "TA"
    assert directory.town_of("EDU") is None
    assert [u["code"] for u in directory.children("TA")] == ["TA-P01"]
    assert directory.find_unit("乙镇中学")["code"] == "TB-J01"


@pytest.mark.parametrize(("kwargs", "error"), [
    (dict(code="TA", name="重复", kind="town", parent="SS"), DuplicateError),
    (dict(code="X1", name="无上级", kind="town", parent="NOPE"), UnknownReferenceError),
    (dict(code="X2", name="学校无学段", kind="school", parent="TA"), InvalidInputError),
    (dict(code="X3", name="怪类型", kind="village", parent="TA"), InvalidInputError),
    (dict(code="X4", name="", kind="town", parent="SS"), InvalidInputError),
])
def test_bad_units_are_refused(app, kwargs, error):
    before = dict(app.directory().units)
    with pytest.raises(error):
        app.add_unit(SYSTEM, **kwargs)
    assert app.directory().units == before


def test_only_the_office_edits_the_directory(app):
    from domain.errors import NotPermittedError

    with pytest.raises(NotPermittedError):
        app.add_unit("school_a", code="X9", name="私设", kind="town", parent="SS")


def test_the_seeded_county_is_the_one_in_the_circular(tmp_path):
    from tests.conftest import settings_for
    from xiaohao.county import build_directory

    app = settings_for("memory", tmp_path).build_app()
    build_directory(app)
    directory = app.directory()
    kinds = [u["kind"] for u in directory.units.values()]
    assert (kinds.count("department"), kinds.count("town")) == (16, 13)
    schools = [u for u in directory.units.values() if u["kind"] == "school"]
    assert sum(u["level"] == "primary" for u in schools) == 40
    assert sum(u["level"] == "junior" for u in schools) == 15
    assert {"龙城中学", "洙泗中学"} <= {u["name"] for u in schools}
    zhusi = directory.find_unit("洙泗中学")["code"]
    assert directory.responsible_on(zhusi, date(2019, 8, 1))["leaders"] == ["L1"]
    assert directory.person(directory.head_on("D05", date(2019, 8, 1)))["name"] == "吴茂民"


# Regression tests from the review of issue #2.

@pytest.mark.parametrize("changes", [
    dict(name=""), dict(name=None), dict(email="not-an-email"), dict(phone="\x07"),
    dict(unit_id="NOPE"), dict(salary="1"), {},
])
def test_person_updates_are_checked_like_registrations(app, changes):
    before = dict(app.directory().person("HA"))
    with pytest.raises((InvalidInputError, UnknownReferenceError)):
        app.update_person(SYSTEM, "HA", **changes)
    assert app.directory().person("HA") == before


def test_a_person_update_is_kept(app):
    app.update_person(SYSTEM, "HA", title="校长兼书记", email="ha@example.cn")
    assert app.directory().person("HA")["title"] == "校长兼书记"


def test_baobao_history_cannot_be_rewritten(app):
    with pytest.raises(InvalidInputError, match="早于开始日期"):
        app.end_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2000, 1, 1))
    app.end_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2027, 1, 1))
    with pytest.raises(InvalidInputError, match="早于上一段包保的结束日期"):
        app.assign_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2026, 12, 1))
    with pytest.raises(InvalidInputError, match="日期"):
        app.assign_baobao(SYSTEM, leader_id="L1", unit_id="TA", on="2027-02-01")
    app.assign_baobao(SYSTEM, leader_id="L1", unit_id="TA", on=date(2027, 2, 1))
    assert app.responsible_on("TA", date(2027, 1, 15))["leaders"] == []
    assert app.responsible_on("TA", date(2027, 2, 15))["leaders"] == ["L1"]


@pytest.mark.parametrize(("kind", "parent", "level"), [
    ("county", "SS", None), ("school", "TA-P01", "primary"), ("town", "TA-P01", None),
    ("department", "TA", None),
])
def test_the_unit_tree_keeps_its_shape(app, kind, parent, level):
    with pytest.raises(InvalidInputError):
        app.add_unit(SYSTEM, code="NEW", name="新单位", kind=kind, parent=parent, level=level)


def test_readers_in_threads_never_see_a_directory_being_changed(app):
    """Regression (#2 review): readers once shared the repository's cached directory while
    it was fast-forwarded in place, and failed with 'dictionary changed size'."""
    import sys
    import threading

    app.recent.ttl = 0          # re-read on every call, the hardest case
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                app.actor("leader_a", "give_instruction")
            except BaseException as error:   # noqa: BLE001 - any failure is the finding
                errors.append(error)
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    readers = [threading.Thread(target=read) for _ in range(3)]
    try:
        for reader in readers:
            reader.start()
        for i in range(300):
            app.add_unit(SYSTEM, code=f"TA-P{i + 10:03d}", name=f"甲镇小学{i}", kind="school",
                         parent="TA", level="primary")
    finally:
        stop.set()
        for reader in readers:
            reader.join()
        sys.setswitchinterval(interval)
    assert errors == []
