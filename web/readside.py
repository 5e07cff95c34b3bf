"""The web's read side: one runner that catches the read models up before a page reads them (so
a user sees their own write at once), and a pool of read connections, one lent per request.

How fresh a page is: a node that is told of every write (following, woken by PostgreSQL's
NOTIFY, whichever node wrote) draws a page from what its read models hold, unless the request
carries the log position of the user's own last write (web/positions.py), which it waits
for, bounded. Anywhere else, and for every command, the read models are
first caught up to the log's head, one query of the head when nothing changed."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from eventsourcing.application import Application
from sqlite_utils import Database

from projections.directory_views import directory_version, leaders, names, people, units_of_kind
from projections.readmodels import ReadModels
from projections.store import open_read_db


@dataclass(frozen=True)
class Lookups:
    """What nearly every page looks up in the directory, read once per directory change."""

    version: int
    names: dict[str, str]      # unit codes and person ids -> names
    towns: list[dict]
    places: list[dict]         # schools, towns and departments, for choosing where
    leaders: list[dict]
    people: list[dict]

    @cached_property
    def town_choices(self) -> tuple[tuple[str, str], ...]:
        return tuple((u["code"], u["name"]) for u in self.towns)

    @cached_property
    def place_choices(self) -> tuple[tuple[str, str], ...]:
        return tuple((u["code"], u["name"]) for u in self.places)

    @cached_property
    def place_groups(self) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
        """The places to choose from, a group per town (the town first, then its schools)
        and the county's departments last, for a picker one can search by typing."""
        towns = {t["code"]: [(t["code"], t["name"])] for t in self.towns}
        county: list[tuple[str, str]] = []
        for u in self.places:
            if u["kind"] == "school" and u["parent"] in towns:
                towns[u["parent"]].append((u["code"], u["name"]))
            elif u["kind"] != "town":
                county.append((u["code"], u["name"]))
        groups = [(self.names.get(code, code), tuple(members)) for code, members in towns.items()]
        return tuple(groups + ([("县直部门及县属学校", tuple(county))] if county else []))

    @cached_property
    def person_units(self) -> dict[str, str]:
        """Each person's unit, so a person picker can be narrowed to the chosen unit."""
        return {p["id"]: p["unit_id"] for p in self.people}

    @cached_property
    def leader_choices(self) -> tuple[tuple[str, str], ...]:
        return tuple((p["id"], p["name"]) for p in self.leaders)

    def leader_choices_with(self, chosen: list[str] | None) -> tuple[tuple[str, str], ...]:
        """The leaders to choose from, with anyone a ticket already names (the office may have
        named someone who answers for no town), so that keeping them is possible."""
        known = {value for value, _ in self.leader_choices}
        extra = tuple((p, self.names.get(p, p)) for p in chosen or () if p not in known)
        return self.leader_choices + extra

    @cached_property
    def person_choices(self) -> tuple[tuple[str, str], ...]:
        return tuple((p["id"], " · ".join(filter(None, (p["name"], _post(p))))) for p in self.people)


def _post(person: dict) -> str:
    """Where a person works, said once: a title that already names the unit stands alone."""
    unit, title = person["unit_name"] or person["unit_id"], person["title"] or ""
    return title if title.startswith(unit) else f"{unit}{title}"


FRESH_LIMIT = 5_000   # further behind than this, a page does not wait: the follower catches up
WAIT_SECONDS = 5.0
FOLLOW_SECONDS = 0.5
log = logging.getLogger("xiaohao.web")


class Wakeups(Protocol):
    """Word that events were stored (xiaohao/adapters/wakeups.py: PostgreSQL's NOTIFY)."""

    def wait(self, seconds: float, stopping: threading.Event) -> bool:
        """Wait up to `seconds` for new events, or until `stopping`; True when told of some."""

    def close(self) -> None: ...


class ReadSide:
    """The read models of one node. With `wakeups` the follower is woken as soon as events
    are stored (by any node), and otherwise looks every `follow_seconds`."""

    def __init__(self, app: Application, path: Path, *, wakeups: Wakeups | None = None,
                 follow_seconds: float = FOLLOW_SECONDS) -> None:
        self.path = path
        self.wakeups, self.follow_seconds = wakeups, follow_seconds
        self.models = ReadModels(app, path)
        self._catching_up = threading.Lock()
        self._connections: list[Database] = []
        self._pool: queue.SimpleQueue[Database] = queue.SimpleQueue()
        self._seen = -1         # the log head every projection had reached at the last look
        self._lookups: Lookups | None = None
        self._stopping = threading.Event()
        self._follower: threading.Thread | None = None
        self._told = False      # following, and told of every write: pages trust the follower

    @property
    def position(self) -> int | None:
        """The log position every projection had reached at the last look (None before one)."""
        return self._seen if self._seen >= 0 else None

    def head(self) -> int:
        return self.models.runner.app.recorder.max_notification_id() or 0

    def lend(self, at_least: int | None = None) -> tuple[Database, bool]:
        """A read connection of the pool for one request, after catching up (see
        `catch_up`), and whether the read models are still catching up; `give_back` it."""
        behind = self.catch_up(at_least)
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = open_read_db(self.path)
            self._connections.append(db)
        return db, behind

    def give_back(self, db: Database) -> None:
        self._pool.put(db)

    def catch_up(self, at_least: int | None = None) -> bool:
        """Catch up when that is quick; True when the read models are too far behind for
        that (a long rebuild: the follower is on it). `at_least`: the position a page must
        show, where the follower is told of every write (see the module); None asks for the
        log's head. When nothing was recorded since the last look, the usual case, this
        costs one read of the log head and takes no lock. A projection stopped by an error
        is left to `xiaohao projections status`: it neither slows pages down nor marks them
        as behind."""
        if at_least is not None and self._told and at_least <= self._seen:
            return False
        if self.head() == self._seen:
            return False
        if not self._catching_up.acquire(timeout=WAIT_SECONDS):
            return True
        try:
            if self._lag() > FRESH_LIMIT:
                return True
            self.models.runner.catch_up()
            self._note_caught_up()
            return False
        finally:
            self._catching_up.release()

    def _lag(self) -> int:
        return max((s.lag for s in self.models.status() if not s.error), default=0)

    def _note_caught_up(self) -> None:
        working = [s for s in self.models.status() if not s.error]
        if working and not any(s.lag for s in working):
            self._seen = working[0].head

    def follow_once(self, batch: int = FRESH_LIMIT) -> int:
        """One step of the background follower: a batch at most, so pages never wait long."""
        with self._catching_up:
            lowest = min((s.position for s in self.models.status() if not s.error), default=0)
            read = self.models.runner.catch_up(stop=lowest + batch)
            self._note_caught_up()
            if not read:
                self.models.keep_statistics()
            return read

    def start_following(self) -> None:
        """Keep the read models caught up in a background thread, a batch at a time."""
        self._follower = threading.Thread(target=self._follow, name="read-models", daemon=True)
        self._follower.start()
        self._told = self.wakeups is not None

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.follow_once():
                    continue
            except Exception:   # a projection's own error is kept in its position; this is else
                log.exception("the read models could not catch up; trying again")
            if self.wakeups is None:
                self._stopping.wait(self.follow_seconds)
                continue
            try:
                self.wakeups.wait(self.follow_seconds, self._stopping)
            except Exception:   # no word from the store: look again after the usual wait
                log.exception("waiting to be told of new events failed")
                self._stopping.wait(self.follow_seconds)

    def lookups(self, db: Database) -> Lookups:
        """The directory lookups, read again only when the directory read model changed."""
        cached = self._lookups
        version = directory_version(db)
        if cached is None or cached.version != version:
            cached = self._lookups = Lookups(
                version, names(db), units_of_kind(db, "town"),
                units_of_kind(db, "school", "town", "department"), leaders(db), people(db))
        return cached

    def close(self) -> None:
        self._stopping.set()
        if self._follower is not None:
            self._follower.join()
        if self.wakeups is not None:
            self.wakeups.close()
        for db in self._connections:
            db.conn.close()
        self.models.close()
