"""周通报, its archive and 发件箱 in the web app (#5), checked with a parser."""

from __future__ import annotations

from datetime import timedelta

from domain.clock import at_beijing
from domain.periods import iso_week
from projections.readmodels import ReadModels
from tests.conftest import START, issue_signed, open_at_school_a
from tests.test_cycle import with_contacts
from tests.web_client import Browser, page
from xiaohao import wiring

WEEK = iso_week(START)


def issue_week(app, clock, tmp_path, **settings_changes):
    """An overdue ticket at school A, then the first week's bulletin and its digests."""
    app.assign(open_at_school_a(app, title="<script>alert(1)</script>音乐教室不足"), "office",
               lead_unit_id="TA-P01", person_id="HA", deadline=START + timedelta(days=1))
    clock.set(at_beijing(START + timedelta(days=4), 16))
    from tests.conftest import settings_for

    settings = settings_for("sqlite", tmp_path / "cycle").model_copy(update=settings_changes)
    read = ReadModels(app, settings.read_db)
    issue_signed(app, read, WEEK)
    return wiring.sender(settings, app, read), read


def test_the_bulletin_reads_as_a_tongbao_and_the_archive_lists_it(web_app, clock, tmp_path):
    web, app = web_app
    with_contacts(app)
    clock.set(at_beijing(START + timedelta(days=1), 9))
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", person_id="HA",
               deadline=START + timedelta(days=2))
    issue_week(app, clock, tmp_path)
    school = Browser(web, "school_a")            # a 通报 goes round to every unit
    archive = page(school.get("/bulletins"))
    assert [a.text for a in archive.select("table a")] == ["第 1 期"]
    doc = page(school.get(f"/bulletins/{WEEK}"))
    assert doc.select_one(".bulletin h1").text.replace(" ", "") == "周通报"
    assert "第 1 期" in doc.select_one(".bulletin .number").text

    def table_after(heading: str):
        return doc.find("h2", string=lambda s: s and s.startswith(heading)).find_next("table")

    towns = [[td.text for td in tr.select("td")] for tr in table_after("二、").select("tbody tr")]
    # towns with work only; 撤销 and 重新整改 in columns of their own, the on-time rate (two
    # deadlines passed, none met) and extensions beside the closure rate (#11)
    assert towns == [["1", "甲镇", "2", "0", "2", "0", "0", "0", "0.0%", "0.0%（0/2）", "0", "2"]]
    named = table_after("五、").select("tbody tr")
    assert any(number in tr.text and "甲校长" in tr.text and "陈领导" in tr.text for tr in named)
    assert doc.select("svg.chart")
    assert not doc.select(".bulletin script")        # the finding's text stays text
    assert Browser(web, "school_a").get("/bulletins/2026-W30").status_code == 404


def test_the_outbox_shows_each_message_and_the_office_sends_a_failed_one_again(
        web_app, clock, tmp_path):
    web, app = web_app
    sender, read = issue_week(app, clock, tmp_path, mail_channel="smtp", smtp_port=1,
                              delivery_max_failures=1)
    sender.send_due()                         # nothing listens on port 1: failed at once
    office = Browser(web, "office")
    listing = page(office.get("/outbox?state=failed"))
    rows = listing.select("tbody tr")
    assert rows and all("发送失败" in r.text for r in rows)
    assert "发送失败" in page(office.get("/")).select_one(".notice a").text
    # an empty tab says what it lacks, not that the outbox is empty (#11)
    assert page(office.get("/outbox?state=held")).select_one(".empty").text == "没有待汇总的消息。"
    link = rows[0].select_one("a")["href"]
    message = page(office.get(link))
    assert "Message-ID" in message.text and message.select_one("pre.mail-text").text
    html = office.get(link + "/html")
    assert html.headers["content-security-policy"].startswith("default-src 'none'")
    assert "&lt;script&gt;" in html.text and "<script>" not in html.text
    auditor = page(Browser(web, "audit").get(link))
    assert not auditor.select("form[action$='/retry']")           # the auditor only reads
    response = office.post(link + "/retry", {})
    assert response.status_code == 303
    assert app.delivery(link.rsplit("/", 1)[1])["state"] == "queued"
    again = office.post(link + "/retry", {})                       # not failed any more
    assert again.status_code == 400 and "只有发送失败的邮件可以重发" in again.text


def test_the_office_is_told_when_the_working_day_calendar_runs_out(web_app, clock):
    web, _ = web_app
    clock.set(at_beijing(START + timedelta(days=40), 9))   # mid-December: 2027 is unknown
    notes = [p.text for p in page(Browser(web, "office").get("/")).select(".notice")]
    assert any("2027" in n and "chinese-calendar" in n for n in notes)
    assert not page(Browser(web, "school_a").get("/")).select(".notice")


def test_an_id_that_is_not_a_message_is_not_found(web_app):
    """Regression: the outbox must not draw another aggregate (an account, a ticket) by id."""
    from domain.account import account_id

    web, app = web_app
    office = Browser(web, "office")
    for other in (str(account_id("office")), "not-a-uuid"):
        for suffix in ("", "/html"):
            response = office.get(f"/outbox/{other}{suffix}")
            assert response.status_code == 404 and "argon2" not in response.text
    assert office.post(f"/outbox/{account_id('office')}/retry", {}).status_code == 404


def test_a_unit_reads_the_figures_but_only_its_own_named_items(web_app, clock, tmp_path):
    """The bulletin's totals and ranking are for everyone; the items it names are tickets,
    and a unit sees only its own (the rule of every other page, #4)."""
    web, app = web_app
    issue_week(app, clock, tmp_path)
    named = {"office": None, "school_a": None, "school_b": None, "leader_a": None,
             "leader_b": None}
    for login in named:
        doc = page(Browser(web, login).get(f"/bulletins/{WEEK}"))
        named[login] = [tr.select("td")[1].text for tr in doc.select("#overdue tbody tr")]
        heading = doc.find("h2", string=lambda s: s and s.startswith("五、"))
        assert "逾期未整改问题（1 项）" in heading.text          # the count is the county's
    assert named["office"] == named["school_a"] == named["leader_a"] == ["SS-2026-0001"]
    assert named["school_b"] == named["leader_b"] == []


def test_careless_addresses_get_a_chinese_answer(web_app):
    """Weeks that are not weeks, pages that are not pages, ids that are not messages."""
    web, app = web_app
    office = Browser(web, "office")
    before = app.recorder.max_notification_id()
    for url, status, message in [
        ("/bulletins/<script>", 400, "周次"), ("/bulletins/2026-W99", 400, "周次"),
        ("/bulletins/" + "9" * 5000, 400, "周次"), ("/bulletins/2026-W45", 404, "尚未发布"),
        ("/outbox?page=0", 400, "输入有误"), ("/outbox?page=99999999999999999999", 400, "输入有误"),
        ("/outbox/%00", 404, "没有这封待发邮件"),
    ]:
        response = office.get(url)
        assert response.status_code == status, url
        assert message in page(response).select_one("[role=alert]").text, url
        assert "<script>" not in response.text
    assert office.post("/outbox/" + "0" * 36 + "/retry", {}).status_code == 404
    assert app.recorder.max_notification_id() == before
