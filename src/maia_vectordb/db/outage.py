"""Is this exception the database being unreachable (retry later) rather than a bug?

PostgreSQL down, restarting (`CannotConnectNow`), shut down by an administrator, a
connection dropped mid-query, or the pool unable to hand out a connection in time
are all transient: the client should retry, so they answer 503, never 500. The
classification lives here, once, because it has to know the driver's types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from maia_vectordb.db.driver_sql import Runner

T = TypeVar("T")

# SQLSTATE classes and codes that mean "the server cannot serve you right now".
_OUTAGE_CLASSES = ("08",)  # connection exception
_OUTAGE_CODES = frozenset({"57P01", "57P02", "57P03", "53300"})  # shutdowns, restart, too many


def is_database_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or _driver_outage(exc.orig)
    return _driver_outage(exc)


def _driver_outage(exc: BaseException | None) -> bool:
    """Walk the cause chain: SQLAlchemy's adapter wraps the asyncpg error it came from."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError):  # refused, reset, socket gone, connect timeout
            return True
        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str) and (state.startswith(_OUTAGE_CLASSES) or state in _OUTAGE_CODES):
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


async def once_more_if_dropped(session: Runner, read: Callable[[], Awaitable[T]]) -> T:
    """Run a read; if its pooled connection turns out to have been dropped while idle
    (pools without pre-ping find out only this way), run it once more on a fresh one.
    SQLAlchemy has already invalidated that connection and every one opened before it,
    so the retry connects anew; a database that is really down fails it again (503)."""
    try:
        return await read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    await session.rollback()
    return await read()
