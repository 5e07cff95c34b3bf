"""The API's description: OpenAPI JSON and Swagger UI, served from our own static files."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from web.deps import public
from web.openapi import described
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/api/v1/openapi.json", dependencies=[Depends(public)])
def openapi(request: Request) -> dict:
    """The OpenAPI document of /api/v1."""
    return described(request.app)


@router.get("/docs", dependencies=[Depends(public)])
def docs(request: Request):
    """Swagger UI (vendored; no CDN), started by a static script: no inline script."""
    return render(request, "docs.html", {})
