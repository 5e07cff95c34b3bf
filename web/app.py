"""The web app. Until the web issue (#4) lands it is one status page, but it starts and answers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from xiaohao.settings import Settings

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>xiaohao 问题销号</title></head>
<body><h1>{county} 问题销号系统</h1>
<p>事件库已有 {events} 条记录；当前北京时间 {now:%Y-%m-%d %H:%M}。</p>
<p>工作台、问题清单和台账页面将在下一版本提供。</p></body></html>"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(web: FastAPI):
        web.state.app = settings.build_app()
        yield
        web.state.app.close()

    web = FastAPI(title="xiaohao", lifespan=lifespan)

    @web.get("/", response_class=HTMLResponse)
    def home() -> str:
        """The status page."""
        from domain.clock import beijing

        app = web.state.app
        return PAGE.format(county=settings.county_name, now=beijing(app.now()),
                           events=app.recorder.max_notification_id() or 0)

    @web.get("/healthz")
    def health() -> dict:
        """Liveness for a load balancer."""
        return {"status": "ok"}

    return web
