"""The web app: pages for every role and the JSON API, built by `create_app` from what the
composition root hands it (nothing happens at import)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from web.bodies import BodyGate
from web.config import ServicesFactory, WebConfig
from web.errors import handle_errors
from web.idempotency import IdempotencyKeys
from web.positions import PositionOfWrites
from web.proxies import ForwardedFor
from web.routes import (
    api_directory,
    api_lists,
    api_standard,
    api_tickets,
    audit,
    auth,
    bulletins,
    cycle,
    directory,
    docs,
    home,
    ledger,
    school_figures,
    standard,
    standard_rules,
    tickets,
)
from web.security import SecurityHeaders
from web.sessions import SESSION_COOKIE, SlidingSession
from web.sign_in_gate import HashGate
from web.turns import PageTurns

STATIC = Path(__file__).parent / "static"


def create_app(config: WebConfig, services: ServicesFactory) -> FastAPI:
    """The web app; `services` is opened when it starts serving and closed when it stops."""

    @asynccontextmanager
    async def lifespan(web: FastAPI):
        with services() as running:
            web.state.xapp, web.state.reads = running.app, running.reads
            web.state.stamp = running.stamp
            yield

    web = FastAPI(title="xiaohao 问题销号 API", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None,
                  description="问题销号系统的集成接口。用 Authorization: Bearer <API 令牌> 认证；"
                              "令牌在「API 令牌」页面申请。错误以 application/problem+json 返回。")
    web.state.config = config
    web.add_middleware(PositionOfWrites, secure=config.secure_cookies)   # read your writes
    web.add_middleware(IdempotencyKeys)     # inside the session: it needs to know who asks
    # Before anything reads a body: who sends it, how large, and a form's text UTF-8.
    web.add_middleware(BodyGate, file_limit=config.evidence.limit_bytes)
    web.add_middleware(SlidingSession, secret_key=config.session_secret,
                       session_cookie=SESSION_COOKIE)          # inside the session it renews
    web.add_middleware(SessionMiddleware, secret_key=config.session_secret,
                       session_cookie=SESSION_COOKIE, same_site="lax",
                       max_age=config.session_idle_minutes * 60,
                       https_only=config.secure_cookies)
    web.add_middleware(SecurityHeaders)
    web.add_middleware(PageTurns, at_once=config.pages_at_once)   # pages queue from arrival
    web.add_middleware(ForwardedFor, trusted=config.trusted_proxies)   # outermost: who asks
    web.state.sign_in_gate = HashGate(config.sign_in_concurrency, config.sign_in_wait_seconds)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, home.router, tickets.router, cycle.router, bulletins.router,
                   ledger.router, directory.router, audit.router, standard.router,
                   standard_rules.router, school_figures.router):
        web.include_router(router, include_in_schema=False)
    for router in (api_tickets.router, api_lists.router, api_directory.router,
                   api_standard.router, docs.router):
        web.include_router(router)
    handle_errors(web)
    return web
