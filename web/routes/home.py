"""工作台: what each role needs to see first."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Depends, Request

from domain.periods import iso_week
from domain.values import Role
from domain.workdays import uncovered_years
from projections.cycle import week_figures, weekly_trend
from projections.queries import TicketFilter, light_counts, list_tickets, state_counts
from projections.runs import drafts, outbox_counts, runs_of
from web.charts import town_bars, weekly_columns
from web.deps import App, Config, Look, ReadDb, SignedIn, public
from web.history import day_of, moment_of, now_of
from web.homes import home_queues, one_queue
from web.templating import render

router = APIRouter()


@router.get("/")
def dashboard(request: Request, app: App, db: ReadDb, look: Look, config: Config,
              user: SignedIn):
    """Lights and states of the tickets one may see, the most urgent of them, and this week
    (as of an instant, in a view of the past)."""
    today, now, past = day_of(request, app.today()), now_of(request, app.now()), \
        moment_of(request) is not None
    warn = config.warn_days
    mine = TicketFilter(sight=user.sight(app))
    urgent = list_tickets(db, TicketFilter(sight=mine.sight, light="red"), today, warn,
                          sort="overdue", descending=True, per_page=10)
    due = list_tickets(db, TicketFilter(sight=mine.sight, light="yellow"), today, warn,
                       sort="deadline", per_page=10)
    week = week_figures(db, iso_week(today), now)
    label = look.names
    return render(request, "dashboard.html", {
        "today": today, "lights": light_counts(db, mine, today, warn),
        "states": state_counts(db, mine, today, warn), "urgent": urgent, "due": due,
        "week": week, "names": label,
        "chart": town_bars([(label.get(t["town_id"], t["town_id"]), t["closure_rate"])
                            for t in week.towns]),
        "trend": weekly_columns(weekly_trend(db, week.week)),
        "latest_bulletin": None if past else next(
            iter(runs_of(db, "bulletin", drafts=False, limit=1)), None),
        **(_office_notes(db, today) if user.has(Role.OFFICE) and not past else {}),
        **home_queues(app, db, look, config, user, week, today),
    })


@router.get("/queues")
def queues(request: Request, app: App, db: ReadDb, look: Look, config: Config, user: SignedIn,
           name: str = ""):
    """待办: one of the user's queues in full, or (without a name) all of them as on 工作台."""
    today = day_of(request, app.today())
    if name:
        return render(request, "queues.html", {
            "queue": one_queue(app, db, config, user, name, today), "names": look.names})
    week = week_figures(db, iso_week(today), now_of(request, app.now()))
    return render(request, "queues.html", {**home_queues(app, db, look, config, user, week, today),
                                           "names": look.names, "week": week})


def _office_notes(db, today) -> dict:
    """What only the office must act on: a working-day calendar the package does not know
    yet, mail that could not be sent, and bulletins waiting to be signed."""
    return {"calendar_gaps": uncovered_years(today), "failed_mail": outbox_counts(db)["failed"],
            "drafts": drafts(db)}


@router.get("/healthz", dependencies=[Depends(public)])
async def health(request: Request) -> dict:
    """Liveness for a load balancer."""
    return {"status": "ok"}


@router.get("/about", dependencies=[Depends(public)])
async def about(request: Request):
    """关于: the version and the county, for whoever supports the system."""
    return render(request, "about.html", {"version": _version()})


@cache
def _version() -> str:
    from importlib.metadata import version

    return version("xiaohao")
