"""Checks the runtime makes of a database before it migrates it: reachable, in time."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# Long enough for a database container that is still starting, short enough that a
# wrong DATABASE_URL is reported well within 15 s.
STARTUP_DB_TIMEOUT = 10.0


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached or is unfit; the message is meant for a person."""


def _connect_kwargs(url: str) -> dict[str, object]:
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host
    return {
        "host": host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }


async def wait_for_database(url: str, *, within: float) -> None:
    """Retry until PostgreSQL answers or `within` seconds pass, then fail with one clear line."""
    deadline = time.monotonic() + within
    kwargs = _connect_kwargs(url)
    last: Exception | None = None
    while time.monotonic() < deadline:
        remaining = max(deadline - time.monotonic(), 0.5)
        try:
            conn = await asyncpg.connect(**kwargs, timeout=min(remaining, 5.0))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
            continue
        await conn.close()
        return
    raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {last or 'timed out'}")
