"""The cycle's runs as the scheduler and the CLI both perform them: catch the read models up,
build the run's content and its digests, and issue them as the period's one run."""

from __future__ import annotations

from datetime import date, timedelta

from domain.application import SYSTEM, XiaohaoApp
from domain.clock import beijing, beijing_date
from domain.cycle import bulletin_number, period_start
from domain.errors import DomainError
from projections.bulletin import bulletin_content, for_issue
from projections.cycle import checklist_content, recheck_content, week_start
from projections.digests import daily, leader_weekly, unit_weekly
from projections.readmodels import ReadModels

READ = ("directory", "tickets", "weekly", "runs")   # the read models the runs are built from


def issue(app: XiaohaoApp, read: ReadModels, kind: str, period: str, *, warn_days: int = 3,
          by: str = SYSTEM) -> tuple[dict, bool]:
    """The run of `kind` for `period`, issued now with its digests unless it already was;
    and whether this call issued it."""
    period_start(kind, period)
    existing = app.cycle_run(kind, period)
    if existing is not None:
        return existing, False
    db = read.fresh()
    statuses = [s for s in read.status() if s.name in READ]
    broken = [s.name for s in statuses if s.error]
    if broken:
        raise DomainError(f"读模型 {'、'.join(broken)} 出错停止，周期任务的数字会不准，暂不执行；"
                          "请先运行 xiaohao projections status 查看")
    county = app.directory().county_name
    content, deliveries = BUILDERS[kind](app, db, period, county, warn_days)
    return app.issue_run(by, kind, period, content, min(s.position for s in statuses),
                         deliveries)


def issue_bulletin(app: XiaohaoApp, read: ReadModels, week: str,
                   by: str = SYSTEM) -> tuple[dict, bool]:
    return issue(app, read, "bulletin", week, by=by)


def _bulletin(app, db, week, county, warn_days):
    now = app.now()
    content = bulletin_content(db, week, now)
    end = week_start(week) + timedelta(days=7)
    day = beijing_date(min(end - timedelta(microseconds=1), beijing(now)))
    number = bulletin_number(app.campaign_start(), week)
    digests = leader_weekly(db, content, number, county, day) + unit_weekly(
        db, content, number, county, day)
    return for_issue(content), digests


def _checklist(app, db, week, county, warn_days):
    return checklist_content(db, week), []


def _recheck(app, db, month, county, warn_days):
    return recheck_content(db, month), []


def _reminders(app, db, period, county, warn_days):
    day = date.fromisoformat(period)
    digests = daily(db, day, warn_days, county)
    units = [d for d in digests if d["payload"]["kind"] == "unit_list"]
    content = {"day": period,
               "due_soon": sum(len(d["payload"]["due_soon"]) for d in units),
               "overdue": sum(len(d["payload"]["overdue"]) for d in units),
               "units": len(units), "leaders": len(digests) - len(units)}
    return content, digests


BUILDERS = {"bulletin": _bulletin, "checklist": _checklist, "recheck": _recheck,
            "reminders": _reminders}
