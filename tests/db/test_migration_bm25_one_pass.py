"""The one-statement BM25 insert trigger (20261130_0013): a database with chunks upgraded
to it keeps exact postings and store totals, and so do writes after it, into a store the
database already had, a new store and a chunk without terms; a downgrade keeps them too."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.migrate import alembic_config, upgrade_head
from tests.db.test_bm25 import assert_exact
from tests.db.test_migration_bm25_keys import MODEL, PROJECT, _seed

BEFORE = "20261130_0008"
# Two stores written by one statement: the one _seed made and a new one.
MORE_CHUNKS = """
INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, token_count, embedding)
VALUES ('vs_a', 'file-a', 10, 'measles again, and cargo', 1, CAST(:v AS halfvec)),
       ('vs_c', 'file-a', 0, 'purring cats purr', 1, CAST(:v AS halfvec)),
       ('vs_c', 'file-a', 1, 'the and of', 1, CAST(:v AS halfvec))
"""
NEW_STORE = (
    "INSERT INTO vector_stores (id, project_id, embedding_provider, embedding_model, "
    "embedding_dimensions) VALUES ('vs_c', :p, 'hash', 'hash', 8)",
    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, status, "
    "chunking_strategy) VALUES ('vs_c', 'file-a', :p, 'completed', '{}')",
)
VECTOR = str([0.5] * 8)


@pytest.fixture
async def old_database(fresh_url: str) -> str:
    """A scratch database at the revision before the one-statement trigger."""
    await asyncio.to_thread(command.upgrade, alembic_config(fresh_url, MODEL), BEFORE)
    return fresh_url


async def _write_more(db: AsyncEngine) -> None:
    async with db.begin() as conn:
        for statement in NEW_STORE:
            await conn.execute(text(statement), {"p": PROJECT})
        await conn.execute(text(MORE_CHUNKS), {"v": VECTOR})


async def _delete(db: AsyncEngine, pattern: str) -> None:
    async with db.begin() as conn:
        await conn.execute(text("DELETE FROM file_chunks WHERE text LIKE :t"), {"t": pattern})


class TestUpgrade:
    async def test_existing_and_new_chunks_stay_exact(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            await upgrade_head(old_database, MODEL)
            await assert_exact(db)
            await _write_more(db)
            await assert_exact(db)
            await _delete(db, "%cargo%")
            await assert_exact(db)
        finally:
            await db.dispose()

    async def test_downgrade_keeps_them_exact(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            await upgrade_head(old_database, MODEL)
            await asyncio.to_thread(command.downgrade, alembic_config(old_database, MODEL), BEFORE)
            await _write_more(db)
            await assert_exact(db)
        finally:
            await db.dispose()
