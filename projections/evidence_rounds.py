"""A ticket's evidence round by round, read from the `timeline` read model (which keeps every
event as stored): 整改前 (the finding's photos and any added later), each 检查进度 visit with
photos, each rectification with the re-inspection that judged it, each 回查巩固 with photos.
Which rectification is current follows the ticket: a failed re-inspection or a reopening ends
it (its photos stay here, labelled with what became of them). A rectification's photos carry
the doubts the ticket recorded about them (`Rectified.flags`, domain/evidence_checks.py)."""

from __future__ import annotations

import json

from sqlite_utils import Database

EVENTS = ("Opened", "EvidenceAdded", "ProgressChecked", "Rectified", "ReInspected", "Closed",
          "Reopened", "RecheckHeld")
# What became of a rectification, by the event that judged it.
PENDING, PASSED, RETURNED, CLOSED, REOPENED = (
    "待复查", "复查通过", "复查未通过，已退回", "已销号", "回查发现问题，已重新整改")


def evidence_rounds(db: Database, ticket_id: str) -> list[dict]:
    """The rounds, oldest first: {"kind": before | rectification | progress | recheck, "title",
    "status", "current", "ended", "flags", "entries": [{"label", "at", "by_name", "role",
    "text", "files", "expects_files"}]}; each file is the stored reference with its "flags"
    (the reasons it is doubted, in Chinese)."""
    before = _round("before", "整改前照片")
    rounds, fix, fixes = [before], None, 0
    for row in _events(db, ticket_id):
        name, e = row["event"], json.loads(row["event_json"])
        if name in ("Opened", "EvidenceAdded"):
            before["entries"].append(_entry(row, e, e.get("note", "")))
        elif name == "Rectified":
            if fix is not None:
                fix["current"] = False
            fixes += 1
            flags = e.get("flags") or []
            fix = _round("rectification", f"第{fixes}次整改", PENDING, current=True, flags=flags)
            fix["entries"].append(_entry(row, e, e["measures"], flags))
            rounds.append(fix)
        elif name == "ReInspected" and fix is not None:
            fix["entries"].append(_entry(row, e, row["summary"]))
            fix["status"] = PASSED if e["passed"] else RETURNED
            if not e["passed"]:
                fix.update(current=False, ended=True)
        elif name == "Closed" and fix is not None:
            fix["status"] = CLOSED
        elif name == "Reopened" and fix is not None:
            fix.update(status=REOPENED, current=False, ended=True)
        elif name in ("ProgressChecked", "RecheckHeld") and e.get("evidence"):
            kind, title = ("progress", "检查进度") if name == "ProgressChecked" else (
                "recheck", "回查巩固")
            rounds.append(_round(kind, title, entries=[_entry(row, e, e.get("note", ""))]))
    for r in rounds:
        if r["kind"] == "rectification":
            r["title"] = (f"当前整改照片（{r['title']}，{r['status']}）" if r["current"]
                          else f"{r['title']}（{r['status']}）")
    return rounds


def ticket_file(db: Database, ticket_id: str, sha256: str) -> dict | None:
    """A file as some event of this ticket gave it, or None when none did: a ticket's page
    serves its own files, from every round, and no other."""
    row = db.execute(
        "SELECT f.value FROM timeline t, json_each(t.event_json, '$.evidence') f "
        "WHERE t.ticket_id = ? AND json_extract(f.value, '$.sha256') = ? LIMIT 1",
        (ticket_id, sha256)).fetchone()
    return json.loads(row[0]) if row else None


def _events(db: Database, ticket_id: str) -> list[dict]:
    marks = ", ".join("?" * len(EVENTS))
    cursor = db.execute("SELECT event, at, by_name, role, summary, event_json FROM timeline "
                        f"WHERE ticket_id = ? AND event IN ({marks}) ORDER BY version",
                        (ticket_id, *EVENTS))
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, r, strict=True)) for r in cursor]


def _round(kind: str, title: str, status: str = "", *, current: bool = False,
           flags: list[dict] | None = None, entries: list[dict] | None = None) -> dict:
    return {"kind": kind, "title": title, "status": status, "current": current,
            "ended": False, "flags": flags or [], "entries": entries or []}


def _entry(row: dict, e: dict, text: str, flags: list[dict] = ()) -> dict:
    doubts: dict[str, list[str]] = {}
    for flag in flags:
        doubts.setdefault(flag["sha256"], []).append(flag["reason"])
    files = [{**f, "flags": doubts.get(f["sha256"], [])} for f in e.get("evidence") or []]
    return {"label": _LABELS.get(row["event"], ""), "at": row["at"], "by_name": row["by_name"],
            "role": row["role"], "text": text, "files": files,
            "expects_files": row["event"] in ("Opened", "Rectified")}


_LABELS = {"Opened": "发现问题时", "EvidenceAdded": "补充整改前照片", "Rectified": "整改",
           "ReInspected": "复查", "ProgressChecked": "检查进度", "RecheckHeld": "回查巩固"}
