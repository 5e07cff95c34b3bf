"""Told at once, on the event (#11): a follower of the log queues, for each ticket event that
tells anyone, one message per person (assignment, return, extension decided, 批示, reopen,
催办, a 批示's reply), with a link to the ticket; a person who chose a daily digest gets one a
day instead; following twice, restarting, or two followers never queue one twice."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from domain.application import SYSTEM
from domain.clock import ManualClock, at_beijing
from projections.readmodels import ReadModels
from scheduler.runs import issue
from tests.conftest import START, open_at_school_a, seed_small_county, settings_for
from tests.test_cycle import with_contacts
from tests.test_delivery import Recorder, free_port, send_until_done
from tests.web_client import Browser, page
from xiaohao import wiring
from xiaohao.adapters.mail import bodies

BASE = "https://xiaohao.sishui.example"
DEADLINE = START + timedelta(days=20)


def county(tmp_path, store: str = "sqlite", schema: str = "", **changes):
    """The small county with mail addresses, school A's head, town A's head (张镇长) and the
    office's person (王主任, linked to the office account): (app, settings, clock)."""
    clock = ManualClock(at_beijing(START, 9))
    settings = settings_for(store, tmp_path, schema, base_url=BASE, **changes)
    app = settings.build_app(clock=clock)
    seed_small_county(app)
    with_contacts(app)
    app.register_person(SYSTEM, person_id="HT", name="张镇长", title="镇长", unit_id="TA",
                        email="ht@county.example")
    app.appoint_head(SYSTEM, unit_id="TA", person_id="HT", on=START)
    app.register_person(SYSTEM, person_id="OF", name="王主任", title="创建办主任", unit_id="EDU",
                        email="of@county.example")
    app.register_account(SYSTEM, login="office2", name="王主任", roles=["office"],
                         unit_id="EDU", person_id="OF", password="correct-horse")
    return app, settings, clock


def assigned(app) -> str:
    """A ticket at school A, led by the school with town A co-responsible."""
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["TA"], person_id="HA",
               deadline=DEADLINE, note="请于月底前完成分班")
    return number


def follower(app, settings, path=":memory:"):
    read = ReadModels(app, path)
    return wiring.notices(settings, app, read), read


def notices(read, number: str | None = None) -> list[dict]:
    rows = read.fresh().execute(
        "SELECT id, period, recipient_key, address, state, subject FROM deliveries "
        "WHERE kind = 'notice' ORDER BY seq").fetchall()
    keys = ("id", "period", "key", "address", "state", "subject")
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    return [n for n in found if number is None or n["period"].startswith(number)]


def told(read, tag: str) -> set[str]:
    """Who was told of events whose subject carries 【tag】."""
    return {n["key"] for n in notices(read) if n["subject"].startswith(f"【{tag}】")}


def test_the_assignment_reaches_the_school_and_the_town_by_smtp_with_a_working_link(tmp_path):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app, settings, clock = county(tmp_path, mail_channel="smtp", smtp_port=controller.port)
        number = assigned(app)
        cycle = wiring.cycle(settings, app)
        cycle.tick()
        send_until_done(cycle.sender, clock)    # a busy machine may time out an attempt
    finally:
        controller.stop()
    mails = {m["To"].addresses[0].addr_spec: m for m in
             (email.message_from_bytes(b, policy=email.policy.default) for b in recorder.messages)}
    assert set(mails) == {"ha@county.example", "ht@county.example"}
    for mail in mails.values():
        assert mail["Subject"] == f"【交办】{number} 四年级2个班超过45人"
        text, html = (part.get_content() for part in mail.iter_parts())
        assert "请于月底前完成分班" in text and str(DEADLINE) in text
        link = f"{BASE}/tickets/{number}"
        assert link in text and f'href="{link}"' in html
        assert 'name="viewport"' in html                     # readable on a phone
    assert "（牵头）" in mails["ha@county.example"].get_body(("plain",)).get_content()
    assert "（配合）" in mails["ht@county.example"].get_body(("plain",)).get_content()
    # The link works: the school signs in and follows it.
    web = wiring.web(settings, app=app, follow=False)
    with TestClient(web):
        response = Browser(web, "school_a").get(urlsplit(link).path)
    assert response.status_code == 200 and number in response.text
    app.close()


def test_each_event_tells_the_right_people(tmp_path):
    app, settings, clock = county(tmp_path, store="memory")
    tell, read = follower(app, settings)
    number = assigned(app)
    tell.follow()
    assert told(read, "交办") == {"person-HA", "person-HT"}
    app.rectify(number, "school_a", measures="分班", evidence=[])
    app.reinspect(number, "insp", passed=False, findings="仍有1个班超过45人")
    app.acknowledge(number, "school_a")
    app.chase(number, "office", note="请镇里尽快签收")     # the town has not signed
    app.request_extension(number, "school_a", new_deadline=DEADLINE + timedelta(days=10),
                          reason="需招聘教师")
    app.extend_deadline(number, "office", reason="同意")
    app.request_extension(number, "school_a", new_deadline=DEADLINE + timedelta(days=20),
                          reason="再延")
    app.refuse_extension(number, "office", reason="不再延期")
    app.give_instruction(number, "leader_a", text="务必本月解决")
    app.reply_instruction(number, "school_a", instruction=1, text="已增设教室一间")
    tell.follow()
    assert told(read, "退回整改") == {"person-HA", "person-HT"}
    assert told(read, "催办") == {"person-HT"}
    assert told(read, "同意延期") == {"person-HA", "person-HT"}
    assert told(read, "驳回延期") == {"person-HA", "person-HT"}
    assert told(read, "领导批示") == {"person-HA", "person-HT", "person-OF", "unit-EDU"}
    assert told(read, "批示落实情况") == {"person-L1"}
    # what they were told, as recorded
    ids = {n["subject"][:7]: n["id"] for n in notices(read) if n["key"] == "person-HA"}
    returned = app.delivery(next(i for s, i in ids.items() if "退回整改" in s))
    assert ["复查意见", "仍有1个班超过45人"] in returned["payload"]["facts"]
    reply = app.delivery(next(n["id"] for n in notices(read) if n["key"] == "person-L1"))
    assert ["批示内容", "务必本月解决"] in reply["payload"]["facts"]
    assert ["落实情况", "已增设教室一间"] in reply["payload"]["facts"]
    # a passed re-inspection, a closure and a comment tell nobody; a reopening tells the units
    before = len(notices(read))
    app.rectify(number, "school_a", measures="又分班", evidence=[])
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    app.comment(number, "office", text="好")
    tell.follow()
    assert len(notices(read)) == before
    app.reopen(number, "insp", findings="月回查发现又超员", deadline=DEADLINE + timedelta(days=30))
    tell.follow()
    assert told(read, "重新整改") == {"person-HA", "person-HT"}


def test_chasing_an_unsigned_ticket_tells_each_unit_that_has_not_signed(tmp_path):
    app, settings, _ = county(tmp_path, store="memory")
    tell, read = follower(app, settings)
    number = assigned(app)
    app.chase(number, "office", note="请签收")
    tell.follow()
    assert told(read, "催办") == {"person-HA", "person-HT"}
    chased = app.delivery(next(n["id"] for n in notices(read) if n["subject"].startswith("【催办")))
    text, _ = bodies(chased)
    assert "请签收" in text and f"{BASE}/tickets/{number}" in text


def test_a_person_who_chose_daily_gets_one_digest_a_day_instead(tmp_path):
    app, settings, clock = county(tmp_path, store="memory")
    app.choose_notification("school_a", "daily")
    tell, read = follower(app, settings)
    number = assigned(app)
    app.give_instruction(number, "leader_a", text="抓紧")
    tell.follow()
    mine = [n for n in notices(read) if n["key"] == "person-HA"]
    assert [n["state"] for n in mine] == ["held", "held"]          # not sent alone
    assert {n["state"] for n in notices(read) if n["key"] == "person-HT"} == {"queued"}
    day = START.isoformat()
    issue(app, read, "reminders", day, warn_days=3, base_url=BASE)
    digests = [d for d in _run_deliveries(read, day) if d["recipient_key"] == "person-HA"]
    assert len(digests) == 1
    digest = app.delivery(digests[0]["id"])
    assert [n["payload"]["label"] for n in digest["payload"]["notices"]] == ["交办", "领导批示"]
    text, html = bodies(digest)
    assert "2 条新消息" in text and f"{BASE}/tickets/{number}" in text and "抓紧" in html
    assert [n["state"] for n in notices(read) if n["key"] == "person-HA"] == ["gathered"] * 2
    # The next working day: one new event, one digest naming it alone.
    clock.set(at_beijing(START + timedelta(days=1), 9))
    app.chase(number, "office")
    tell.follow()
    nextday = (START + timedelta(days=1)).isoformat()
    issue(app, read, "reminders", nextday, warn_days=3, base_url=BASE)
    digests = [d for d in _run_deliveries(read, nextday) if d["recipient_key"] == "person-HA"]
    assert len(digests) == 1
    assert [n["payload"]["label"] for n in app.delivery(digests[0]["id"])["payload"]["notices"]] \
        == ["催办"]
    # A day with nothing held: no digest.
    clock.set(at_beijing(START + timedelta(days=2), 9))
    issue(app, read, "reminders", (START + timedelta(days=2)).isoformat(), warn_days=3)
    assert not [d for d in _run_deliveries(read, (START + timedelta(days=2)).isoformat())
                if d["recipient_key"].startswith("person-")]


def _run_deliveries(read, day: str) -> list[dict]:
    rows = read.fresh().execute("SELECT id, recipient_key FROM deliveries WHERE kind = "
                                "'reminders' AND period = ?", (day,)).fetchall()
    return [{"id": i, "recipient_key": k} for i, k in rows]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_following_twice_restarting_or_racing_never_queues_one_twice(tmp_path, store, request):
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else ""
    app, settings, clock = county(tmp_path, store, schema)
    numbers = [assigned(app) for _ in range(3)]
    for number in numbers:
        app.give_instruction(number, "leader_a", text="抓紧")
    tell, read = follower(app, settings, settings.read_db)
    queued = tell.follow()
    assert queued == 3 * 2 + 3 * 4 == len(notices(read))
    assert tell.follow() == 0
    # A restart: another application on the same store, this read database (its position).
    again = settings.build_app(clock=clock)
    assert follower(again, settings, settings.read_db)[0].follow() == 0
    # A follower that lost its position (a new read database) reads everything and queues none.
    assert follower(again, settings, tmp_path / "other.sqlite3")[0].follow() == 0
    # Two followers racing over new events, each with its own read database.
    more = [assigned(again) for _ in range(5)]
    racers = [follower(settings.build_app(clock=clock), settings, tmp_path / f"r{i}.sqlite3")[0]
              for i in range(2)]
    for racer in racers:     # both have read the old events already
        racer.read.fresh()
    counts: list[int] = []
    threads = [threading.Thread(target=lambda r=r: counts.append(r.follow())) for r in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == len(more) * 2
    ids = [n["id"] for n in notices(read)]
    assert len(ids) == len(set(ids)) == queued + len(more) * 2
    for racer in racers:
        racer.app.close()
    again.close()
    app.close()


def test_an_event_older_than_the_limit_is_not_told(tmp_path):
    """A first start on an old store does not tell its whole history."""
    app, settings, clock = county(tmp_path, store="memory", notice_max_age_days=7)
    assigned(app)
    clock.advance(days=8)
    tell, read = follower(app, settings)
    assert tell.follow() == 0
    recent = assigned(app)
    assert tell.follow() == 2 and {n["period"][:len(recent)] for n in notices(read)} == {recent}


def test_the_outbox_shows_the_notices_and_who_was_told(tmp_path):
    app, settings, _ = county(tmp_path)
    app.choose_notification("school_a", "daily")
    number = assigned(app)
    tell, _ = follower(app, settings, settings.read_db)
    tell.follow()
    web = wiring.web(settings, app=app, follow=False)
    with TestClient(web):
        office = Browser(web, "office")
        rows = page(office.get("/outbox")).select("tbody tr")
        subjects = [r.text for r in rows]
        assert len(rows) == 2 and all(f"【交办】{number}" in s for s in subjects)
        assert any("张镇长" in s and "待发送" in s for s in subjects)
        assert any("甲校长" in s and "待汇总" in s for s in subjects)
        held = page(office.get("/outbox?state=held")).select("tbody tr")
        assert len(held) == 1
        link = page(office.get("/outbox")).select_one("tbody tr a")["href"]
        message = office.get(link)
        assert message.status_code == 200 and f"{BASE}/tickets/{number}" in message.text
        # The day's digest gathers the held one; the outbox links the two.
        issue(app, tell.read, "reminders", START.isoformat(), warn_days=3, base_url=BASE)
        rows = page(office.get("/outbox")).select("tbody tr")
        mine = next(r for r in rows if "甲校长" in r.text and "【交办】" in r.text)
        assert "已汇总" in mine.text
        digest = office.get(mine.find("a", string="已并入当日汇总")["href"])
        assert "【每日汇总】" in digest.text and f"{BASE}/tickets/{number}" in digest.text
    app.close()


@pytest.mark.parametrize("value", ["xiaohao.example", "ftp://x"])
def test_a_base_url_that_is_not_one_is_refused_in_chinese(tmp_path, value):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="XIAOHAO_BASE_URL"):
        settings_for("memory", tmp_path, base_url=value)
