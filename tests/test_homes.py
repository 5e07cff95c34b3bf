"""Every role's home (#11): the office's queues, an inspector's re-inspections and unchecked
items, a unit's own to-do, a town's own and its schools' tickets, a leader's 包保 and 批示;
and the ticket page's 交办意见, 改派理由, 签收 and 批示 with their 落实情况."""

from __future__ import annotations

from datetime import date

from domain.application import SYSTEM
from domain.errors import DomainError
from projections.queries import ticket_row
from projections.queues import ticket_dealings
from projections.readmodels import ReadModels
from tests.conftest import PASSWORD, assign_to_school_a, open_at_school_a
from tests.web_client import Browser, page


def queue(home, name: str):
    """A queue card of a home: (count, the ticket numbers listed)."""
    card = home.select_one(f"#queue-{name}")
    assert card is not None, f"no queue {name}"
    numbers = [a.text for a in card.select(".queue-rows > li > a:first-of-type")]
    return int(card.select_one(".count").text), numbers


def add_town_account(app) -> None:
    app.register_account(SYSTEM, login="town_a", name="甲镇账号", roles=["unit"], unit_id="TA",
                         password_hash=app.hash_password(PASSWORD))


def rectified_at_school_a(app, **overrides) -> str:
    number = open_at_school_a(app, **overrides)
    assign_to_school_a(app, number)
    app.rectify(number, "school_a", measures="已整改")
    return number


def test_the_office_has_five_queues_and_chases_in_one_click(web_app):
    web, app = web_app
    new = open_at_school_a(app, title="新发现的问题")
    asking = open_at_school_a(app, title="要延期的问题")
    assign_to_school_a(app, asking)
    app.acknowledge(asking, "school_a")
    app.request_extension(asking, "school_a", new_deadline=date(2026, 12, 31), reason="工程未完")
    waiting = rectified_at_school_a(app, title="等复查的问题")
    passed = rectified_at_school_a(app, title="待销号的问题")
    app.reinspect(passed, "insp", passed=True)
    office = Browser(web, "office")
    home = page(office.get("/"))
    assert queue(home, "new") == (1, [new])
    assert queue(home, "extensions") == (1, [asking])
    assert "申请延至 2026年12月31日（现完成时限 2026年11月30日）" in home.select_one("#queue-extensions").text
    assert queue(home, "reinspection") == (1, [waiting])
    assert queue(home, "to_close") == (1, [passed])
    # 未签收: the extension's ticket has its school's 签收 but not the town's; the rectified
    # one is no longer waiting for anyone's.
    assert queue(home, "unacknowledged") == (1, [asking])
    assert home.select_one("#queue-unacknowledged .unsigned").text == "甲镇"
    # The queues sit above the county's figures.
    text = home.text
    assert text.index("我的待办") < text.index("红黄绿灯")
    # 催办 is one click.
    button = home.select_one("#queue-unacknowledged form")
    assert button["action"] == f"/tickets/{asking}/chase"
    response = office.post(button["action"], {
        "expected_version": button.select_one('input[name="expected_version"]')["value"]})
    assert response.status_code == 303
    assert [e["event"] for e in app.ticket_history(asking)][-1] == "Chased"
    assert "已催办 1 次" in page(office.get("/")).select_one("#queue-unacknowledged").text
    # Each queue's whole list is a click away.
    links = {name: home.select_one(f"#queue-{name} h3 a")["href"]
             for name in ("new", "extensions", "reinspection", "to_close", "unacknowledged")}
    assert links["new"] == "/tickets?state=opened"
    assert links["to_close"] == "/tickets?state=verified"
    assert links["reinspection"] == "/tickets?state=rectified"
    full = page(office.get(links["unacknowledged"]))
    assert queue(full, "unacknowledged") == (1, [asking])
    assert office.get("/queues?name=to_rectify").status_code == 404   # a unit's, not the office's


def test_an_inspector_sees_re_inspections_and_this_weeks_unchecked_items(web_app, clock):
    web, app = web_app
    waiting = rectified_at_school_a(app, title="等复查的问题")
    open_one = open_at_school_a(app, title="整改中的问题")
    assign_to_school_a(app, open_one)
    clock.advance(days=7)                      # next Monday: both are on the week's list
    app.check_progress(open_one, "insp", note="进度正常")
    home = page(Browser(web, "insp").get("/"))
    assert queue(home, "reinspection") == (1, [waiting])
    card = home.select_one("#queue-week-checks")
    assert card.select_one(".count").text == "1"
    assert [a.text for a in card.select("li a")] == [waiting]
    assert home.select_one("#queue-new") is None and home.select_one("#queue-to_close") is None


def test_a_school_sees_what_is_its_to_do_now(web_app, clock):
    web, app = web_app
    late = open_at_school_a(app, title="早该完成的问题")
    app.assign(late, "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 3))
    fresh = open_at_school_a(app, title="刚交办的问题")
    assign_to_school_a(app, fresh)
    returned = rectified_at_school_a(app, title="被退回的问题")
    app.reinspect(returned, "insp", passed=False, findings="还有两个班超员")
    asking = open_at_school_a(app, title="要延期的问题")
    assign_to_school_a(app, asking)
    app.request_extension(asking, "school_a", new_deadline=date(2026, 12, 31), reason="工程未完")
    app.give_instruction(fresh, "leader_a", text="务必本月完成")
    clock.advance(days=3)                      # the first one is now overdue
    school = Browser(web, "school_a")
    home = page(school.get("/"))
    count, numbers = queue(home, "to_acknowledge")
    assert count == 4 and set(numbers) == {late, fresh, returned, asking}
    count, numbers = queue(home, "to_rectify")
    assert count == 3 and numbers[0] == late                     # red first
    assert "逾期 2 天" in home.select_one("#queue-to_rectify li").text
    assert queue(home, "returned") == (1, [returned])
    assert "复查退回 1 次" in home.select_one("#queue-returned").text
    assert queue(home, "my_extensions") == (1, [asking])
    card = home.select_one("#queue-instructions")
    assert card.select_one(".count").text == "1" and "务必本月完成" in card.text
    # 签收 in one click from the home.
    form = home.select_one(f'#queue-to_acknowledge form[action="/tickets/{fresh}/acknowledge"]')
    assert school.post(form["action"], {}).status_code == 303
    assert "TA-P01" in app.ticket(fresh)["acknowledged"]
    # The 批示 is answered on the ticket's page, whose form offers it by number.
    detail = page(school.get(f"/tickets/{fresh}"))
    options = detail.select('form[action*="/reply_instruction"] select[name="instruction"] option')
    assert [o["value"] for o in options] == ["1"] and "务必本月完成" in options[0].text
    response = school.post(f"/tickets/{fresh}/reply_instruction",
                           {"instruction": "1", "text": "已腾出两间教室分班"})
    assert response.status_code == 303
    home = page(school.get("/"))
    assert queue(home, "to_acknowledge")[0] == 3
    assert home.select_one("#queue-instructions .count").text == "0"
    # A school has no office queues, and its neighbour sees none of this.
    assert home.select_one("#queue-new") is None
    assert queue(page(Browser(web, "school_b").get("/")), "to_rectify") == (0, [])


def test_a_leader_sees_its_towns_trend_and_its_instructions_with_replies(web_app, clock):
    web, app = web_app
    first = rectified_at_school_a(app, title="第一个问题")
    app.reinspect(first, "insp", passed=True)
    second = open_at_school_a(app, title="第二个问题")
    assign_to_school_a(app, second)
    other = open_at_school_a(app, unit_id="TB-J01", title="乙镇的问题")
    app.assign(other, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 30))
    app.give_instruction(second, "leader_a", text="请镇里盯紧")
    app.reply_instruction(second, "school_a", instruction=1, text="已安排专人")
    clock.advance(days=7)                      # week 46: town A closes one of its two
    app.close_ticket(first, "office")
    home = page(Browser(web, "leader_a").get("/"))
    rows = home.select("#home-baobao tbody tr")
    assert len(rows) == 1
    cells = [td.text.strip() for td in rows[0].select("td")]
    assert cells[0] == "甲镇"
    assert cells[1].startswith("1")                          # ranked first of the towns
    assert cells[2].startswith("50.0%") and "↑ 50.0 个百分点" in cells[2]
    assert cells[4] == "2 / 1"
    card = home.select_one("#queue-given")
    assert card.select_one(".count").text == "1"
    assert "请镇里盯紧" in card.text and "已安排专人" in card.text
    # The county-wide figures come after.
    assert home.text.index("我的包保单位") < home.text.index("红黄绿灯")
    # Leader B's town has nothing closed: unranked, no trend to speak of.
    cells = [td.text.strip() for td in
             page(Browser(web, "leader_b").get("/")).select("#home-baobao tbody tr td")]
    assert cells[0] == "乙镇" and cells[2].startswith("0.0%")


def test_a_town_reads_its_schools_tickets_and_acts_on_its_own(web_app, clock):
    web, app = web_app
    add_town_account(app)
    shared = open_at_school_a(app, title="镇里配合的问题")
    assign_to_school_a(app, shared)                 # led by the school, shared by the town
    schools = open_at_school_a(app, title="学校自己的问题")
    app.assign(schools, "office", lead_unit_id="TA-P01", deadline=date(2026, 11, 30))
    elsewhere = open_at_school_a(app, unit_id="TB-J01", title="乙镇的问题")
    app.assign(elsewhere, "office", lead_unit_id="TB-J01", deadline=date(2026, 11, 30))
    town = Browser(web, "town_a")
    response = town.get("/")
    home = page(response)
    assert queue(home, "to_acknowledge") == (1, [shared])
    assert queue(home, "schools") == (1, [schools])
    assert not home.select("#queue-schools form")           # read-only: no actions offered
    links = [a["href"] for a in home.select("#home-town a")]
    assert "/tickets?town=TA" in links and "/checks" in links
    assert "/ledger/export?of=town&code=TA&format=xlsx" in links
    nav = [a["href"] for a in home.select("header nav a")]
    assert "/checks" in nav and "/tickets?town=TA" in nav
    # Its schools' ticket: shown, nothing offered.
    detail = page(town.get(f"/tickets/{schools}"))
    assert "您没有可执行的操作" in detail.select_one("#actions").text
    assert "此问题由" in detail.select_one("#actions").text     # the school's to answer, not the state's
    assert town.get(f"/tickets/{elsewhere}").status_code == 403
    # Its own list of tickets, its week's check list, its 一镇一册.
    listed = [a.text for a in page(town.get("/tickets?town=TA")).select("table.tickets td a")]
    assert set(listed) == {shared, schools}
    clock.advance(days=7)
    checks = page(town.get("/checks"))
    assert {tr["id"] for tr in checks.select("table.checks tbody tr")} == {
        f"check-{shared}", f"check-{schools}"}
    assert not checks.select("table.checks form")
    ledger = town.get("/ledger/export?of=town&code=TA&format=csv")
    assert ledger.status_code == 200 and schools in ledger.text and elsewhere not in ledger.text
    # A school still has no check list, and no town section.
    school = Browser(web, "school_a")
    assert school.get("/checks").status_code == 403
    assert page(school.get("/")).select_one("#home-town") is None
    assert "/checks" not in [a["href"] for a in page(school.get("/")).select("header nav a")]


def test_the_ticket_page_shows_how_it_is_dealt_with(web_app):
    web, app = web_app
    number = open_at_school_a(app)
    app.assign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["TA"], person_id="HA",
               deadline=date(2026, 11, 30), note="请学校本月内分班")
    app.acknowledge(number, "school_a")
    app.reassign(number, "office", lead_unit_id="TA-P01", co_unit_ids=["EDU"],
                 reason="改由教体局配合")
    app.chase(number, "office", note="请尽快签收")
    app.give_instruction(number, "leader_a", text="抓紧整改")
    app.give_instruction(number, "leader_a", text="月底前报结果")
    app.reply_instruction(number, "school_a", instruction=1, text="已制定分班方案")
    app.reply_instruction(number, "office", instruction=1, text="创建办已督促")
    detail = page(Browser(web, "office").get(f"/tickets/{number}"))
    dealings = detail.select_one("#dealings")
    assert "交办意见：请学校本月内分班" in dealings.text
    assert "改派理由：改由教体局配合" in dealings.text
    signed = [li.text for li in dealings.select(".acknowledgements li.signed")]
    unsigned = [li.text for li in dealings.select(".acknowledgements li.unsigned")]
    assert len(signed) == 1 and signed[0].startswith("甲镇中心小学（牵头）：已签收")
    assert unsigned == ["县教育体育局（配合）：未签收"]
    assert "催办 县教育体育局（请尽快签收）" in dealings.select_one(".chases").text
    items = detail.select("#instructions ol.instructions > li")
    assert len(items) == 2
    replies = [li.text for li in items[0].select(".replies li")]
    assert "甲镇中心小学" in replies[0] and "已制定分班方案" in replies[0]
    assert "创建办已督促" in replies[1]
    assert "尚未回复落实情况" in items[1].text
    assert "责任人" in detail.text and "甲校长" in detail.text
    # The read model says what the ticket itself says.
    db = ReadModels(app, ":memory:").fresh()
    ours = ticket_dealings(db, ticket_row(db, number, app.today(), 3))
    theirs = app.ticket(number)
    assert list(ours["acknowledged"]) == list(theirs["acknowledged"])
    assert ours["unacknowledged"] == theirs["unacknowledged"]
    assert [(i["n"], i["text"], [r["text"] for r in i["replies"]])
            for i in ours["instructions"]] == [
        (i["n"], i["text"], [r["text"] for r in i["replies"]]) for i in theirs["instructions"]]
    # A new assignment after a reopening starts the 签收 afresh, in both.
    app.rectify(number, "school_a", measures="已分班")
    app.reinspect(number, "insp", passed=True)
    app.close_ticket(number, "office")
    app.reopen(number, "insp", findings="反弹")
    db = ReadModels(app, ":memory:").fresh()
    ours = ticket_dealings(db, ticket_row(db, number, app.today(), 3))
    assert ours["acknowledged"] == app.ticket(number)["acknowledged"] == {}
    assert ours["unacknowledged"] == app.ticket(number)["unacknowledged"]


def test_every_role_gets_a_home_and_a_queue_page(web_app):
    web, app = web_app
    add_town_account(app)
    open_at_school_a(app)
    for login in ("office", "insp", "school_a", "town_a", "leader_a", "audit"):
        browser = Browser(web, login)
        assert browser.get("/").status_code == 200, login
        assert browser.get("/queues").status_code == 200, login
    assert Browser(web, "audit").get("/queues?name=new").status_code == 404



def random_walk(app, rng, numbers: list[str], steps: int) -> None:
    """A random walk over what each account is offered (allowed_commands) on the tickets."""
    day = date(2026, 12, 31)
    args = {
        "assign": lambda t: dict(lead_unit_id="TA-P01", deadline=day,
                                 co_unit_ids=rng.sample(["TA", "EDU"], rng.randint(0, 2))),
        "reassign": lambda t: dict(lead_unit_id="TA-P01", reason="改派",
                                   co_unit_ids=rng.sample(["TA", "EDU"], rng.randint(0, 2))),
        "acknowledge": lambda t: {}, "chase": lambda t: {}, "close_ticket": lambda t: {},
        "rectify": lambda t: dict(measures="已整改"),
        "request_extension": lambda t: dict(new_deadline=date(2027, 1, 31), reason="工程"),
        "extend_deadline": lambda t: dict(reason="同意", new_deadline=date(2027, 2, 28)),
        "refuse_extension": lambda t: dict(reason="不同意"),
        "reinspect": lambda t: dict(passed=rng.random() < 0.5, findings="复查"),
        "reopen": lambda t: dict(findings="反弹"), "hold": lambda t: dict(note="巩固"),
        "cancel": lambda t: dict(reason="重复"),
        "give_instruction": lambda t: dict(text=f"批示{rng.randint(1, 99)}"),
        "reply_instruction": lambda t: dict(
            instruction=rng.randint(1, len(app.ticket(t)["instructions"])), text="落实"),
    }
    for _ in range(steps):
        number = rng.choice(numbers)
        login = rng.choice(["office", "insp", "school_a", "town_a", "edu_unit", "leader_a"])
        offered = [{"close": "close_ticket"}.get(c, c)
                   for c in app.allowed_commands(number, login)]
        offered = [c for c in offered if c in args]
        if offered:
            command = rng.choice(offered)
            try:
                getattr(app, command)(number, login, **args[command](number))
            except DomainError:     # offered but refused (a returned ticket's 撤销): nothing
                pass                # is recorded, which is all this walk needs


def test_the_dealings_read_model_says_what_the_tickets_say(memory_app):
    """After a random walk, followed as it went: each ticket's 签收, 批示 and replies, and the
    office's queues of tickets waiting for a signature or an extension's answer, as the
    aggregates hold them; and a rebuild gives the same rows."""
    import random

    from domain.visibility import EVERYTHING
    from projections.queues import ticket_queue

    app = memory_app
    for login, unit in (("town_a", "TA"), ("edu_unit", "EDU")):
        app.register_account(SYSTEM, login=login, name=login, roles=["unit"], unit_id=unit,
                             password_hash=app.hash_password(PASSWORD))
    following = ReadModels(app, ":memory:")
    rng, numbers = random.Random(11), []
    for _ in range(10):
        numbers += [open_at_school_a(app) for _ in range(2)]
        random_walk(app, rng, numbers, 50)
        following.fresh()
    db = following.fresh()
    today = app.today()
    tickets = {n: app.ticket(n) for n in numbers}
    happened = {e["event"] for n in numbers for e in app.ticket_history(n)}
    assert happened >= {"Acknowledged", "Reassigned", "Reopened", "ReInspected", "Chased",
                        "ExtensionRequested", "DeadlineExtended", "InstructionReplied"}, happened
    for number, theirs in tickets.items():
        ours = ticket_dealings(db, ticket_row(db, number, today, 3))
        assert ours["acknowledged"].keys() == theirs["acknowledged"].keys(), number
        assert ours["unacknowledged"] == theirs["unacknowledged"], number
        assert [(i["n"], i["text"], [r["text"] for r in i["replies"]])
                for i in ours["instructions"]] == [
            (i["n"], i["text"], [r["text"] for r in i["replies"]])
            for i in theirs["instructions"]], number
    waiting = ticket_queue(db, "unacknowledged", today, 3, sight=EVERYTHING, limit=None)
    assert {r["number"] for r in waiting.rows} == {
        n for n, t in tickets.items() if t["state"] == "assigned" and t["unacknowledged"]}
    asking = ticket_queue(db, "extensions", today, 3, sight=EVERYTHING, limit=None)
    assert {r["number"] for r in asking.rows} == {
        n for n, t in tickets.items() if t["pending_extension"] and t["state"] == "assigned"}
    rebuilt = ReadModels(app, ":memory:").fresh()
    for table in ("dealing", "acknowledgements", "chases", "instructions",
                  "instruction_replies"):
        assert list(db.query(f"SELECT * FROM {table} ORDER BY 1, 2")) == list(
            rebuilt.query(f"SELECT * FROM {table} ORDER BY 1, 2")), table
