"""JSON API: the directory, read only — units, people and the 包保 map as of a day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends

from domain.values import Role
from projections.directory_views import baobao_map, people, unit_tree
from web.deps import App, ReadDb, api_allow
from web.users import User

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])
Reader = Annotated[User, Depends(api_allow(*Role))]


@router.get("/units")
def api_units(db: ReadDb, user: Reader) -> list[dict]:
    """The unit tree: the county, its bodies, towns and schools."""
    return unit_tree(db)


@router.get("/people")
def api_people(db: ReadDb, user: Reader, unit: str | None = None) -> list[dict]:
    """People, optionally of one unit."""
    return people(db, unit)


@router.get("/baobao")
def api_baobao(app: App, db: ReadDb, user: Reader, on: date | None = None) -> list[dict]:
    """Each leader with the towns and schools they answer for on a day (default today)."""
    return baobao_map(db, on or app.today())
