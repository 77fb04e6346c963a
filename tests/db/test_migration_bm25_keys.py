"""Upgrading to integer-keyed BM25 postings (20261130_0008) rebuilds every store's postings
from its chunks, the triggers keep them exact afterwards, and a downgrade restores the
text-keyed layout with the same postings."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.embeddings import ModelSpec
from tests.db.test_bm25 import EXPECTED_POSTINGS, POSTINGS

BEFORE = "20261130_0007"
MODEL = ModelSpec("hash", "hash", 8)
PROJECT = "00000000-0000-0000-0000-000000000001"
TEXTS = {
    "vs_a": ["measles measles vaccination", "cargo ships and ports"],
    "vs_b": ["cats purr; measles spreads", ""],
}
# The layout before 0008, recomputed from the chunks.
TEXT_KEYED = """
SELECT c.vector_store_id, t.lexeme, c.id, coalesce(array_length(t.positions, 1), 1),
       bm25_length(c.tsv)
FROM file_chunks AS c CROSS JOIN LATERAL unnest(c.tsv) AS t
"""


@pytest.fixture
async def old_database(fresh_url: str) -> str:
    """A scratch database at the revision before integer-keyed postings."""
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_url, MODEL), BEFORE)
    return fresh_url


async def _seed(db: AsyncEngine) -> None:
    rng = random.Random(8)
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO files (id, project_id, filename, purpose) "
                "VALUES ('file-a', :p, 'a.txt', 'assistants')"
            ),
            {"p": PROJECT},
        )
        for store, texts in TEXTS.items():
            await conn.execute(
                text(
                    "INSERT INTO vector_stores (id, project_id, embedding_provider, "
                    "embedding_model, embedding_dimensions) VALUES (:s, :p, 'hash', 'hash', 8)"
                ),
                {"s": store, "p": PROJECT},
            )
            await conn.execute(
                text(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                    "status, chunking_strategy) VALUES (:s, 'file-a', :p, 'completed', '{}')"
                ),
                {"s": store, "p": PROJECT},
            )
            for index, body in enumerate(texts):
                await conn.execute(
                    text(
                        "INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, "
                        "token_count, embedding) "
                        "VALUES (:s, 'file-a', :i, :t, 1, CAST(:v AS halfvec))"
                    ),
                    {"s": store, "i": index, "t": body, "v": str([rng.random() for _ in range(8)])},
                )


async def _rows(db: AsyncEngine, sql: str) -> set[tuple[Any, ...]]:
    async with db.connect() as conn:
        return {tuple(row) for row in await conn.execute(text(sql))}


class TestUpgrade:
    async def test_postings_are_rebuilt_and_stay_exact(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            await upgrade_head(old_database, MODEL)
            rebuilt = await _rows(db, POSTINGS)
            expected = await _rows(db, EXPECTED_POSTINGS)
            async with db.begin() as conn:
                await conn.execute(text("DELETE FROM file_chunks WHERE text LIKE 'cargo%'"))
            after_delete = await _rows(db, POSTINGS)
            expected_after_delete = await _rows(db, EXPECTED_POSTINGS)
        finally:
            await db.dispose()
        assert rebuilt == expected
        assert len(rebuilt) == 9
        assert after_delete == expected_after_delete
        assert len(after_delete) == 6

    async def test_downgrade_restores_text_terms(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            before = await _rows(db, "SELECT * FROM bm25_postings")
            await upgrade_head(old_database, MODEL)
            await asyncio.to_thread(command.downgrade, alembic_config(old_database, MODEL), BEFORE)
            after = await _rows(db, "SELECT * FROM bm25_postings")
            expected = await _rows(db, TEXT_KEYED)
        finally:
            await db.dispose()
        assert after == before == expected
