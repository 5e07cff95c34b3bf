"""The web app: pages for every role, built in `create_app` (nothing happens at import)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from domain.application import XiaohaoApp
from scheduler.service import Cycle
from web.deps import MAX_FILES
from web.errors import handle_errors
from web.readside import ReadSide
from web.routes import (
    api_directory,
    api_tickets,
    auth,
    bulletins,
    cycle,
    directory,
    docs,
    home,
    ledger,
    tickets,
)
from web.security import BodyLimit, SecurityHeaders
from xiaohao.settings import Settings

STATIC = Path(__file__).parent / "static"
FOLLOW_SECONDS = 0.5
log = logging.getLogger("xiaohao.web")


def create_app(settings: Settings | None = None, *, app: XiaohaoApp | None = None,
               follow: bool = True) -> FastAPI:
    """The web app over `settings`' store, or over an application already built (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(web: FastAPI):
        web.state.xapp = app or settings.build_app()
        web.state.reads = ReadSide(web.state.xapp, settings.read_db)
        stopping = threading.Event()
        follower = threading.Thread(target=_follow, args=(web.state.reads, stopping),
                                    name="read-models", daemon=True)
        if follow:
            follower.start()
        cycle = Cycle.for_settings(web.state.xapp, settings).start() \
            if follow and settings.scheduler else None
        yield
        stopping.set()
        if cycle:
            cycle.stop()
        if follow:
            follower.join()
        web.state.reads.close()
        if app is None:
            web.state.xapp.close()

    web = FastAPI(title="xiaohao 问题销号 API", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None,
                  description="问题销号系统的集成接口。用 Authorization: Bearer <API 令牌> 认证；"
                              "令牌在「API 令牌」页面申请。错误以 application/problem+json 返回。")
    web.state.settings = settings
    web.add_middleware(SessionMiddleware, secret_key=settings.session_secret(),
                       session_cookie="xiaohao_session", same_site="lax",
                       max_age=settings.session_idle_minutes * 60,
                       https_only=settings.secure_cookies)
    web.add_middleware(SecurityHeaders)
    # At most MAX_FILES files of the upload limit each, plus the form's text.
    web.add_middleware(BodyLimit, limit=MAX_FILES * settings.upload_limit_mb * 2**20 + 2**20)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, home.router, tickets.router, cycle.router, bulletins.router,
                   ledger.router, directory.router):
        web.include_router(router, include_in_schema=False)
    for router in (api_tickets.router, api_directory.router, docs.router):
        web.include_router(router)
    handle_errors(web)
    return web


def _follow(reads: ReadSide, stopping: threading.Event) -> None:
    """Keep the read models caught up in the background, a batch at a time."""
    while not stopping.is_set():
        try:
            if reads.follow_once():
                continue
        except Exception:     # a projection's own error is kept in its position; this is else
            log.exception("the read models could not catch up; trying again")
        stopping.wait(FOLLOW_SECONDS)
