"""What the composition root hands the web: its settings, and the adapters it reaches the
outside world through, each behind a small Protocol of the web's own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from domain.application import XiaohaoApp
from domain.values import Evidence
from web.proxies import Network
from web.readside import ReadSide


class EvidenceStore(Protocol):
    """Evidence files, kept by their content."""

    limit_bytes: int     # the largest file it keeps

    def store(self, data: bytes, name: str) -> Evidence:
        """Check an upload by content and size, keep it, and say what it is: for a photo also
        when and where it says it was taken (`taken_at`, `gps`), which the ticket checks."""

    def path(self, sha256: str) -> Path: ...

    def thumbnail(self, sha256: str) -> Path | None:
        """A small JPEG of a photo; None for other files."""

    def facts(self, sha256: str) -> dict:
        """When and where a stored photo says it was taken ({"taken_at", "gps"}, as known)."""


class UploadQuota(Protocol):
    """What each account may upload in a day, counted where every web node sees it."""

    most_bytes: int

    def take(self, login: str, day: date, size: int) -> bool:
        """Count `size` bytes against the account's day; False, counting nothing, when that
        would pass the quota."""


class LedgerFiles(Protocol):
    """Ledgers (台账) as files."""

    def workbook(self, sheets: Iterable[tuple[str, list[dict]]], title: str,
                 summary: tuple[list[str], list[list]] | None = None) -> bytes: ...

    def csv(self, rows: list[dict], title: str | None = None) -> bytes: ...


class FiguresWorkbooks(Protocol):
    """School figures as Excel (#14): the template listing schools, a filled one read, and
    the 自评报告 written (each sheet a name, a header and rows)."""

    def template(self, schools: list[dict], title: str,
                 filled: Mapping[tuple[str, str], Mapping] | None = None) -> bytes: ...

    def read(self, data: bytes) -> list: ...

    def report(self, title: str, sheets: list[tuple[str, list[str], list[list]]]) -> bytes: ...


class MailPreview(Protocol):
    """A delivery drawn as its mail shows it, for 发件箱."""

    def bodies(self, delivery: dict) -> tuple[str, str]:
        """Its plain text and its HTML."""


class SealAudit(Protocol):
    """The sealed log, for the audit page (xiaohao/audit.py)."""

    def sealed(self) -> int:
        """How many events the seal holds."""

    def verify(self, app: XiaohaoApp, by: str, progress: Callable[[int, int], None]) -> dict:
        """Check the whole log against the seal and its checkpoints, record it as `by`'s, and
        say what was found (ok, events, sealed, checkpoints, problems)."""

    def export_lines(self, app: XiaohaoApp) -> Iterator[str]:
        """The log, its checkpoints and the public key, as JSON lines."""


@dataclass(frozen=True)
class WebConfig:
    county_name: str
    session_secret: str
    evidence: EvidenceStore
    upload_quota: UploadQuota
    ledger_files: LedgerFiles
    figures_files: FiguresWorkbooks
    mail: MailPreview
    warn_days: int
    session_idle_minutes: int
    secure_cookies: bool
    sign_in_concurrency: int          # password checks at once (web/sign_in_gate.py)
    sign_in_wait_seconds: float
    pages_at_once: int                # pages drawn at once, the rest queued (web/turns.py)
    trusted_proxies: tuple[Network, ...]   # whose X-Forwarded-For is believed (web/proxies.py)
    seal: dict[str, str]              # the seal's hash, signature and key fingerprint (/about)
    seal_audit: SealAudit


@dataclass(frozen=True)
class Services:
    """What the web runs on while it serves: the application, its read side, and the seal's
    checkpoint as a document prints it (taken when the office signs a bulletin)."""

    app: XiaohaoApp
    reads: ReadSide
    stamp: Callable[[str], dict] | None = None


# Opened when the server starts and closed when it stops (the FastAPI lifespan).
ServicesFactory = Callable[[], AbstractContextManager[Services]]
