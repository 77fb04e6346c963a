"""Statements built once, sent as the driver's own SQL: per call, only values are put in order.

Executing a SQLAlchemy statement costs CPU on every call even when its compiled form is
cached: a cache key derived from the statement's tree, an execution context, result
processors, and through the ORM session more still (~0.4 ms a search,
docs/benchmarks.md). A statement that is built once (`functools.cache`) is compiled
here once per dialect, to SQL with numbered parameters, and run by the driver on the
session's connection. SQLAlchemy still checks the connection out; a statement that fails
is replayed through `AsyncConnection.exec_driver_sql`, so SQLAlchemy wraps the error and
invalidates a dropped connection (`db.outage` relies on both). Only for statements that
run outside a transaction (search's autocommit pool, or `run_alone`'s one-statement
writes): in a failed transaction the replay would meet "transaction aborted", not the
first error.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import String

STATEMENTS_KEPT = 128
Runner = AsyncSession | AsyncConnection
"""Where a statement runs: a session's connection, or a pooled connection held without a
session (search's, `api.deps.search_sessions`: no unit of work to open and close)."""


@dataclass(frozen=True)
class DriverStatement:
    sql: str
    order: tuple[str, ...]
    """The bind behind each numbered parameter, in number order."""
    constants: Mapping[str, Any]
    """Values fixed when the statement was built, already processed for the driver."""
    processors: Mapping[str, Callable[[Any], Any]]
    """The dialect's conversions for values given per call (none, for plain types)."""
    literals: Mapping[str, Callable[[Any], str]]
    """Binds written into the SQL as quoted literals when it runs (`literal_execute`)."""

    def bind(self, named: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """The SQL text and its parameters for these values (by bind name)."""
        sql = self.sql
        for name, quote in self.literals.items():
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", quote(named[name]))
        values = {**self.constants, **named}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return sql, tuple(values[name] for name in self.order)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def compile_once(statement: Executable, dialect: Dialect) -> DriverStatement:
    """Immutable statements only: the cache holds them by identity."""
    if not isinstance(statement, ClauseElement):
        raise TypeError(f"cannot compile {type(statement).__name__}")
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"{type(statement).__name__} does not compile to SQL")
    literal = {bind.key for bind in compiled.literal_execute_params}
    # Numbered parameters skip the literal binds; a name used twice is numbered once.
    order = tuple(name for name in compiled.positiontup or () if name not in literal)
    processors = _scalar_processors(compiled)
    given = {name for name in order if compiled.binds[name].required}
    constants = {
        name: _processed(processors, name, compiled.binds[name].effective_value)
        for name in order
        if name not in given
    }
    quote: Callable[[Any], str] | None = String().literal_processor(dialect)  # type: ignore[no-untyped-call]
    assert quote is not None, "every dialect can quote a string"
    return DriverStatement(
        sql=compiled.string,
        order=order,
        constants=constants,
        processors={name: processors[name] for name in given if name in processors},
        literals=dict.fromkeys(literal, quote),
    )


def _scalar_processors(compiled: SQLCompiler) -> dict[str, Callable[[Any], Any]]:
    found: dict[str, Callable[[Any], Any]] = {}
    for name, process in compiled._bind_processors.items():
        if not callable(process):
            raise TypeError(f"bind {name!r} needs a processor per element")
        found[name] = process
    return found


def _processed(processors: Mapping[str, Callable[[Any], Any]], name: str, value: Any) -> Any:
    process = processors.get(name)
    return value if process is None else process(value)


async def fetch_all(
    session: Runner, statement: Executable, named: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """Every row of a statement built once, run by the driver on the session's connection
    (or on `session` itself, a connection).

    A statement that fails runs once more through SQLAlchemy, which sorts, wraps and
    invalidates as it does for every other statement: a connection dropped while idle
    then fails as `db.outage` expects (invalidated with the pool's older connections, so
    its retry connects anew), and any other error is the one SQLAlchemy would raise."""
    connection, driver, sql, values = await _bound(session, statement, named)
    if driver is not None:
        with contextlib.suppress(Exception):  # replayed below, unchained to the driver's error
            return list(await driver.fetch(sql, *values))
    return list((await connection.exec_driver_sql(sql, values)).all())


async def run_alone(session: AsyncSession, statement: Executable, named: Mapping[str, Any]) -> None:
    """A write that is a whole unit of work in one statement, committed as it returns.

    The session's transaction has sent nothing yet when this is its first statement (the
    driver starts it lazily, at the first statement SQLAlchemy runs), so the driver runs
    it alone, in autocommit: no BEGIN and no COMMIT round trips, and the session's own
    commit has nothing left to send. A failure is replayed through SQLAlchemy as in
    `fetch_all` (the statement changed nothing: it failed as a whole). On a connection
    already in a transaction (the session wrote before, or a test's outer transaction)
    it runs there, through SQLAlchemy, and commits with it."""
    connection, driver, sql, values = await _bound(session, statement, named)
    if driver is not None and not driver.is_in_transaction():
        with contextlib.suppress(Exception):  # replayed below, unchained to the driver's error
            await driver.execute(sql, *values)
            return
    await connection.exec_driver_sql(sql, values)


async def _bound(
    session: Runner, statement: Executable, named: Mapping[str, Any]
) -> tuple[AsyncConnection, Any, str, tuple[Any, ...]]:
    """The session's connection, its driver's own connection, and the statement's SQL and
    values for the driver."""
    connection = session if isinstance(session, AsyncConnection) else await session.connection()
    sql, values = compile_once(statement, connection.dialect).bind(named)
    driver = (await connection.get_raw_connection()).driver_connection
    return connection, driver, sql, values
