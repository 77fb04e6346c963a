"""What an exception may say in a log line: its type, SQLSTATE and a scrubbed message.

Driver messages quote the values that caused them (`Key (name)=(secret plan)`,
`invalid input syntax for type json: "…"`) and SQLAlchemy's text appends the whole
statement, so neither may reach a log verbatim. Quoted and bracketed values are
replaced, the statement is dropped, and the rest is cut to a bounded length.
"""

from __future__ import annotations

import re
import traceback

from sqlalchemy.exc import StatementError

MAX_MESSAGE_CHARS = 200
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|\([^()]*\)|\[[^\[\]]*\]")
_SQL_TAIL = re.compile(r"\n?\[SQL:.*", re.DOTALL)


def describe_error(exc: BaseException) -> dict[str, object]:
    """Log fields for `exc`: never its parameters, never the SQL it ran."""
    driver = _driver_error(exc)
    fields: dict[str, object] = {
        "error_type": type(driver).__name__,
        "error": scrub(_message(driver)),
    }
    state = getattr(driver, "sqlstate", None)
    if isinstance(state, str):
        fields["sqlstate"] = state
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        fields["where"] = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"
    return fields


def scrub(message: str) -> str:
    text = _SQL_TAIL.sub("", message)
    text = _QUOTED.sub("?", text.splitlines()[0] if text else "")
    return text[:MAX_MESSAGE_CHARS]


def _driver_error(exc: BaseException) -> BaseException:
    """The asyncpg error under SQLAlchemy's wrappers, which is what names the problem."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        inner: BaseException = exc.orig
        return inner.__cause__ if inner.__cause__ is not None else inner
    return exc


def _message(exc: BaseException) -> str:
    if isinstance(exc, StatementError):
        return str(exc.orig) if exc.orig is not None else type(exc).__name__
    return str(exc)
