"""Searching is activity: a search of a store idle for more than a minute moves its
`last_active_at` and its `expires_after` deadline, and one within the minute writes
nothing. Without a replica the write goes through the search pool's own autocommit
connection (`api.deps.search_sessions`), so it is checked here from another connection,
after the response."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The touch is read back from another connection: it must have been committed.
pytestmark = pytest.mark.committed

IDLE = text(
    "UPDATE vector_stores SET last_active_at = now() - interval '1 hour', "
    "expires_at = now() + interval '1 day' - interval '1 hour' WHERE id = :id"
)
STATE = text(
    "SELECT now() - last_active_at, expires_at - last_active_at FROM vector_stores WHERE id = :id"
)


async def _store(sdk: AsyncOpenAI) -> str:
    store = await sdk.vector_stores.create(expires_after={"anchor": "last_active_at", "days": 1})
    await sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", b"searched words"), poll_interval_ms=50
    )
    return store.id


async def _idle_and_deadline(engine: AsyncEngine, store_id: str) -> tuple[timedelta, timedelta]:
    async with engine.connect() as conn:
        row = (await conn.execute(STATE, {"id": store_id})).one()
    return row[0], row[1]


async def test_a_search_of_an_idle_store_marks_it_active(
    sdk: AsyncOpenAI, engine: AsyncEngine
) -> None:
    store_id = await _store(sdk)
    async with engine.begin() as conn:
        await conn.execute(IDLE, {"id": store_id})
    page = await sdk.vector_stores.search(vector_store_id=store_id, query="searched")
    assert page.data[0].filename == "a.txt"
    idle, deadline = await _idle_and_deadline(engine, store_id)
    assert idle < timedelta(minutes=1)
    assert deadline == timedelta(days=1)


async def test_a_search_within_the_minute_writes_nothing(
    sdk: AsyncOpenAI, engine: AsyncEngine
) -> None:
    store_id = await _store(sdk)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE vector_stores SET last_active_at = now() - interval '30 seconds'"),
        )
    await sdk.vector_stores.search(vector_store_id=store_id, query="searched")
    idle, _ = await _idle_and_deadline(engine, store_id)
    assert idle >= timedelta(seconds=30)
