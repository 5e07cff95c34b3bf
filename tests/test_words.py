"""Words a person reads (#15 §5): a refusal names the role, not the login; every message greets
its reader one way (a person 同志, a unit by its name)."""

from __future__ import annotations

import pytest

from domain.errors import NotPermittedError
from tests.conftest import open_at_school_a
from xiaohao.adapters.mail import bodies, salutation


def test_a_refusal_names_the_role_not_the_login(memory_app):
    app = memory_app
    number = open_at_school_a(app)
    with pytest.raises(NotPermittedError, match="^督查员无权交办$"):
        app.assign(number, "insp", lead_unit_id="TA-P01")
    with pytest.raises(NotPermittedError, match="^责任单位无权维护组织机构和账号$"):
        app.add_unit("school_a", code="X", name="新学校", kind="school", parent="TA",
                     level="primary")


def test_every_message_greets_a_person_as_comrade_and_a_unit_by_name():
    person = {"name": "郭宏伟", "person_id": "H-T01", "address": "a@b.cn", "role": "unit"}
    unit = {"name": "泉林镇中学", "person_id": None, "address": None, "role": "unit"}
    assert salutation(person) == "郭宏伟同志" and salutation(unit) == "泉林镇中学"
    payload = {"kind": "notice", "label": "交办", "number": "SS-2019-0001", "title": "围墙开裂",
               "place": "泉林镇中学", "facts": [], "message": "请按期整改。", "link": "",
               "county": "泗水县", "event": "Assigned", "by": "创建办", "at": ""}
    for reader, greeting in ((person, "郭宏伟同志："), (unit, "泉林镇中学：")):
        text, html = bodies({"recipient": reader, "payload": payload})
        assert text.startswith(greeting) and greeting in html
