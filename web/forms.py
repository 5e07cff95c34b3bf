"""Reading the fields of a ticket action or a new ticket from a submitted form.

Each command of the ticket page names its fields; values are converted here (dates, yes/no,
lists, uploaded evidence) and any that cannot be read is refused with a Chinese message before
the application is asked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile

from domain.errors import InvalidInputError
from domain.values import Evidence
from xiaohao.evidence import store_bytes

# command -> (application method, its fields); a field ending in [] is a list, and the kinds
# of field are told apart by name (see `_value`).
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "assign": ("assign", ("lead_unit_id", "co_unit_ids[]", "person_id", "deadline", "note")),
    "reassign": ("reassign", ("lead_unit_id", "co_unit_ids[]", "person_id", "deadline",
                              "reason")),
    "request_extension": ("request_extension", ("new_deadline", "reason")),
    "extend_deadline": ("extend_deadline", ("new_deadline", "reason")),
    "refuse_extension": ("refuse_extension", ("reason",)),
    "rectify": ("rectify", ("measures", "completed_on", "evidence")),
    "reinspect": ("reinspect", ("passed", "findings", "evidence")),
    "close": ("close_ticket", ("note",)),
    "reopen": ("reopen", ("findings", "deadline")),
    "cancel": ("cancel", ("reason",)),
    "comment": ("comment", ("text",)),
    "give_instruction": ("give_instruction", ("text",)),
    "check_progress": ("check_progress", ("note", "evidence")),
}
DATES = {"deadline", "new_deadline", "completed_on"}
OPTIONAL = {"person_id", "deadline", "new_deadline", "completed_on", "indicator_id"}
FIELD_LABELS = {"deadline": "完成时限", "new_deadline": "新的完成时限", "completed_on": "完成日期",
                "passed": "复查结论"}
NEW_TICKET = ("unit_id", "title", "description", "category", "indicator_id", "severity",
              "source", "deadline", "evidence")


def read_fields(form: FormData, fields: tuple[str, ...], evidence_dir: Path,
                max_bytes: int) -> dict[str, Any]:
    """The named fields as keyword arguments for the application."""
    values: dict[str, Any] = {}
    for field in fields:
        if field.endswith("[]"):
            values[field[:-2]] = [v for v in form.getlist(field[:-2]) if isinstance(v, str) and v]
        elif field == "evidence":
            values["evidence"] = [_upload(f, evidence_dir, max_bytes)
                                  for f in form.getlist("evidence")
                                  if isinstance(f, UploadFile) and f.filename]
        else:
            values[field] = _value(field, form.get(field))
    return values


def expected_version(form: FormData) -> int | None:
    raw = form.get("expected_version")
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidInputError("版本号无效") from None


def _value(field: str, raw: object) -> Any:
    if raw is not None and not isinstance(raw, str):
        raise InvalidInputError(f"{FIELD_LABELS.get(field, field)} 应为文字")
    text = (raw or "").strip()
    if field == "passed":
        if text not in ("1", "0"):
            raise InvalidInputError("请选择复查结论：通过或不通过")
        return text == "1"
    if field in OPTIONAL and not text:
        return None
    if field in DATES:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"{FIELD_LABELS[field]} 不是有效日期：{text[:20]}") from None
    return raw or ""


def _upload(upload: UploadFile, evidence_dir: Path, max_bytes: int) -> Evidence:
    upload.file.seek(0)
    data = upload.file.read(max_bytes + 1)    # never more than the limit into memory
    return store_bytes(data, upload.filename or "", evidence_dir, max_bytes)
