"""Upgrading a database from before per-store models: its stores and chunks keep working.

Before revision 20261130_0005 "local" meant the lexical hashing embedder, so a database
upgraded while the server is configured `local` records its stores as `hash`.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.embeddings import ModelSpec

OLD_WIDTH = 64
BEFORE = "20261123_0001"
LOCAL = ModelSpec("local", "all-MiniLM-L6-v2", 384)


@pytest.fixture
async def old_database(fresh_url: str) -> str:
    """A scratch database at the revision before per-store models."""
    config = alembic_config(fresh_url, ModelSpec("hash", "hash", OLD_WIDTH))
    await asyncio.to_thread(command.upgrade, config, BEFORE)
    return fresh_url


async def _seed(db: AsyncEngine) -> None:
    rng = random.Random(3)
    vector = str([rng.random() for _ in range(OLD_WIDTH)])
    statements = [
        "INSERT INTO vector_stores (id, project_id) VALUES ('vs_old', "
        "'00000000-0000-0000-0000-000000000001')",
        "INSERT INTO files (id, project_id, filename, purpose) VALUES ('file-a', "
        "'00000000-0000-0000-0000-000000000001', 'a.txt', 'assistants')",
        "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, status, "
        "chunking_strategy) VALUES ('vs_old', 'file-a', "
        "'00000000-0000-0000-0000-000000000001', 'completed', '{}'::jsonb)",
    ]
    async with db.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
        await conn.execute(
            text(
                "INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, "
                "token_count, embedding) VALUES ('vs_old', 'file-a', 0, 'hello', 1, "
                "CAST(:v AS halfvec))"
            ),
            {"v": vector},
        )


class TestUpgrade:
    async def test_existing_stores_keep_their_model_and_chunks(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            await upgrade_head(old_database, LOCAL)
            async with db.connect() as conn:
                store = (
                    await conn.execute(
                        text(
                            "SELECT embedding_provider, embedding_model, embedding_dimensions "
                            "FROM vector_stores"
                        )
                    )
                ).one()
                widths = (await conn.execute(text("SELECT embedding_dim FROM file_chunks"))).all()
                indexes = set(
                    (
                        await conn.execute(
                            text("SELECT indexname FROM pg_indexes WHERE tablename='file_chunks'")
                        )
                    ).scalars()
                )
        finally:
            await db.dispose()
        assert tuple(store) == ("hash", "hash", OLD_WIDTH)
        assert [w for (w,) in widths] == [OLD_WIDTH]
        # Neither the old single index nor the per-width ones survive: the index builder
        # gives each large store its own (20261130_0007).
        assert not {name for name in indexes if name.startswith("ix_file_chunks_embedding_hnsw")}

    async def test_downgrade_restores_the_fixed_width(self, old_database: str) -> None:
        db = create_async_engine(old_database)
        try:
            await _seed(db)
            await upgrade_head(old_database, ModelSpec("hash", "hash", OLD_WIDTH))
            config = alembic_config(old_database, ModelSpec("hash", "hash", OLD_WIDTH))
            await asyncio.to_thread(command.downgrade, config, BEFORE)
            async with db.connect() as conn:
                width = (
                    await conn.execute(
                        text(
                            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                            "attrelid = 'file_chunks'::regclass AND attname = 'embedding'"
                        )
                    )
                ).scalar()
                chunks = (await conn.execute(text("SELECT count(*) FROM file_chunks"))).scalar()
        finally:
            await db.dispose()
        assert (width, chunks) == ("halfvec(64)", 1)
