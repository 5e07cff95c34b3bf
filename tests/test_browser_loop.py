"""Every role's loop in a real browser (#11), told by a real SMTP server: the office assigns on a
desktop; the school (on a 390-px phone) and the co-responsible town each receive the assignment
by mail with a working link, and 签收; the school adds 整改前 photos and rectifies; the inspector
returns it, and the school is told why; the school rectifies again, the inspector passes it and
the office closes it; a month later the recheck is recorded as 巩固. The bulletin's figures are
checked against figures counted here, independently, from the recorded events."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from domain.application import SYSTEM
from domain.clock import at_beijing
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import (
    PASSWORD,
    loopback_port,
    open_at_school_a,
    seed_small_county,
    served,
    settings_for,
)
from tests.test_browser import CHROMIUM, DESKTOP, PHONE, act, shot, signed_in
from tests.test_cycle import with_contacts
from tests.test_delivery import Recorder, free_port, send_until_done
from tests.web_client import jpeg_photo

pytestmark = pytest.mark.slow
assert CHROMIUM.exists()   # tests.test_browser skips or fails the module without it

DEADLINE = date(2026, 11, 20)


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield recorder, controller.port
    controller.stop()


@pytest.fixture
def county(tmp_path, clock, smtp):
    """The small county served on a loopback port, its mail going to the SMTP server, its
    links pointing at the server itself; town A has a head (张镇长) and an account."""
    from xiaohao import wiring

    port = loopback_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings_for("sqlite", tmp_path, mail_channel="smtp", smtp_port=smtp[1],
                            base_url=base)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with_contacts(app)
    app.register_person(SYSTEM, person_id="HT", name="张镇长", title="镇长", unit_id="TA",
                        email="ht@county.example")
    app.appoint_head(SYSTEM, unit_id="TA", person_id="HT", on=clock.now().date())
    app.register_account(SYSTEM, login="town_a", name="甲镇", roles=["unit"], unit_id="TA",
                         person_id="HT", password=PASSWORD)
    with served(settings, app, port):
        yield base, app, wiring.cycle(settings, app), settings
    app.close()


def mails_since(recorder, seen: int) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m, policy=email.policy.default)
            for m in recorder.messages[seen:]]


def tell(cycle, clock) -> None:
    """What the scheduler does every tick: queue the notices of new events, then send."""
    cycle.tick()
    send_until_done(cycle.sender, clock, rounds=3)


def no_sideways_scrolling(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_each_role_s_loop_ends_in_proof(county, smtp, chromium, clock):
    base, app, cycle, _ = county
    recorder, _ = smtp
    number = open_at_school_a(app)
    # The office assigns it on a desktop, to the school with the town co-responsible.
    office = signed_in(chromium, base, "office", DESKTOP)
    office.goto(f"/tickets/{number}")
    act(office, "交办", {"select[name=lead_unit_id]": "TA-P01",
                        "select[name=co_unit_ids]": ["TA"],
                        "input[name=deadline]": DEADLINE.isoformat(),
                        "textarea[name=note]": "请于本月20日前完成分班并上报照片"})
    office.wait_for_selector(".state:has-text('整改中')")
    assert "请于本月20日前完成分班并上报照片" in office.locator("article#ticket").inner_text()

    # Both heads are told by mail, with the 交办意见, the deadline and a link that works.
    tell(cycle, clock)
    told = {m["To"].addresses[0].addr_spec: m for m in mails_since(recorder, 0)}
    assert set(told) == {"ha@county.example", "ht@county.example"}
    links = {}
    for address, mail in told.items():
        text = mail.get_body(("plain",)).get_content()
        assert "请于本月20日前完成分班并上报照片" in text and DEADLINE.isoformat() in text
        links[address] = re.search(rf"{re.escape(base)}/tickets/[\w-]+", text)[0]
    seen = len(recorder.messages)

    # The school follows its link on a phone and signs for it; the town does the same.
    school = signed_in(chromium, base, "school_a", PHONE)
    school.goto(urlsplit(links["ha@county.example"]).path)
    act(school, "签收", {})
    school.wait_for_selector("details.action summary:text-is('提交整改')")
    assert school.locator("details.action summary:text-is('签收')").count() == 0
    town = signed_in(chromium, base, "town_a", DESKTOP)
    town.goto(urlsplit(links["ht@county.example"]).path)
    act(town, "签收", {})
    town.wait_for_selector("details.action summary:has-text('留言')")
    assert app.ticket(number)["unacknowledged"] == []

    # The school adds a photo of the problem as found, then rectifies with one of the fix.
    before = {"name": "整改前.jpg", "mimeType": "image/jpeg",
              "buffer": jpeg_photo(taken_at="2026:11:02 10:00:00")}
    after = {"name": "整改后.jpg", "mimeType": "image/jpeg",
             "buffer": jpeg_photo(taken_at="2026:11:03 15:00:00")}
    clock.advance(days=1)
    school.goto(f"/tickets/{number}")
    act(school, "补充整改前照片", {}, files={"input[name=evidence]": before})
    school.wait_for_selector("details.action summary:text-is('提交整改')")
    act(school, "提交整改", {"textarea[name=measures]": "四年级拆分为三个班"},
        files={"input[name=evidence]": after})
    school.wait_for_selector(".state:has-text('待复查')")
    no_sideways_scrolling(school)
    shot(school, "loop-phone-rectified")

    # The inspector returns it; the school is told why.
    inspector = signed_in(chromium, base, "insp", PHONE)
    inspector.goto(f"/tickets/{number}")
    act(inspector, "复查", {"input[name=passed][value='0']": "",
                           "textarea[name=findings]": "四(3)班仍有48人"})
    inspector.wait_for_selector(".state:has-text('整改中')")
    tell(cycle, clock)
    returned = mails_since(recorder, seen)
    assert {m["To"].addresses[0].addr_spec for m in returned} >= {"ha@county.example"}
    assert any("四(3)班仍有48人" in m.get_body(("plain",)).get_content() for m in returned)
    seen = len(recorder.messages)

    # Rectified again, passed, closed.
    clock.advance(days=1)
    school.goto(f"/tickets/{number}")
    act(school, "提交整改", {"textarea[name=measures]": "四(3)班调出3人"},
        files={"input[name=evidence]": after | {"name": "再次整改.jpg"}})
    school.wait_for_selector(".state:has-text('待复查')")
    inspector.goto(f"/tickets/{number}")
    act(inspector, "复查", {"input[name=passed][value='1']": "", "textarea[name=findings]": "到位"})
    inspector.wait_for_selector(".state:has-text('复查通过')")
    office.goto(f"/tickets/{number}")
    act(office, "销号", {"textarea[name=note]": "同意销号"})
    office.wait_for_selector(".state:has-text('已销号')")

    # A month later the recheck list holds it as 未回查 until the inspector records 巩固.
    clock.set(at_beijing(date(2026, 12, 1), 10))
    inspector.goto("/rechecks?month=2026-12")
    row = inspector.locator("tr", has=inspector.locator(f"text={number}"))
    assert "未回查" in row.inner_text()
    inspector.goto(f"/tickets/{number}")
    act(inspector, "回查巩固", {"textarea[name=note]": "回查各班均不超过45人"},
        files={"input[name=evidence]": after | {"name": "回查.jpg"}})
    inspector.wait_for_selector("text=回查巩固")
    inspector.goto("/rechecks?month=2026-12")
    row = inspector.locator("tr", has=inspector.locator(f"text={number}"))
    assert "巩固" in row.inner_text() and "未回查" not in row.inner_text()
    no_sideways_scrolling(inspector)
    shot(inspector, "loop-phone-recheck-held")

    # The bulletin of the recheck's week against the events, counted here.
    history = app.ticket_history(number)
    events = [h["event"] for h in history]
    clock.set(at_beijing(date(2026, 12, 4), 16, 1))
    read = ReadModels(app, ":memory:")
    run, _ = issue(app, read, "bulletin", "2026-W49", warn_days=3)
    totals = run["content"]["totals"]
    assert totals["found_total"] == events.count("Opened") == 1
    assert totals["closed_total"] == events.count("Closed") == 1
    assert totals["reopened_total"] == events.count("Reopened") == 0
    assert totals["closure_rate"] == 1.0
    assert events.count("Rectified") == 2 and events.count("Acknowledged") == 2
    rechecks = run["content"]["rechecks"]
    assert rechecks["held"] == events.count("RecheckHeld") == 1
    # The first rectification missed nothing: both fixes were before the deadline, and the
    # one that passed was on time.
    passed_on = history[events.index("Rectified", events.index("ReInspected"))]["at"].date()
    assert passed_on <= DEADLINE and totals["on_time_rate"] == 1.0
