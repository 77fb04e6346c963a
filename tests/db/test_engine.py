"""The primary's pool: a pooled connection is pinged as it is checked out, kept while it
answers, and replaced without an error when the database dropped it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.config import Settings
from maia_vectordb.db.engine import build_engine


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)


async def test_a_healthy_connection_is_reused(settings: Settings, migrated_url: str) -> None:
    engine = build_engine(settings.database, migrated_url)
    try:
        first = await _backend(engine)
        assert [await _backend(engine) for _ in range(3)] == [first] * 3
    finally:
        await engine.dispose()


async def test_a_dropped_connection_is_replaced_at_checkout(
    settings: Settings, migrated_url: str, engine: AsyncEngine
) -> None:
    pool = build_engine(settings.database, migrated_url)
    try:
        dropped = await _backend(pool)
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        replacement = await _backend(pool)
        assert replacement != dropped
        assert await _backend(pool) == replacement
    finally:
        await pool.dispose()
