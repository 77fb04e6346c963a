"""The runtime: what every serving process gets, whether or not it ingests."""

from __future__ import annotations

import asyncio

from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.config import Settings
from maia_vectordb.runtime import open_runtime

PURGE_WAIT_ROUNDS = 200


async def _files_left(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM files")) or 0)


class TestHousekeeping:
    async def test_a_process_without_ingestion_workers_still_purges_expired_files(
        self, sdk: AsyncOpenAI, engine: AsyncEngine, settings: Settings
    ) -> None:
        made = await sdk.files.create(
            file=("a.txt", b"x"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        await sdk.files.create(file=("keep.txt", b"k"), purpose="assistants")
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = :f"),
                {"f": made.id},
            )
        async with open_runtime(settings.replace(INGEST_WORKERS=0)):
            for _ in range(PURGE_WAIT_ROUNDS):
                if await _files_left(engine) == 1:
                    break
                await asyncio.sleep(0.05)
        assert await _files_left(engine) == 1
