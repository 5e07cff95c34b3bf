"""周通报 as an official document (#15): drafted at its time with 表扬 and 批评 proposed, seen
only by the office and the auditor, edited and 签发 by the office with a 文号 from the
county's pattern (a serial per year); the digests go out and the checkpoint is taken only
then; a draft left unsigned is signed as it stands or the office reminded, as the county says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from domain.application import SYSTEM
from domain.clock import at_beijing
from domain.errors import NotPermittedError, UnknownReferenceError
from domain.periods import iso_week
from projections.readmodels import ReadModels
from scheduler.runs import issue, settle_drafts
from tests.conftest import START, open_at_school_a, settings_for
from tests.test_api import token_for
from tests.test_cycle import maildir, with_contacts
from tests.web_client import Browser, page
from xiaohao import wiring

WEEK = iso_week(START)
NEXT = iso_week(START + timedelta(weeks=1))


def draft_week(app, clock, tmp_path, **changes):
    """An overdue item at school A and a clean town B, then the week's draft at Friday 16:00:
    the settings, the read models and the sender."""
    with_contacts(app)
    app.assign(open_at_school_a(app), "office", lead_unit_id="TA-P01", person_id="HA",
               deadline=START + timedelta(days=1))
    clock.set(at_beijing(START + timedelta(days=4), 16))
    settings = settings_for("sqlite", tmp_path / "cycle", **changes)
    read = ReadModels(app, settings.read_db)
    run, issued = issue(app, read, "bulletin", WEEK, warn_days=3, base_url=settings.base_url)
    assert issued and run["draft"]
    return settings, read, wiring.sender(settings, app, read)


def number_of(app) -> str:
    return app.cycle_run("bulletin", WEEK)["content"]["overdue"]["items"][0]["number"]


def states(read) -> dict[str, str]:
    return dict(read.fresh().execute("SELECT recipient_key, state FROM deliveries "
                                     "WHERE kind = 'bulletin'").fetchall())


def test_a_draft_proposes_praise_and_criticism_and_holds_its_digests(web_app, clock, tmp_path):
    web, app = web_app
    settings, read, sender = draft_week(app, clock, tmp_path)
    run = app.cycle_run("bulletin", WEEK)
    assert run["document_number"] == "" and run["content"].get("seal") is None
    assert "proposed" not in run["content"]      # the office's deliberation is not the figures
    (criticised,) = run["document"]["criticism"]
    assert criticised.startswith("甲镇：逾期未整改问题 1 项，最长逾期 3 天")
    assert run["document"]["praise"] == []       # the only town with work has an overdue item
    assert run["document"]["closing"]
    # Held: nothing is sent while it is a draft, however often the sender runs.
    assert set(states(read).values()) == {"unsigned"}
    assert sender.send_due().delivered == 0 and not maildir(settings)
    # Only the office and the auditor see a draft, on the page and in the API.
    for login in ("school_a", "leader_a", "insp"):
        reader = Browser(web, login)
        assert reader.get(f"/bulletins/{WEEK}").status_code == 404
        assert "第 1 期" not in reader.get("/bulletins").text
        api = reader.client.get("/api/v1/bulletins", headers=token_for(web, login))
        assert api.json() == []
        assert reader.client.get(f"/api/v1/bulletins/{WEEK}",
                                 headers=token_for(web, login)).status_code == 404
    number = number_of(app)
    for login in ("school_a", "leader_a"):       # nor does a ticket's record tell of it yet
        ticket = Browser(web, login).get(f"/tickets/{number}").text
        assert "周通报 第1期" not in ticket and "待签发" not in ticket
    outbox = Browser(web, "office")
    held = outbox.get("/outbox?kind=bulletin").text
    first = page(outbox.get("/outbox?kind=bulletin")).select_one("tbody a")["href"]
    assert "待签发" in held and "待签发" in outbox.get(first).text     # the list and the message
    for login in ("office", "audit"):
        sheet = page(Browser(web, login).get(f"/bulletins/{WEEK}"))
        assert sheet.select_one(".draft-mark").text == "草稿 · 未签发"
        assert "（未签发）" in sheet.select_one(".bulletin .meta").text
    assert page(Browser(web, "office").get(f"/bulletins/{WEEK}")).select_one("form.sign-form")
    waiting = page(Browser(web, "office").get("/")).select_one(f".notice a[href='/bulletins/{WEEK}']")
    assert "周通报第 1 期（2026年11月2日—6日）草稿待签发" in waiting.text
    assert not page(Browser(web, "school_a").get("/")).select(".notice a[href^='/bulletins']")
    assert not page(Browser(web, "audit").get(f"/bulletins/{WEEK}")).select("form.sign-form")


def test_the_office_edits_and_signs_and_only_then_the_digests_go(web_app, clock, tmp_path):
    web, app = web_app
    settings, read, sender = draft_week(app, clock, tmp_path)
    office = Browser(web, "office")
    saved = office.post(f"/bulletins/{WEEK}", {
        "praise": "乙镇：本周完成全部整改任务。\n\n", "criticism": "甲镇：逾期 1 项。",
        "closing": "请各单位抓紧整改。", "then": "save"})
    assert saved.status_code == 303
    sheet = page(office.get(f"/bulletins/{WEEK}"))
    assert "草稿已保存，尚未签发" in sheet.text
    assert sheet.select_one("#praise").text == "乙镇：本周完成全部整改任务。"
    assert set(states(read).values()) == {"unsigned"}

    clock.advance(minutes=30)
    version = page(office.get(f"/bulletins/{WEEK}")).select_one("input[name=version]")["value"]
    signed = office.post(f"/bulletins/{WEEK}", {
        "praise": "1．乙镇：本周完成全部整改任务。", "criticism": "（一）甲镇：逾期 1 项，予以通报批评。",
        "closing": "请各单位抓紧整改。\r\n下周五前报送整改台账。", "then": "sign",
        "version": version})
    assert signed.status_code == 303
    run = app.cycle_run("bulletin", WEEK)
    assert not run["draft"] and run["document_number"] == "泗创办通〔2026〕1号"
    assert run["signed_by"] == "office" and run["content"]["seal"]["size"] > run["position"]
    sheet = page(Browser(web, "school_a").get(f"/bulletins/{WEEK}"))     # published to all
    text = " ".join(sheet.select_one(".bulletin").text.split())
    assert "泗创办通〔2026〕1号" in sheet.select_one(".doc-number").text
    assert "四、表扬和批评" in text and "1. 乙镇：本周完成全部整改任务。" in text
    assert "1. 甲镇：逾期 1 项，予以通报批评。" in text and "请各单位抓紧整改。" in text
    assert [p.text for p in sheet.select(".bulletin p.closing")] == ["请各单位抓紧整改。",
                                                                     "下周五前报送整改台账。"]
    assert "signer_name" not in app.cycle_run("bulletin", WEEK)       # a read model's, below
    assert "office签发" in Browser(web, "school_a").get("/bulletins").text.replace(" ", "")
    assert "2026年11月6日" in sheet.select_one(".bulletin .meta").text
    assert "2026-W45" not in text and not sheet.select(".draft-mark")
    assert f"存证：第 {run['content']['seal']['size']} 条" in sheet.select_one("footer").text

    assert set(states(read).values()) == {"queued"}
    assert sender.send_due().delivered == len(states(read))
    mails = maildir(settings)
    leader = next(m for m in mails if m["To"].addresses[0].username == "l1")
    body = leader.get_body(("plain",)).get_content()
    assert "本期通报文号：泗创办通〔2026〕1号" in body
    assert f"{settings.base_url}/bulletins/{WEEK}" in body
    assert f"存证：第 {run['content']['seal']['size']} 条" in body
    assert "本期表扬和批评" in body and "批评 1. 甲镇：逾期 1 项，予以通报批评。" in body
    html = leader.get_body(("html",)).get_content()
    assert f'href="{settings.base_url}/tickets/{number_of(app)}"' in html      # each item a link
    assert "<th" not in html.split("逾期未整改")[1]          # items as cards, not a wide table
    assert sender.send_due().delivered == 0 and len(maildir(settings)) == len(mails)   # once
    ticket = Browser(web, "leader_a").get(f"/tickets/{number_of(app)}").text
    assert "周通报 第1期" in ticket         # now the record tells of the bulletin and the digest
    home = page(Browser(web, "school_b").get("/")).select_one(".latest-bulletin").text
    assert "最新周通报：第 1 期（泗创办通〔2026〕1号），2026年11月6日签发" in home
    # a unit's copy is marked an extract, its lists its own out of the county's, printed too
    extract = page(Browser(web, "school_b").get(f"/bulletins/{WEEK}"))
    assert "摘录：本页第五、六部分只列出您查看范围内的问题" in extract.select_one(".extract-mark").text
    assert "您查看范围内没有逾期问题（全县共 1 项）" in extract.text
    assert not page(office.get(f"/bulletins/{WEEK}")).select(".extract-mark")

    again = office.post(f"/bulletins/{WEEK}", {"then": "sign"})
    assert again.status_code == 400 and "已签发，不能再修改或签发" in again.text
    assert app.cycle_run("bulletin", WEEK)["document_number"] == "泗创办通〔2026〕1号"


def test_bad_document_text_is_refused_with_what_was_typed_and_changes_nothing(
        web_app, clock, tmp_path):
    web, app = web_app
    draft_week(app, clock, tmp_path)
    before = app.cycle_run("bulletin", WEEK)
    office = Browser(web, "office")
    for form, said in [
        ({"praise": "\n".join(f"第{i}条" for i in range(21)), "then": "sign"},
         "表扬最多 20 条，现有 21 条"),
        ({"criticism": "甲" * 301, "then": "save"}, "批评第1条过长：301 字，最多 300 字"),
        ({"closing": "请\x07整改", "then": "sign"}, "结束语含有控制字符"),
    ]:
        refused = office.post(f"/bulletins/{WEEK}", form)
        assert refused.status_code == 400 and said in refused.text
        sheet = page(refused)
        for part, typed in form.items():
            if part != "then":
                assert sheet.select_one(f"#{part}").text.strip("\n") == typed.strip("\n")
    assert app.cycle_run("bulletin", WEEK) == before
    with pytest.raises(NotPermittedError, match="修改和签发周通报"):
        app.sign_bulletin("insp", WEEK)
    with pytest.raises(UnknownReferenceError, match="尚未生成"):
        app.sign_bulletin("office", NEXT)


def test_the_serial_runs_per_year_in_the_order_signed(memory_app, clock, tmp_path):
    app = memory_app
    read = ReadModels(app, ":memory:")
    christmas = START + timedelta(weeks=7, days=4)                  # Friday, 2026-12-25
    clock.set(at_beijing(christmas, 16))
    for week in ("2026-W51", "2026-W52"):
        issue(app, read, "bulletin", week, warn_days=3)
    clock.set(at_beijing(christmas, 17))
    assert app.sign_bulletin(SYSTEM, "2026-W52")["document_number"] == "泗创办通〔2026〕1号"
    assert app.sign_bulletin(SYSTEM, "2026-W51")["document_number"] == "泗创办通〔2026〕2号"
    clock.set(at_beijing(christmas + timedelta(weeks=1), 16))      # 2027-01-01, W53's Friday
    issue(app, read, "bulletin", "2026-W53", warn_days=3)
    assert app.sign_bulletin(SYSTEM, "2026-W53")["document_number"] == "泗创办通〔2027〕1号"


@pytest.mark.parametrize("pattern", [
    "泗创办通〔{year}〕号", "{serial", "{county}{serial}", "〔{year}〕{{serial}}号", "泗创办通{serial}号",
    "〔{year.real}〕{serial}号", "〔{year}〕{serial:x}号", "〔{year}〕{serial!r}号", "{serial[0]}{year}",
    "〔{year}〕{serial}{serial}号"])
def test_a_document_number_pattern_without_its_serial_is_refused(pattern, tmp_path):
    with pytest.raises(ValidationError, match="文号格式"):
        settings_for("memory", tmp_path, bulletin_number_pattern=pattern)


def test_left_unsigned_the_office_is_reminded_once(web_app, clock, tmp_path):
    _, app = web_app
    settings, read, sender = draft_week(app, clock, tmp_path)
    app.register_account(SYSTEM, login="office2", name="创建办二", roles=["office"],
                         person_id="HA", password="office2-password")
    clock.advance(hours=1)
    assert settle_drafts(app, read, sign_within=timedelta(hours=2), auto_sign=False) == []
    clock.advance(hours=1, minutes=1)
    settled = settle_drafts(app, read, sign_within=timedelta(hours=2), auto_sign=False,
                            base_url=settings.base_url)
    assert settled == [WEEK]
    assert settle_drafts(app, read, sign_within=timedelta(hours=2), auto_sign=False) == []
    reminders = {k: s for k, s in states(read).items() if k.startswith("signer-")}
    assert reminders == {"signer-HA": "queued", "signer-unit-EDU": "queued"}
    sender.send_due()
    (mail,) = [m for m in maildir(settings) if "待签发" in m["Subject"]
               and m["To"].addresses[0].username == "ha"]
    assert mail["Subject"] == "【待签发】测试县周通报 第1期草稿尚未签发"
    body = mail.get_body(("plain",)).get_content()
    assert "甲校长同志" in body and "2026年11月6日16:00" in body
    assert f"{settings.base_url}/bulletins/{WEEK}" in body
    assert app.cycle_run("bulletin", WEEK)["draft"]        # reminded, never signed for them


def test_left_unsigned_it_is_signed_as_it_stands_when_the_county_says_so(web_app, clock,
                                                                        tmp_path):
    _, app = web_app
    settings, read, sender = draft_week(app, clock, tmp_path)
    proposed = app.cycle_run("bulletin", WEEK)["document"]
    clock.advance(hours=3)
    county = settings_for("sqlite", tmp_path, bulletin_auto_sign=True)   # the app's own store
    wiring.cycle(county, app, read).tick()
    run = app.cycle_run("bulletin", WEEK)
    assert run["signed_by"] == SYSTEM and run["document"] == proposed
    assert run["document_number"] == "泗创办通〔2026〕1号" and run["content"]["seal"]
    assert {s for k, s in states(read).items()} == {"delivered"}
    assert maildir(county) and not [m for m in maildir(county) if "待签发" in m["Subject"]]


def test_signing_what_a_colleague_changed_meanwhile_is_refused(web_app, clock, tmp_path):
    web, app = web_app
    draft_week(app, clock, tmp_path)
    app.register_account(SYSTEM, login="office2", name="创建办二", roles=["office"],
                         password="office2-password")
    first = Browser(web, "office")
    read = page(first.get(f"/bulletins/{WEEK}")).select_one("input[name=version]")["value"]
    app.edit_bulletin("office2", WEEK, ["乙镇：主动排查。"], [], "同事改过的结束语")
    refused = first.post(f"/bulletins/{WEEK}", {"praise": "", "criticism": "", "closing": "",
                                                "then": "sign", "version": read})
    assert refused.status_code == 409 and "草稿已被他人修改" in refused.text
    run = app.cycle_run("bulletin", WEEK)
    assert run["draft"] and run["document"]["closing"] == "同事改过的结束语"
    # 签发 without the text signs the draft as it was saved, not an empty one
    assert first.post(f"/bulletins/{WEEK}", {"then": "sign"}).status_code == 303
    assert app.cycle_run("bulletin", WEEK)["document"]["praise"] == ["乙镇：主动排查。"]


def test_a_reminder_queued_before_the_signing_is_withdrawn_not_sent(web_app, clock, tmp_path):
    _, app = web_app
    settings, read, sender = draft_week(app, clock, tmp_path)
    clock.advance(hours=3)
    assert settle_drafts(app, read, sign_within=timedelta(hours=2), auto_sign=False) == [WEEK]
    app.sign_bulletin("office", WEEK)
    sender.send_due()
    assert states(read)["signer-unit-EDU"] == "withdrawn"
    assert not [m for m in maildir(settings) if "待签发" in m["Subject"]]
    assert settle_drafts(app, read, sign_within=timedelta(hours=2), auto_sign=False) == []
