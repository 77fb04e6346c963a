"""Path and body values read and validated as FastAPI's own request handler does them.

For a route that answers without FastAPI's per-request dependency solving (the search
route, `api/search.py`): the same content-type rule, the same `json_invalid`, `missing`
and validation errors with the same `loc`s, raised as the same `RequestValidationError`,
so `api/errors.py` renders the same 400 envelopes with the same `param`.
"""

from __future__ import annotations

import email.message
import json
from typing import Any, Final, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request

from maia_vectordb.errors import InvalidRequest

T = TypeVar("T")
Loc = tuple[str, ...]

NO_BODY: Final = object()
"""An empty body: `missing` for a required one, as FastAPI reports it."""
JSON_TYPE = "application/json"


def _is_json(content_type: str | None) -> bool:
    """`application/json` or `application/*+json`, parameters allowed; no content type
    is not JSON (FastAPI's `strict_content_type`, on by default)."""
    if content_type == JSON_TYPE:
        return True
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def read_body(request: Request) -> Any:
    """The parsed JSON body; the raw bytes when it is not declared JSON (validation then
    refuses them); `NO_BODY` when empty."""
    try:
        raw = await request.body()
        if not raw:
            return NO_BODY
        return json.loads(raw) if _is_json(request.headers.get("content-type")) else raw
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:  # undecodable bytes, a dropped client: FastAPI's 400
        raise InvalidRequest("There was an error parsing the body") from exc


def validate_into(adapter: TypeAdapter[T], value: Any, loc: Loc, errors: list[Any]) -> T | None:
    """`value` validated by `adapter`, or None with its errors (prefixed by `loc`) added to
    `errors`, so a request's path and body errors are reported together, path first."""
    if value is NO_BODY:
        errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
        return None
    try:
        return adapter.validate_python(value, from_attributes=True)
    except ValidationError as exc:
        errors.extend(
            {**error, "loc": loc + tuple(error["loc"])} for error in exc.errors(include_url=False)
        )
        return None
