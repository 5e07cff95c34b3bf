"""The cycle's runs as the scheduler and the CLI both perform them: catch the read models up,
build the run's content and its digests, and issue them as the period's one run."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.application import SYSTEM, XiaohaoApp
from domain.checkpoints import Sealer
from domain.clock import beijing, beijing_date
from domain.commendation import propose
from domain.cycle import KINDS, bulletin_number, period_start
from domain.errors import DomainError
from domain.notices import gather
from domain.periods import Day, Week
from domain.telling import daily, leader_weekly, sign_reminders, unit_weekly
from projections.bulletin import bulletin_content, for_issue, open_items
from projections.cycle import checklist_content, recheck_content
from projections.readmodels import ReadModels
from projections.runs import drafts, held_notices, last_reminders, office_accounts, previous_run

READ = ("directory", "tickets", "weekly", "runs")   # the read models the runs are built from


def issue(app: XiaohaoApp, read: ReadModels, kind: str, period: str, *, warn_days: int,
          by: str = SYSTEM, base_url: str = "", seal: Sealer | None = None) -> tuple[dict, bool]:
    """The run of `kind` for `period`, issued now with its digests unless it already was;
    and whether this call issued it. `base_url`, when given, makes the messages' items links.
    With a `seal`, a checkpoint of the log is taken first and printed in the run and in every
    digest it sends, so copies of it sit where the office cannot reach them. A bulletin is
    issued as a draft: its figures fixed and its digests queued, held until the office signs
    it (签发), which takes the checkpoint instead."""
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
    content, deliveries = BUILDERS[kind](app, db, period, warn_days, base_url.rstrip("/"))
    draft = kind == "bulletin"
    proposed = content.pop("proposed", None)     # a draft's 表扬 and 批评, kept apart
    if seal is not None and not draft:
        stamp = seal.stamp(f"{KINDS[kind]} {period}")
        content = {**content, "seal": stamp}
        for d in deliveries:
            d["payload"]["seal"] = stamp
    return app.issue_run(by, kind, period, content, min(s.position for s in statuses),
                         deliveries, draft=draft, document=proposed)


def settle_drafts(app: XiaohaoApp, read: ReadModels, *, sign_within: timedelta,
                  auto_sign: bool, seal: Sealer | None = None, base_url: str = "") -> list[str]:
    """Each bulletin left unsigned `sign_within` after its draft: signed as it stands when
    the county's setting says so (`auto_sign`), otherwise the office is reminded (once).
    Returns the weeks it signed or reminded of; one it could not (the office signed it a
    moment ago) is left to the next call, and the others go on."""
    db = read.fresh()
    now = app.now()
    settled = []
    for draft in drafts(db):
        if datetime.fromisoformat(draft["issued_at"]) + sign_within > now:
            continue
        try:
            if auto_sign:
                app.sign_bulletin(SYSTEM, draft["period"], stamp=seal.stamp if seal else None)
                settled.append(draft["period"])
                continue
            directory = app.directory()
            reminders = sign_reminders(directory, office_accounts(db), draft,
                                       directory.county_name, beijing_date(now),
                                       base_url.rstrip("/"))
            if app.remind_to_sign(draft["period"], reminders):
                settled.append(draft["period"])
        except DomainError:
            continue
    return settled


def _bulletin(app, db, week, warn_days, base_url=""):
    now = app.now()
    content = bulletin_content(db, week, now, app.campaign_start())
    end = Week.parse(week).end
    day = beijing_date(min(end - timedelta(microseconds=1), beijing(now)))
    number = bulletin_number(app.campaign_start(), week)
    directory = app.directory()
    county = directory.county_name
    digests = leader_weekly(directory, content, number, county, day) + unit_weekly(
        directory, content, number, county, day)
    for d in digests:       # links to the bulletin and to each ticket it names
        d["payload"]["link"] = f"{base_url}/bulletins/{week}" if base_url else ""
        d["payload"]["base_url"] = base_url
    return {**for_issue(content), "proposed": propose(content)}, digests


def _checklist(app, db, week, warn_days, base_url=""):
    return checklist_content(db, week, warn_days), []


def _recheck(app, db, month, warn_days, base_url=""):
    return recheck_content(db, month), []


def _reminders(app, db, period, warn_days, base_url=""):
    """到期提醒 and 逾期督办, each naming what is new since that recipient's last reminder
    (as recorded), and the daily digest of each person who chose one: the notices held for
    them since the last day's run gathered its own."""
    day = Day.parse(period).day
    directory = app.directory()
    county = directory.county_name
    digests = daily(directory, open_items(db, day, warn_days), day, warn_days, county,
                    last_reminders(db, period))
    for d in digests:
        d["payload"]["base_url"] = base_url
    units = [d for d in digests if d["payload"]["kind"] == "unit_daily"]
    before = previous_run(db, "reminders", period)
    after = (before or {}).get("content", {}).get("gathered_upto", 0)
    held = held_notices(db, after)
    gathered = gather([app.delivery(id) for id, _ in held], day, county)
    content = {"day": period,
               "due_soon": sum(len(d["payload"]["due_soon"]) for d in units),
               "overdue": sum(len(d["payload"]["overdue"]) for d in units),
               "units": len(units), "leaders": len(digests) - len(units),
               "notices": len(held), "digests": len(gathered),
               "gathered_upto": held[-1][1] if held else after}
    return content, digests + gathered


BUILDERS = {"bulletin": _bulletin, "checklist": _checklist, "recheck": _recheck,
            "reminders": _reminders}
