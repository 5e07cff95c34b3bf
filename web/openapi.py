"""What the API's OpenAPI document says beyond what FastAPI infers from the routes: every error
as the problem document web/errors.py sends, the bearer scheme Swagger UI's Authorize button
uses, the Idempotency-Key header every POST takes (web/idempotency.py), and the links from a
new ticket to what can be done to it (so a client, or schemathesis, can follow them)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from domain.idempotency import MAX_KEY

PROBLEM = "application/problem+json"
MEANINGS = {
    400: "输入有误：字段值、周次、月份、日期或页码无效，或 Idempotency-Key 格式不对；detail 说明原因",
    401: "未提供 API 令牌，或令牌无效、已撤销（Authorization: Bearer <令牌>）",
    403: "您的角色无权执行此操作，或该问题不在您的查看范围内",
    404: "未找到：问题编号、单位、人员、批示或周通报不存在",
    409: "操作冲突：当前状态不允许此操作、已被他人修改（expected_version 已过期）、重复登记，"
         "或同一 Idempotency-Key 的请求已执行而答复尚未保存",
    413: "请求体过大",
    422: "请求内容不符合要求：缺少字段、类型不符或有多余字段（errors 逐项列出），"
         "或同一 Idempotency-Key 已用于另一个请求",
    429: "请求过于频繁，请稍后重试（Retry-After 给出秒数）",
}
# Every API route needs a token and a role; its parameters or body may not parse.
ALWAYS = (401, 403, 422)
# Every POST also passes the body limit and the Idempotency-Key middleware, and is a command.
POSTED = (400, 409, 413, 422)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "重试时带上同一键值，同一账号 24 小时内不会重复执行",
    "schema": {"type": "string", "maxLength": MAX_KEY, "minLength": 1},
    "example": "3f0b6a4e-9a51-4c52-8f2e-1d7d2a0c5b11",
}
SECURITY_SCHEME = "bearer"


class FieldError(BaseModel):
    field: str = Field(description="出错的位置，如 body.deadline、query.page")
    message: str = Field(description="出错原因")


class Problem(BaseModel):
    """RFC 9457 问题详情：API 的每个错误都以此格式（application/problem+json）返回。"""

    type: str = Field("about:blank", description="固定为 about:blank")
    title: str = Field(description="状态的中文名称，如 输入有误、无权访问")
    status: int = Field(description="HTTP 状态码")
    detail: str = Field(description="中文说明，可直接展示给用户")
    errors: list[FieldError] | None = Field(None, description="422 时逐项列出不符合要求的字段")
    outcome: dict[str, Any] | None = Field(
        None, description="409（同一 Idempotency-Key 的请求已执行）时：那次请求做了什么")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status answered with a Problem."""
    return {status: {"description": MEANINGS[status], "content": {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}} for status in statuses}


def described(web: FastAPI) -> dict:
    """The OpenAPI document of /api/v1, made once per app."""
    if web.openapi_schema is None:
        document = web.openapi()
        _add_problem(document)
        document["components"]["securitySchemes"] = {SECURITY_SCHEME: {
            "type": "http", "scheme": "bearer",
            "description": "API 令牌：登录后在「API 令牌」页面（/tokens）申请，以 xh_ 开头"}}
        document["security"] = [{SECURITY_SCHEME: []}]
        for operations in document["paths"].values():
            for method, operation in operations.items():
                if method == "post":
                    _posted(operation)
        _link_new_tickets(document)
    return web.openapi_schema


def _add_problem(document: dict) -> None:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema
    for unused in ("HTTPValidationError", "ValidationError"):   # we answer 422 as a Problem
        schemas.pop(unused, None)


def _posted(operation: dict) -> None:
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    for status, response in problems(*POSTED).items():
        operation["responses"].setdefault(str(status), response)


def _link_new_tickets(document: dict) -> None:
    """POST /api/v1/tickets answers a number; every operation on /tickets/{number} takes it."""
    opened = document["paths"].get("/api/v1/tickets", {}).get("post")
    if opened is None:
        return
    links = {}
    for path, operations in document["paths"].items():
        if path.startswith("/api/v1/tickets/{number}"):
            for operation in operations.values():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"number": "$response.body#/number"}}
    opened["responses"]["201"]["links"] = links
