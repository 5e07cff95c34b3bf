"""Vocabularies and small values shared by the aggregates, each with its Chinese label."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import Enum

from domain.errors import InvalidInputError


class Labelled(str, Enum):
    """A string enum whose members carry the Chinese label the UI shows."""

    label: str

    def __new__(cls, value: str, label: str) -> Labelled:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def parse(cls, raw: str) -> Labelled:
        """Accept the code or the Chinese label; refuse anything else."""
        for member in cls:
            if raw in (member.value, member.label):
                return member
        choices = "、".join(m.label for m in cls)
        raise InvalidInputError(f"{cls.__doc__}「{raw}」无效，可选：{choices}")


class Severity(Labelled):
    """严重程度"""

    NORMAL = "normal", "一般"
    SERIOUS = "serious", "较重"
    GRAVE = "grave", "严重"


class Source(Labelled):
    """问题来源"""

    WEEKLY_CHECK = "weekly_check", "周检查"
    MONTHLY_RECHECK = "monthly_recheck", "月回查"
    SELF_ASSESSMENT = "self_assessment", "自查自评"
    WORK_PLAN = "work_plan", "工作方案"
    AD_HOC = "ad_hoc", "临时督查"


class Category(Labelled):
    """问题类别"""

    SCALE = "scale", "办学规模"
    CLASS_SIZE = "class_size", "大班额"
    BUILDINGS = "buildings", "校舍用房"
    SPORTS = "sports", "体育场馆"
    SPECIAL_ROOMS = "special_rooms", "功能教室"
    TEACHERS = "teachers", "师资队伍"
    FUNDING = "funding", "经费保障"
    EQUIPMENT = "equipment", "装备信息化"
    SAFETY = "safety", "校园安全"
    MANAGEMENT = "management", "管理与质量"
    ORGANISATION = "organisation", "组织推进"


class Role(Labelled):
    """角色"""

    INSPECTOR = "inspector", "督查员"
    OFFICE = "office", "创建办"
    UNIT = "unit", "责任单位"
    LEADER = "leader", "包保领导"
    AUDITOR = "auditor", "审计"


class State(Labelled):
    """整改状态"""

    OPENED = "opened", "待交办"
    ASSIGNED = "assigned", "整改中"
    RECTIFIED = "rectified", "待复查"
    VERIFIED = "verified", "复查通过"
    CLOSED = "closed", "已销号"
    CANCELLED = "cancelled", "已撤销"


EVIDENCE_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TAKEN_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class Evidence:
    """A file kept by content: the store holds it under its sha256. A photo may also say when
    and where it was taken (its EXIF, read when it was stored): `taken_at` as
    "YYYY-MM-DD HH:MM:SS", `gps` as [latitude, longitude]."""

    sha256: str
    name: str
    content_type: str
    size: int
    taken_at: str | None = None
    gps: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _SHA256.fullmatch(self.sha256):
            raise InvalidInputError("证据文件的 sha256 摘要无效")
        if self.content_type not in EVIDENCE_TYPES:
            raise InvalidInputError(f"不支持的证据文件类型：{self.content_type}")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size <= 0:
            raise InvalidInputError("证据文件大小无效")
        clean_text(self.name, "证据文件名", limit=255)
        if self.taken_at is not None and not _TAKEN_AT.fullmatch(str(self.taken_at)):
            raise InvalidInputError("照片拍摄时间无效")
        if self.gps is not None:
            try:
                latitude, longitude = (float(v) for v in self.gps)
            except (TypeError, ValueError):
                raise InvalidInputError("照片拍摄地点无效") from None
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise InvalidInputError("照片拍摄地点无效")
            object.__setattr__(self, "gps", (latitude, longitude))

    def as_dict(self) -> dict:
        """Its fields, leaving out the photo facts it does not have."""
        fields = asdict(self)
        if self.gps is not None:
            fields["gps"] = list(self.gps)
        return {k: v for k, v in fields.items() if v is not None}

    @classmethod
    def parse(cls, item: object) -> Evidence:
        """An Evidence, or a dict with exactly its four fields."""
        if isinstance(item, Evidence):
            return item
        try:
            return cls(**item)
        except TypeError:
            raise InvalidInputError("证据信息须包含 sha256、name、content_type、size 四项"
                                    "（照片可另附 taken_at、gps）") from None


def require_day(value: object, field: str) -> date:
    """A calendar day (a date, not a datetime)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInputError(f"{field}必须是日期")
    return value


def require_id(value: object, field: str) -> str:
    """An id or code: a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{field}必须是非空的编码")
    return value


def require_ids(values: object, field: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise InvalidInputError(f"{field}必须是编码列表")
    return [require_id(v, field) for v in values]


def distinct_ids(values: object, field: str, limit: int) -> list[str]:
    """A list of ids given to a command: each once, in the order given, and at most `limit`."""
    ids = list(dict.fromkeys(require_ids(values, field)))
    if len(ids) > limit:
        raise InvalidInputError(f"{field}最多 {limit} 个，收到 {len(ids)} 个")
    return ids


def clean_text(raw: str, field: str, *, limit: int, required: bool = True) -> str:
    """Normalise user text (NFC, trimmed) and enforce presence and length, counted in characters."""
    if not isinstance(raw, str):
        raise InvalidInputError(f"{field}必须是文本")
    if _SURROGATE.search(raw):
        raise InvalidInputError(f"{field}含有无效的 UTF-8 字节")
    text = unicodedata.normalize("NFC", raw).strip()
    if required and not text:
        raise InvalidInputError(f"{field}不能为空")
    if len(text) > limit:
        raise InvalidInputError(f"{field}过长：{len(text)} 字，最多 {limit} 字")
    if _CONTROL.search(text):
        raise InvalidInputError(f"{field}含有控制字符")
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode's control characters (category Cc: C0, DEL and C1) but the line feed and the tab.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
