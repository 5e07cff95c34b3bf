"""Words a person reads (#15 §5): a refusal names the role, not the login; every message greets
its reader one way (a person 同志, a unit by its name)."""

from __future__ import annotations

import re

import pytest

from domain.errors import NotPermittedError
from domain.periods import Week
from tests.conftest import issue_signed, open_at_school_a
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


ISO_WEEK = re.compile(r"\d{4}-W\d{2}")


def reading(doc) -> str:
    """A page's words as a person reads them: not its links, nor identifiers shown as code
    (a Message-ID, a key's fingerprint)."""
    for code in doc.select("code"):
        code.decompose()
    return doc.get_text(" ")


def test_no_page_or_mail_a_person_reads_shows_an_iso_week(web_app, clock, tmp_path):
    """URLs may keep 2019-W34; the words on the page and in the mail may not."""
    from projections.readmodels import ReadModels
    from projections.runs import outbox
    from tests.conftest import START, assign_to_school_a
    from tests.web_client import Browser, page
    from xiaohao.adapters.mail import bodies

    web, app = web_app
    number = open_at_school_a(app)
    assign_to_school_a(app, number)
    read = ReadModels(app, tmp_path / "cycle.sqlite3")
    week = Week.of(START)
    issue_signed(app, read, str(week))
    office = Browser(web, "office")
    shown = {}
    for url in ("/", "/tickets", "/queues", "/checks", "/rechecks", "/bulletins",
                f"/bulletins/{week}", "/outbox", f"/tickets/{number}", "/standard"):
        shown[url] = ISO_WEEK.findall(reading(page(office.get(url))))
    found = {url: sorted(set(codes)) for url, codes in shown.items() if codes}
    assert not found, found
    mails = outbox(read.fresh())
    assert mails
    for row in mails:
        delivery = app.delivery(row["id"])
        text, _ = bodies(delivery)
        assert not ISO_WEEK.findall(delivery["subject"] + text), delivery["subject"]
        assert not ISO_WEEK.findall(reading(page(office.get(f"/outbox/{row['id']}")))), row["id"]
    read.close()


def test_a_units_copy_of_the_bulletin_says_its_own_overdue_are_none(web_app, clock, tmp_path):
    """A unit's copy said "逾期未整改问题（1 项）" then "本周无逾期问题": its own are none, the
    county's one; and the month is said as a month."""
    from datetime import date, timedelta

    from projections.readmodels import ReadModels
    from tests.web_client import Browser, page

    web, app = web_app
    late = open_at_school_a(app, unit_id="TB-J01")
    app.assign(late, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 3))
    clock.set(clock.now() + timedelta(days=3))
    read = ReadModels(app, tmp_path / "cycle.sqlite3")
    week = Week.of(clock.now().date())
    issue_signed(app, read, str(week))
    read.close()
    text = page(Browser(web, "school_a").get(f"/bulletins/{week}")).get_text(" ")
    assert "五、逾期未整改问题（1 项）" in text
    assert "您查看范围内没有逾期问题（全县共 1 项）。" in text and "截至本期无逾期问题" not in text
    assert re.search(r"2026年\d+月回查清单", text)
