"""Checks the runtime makes of a database: reachable, migrated, indexed for the offered models."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.db.vector_indexes import ensure_indexes
from maia_vectordb.embeddings.spec import ModelSpec

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


async def prepare_schema(
    engine: AsyncEngine, url: str, default: ModelSpec, offered: Sequence[ModelSpec]
) -> None:
    """Upgrade to head, then make sure every offered model's width has its HNSW index."""
    await upgrade_head(url, default)
    await ensure_indexes(engine, [spec.dimensions for spec in offered])
