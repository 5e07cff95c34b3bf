"""What each person was told (#13 §2): per ticket, every bulletin and message that named it, on
its page and through the API (and as of a past instant); per person, kind, week and state, in
发件箱, each message with its delivery record and the log position it was built from."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from domain.application import SYSTEM
from domain.clock import at_beijing
from domain.telling import named_in
from projections.runs import OutboxFilter, outbox, run_of, told_about
from tests.conftest import START, issue_signed, open_at_school_a, settings_for
from tests.test_bulletin import fridays  # noqa: F401  (the long random history)
from tests.web_client import Browser, page
from xiaohao import wiring


def test_every_ticket_a_bulletin_or_message_named_is_told_once_per_naming(fridays):  # noqa: F811
    """Against the runs and messages themselves: each names exactly the tickets `told` keeps."""
    app, read, issued, histories = fridays
    db = read.fresh()
    for run in issued:
        named = {number for number, _ in named_in(run["content"])}
        kept = {n for (n,) in db.execute(
            "SELECT number FROM told WHERE run_id = ?",
            (run_of(db, "bulletin", run["period"])["id"],))}
        assert kept == named, run["period"]
    assert sum(len(named_in(r["content"])) for r in issued) >= 50
    rng = random.Random(3)
    deliveries = outbox(db, OutboxFilter(kind="bulletin"), limit=10_000)
    for d in rng.sample(deliveries, 40):
        named = {number for number, _ in named_in(app.delivery(d["id"])["payload"])}
        kept = {n for (n,) in db.execute("SELECT number FROM told WHERE delivery_id = ?",
                                         (d["id"],))}
        assert kept == named, d["subject"]
    # a ticket named in the most bulletins: each of them, in order, and its digests
    number, times = db.execute("SELECT number, count(*) FROM told WHERE run_id IS NOT NULL "
                               "GROUP BY number ORDER BY 2 DESC LIMIT 1").fetchone()
    told = told_about(db, number)
    issues = [t["issue"] for t in told if t["run_id"]]
    assert len(issues) == times >= 3 and issues == sorted(issues)
    assert {t["part"] for t in told} <= {"逾期未整改", "下周到期", "即将到期"} | {
        t["part"] for t in told if not t["run_id"]}
    assert any(t["recipient_key"] == "leader-L1" or t["recipient_key"] == "leader-L2"
               for t in told)


@pytest.fixture
def overdue_told(web_app, clock, tmp_path):
    """A ticket overdue by Friday 6 November, named in bulletin 1 and in the digests of its
    leader and its school; the mail sent (to the local outbox)."""
    web, app = web_app
    app.update_person(SYSTEM, "L1", email="l1@example.cn")
    clock.set(at_beijing(START, 9))
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
               deadline=date(2026, 11, 4))
    clock.set(at_beijing(START + timedelta(days=4), 16))
    read = web.state.reads.models
    run = issue_signed(app, read, "2026-W45")
    settings = settings_for("sqlite", tmp_path)
    wiring.sender(settings, app, read).send_due()
    clock.set(at_beijing(START + timedelta(days=4), 17))
    return web, app, number, run


def test_the_ticket_page_says_every_bulletin_and_message_that_named_it(overdue_told):
    web, app, number, run = overdue_told
    doc = page(Browser(web, "office").get(f"/tickets/{number}"))
    told = [li.text.split(None, 2)[-1] for li in doc.select("#told li")]
    assert "列入第1期周通报（逾期未整改）" in told
    leader = next(t for t in told if t.startswith("发送给陈领导"))
    assert "（周通报 第1期，逾期未整改）" in leader and "已送达" in leader
    head = next(t for t in told if t.startswith("发送给甲镇中心小学负责人"))
    assert "（周通报 第1期，逾期未整改）" in head
    assert doc.select_one("#told a[href^='/outbox/']")
    school = page(Browser(web, "school_a").get(f"/tickets/{number}"))
    assert "列入第1期周通报" in school.select_one("#told").text
    assert school.select_one("#told a[href^='/outbox/']") is None   # no 发件箱 for a school
    # before the bulletin, nothing had named it
    before = page(Browser(web, "audit").get(f"/tickets/{number}?as_of=2026-11-06T15:59"))
    assert "还没有通报或提醒点到这个问题" in before.select_one("#told").text
    api = Browser(web, "audit").get(f"/api/v1/tickets/{number}").json()["told"]
    assert {(t["issue"], t["part"]) for t in api if t["run_id"]} == {(1, "逾期未整改")}
    assert {t["recipient_key"] for t in api if t["delivery_id"]} == {"leader-L1", "unit-TA-P01"}


def test_the_outbox_by_person_kind_week_and_state(overdue_told):
    web, app, number, run = overdue_told
    auditor = Browser(web, "audit")
    doc = page(auditor.get("/outbox?recipient=leader-L1&week=2026-W45&kind=bulletin"))
    rows = doc.select("tbody tr")
    assert len(rows) == 1 and "陈领导" in rows[0].text and "已送达" in rows[0].text
    assert f"第 {run['position']} 条" in rows[0].text
    assert doc.select_one("select[name=recipient] option[selected]")["value"] == "leader-L1"
    assert not page(auditor.get("/outbox?recipient=leader-L1&week=2026-W44")).select("tbody tr")
    week = page(auditor.get("/outbox?week=2026-W45")).select("tbody tr")
    assert len(page(auditor.get("/outbox?state=delivered&week=2026-W45")).select("tbody tr")) \
        == len(week) >= 3    # both leaders and the school
    assert not page(auditor.get("/outbox?state=failed")).select("tbody tr")
    assert auditor.get("/outbox?kind=fax").status_code == 400
    api = auditor.get("/api/v1/outbox?recipient=leader-L1&kind=bulletin").json()["items"]
    assert [(d["recipient_key"], d["built_from"]) for d in api] == [("leader-L1", run["position"])]
    message = page(auditor.get(f"/outbox/{api[0]['id']}"))
    steps = [li.select_one("strong").text for li in message.select("ol.timeline li")]
    assert steps == ["加入发件箱", "开始发送", "已送达"]
    assert f"日志第 {run['position']} 条" in message.text
    assert number in message.select_one("pre.mail-text").text
