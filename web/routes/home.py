"""工作台: what each role needs to see first."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Depends, Request

from domain.clock import iso_week
from domain.values import Role
from projections.cycle import week_figures, weekly_trend
from projections.queries import TicketFilter, light_counts, list_tickets, state_counts
from projections.runs import outbox_counts
from scheduler.calendar import uncovered_years
from web.charts import town_bars, weekly_columns
from web.deps import App, Look, ReadDb, SignedIn, public
from web.templating import render

router = APIRouter()


@router.get("/")
def dashboard(request: Request, app: App, db: ReadDb, look: Look, user: SignedIn):
    """Lights and states of the tickets one may see, the most urgent of them, and this week."""
    today = app.today()
    warn = request.app.state.settings.warn_days
    mine = TicketFilter(scope=user.scope(app))
    urgent = list_tickets(db, TicketFilter(scope=mine.scope, light="red"), today,
                          sort="overdue", descending=True, per_page=10, warn_days=warn)
    due = list_tickets(db, TicketFilter(scope=mine.scope, light="yellow"), today,
                       sort="deadline", per_page=10, warn_days=warn)
    week = week_figures(db, iso_week(today), app.now())
    label = look.names
    return render(request, "dashboard.html", {
        "today": today, "lights": light_counts(db, mine, today, warn),
        "states": state_counts(db, mine, today, warn), "urgent": urgent, "due": due,
        "week": week, "names": label,
        "chart": town_bars([(label.get(t["town_id"], t["town_id"]), t["closure_rate"])
                            for t in week.towns]),
        "trend": weekly_columns(weekly_trend(db, week.week)),
        **(_office_notes(db, today) if user.has(Role.OFFICE) else {}),
    })


def _office_notes(db, today) -> dict:
    """What only the office must act on: a working-day calendar the package does not know
    yet, and mail that could not be sent."""
    return {"calendar_gaps": uncovered_years(today), "failed_mail": outbox_counts(db)["failed"]}


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
