"""Large, realistic histories written fast: tickets on the demo county's schools through whole
lives (found, assigned, checked, rectified, returned, passed, closed, reopened), built with the
aggregates themselves and saved many at a time. For benchmarks and the crash tests."""

from __future__ import annotations

import random
from datetime import date, timedelta

from domain.actor import Actor
from domain.application import SYSTEM, XiaohaoApp
from domain.clock import at_beijing, beijing, beijing_date
from domain.numbering import TicketCounter
from domain.ticket import Ticket
from domain.values import Role
from xiaohao.county import build_directory

START = at_beijing(date(2025, 11, 3), 9)   # a Monday
INDICATORS = ["gov_class_size", "res_teaching_aux_area", "res_sports_area",
              "gov_music_art_rooms", None]
TITLES = ["四年级3个班学生数超过45人", "缺少音乐专用教室1间", "体育运动场馆生均面积不足",
          "教学及辅助用房面积不足，缺少实验室", "防溺水安全教育记录不全"]
PER_SAVE = 200


def build_history(app: XiaohaoApp, events: int, *, seed: int = 1, units: int = 0) -> int:
    """Seed the directory (grown with invented schools, each with a head, to `units` units
    when more than the seed's), then write tickets until about `events` events exist; returns
    the number of tickets."""
    rng = random.Random(seed)
    build_directory(app)
    _more_schools(app, units - len(app.directory().units))
    directory = app.directory()
    schools = [u["code"] for u in directory.units.values() if u["kind"] == "school"]
    office = Actor("office", "创建办", Role.OFFICE, "D05")
    inspector = Actor("inspector1", "督查员一", Role.INSPECTOR, "D03")
    counter = TicketCounter(county_code=app.county_code, year=beijing(START).year,
                            timestamp=START)
    written = app.recorder.max_notification_id() or 0
    tickets, batch = 0, []
    while written < events:
        school = rng.choice(schools)
        unit = Actor(school.lower(), school, Role.UNIT, school)
        found = START + timedelta(days=rng.randint(0, 360), minutes=rng.randint(0, 600))
        number = counter.next_number()
        counter.issue(number, timestamp=found)
        ticket = _life(rng, number, school, directory, found, office, inspector, unit)
        batch.append(ticket)
        tickets += 1
        written += len(ticket.pending_events) + 1   # and the counter's Issued
        if len(batch) == PER_SAVE:
            app.save(counter, *batch)
            batch = []
    app.save(counter, *batch)
    return tickets


def _more_schools(app: XiaohaoApp, count: int) -> None:
    towns = [u["code"] for u in app.directory().units.values() if u["kind"] == "town"]
    on = START.date() - timedelta(days=1)
    for i in range(max(0, count)):
        town, code = towns[i % len(towns)], f"{towns[i % len(towns)]}-X{i:04d}"
        app.add_unit(SYSTEM, code=code, name=f"第{i + 1}教学点", kind="school", parent=town,
                     level="primary")
        app.register_person(SYSTEM, person_id=f"H-{code}", name=f"校长{i + 1}", title="校长",
                            unit_id=code, email=f"{code.lower()}@sishui.example.cn")
        app.appoint_head(SYSTEM, unit_id=code, person_id=f"H-{code}", on=on)


def _life(rng, number, school, directory, found, office, inspector, unit) -> Ticket:
    town = directory.town_of(school)
    ticket = Ticket(number=number, title=rng.choice(TITLES), description="周检查发现，详见附件。",
                    town_id=town, unit_id=school, category="class_size",
                    indicator_id=rng.choice(INDICATORS), severity=rng.choice(
                        ["normal", "serious", "grave"]), source="weekly_check", deadline=None,
                    leader_ids=directory.leaders_on(school, found.date()), evidence=[],
                    by=inspector.stamp(), timestamp=found)
    now = found + timedelta(hours=rng.randint(1, 48))
    ticket.assign(office, lead_unit_id=school, co_unit_ids=[town], person_id=f"H-{school}",
                  leader_ids=[], deadline=beijing_date(now) + timedelta(days=rng.randint(7, 40)),
                  note="请按期整改", at=now)
    if rng.random() < 0.4:
        now += timedelta(days=rng.randint(1, 7))
        ticket.check_progress(inspector, note="现场检查", evidence=[], at=now)
    if rng.random() < 0.25:
        return ticket                                   # still being rectified (some overdue)
    for attempt in range(3):
        now += timedelta(days=rng.randint(2, 20))
        ticket.rectify(unit, measures="已调整班额并补充设施", completed_on=beijing_date(now),
                       evidence=[], units={}, max_distance_m=0, at=now)
        now += timedelta(days=rng.randint(1, 5))
        passed = attempt == 2 or rng.random() < 0.8
        ticket.reinspect(inspector, passed=passed, findings="" if passed else "未达标",
                         evidence=[], at=now)
        if passed:
            break
    if rng.random() < 0.15:
        return ticket                                   # verified, waiting for 销号
    now += timedelta(hours=rng.randint(1, 72))
    ticket.close(office, note="销号", at=now)
    if rng.random() < 0.05:
        now += timedelta(days=rng.randint(20, 40))
        ticket.reopen(inspector, findings="回查反弹", deadline=beijing_date(now) + timedelta(days=14),
                      at=now)
    return ticket
