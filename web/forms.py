"""Reading a command's fields from a submitted form, as the catalogue (domain/commands.py) names
them: values are converted by their kind (dates, yes/no, lists, uploaded evidence), and one that
cannot be read, or a required one left empty, is refused in Chinese before the application is
asked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.datastructures import FormData, UploadFile

from domain.commands import VERDICTS, Field
from domain.errors import InvalidInputError, LimitReachedError
from domain.periods import parse_day
from domain.values import Evidence
from web.config import WebConfig

LISTS = {"units", "leaders"}
OPTIONAL_IDS = {"unit", "person", "indicator"}
CHOSEN = {"unit", "person", "indicator", "choice", "verdict", "instruction"}   # picked


@dataclass(frozen=True)
class Uploads:
    """The evidence store as one account reaches it on one day: each file is counted
    against the account's daily quota before it is kept (on pages and through the API)."""

    config: WebConfig
    login: str
    day: date

    @property
    def limit_bytes(self) -> int:
        return self.config.evidence.limit_bytes

    def store(self, data: bytes, name: str) -> Evidence:
        quota = self.config.upload_quota
        if not quota.take(self.login, self.day, len(data)):
            raise LimitReachedError(f"今天上传的文件已达上限（{quota.most_bytes // 2**20} MB），"
                                    "未保存；请明天再传，或请创建办调整限额")
        return self.config.evidence.store(data, name)


def read_fields(form: FormData, fields: Iterable[Field], evidence: Uploads
                ) -> dict[str, Any]:
    """The fields as keyword arguments for the application's method."""
    values: dict[str, Any] = {}
    for field in fields:
        if field.kind in LISTS:
            values[field.name] = [v for v in form.getlist(field.name) if isinstance(v, str) and v]
        elif field.kind == "files":
            values[field.name] = [_upload(f, evidence) for f in form.getlist(field.name)
                                  if isinstance(f, UploadFile) and f.filename]
        else:
            values[field.name] = _value(field, form.get(field.name))
    return values


def typed(form: FormData, fields: Iterable[Field]) -> dict[str, Any]:
    """What was typed into a refused form, by field, to draw it again as it was sent (files
    aside: a browser never lets a page choose them)."""
    return {f.name: [v for v in form.getlist(f.name) if isinstance(v, str)] if f.kind in LISTS
            else form.get(f.name) for f in fields
            if f.kind not in ("files", "instruction") and f.name in form}


def expected_version(form: FormData) -> int | None:
    raw = form.get("expected_version")
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidInputError("版本号无效") from None


def _value(field: Field, raw: object) -> Any:
    if raw is not None and not isinstance(raw, str):
        raise InvalidInputError(f"{field.label}应为文字")
    text = (raw or "").strip()
    if field.required and not text:
        raise InvalidInputError(f"{'请选择' if field.kind in CHOSEN else '请填写'}{field.label}")
    if field.kind == "verdict":
        if text not in ("1", "0"):
            raise InvalidInputError(f"请选择{field.label}：{VERDICTS['pass']}或{VERDICTS['fail']}")
        return text == "1"
    if field.kind == "date":
        return parse_day(text, field.label) if text else None
    if field.kind == "instruction":
        if not text.isdigit() or len(text) > 6:
            raise InvalidInputError(f"请选择{field.label}")
        return int(text)
    if field.kind in OPTIONAL_IDS:
        return text or None
    if field.kind == "choice":
        return text or field.default or ""
    return raw or ""


def _upload(upload: UploadFile, evidence: Uploads) -> Evidence:
    upload.file.seek(0)
    data = upload.file.read(evidence.limit_bytes + 1)   # never more than the limit into memory
    return evidence.store(data, upload.filename or "")
