"""A store past VECTOR_INDEX_MIN_CHUNKS: searchable (exactly) as soon as its files are
completed, then indexed in the background by the serving process, with the same answers."""

from __future__ import annotations

import asyncio

import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.config import Settings
from maia_vectordb.db import vector_indexes

pytestmark = pytest.mark.committed  # the serving process's housekeeping builds the index

MIN_CHUNKS = 5
INDEX_WAIT_SECONDS = 30.0
WORDS = ["gearbox", "clutch", "piston", "valve", "manifold", "radiator", "exhaust", "camshaft"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(VECTOR_INDEX_MIN_CHUNKS=MIN_CHUNKS)


async def _index_valid(engine: AsyncEngine, store: str) -> bool | None:
    async with engine.connect() as conn:
        valid: bool | None = await conn.scalar(
            text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:n)"),
            {"n": vector_indexes.quoted_name(store)},
        )
        return valid


async def _top(sdk: AsyncOpenAI, store: str) -> list[tuple[str, str]]:
    page = await sdk.vector_stores.search(
        store, query="radiator exhaust", extra_body={"search_mode": "vector"}
    )
    return [(hit.file_id, hit.content[0].text) for hit in page.data]


async def test_searchable_when_completed_then_indexed_with_the_same_answers(
    sdk: AsyncOpenAI, engine: AsyncEngine
) -> None:
    body = " ".join(WORDS[i % len(WORDS)] + f" part{i}" for i in range(600))
    upload = await sdk.files.create(file=("engine.txt", body.encode()), purpose="assistants")
    store = await sdk.vector_stores.create(name="indexed")
    static = {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}
    attached = await sdk.vector_stores.files.create_and_poll(
        vector_store_id=store.id,
        file_id=upload.id,
        chunking_strategy={"type": "static", "static": static},
        poll_interval_ms=50,
    )
    assert attached.status == "completed"
    try:
        before = await _top(sdk, store.id)
        assert before
        deadline = asyncio.get_running_loop().time() + INDEX_WAIT_SECONDS
        while not await _index_valid(engine, store.id):
            assert asyncio.get_running_loop().time() < deadline, "no index was built"
            await asyncio.sleep(0.2)
        assert await _top(sdk, store.id) == before
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f"DROP INDEX IF EXISTS {vector_indexes.quoted_name(store.id)}"))
            await conn.commit()
