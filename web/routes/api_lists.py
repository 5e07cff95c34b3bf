"""JSON API: every list a page shows, as data — 周检查, 月回查, the week's figures of 工作台,
周通报 with their figures, and 发件箱 — read by the same questions (projections/) with the same
sight, the same readers and the same periods (domain/periods.py) as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from domain.delivery import KINDS, STATES
from domain.errors import NotPermittedError
from domain.periods import Month, Week
from domain.values import Role
from projections.cycle import check_list, recheck_list, week_figures
from projections.runs import bulletin_as_seen, outbox, outbox_counts, runs_of
from web.api_models import Bulletin, CheckList, Figures, Issued, Outbox, RecheckList
from web.deps import App, Config, ReadDb, api_allow
from web.history import day_of, moment_of, not_after_then, now_of
from web.homes import is_town_account
from web.openapi import ALWAYS, problems
from web.routes.api_tickets import AsOfQuery
from web.routes.bulletins import OUTBOX_READERS, PER_PAGE, outbox_filter, published, reads_drafts
from web.routes.cycle import VIEWERS
from web.users import User

router = APIRouter(prefix="/api/v1", tags=["lists"], responses=problems(*ALWAYS))
Everyone = Annotated[User, Depends(api_allow(*Role))]
Viewer = Annotated[User, Depends(api_allow(*VIEWERS))]
CheckViewer = Annotated[User, Depends(api_allow(*VIEWERS, Role.UNIT))]     # a town's, below
# 发件箱 is read by whoever may read its page.
Postmaster = Annotated[User, Depends(api_allow(*OUTBOX_READERS))]
PERIOD = problems(400, 403)     # a week or month spelt otherwise, or outside 2000–2099;
                                # 历史视图 for one who may not look back
WEEK = Query(description="ISO 周次，默认本周", examples=["2019-W34"])
MONTH = Query(description="月份，默认本月", examples=["2019-08"])


def _week(request: Request, app, label: str) -> Week:
    """The week asked for, or the current one (the instant's, in a view of the past)."""
    week = Week.parse(label) if label else Week.of(day_of(request, app.today()))
    not_after_then(request, week.first_day)
    return week


@router.get("/checks", operation_id="api_checks", summary="周检查清单", responses=PERIOD,
            description="该周周一零时尚未整改或待复查的问题（您可查看的），按镇街、学校排列，红灯在前；"
                        "每项注明本周是否已检查、现在的状态。创建办、督查员、领导、审计及镇街账号可读。")
def api_checks(request: Request, app: App, db: ReadDb, config: Config, user: CheckViewer,
               week: Annotated[str, WEEK] = "", as_of: AsOfQuery = None) -> CheckList:
    """The week's check list, as /checks shows it to the same user."""
    if not user.has(*VIEWERS) and not is_town_account(app, user):
        raise NotPermittedError("您的角色无权访问此页面")
    shown = _week(request, app, week)
    rows = check_list(db, str(shown), config.warn_days, user.sight(app))
    return CheckList(week=str(shown), total=len(rows), checked=sum(bool(r["checked"]) for r in rows),
                     items=rows)


@router.get("/rechecks", operation_id="api_rechecks", summary="月回查清单", responses=PERIOD,
            description="上月销号的问题及往月结转的未回查问题（您可查看的），"
                        "每项为 巩固、重新整改 或 未回查。")
def api_rechecks(request: Request, app: App, db: ReadDb, user: Viewer,
                 month: Annotated[str, MONTH] = "", as_of: AsOfQuery = None) -> RecheckList:
    """The month's recheck list, as /rechecks shows it to the same user."""
    shown = Month.parse(month) if month else Month.of(day_of(request, app.today()))
    not_after_then(request, shown.first_day)
    moment = moment_of(request)
    rows = recheck_list(db, str(shown), user.sight(app), moment.at if moment else None)
    counts = {outcome: sum(r["outcome"] == outcome for r in rows)
              for outcome in ("held", "reopened", "pending")}
    return RecheckList(month=str(shown), **counts, items=rows)


@router.get("/figures", operation_id="api_figures", summary="一周的数字", responses=PERIOD,
            description="工作台所示的数字：全县与各镇街的本周及累计发现、销号、撤销、重新整改、延期、"
                        "逾期，销号率、按期整改率与排名。")
def api_figures(request: Request, app: App, db: ReadDb, user: Everyone,
                week: Annotated[str, WEEK] = "", as_of: AsOfQuery = None) -> Figures:
    """The week's figures for the county and each town, as 工作台 shows them to everyone."""
    figures = week_figures(db, str(_week(request, app, week)), now_of(request, app.now()))
    return Figures(week=figures.week, county=figures.county, towns=figures.towns)


@router.get("/bulletins", operation_id="api_bulletins", summary="周通报（各期）")
def api_bulletins(db: ReadDb, user: Everyone) -> list[Issued]:
    """Every 期 signed, newest first (and the drafts, for the office and the auditor)."""
    return runs_of(db, "bulletin", drafts=reads_drafts(user))


@router.get("/bulletins/{week}", operation_id="api_bulletin", summary="一期周通报",
            responses=problems(400, 404),
            description="该期发布时的数字与排名；点名的问题只含您可查看的。")
def api_bulletin(app: App, db: ReadDb, user: Everyone,
                 week: Annotated[str, Path(description="ISO 周次", examples=["2019-W34"])]
                 ) -> Bulletin:
    """One 期 as signed, its named items cut to the tickets this user sees."""
    run = published(db, user, week)
    return Bulletin(**run | {"content": bulletin_as_seen(db, run["content"], user.sight(app))})


@router.get("/outbox", operation_id="api_outbox", summary="发件箱", responses=problems(400),
            description="周通报、每日提醒与即时通知的每一封，最新在前，每页 100 条。创建办与审计可读。")
def api_outbox(db: ReadDb, user: Postmaster,
               state: Annotated[str, Query(description="、".join(STATES))] = "",
               recipient: Annotated[str, Query(description="收件人，如 leader-L1、unit-T01-P01")] = "",
               kind: Annotated[str, Query(description="、".join(KINDS))] = "",
               week: Annotated[str, WEEK] = "",
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Outbox:
    """发件箱, as /outbox shows it, with the same filters."""
    chosen = outbox_filter(state, recipient, kind, week)
    return Outbox(counts=outbox_counts(db), page=page, per_page=PER_PAGE,
                  items=outbox(db, chosen, PER_PAGE, (page - 1) * PER_PAGE))
