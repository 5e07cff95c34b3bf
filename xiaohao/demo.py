"""The demo county: 泗水县's directory, its work plan and a starting ledger, then eight weeks of
simulated history through a manual clock, so that tickets sit in every state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.application import SYSTEM, XiaohaoApp
from domain.clock import ManualClock, at_beijing
from domain.numbering import format_number
from xiaohao import demo_figures
from xiaohao.adapters.evidence import EvidenceFiles
from xiaohao.county import build_directory

START = date(2019, 7, 1)            # a Monday, the week the plan went out
END = at_beijing(date(2019, 8, 26), 17, 30)   # eight weeks later: the demo's "now"
SIGNED_AFTER = timedelta(minutes=40)           # the office signs each week's bulletin
RECHECK_DAY = date(2019, 8, 1)      # first working day of August: the monthly recheck
SELF_ASSESSMENT = at_beijing(date(2019, 8, 26), 9)   # the 学年's figures imported (#14)
DEMO_PASSWORD = "xiaohao-demo"
OFFICE, INSPECTORS = "office", ("inspector1", "inspector2")
LEADER_LOGINS = {"L1": "chenxingcheng", "L2": "fantianpeng", "L3": "kongfanhua"}
CO_BUILD = ["D07", "D10", "D09", "D05"]   # 财政局, 住建局, 自然资源和规划局, 教体局
ALL_THREE = ["L1", "L2", "L3"]

# 附件2: title, deadline, co-responsible units, 包保 leaders, note
WORK_PLAN = [
    ("制定创建工作实施方案", date(2019, 7, 31), ["D05"], ["L3"], ""),
    ("召开全县创建工作动员及培训会议", date(2019, 9, 30), ["D05"], ["L3"], ""),
    ("解决龙城中学、洙泗中学学校规模大的问题", date(2020, 9, 30), CO_BUILD, ALL_THREE,
     "责任人：冉军、孟昭峰、胡波、吴茂民"),
    ("继续解决城区学校大班额问题", date(2020, 12, 31), ["D02", "D08", *CO_BUILD], ALL_THREE,
     "责任人：王卫国、董继华、冉军、孟昭峰、胡波、吴茂民"),
    ("解决10处小学和3处初中学校教学及辅助用房面积不足问题", date(2020, 12, 31), CO_BUILD,
     ALL_THREE, "需建设小学17196.71平方米、初中7836平方米"),
    ("解决3处小学体育运动场馆面积不足问题", date(2020, 12, 31), CO_BUILD, ALL_THREE,
     "需建设小学体育运动场馆17675.5平方米"),
    ("解决47口小学音乐教室和48口小学美术教室面积不足问题", date(2020, 12, 31), CO_BUILD,
     ALL_THREE, ""),
    ("招聘小学音体美教师110人、中学音体美教师47人", date(2021, 7, 31), ["D02", "D08", "D05"],
     ["L1", "L3"], "小学部分2020年7月前完成，中学部分2021年7月前完成"),
]

# The §三 shortfalls as a starting ledger: school, title, category, indicator, severity,
# week found, days to the deadline, and the path the eight weeks take it along.
SHORTFALLS = [
    ("T01-J01", "洙泗中学在校生超过2000人，学校规模超标", "scale", "gov_school_size", "grave", 0, 420, "in_progress"),
    ("T02-J01", "龙城中学学校规模过大，需分流新建", "scale", "gov_school_size", "grave", 0, 420, "instructed"),
    ("T01-P01", "四年级3个班学生数超过45人", "class_size", "gov_class_size", "serious", 0, 18, "reopened"),
    ("T01-P02", "五年级2个班学生数超过45人", "class_size", "gov_class_size", "serious", 0, 28, "returned_twice"),
    ("T02-P01", "三年级4个班学生数超过45人", "class_size", "gov_class_size", "serious", 1, 21, "overdue"),
    ("T02-P02", "六年级2个班学生数超过45人", "class_size", "gov_class_size", "serious", 1, 35, "awaiting_reinspection"),
    ("T01-J02", "八年级3个班学生数超过50人", "class_size", "gov_class_size", "serious", 1, 28, "extension_granted"),
    ("T02-J02", "七年级2个班学生数超过50人", "class_size", "gov_class_size", "serious", 2, 28, "closed"),
    ("T03-P02", "教学及辅助用房生均面积不足4.5平方米", "buildings", "res_teaching_aux_area", "serious", 0, 30, "verified"),
    ("T05-P02", "教学及辅助用房面积不足，缺少实验室", "buildings", "res_teaching_aux_area", "normal", 1, 21, "overdue"),
    ("T09-P02", "生均教学及辅助用房面积不足", "buildings", "res_teaching_aux_area", "normal", 2, 30, "extension_refused"),
    ("T06-J01", "初中教学及辅助用房生均面积不足5.8平方米", "buildings", "res_teaching_aux_area", "serious", 0, 35, "closed"),
    ("T13-P02", "教学用房老旧，面积不足", "buildings", "res_teaching_aux_area", "normal", 7, 60, "opened"),
    ("T04-P02", "体育运动场馆生均面积不足7.5平方米", "sports", "res_sports_area", "serious", 1, 60, "in_progress"),
    ("T07-P02", "运动场地面积不足，无环形跑道", "sports", "res_sports_area", "normal", 2, 30, "returned_once"),
    ("T11-P02", "体育场馆面积不足（与上周登记重复）", "sports", "res_sports_area", "normal", 3, 30, "cancelled"),
    ("T03-P01", "缺少音乐专用教室1间", "special_rooms", "gov_music_art_rooms", "normal", 0, 21, "reopened"),
    ("T08-P01", "缺少美术专用教室1间", "special_rooms", "gov_music_art_rooms", "normal", 1, 25, "closed"),
    ("T10-P01", "音乐、美术专用教室各缺1间", "special_rooms", "gov_music_art_rooms", "normal", 2, 20, "overdue"),
    ("T12-P01", "美术教室面积不足90平方米", "special_rooms", "gov_art_room_area", "normal", 3, 30, "awaiting_reinspection"),
    ("T13-P01", "音乐教室面积不足96平方米", "special_rooms", "gov_music_room_area", "normal", 4, 40, "in_progress"),
    ("D05", "小学音体美专任教师缺110人、中学缺47人", "teachers", "res_pe_art_teachers", "grave", 0, 390, "instructed"),
    ("D05", "教师交流轮岗比例未达到10%", "teachers", "gov_teacher_rotation_rate", "serious", 2, 30, "verified"),
    ("T06-P01", "教师培训经费未达到公用经费预算的5%", "funding", "qual_teacher_training_funds", "normal", 1, 30, "returned_twice"),
    ("T05-J01", "校车未安装GPS动态监控", "safety", None, "grave", 0, 10, "closed"),
    ("T09-J01", "防溺水安全教育记录不全", "safety", None, "normal", 3, 14, "overdue"),
]

# path -> steps as (days after the ticket was found, action)
PATHS: dict[str, list[tuple[int, str]]] = {
    "opened": [],
    "in_progress": [(0, "assign"), (1, "ack"), (14, "check"), (28, "check")],
    "instructed": [(0, "assign"), (1, "ack"), (10, "instruct"), (12, "reply"), (21, "check"),
                   (35, "comment")],
    # Nobody signed for it: the office chased, the school signed, its town never did.
    "overdue": [(0, "assign"), (3, "chase"), (4, "ack_lead"), (7, "check")],
    "awaiting_reinspection": [(0, "assign"), (1, "ack"), (12, "rectify")],
    "verified": [(0, "assign"), (1, "ack"), (9, "rectify"), (13, "pass")],
    "closed": [(0, "assign"), (1, "ack"), (8, "rectify"), (10, "pass"), (11, "close"),
               (-1, "hold")],
    "reopened": [(0, "assign"), (1, "ack"), (7, "rectify"), (9, "pass"), (10, "close"),
                 (-1, "reopen")],
    "returned_once": [(0, "assign"), (1, "ack"), (2, "before"), (10, "rectify"), (12, "fail")],
    "returned_twice": [(0, "assign"), (1, "ack"), (7, "rectify"), (9, "fail"), (16, "rectify"),
                       (18, "fail"), (20, "comment")],
    "extension_granted": [(0, "assign"), (1, "ack"), (10, "request"), (11, "grant"),
                          (24, "check")],
    "extension_refused": [(0, "assign"), (1, "ack"), (8, "request"), (10, "refuse"),
                          (17, "check")],
    "cancelled": [(0, "cancel")],
}
# Schools whose 经纬度 the office has entered (WGS-84), so their fix photos can be checked.
LOCATED = {"T01-P01": (35.6641, 117.2737), "T01-P02": (35.6702, 117.2861),
           "T02-P02": (35.6480, 117.2555), "T12-P01": (35.7132, 117.4420)}
# A fix photo the inspector should look at twice: taken (by its EXIF) before the finding.
DOUBTFUL = {"T12-P01": timedelta(days=-3)}


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    run: Callable[[], object] = field(compare=False)


def build_demo(app: XiaohaoApp, clock: ManualClock, evidence: EvidenceFiles,
               cycle=None) -> dict:
    """Build the whole demo on an empty store, its photos kept in `evidence`; returns counts
    for the operator. With a `cycle` (scheduler.service.Cycle), it ticks whenever a run falls
    due in the eight weeks, so the history has its check lists, bulletins, recheck list,
    reminders and digests."""
    clock.set(at_beijing(START, 8, 30))
    build_directory(app)
    for code, (latitude, longitude) in LOCATED.items():
        app.locate_unit(SYSTEM, code=code, latitude=latitude, longitude=longitude)
    _accounts(app)
    steps: list[Step] = []
    _work_plan(app, steps)
    _shortfalls(app, steps, evidence)
    _later(steps, SELF_ASSESSMENT, lambda: _self_assessment(app))
    if cycle is not None:
        for due in cycle.schedule.due_between(clock.now(), END):
            _later(steps, due.at, cycle.tick)
            if due.kind == "bulletin":     # the office reads the draft and signs it
                _later(steps, due.at + SIGNED_AFTER, lambda w=due.period: _sign(app, cycle, w))
    for step in sorted(steps):
        clock.set(step.at)
        step.run()
    clock.set(END)
    judged = app.judgement(demo_figures.YEAR)[1].judgements
    return {"units": len(app.directory().units), "tickets": len(WORK_PLAN) + len(SHORTFALLS),
            "self_assessed": sum(j["opened"] for j in judged), "steps": len(steps)}


def _sign(app: XiaohaoApp, cycle, week: str) -> None:
    """签发 as the office: the draft's 表扬 and 批评 as proposed; then the digests go out."""
    app.sign_bulletin(OFFICE, week, stamp=cycle.seal.stamp if cycle.seal else None)
    cycle.tick()


def _accounts(app: XiaohaoApp) -> None:
    digest = app.hash_password(DEMO_PASSWORD)   # one hash: every demo account shares the password
    add = app.register_account
    add(SYSTEM, login=OFFICE, name="创建办（县教育体育局）", roles=["office"], unit_id="D05",
        password_hash=digest)
    for i, login in enumerate(INSPECTORS, start=1):
        add(SYSTEM, login=login, name=f"督查员{'一二'[i - 1]}", roles=["inspector"],
            unit_id="D03", password_hash=digest)
    for person, login in LEADER_LOGINS.items():
        add(SYSTEM, login=login, name=app.directory().person(person)["name"], roles=["leader"],
            person_id=person, password_hash=digest)
    add(SYSTEM, login="auditor", name="审计组", roles=["auditor"], unit_id="D14",
        password_hash=digest)
    for unit in list(app.directory().units.values()):
        if unit["kind"] != "county":
            add(SYSTEM, login=unit["code"].lower(), name=unit["name"], roles=["unit"],
                unit_id=unit["code"], person_id=f"H-{unit['code']}", password_hash=digest)


def _work_plan(app: XiaohaoApp, steps: list[Step]) -> None:
    opened = at_beijing(START, 9)
    for i, (title, deadline, co_units, leaders, note) in enumerate(WORK_PLAN):
        numbers: list[str] = []

        def open_and_assign(title=title, deadline=deadline, co=co_units, leaders=leaders,
                            note=note, i=i, numbers=numbers) -> None:
            number = app.open_ticket(
                OFFICE, title=title, description=f"泗政办字〔2019〕31号 附件2 第{i + 1}项。{note}",
                unit_id="SS", category="organisation" if i < 2 else _plan_category(i),
                severity="serious", source="work_plan", deadline=deadline, leader_ids=leaders)
            app.assign(number, OFFICE, lead_unit_id="D05", co_unit_ids=co, person_id="H-D05",
                       leader_ids=leaders, note="按工作任务及时间推进表落实")
            app.acknowledge(number, "d05", note="已收到，按推进表落实")
            numbers.append(number)

        _later(steps, opened + timedelta(minutes=i), open_and_assign)
        if i == 0:   # the plan itself was written in July: the first item is crossed off
            _later(steps, opened + timedelta(days=24), lambda n=numbers: app.rectify(
                n[0], "d05", measures="印发《泗水县创建县域义务教育优质均衡发展县实施方案》"))
            _later(steps, opened + timedelta(days=25), lambda n=numbers: app.reinspect(
                n[0], INSPECTORS[0], passed=True, findings="方案已印发"))
            _later(steps, opened + timedelta(days=25, hours=3), lambda n=numbers:
                   app.close_ticket(n[0], OFFICE, note="泗政办字〔2019〕31号已印发"))
        elif i in (2, 7):
            _later(steps, opened + timedelta(days=16), lambda n=numbers, lead=leaders[0]:
                   app.give_instruction(n[0], LEADER_LOGINS[lead],
                                        text="请各责任单位倒排工期，每周报送进度。"))
            if i == 2:
                _later(steps, opened + timedelta(days=18), lambda n=numbers: app.reply_instruction(
                    n[0], OFFICE, instruction=1,
                    text="已召开专题会，倒排工期表已印发各责任单位，每周五报送进度。"))


def _self_assessment(app: XiaohaoApp) -> None:
    """The office imports the 2018-2019 学年's figures (xiaohao/demo_figures.py): each shortfall
    opens a ticket by the system, or adopts the ledger's open ticket for the same school and
    indicator; and marks a few of the items the figures cannot decide."""
    schools = {c: u for c, u in app.directory().units.items() if u["kind"] == "school"}
    rows = demo_figures.demo_rows(schools)
    candidates: dict[tuple[str, str], list[str]] = {}
    for serial in range(1, len(WORK_PLAN) + len(SHORTFALLS) + 1):
        ticket = app.ticket(format_number(app.county_code, START.year, serial))
        if ticket["indicator_id"] and ticket["state"] not in ("closed", "cancelled"):
            candidates.setdefault((ticket["unit_id"], ticket["indicator_id"]), []).append(
                ticket["number"])
    app.import_figures(OFFICE, demo_figures.YEAR, rows, sha256=demo_figures.SHA256,
                       file_name="2018-2019学年学校办学条件数据.xlsx", candidates=candidates)
    for item, entry in demo_figures.CHECKLIST.items():
        app.mark_item(OFFICE, demo_figures.YEAR, item, **entry)


def _plan_category(i: int) -> str:
    return {2: "scale", 3: "class_size", 4: "buildings", 5: "sports", 6: "special_rooms",
            7: "teachers"}[i]


def _later(steps: list[Step], at: datetime, run: Callable[[], object]) -> None:
    steps.append(Step(at, len(steps), run))


def _shortfalls(app: XiaohaoApp, steps: list[Step], evidence: EvidenceFiles) -> None:
    for i, (unit, title, category, indicator, severity, week, days, path) in enumerate(SHORTFALLS):
        found = at_beijing(START + timedelta(weeks=week), 10, i % 50)
        inspector = INSPECTORS[i % 2]
        numbers: list[str] = []

        def open_it(unit=unit, title=title, category=category, indicator=indicator,
                    severity=severity, week=week, inspector=inspector, numbers=numbers) -> None:
            numbers.append(app.open_ticket(
                inspector, title=title, description=f"{'自查' if week == 0 else '周检查'}发现：{title}。",
                unit_id=unit, category=category, severity=severity, indicator_id=indicator,
                source="self_assessment" if week == 0 else "weekly_check",
                leader_ids=None if app.directory().town_of(unit) else ["L1", "L3"]))

        _later(steps, found, open_it)
        for offset, action in PATHS[path]:
            when = (at_beijing(RECHECK_DAY, 10) if offset < 0
                    else found + timedelta(days=offset, hours=1 + len(steps) % 6))
            _later(steps, when, _action(app, action, numbers, unit, found, found.date() + timedelta(days=days), inspector, evidence))


def _action(app: XiaohaoApp, action: str, numbers: list[str], unit: str, found: datetime,
            deadline: date, inspector: str, evidence: EvidenceFiles) -> Callable[[], object]:
    """One step of a path, bound late: the ticket's number exists only once it is opened."""
    unit_login = unit.lower()
    later = deadline + timedelta(days=30)
    taken = found + DOUBTFUL[unit] if unit in DOUBTFUL else None

    def acknowledge_all(n: str) -> None:
        for code in [unit, *_co_units(app, unit)]:
            app.acknowledge(n, code.lower(), note="已签收，立即组织整改")

    acts: dict[str, Callable[[str], object]] = {
        "assign": lambda n: app.assign(n, OFFICE, lead_unit_id=unit, person_id=f"H-{unit}",
                                       deadline=deadline, co_unit_ids=_co_units(app, unit),
                                       note="请按期整改并上传佐证材料"),
        "check": lambda n: app.check_progress(n, inspector, note="现场检查：整改正在推进"),
        "ack": acknowledge_all,
        "ack_lead": lambda n: app.acknowledge(n, unit_login, note="已签收"),
        "chase": lambda n: app.chase(n, OFFICE, note="交办已三天未签收，请今日内签收并组织整改"),
        "before": lambda n: app.add_evidence(n, unit_login, note="补拍整改前现场",
                                             evidence=[_photo(evidence, n, "before")]),
        "rectify": lambda n: app.rectify(n, unit_login, measures="已制定整改方案并完成整改，附照片",
                                         evidence=[_photo(evidence, n, _round(app, n), taken)]),
        "pass": lambda n: app.reinspect(n, inspector, passed=True, findings="现场复查，已达标"),
        "fail": lambda n: app.reinspect(n, inspector, passed=False,
                                        findings="复查未达标：佐证不足，整改不彻底，退回重改"),
        "close": lambda n: app.close_ticket(n, OFFICE, note="复查合格，予以销号"),
        "reopen": lambda n: app.reopen(n, inspector, findings="月回查发现问题反弹，重新整改"),
        "hold": lambda n: app.hold(n, inspector, note="月回查：整改成果保持，未见反弹",
                                   evidence=[_photo(evidence, n, "recheck")]),
        "request": lambda n: app.request_extension(n, unit_login, new_deadline=later,
                                                   reason="工程施工周期长，申请延期一个月"),
        "grant": lambda n: app.extend_deadline(n, OFFICE, reason="同意延期"),
        "refuse": lambda n: app.refuse_extension(n, OFFICE, reason="不同意延期，请按原时限完成"),
        "instruct": lambda n: app.give_instruction(n, _leader_login(app, n),
                                                   text="此项是创建工作的硬骨头，要专题研究、限期解决。"),
        "reply": lambda n: app.reply_instruction(
            n, unit_login, instruction=1, text="已成立专班，分流方案报县政府审定，本月底前开工。"),
        "comment": lambda n: app.comment(n, OFFICE, text="请责任单位本周五前报送最新进度。"),
        "cancel": lambda n: app.cancel(n, OFFICE, reason="与上周登记的问题重复"),
    }
    return lambda: acts[action](numbers[0])


def _co_units(app: XiaohaoApp, unit: str) -> list[str]:
    """A school's town shares the responsibility; county items are the bureau's alone."""
    town = app.directory().town_of(unit)
    return [town] if town and town != unit else []


def _leader_login(app: XiaohaoApp, number: str) -> str:
    leaders = app.ticket(number)["leader_ids"] or ["L1"]
    return LEADER_LOGINS[leaders[0]]


def _round(app: XiaohaoApp, number: str) -> str:
    """A rectification's photo after each return is a new one."""
    returns = app.ticket(number)["returns"]
    return f"after-{returns + 1}" if returns else "after"


def _photo(evidence: EvidenceFiles, number: str, kind: str,
           taken: datetime | None = None) -> dict:
    """A small picture standing in for a school's photo, kept in the evidence store so that
    the demo's pages show it: each ticket's its own colour, and its number written on it, so
    no two tickets share one file. `taken` goes into its EXIF as the capture time."""
    import io
    import zlib

    from PIL import ExifTags, Image, ImageDraw

    seed = zlib.crc32(f"{number}-{kind}".encode())
    image = Image.new("RGB", (480, 360), (200 + seed % 56, 220, 200 + seed // 256 % 56))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 200, 420, 330), fill=(150, 120, 90))        # a building
    draw.rectangle((180, 250, 300, 330), fill=(90, 70, 50))          # its door
    draw.polygon([(40, 200), (240, 90), (440, 200)], fill=(170, 40, 40))
    draw.text((12, 12), f"{number} {kind}", fill=(40, 40, 40))
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = (
            taken.strftime("%Y:%m:%d %H:%M:%S"))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, exif=exif)
    return evidence.store(out.getvalue(), f"{number}-{kind}.jpg").as_dict()


def demo_accounts() -> dict[str, str]:
    """The logins the README lists for trying the demo."""
    return {OFFICE: "创建办", INSPECTORS[0]: "督查员", "kongfanhua": "包保领导 孔繁华",
            "t01-j01": "洙泗中学", "auditor": "审计"}
