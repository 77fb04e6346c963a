"""Every error leaves as OpenAI's envelope: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from maia_vectordb.db.outage import is_database_outage
from maia_vectordb.errors import ErrorBody, ErrorEnvelope, MaiaError
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.schemas.chunking import STRATEGY_TAGS
from maia_vectordb.schemas.filters import FILTER_TAGS

log = logging.getLogger(__name__)

_HTTP_TYPES = {401: "invalid_request_error", 403: "invalid_request_error"}
RETRY_AFTER_SECONDS = "5"


def envelope_response(
    status: int, envelope: ErrorEnvelope, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(envelope.model_dump(), status_code=status, headers=headers)


def error_response(
    status: int,
    message: str,
    *,
    type_: str,
    param: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(message=message, type=type_, param=param, code=code)
    return envelope_response(status, ErrorEnvelope(error=body), headers=headers)


UNION_TAGS = STRATEGY_TAGS | FILTER_TAGS


def param_from_loc(loc: Sequence[int | str], body: Any = None) -> str | None:
    """`("body", "metadata", "k")` → `metadata.k`; list positions render as `[i]`.

    A discriminated union puts its tag in the path (`filters.compound.filters[0].
    comparison.value`, `chunking_strategy.static.static.max_chunk_size_tokens`), which
    names nothing the client sent. At most one tag follows each value, and it is left
    out: a segment that is one of `UNION_TAGS`, where the request `body` holds no such
    key, holds it as its `type` (`static` in `{"type": "static", ...}`), or is no
    object at all."""
    in_request = bool(loc) and loc[0] in {"body", "query", "path", "header"}
    parts = list(loc[1:]) if in_request else list(loc)
    node = body if in_request and loc[0] == "body" else None
    out, tagged = "", False
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            tagged = False
            continue
        if part.startswith("function-") or "[" in part:
            continue
        if part in UNION_TAGS and not tagged and _is_tag(node, part):
            tagged = True
            continue
        out += f".{part}" if out else part
        node = node.get(part) if isinstance(node, dict) else None
        tagged = False
    return out or None


def _is_tag(node: Any, part: str) -> bool:
    return not isinstance(node, dict) or part not in node or node.get("type") == part


def _validation_message(error: dict[str, Any], param: str | None) -> str:
    msg = str(error.get("msg", "Invalid value"))
    msg = msg.removeprefix("Value error, ")
    return f"Invalid '{param}': {msg}" if param else msg


def maia_error_response(exc: MaiaError) -> JSONResponse:
    return envelope_response(exc.status_code, exc.envelope())


async def _maia_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MaiaError)
    if exc.status_code >= 500:
        log.error("request.failed", extra={"error": exc.message})
    return maia_error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "Invalid request"}
    if first.get("type") == "json_invalid":  # its `loc` is a character offset, no field
        detail = (first.get("ctx") or {}).get("error", "invalid JSON")
        offset = list(first.get("loc") or ("",))[-1]
        return error_response(
            400,
            f"We could not parse the JSON body of your request: {detail} (at character {offset}).",
            type_="invalid_request_error",
            param=None,
            code="invalid_json",
        )
    param = param_from_loc(first.get("loc", ()), exc.body)
    return error_response(
        400,
        _validation_message(first, param),
        type_="invalid_request_error",
        param=param,
        code="invalid_value",
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}"
    else:
        message = str(exc.detail)
    type_ = _HTTP_TYPES.get(exc.status_code, "invalid_request_error")
    if exc.status_code >= 500:
        type_ = "server_error"
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status_code == 405:
        headers["allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, message, type_=type_, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method documented for this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\{[^/]+\}", "[^/]+", template)
        if re.fullmatch(pattern, request.url.path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def unhandled_response(exc: BaseException) -> JSONResponse:
    """A database outage is a 503 to retry; anything else is logged (scrubbed) as a 500."""
    if is_database_outage(exc):
        log.warning("request.database_unavailable", extra=describe_error(exc))
        return error_response(
            503,
            "The service is temporarily unavailable: its database cannot be reached. "
            "Please retry shortly.",
            type_="server_error",
            code="database_unavailable",
            headers={"retry-after": RETRY_AFTER_SECONDS},
        )
    log.error("request.crashed", extra=describe_error(exc))
    return error_response(
        500, "The server had an error while processing your request.", type_="server_error"
    )


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    return unhandled_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MaiaError, _maia_error)
    # Inside the app, so the access log and metrics see the status actually sent.
    app.add_exception_handler(SQLAlchemyError, _unhandled)
    app.add_exception_handler(OSError, _unhandled)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
