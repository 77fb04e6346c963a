"""Races the review found, each with its two transactions interleaved by hand: a batch
cancel against a later batch re-sending its files, and the 0017 downgrade against a
store delete already on the new trigger."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.db.queries import file_batches
from tests.db.test_bm25 import POST_EVERYTHING
from tests.db.test_migration_bm25_keys import MODEL, PROJECT, _seed

STORE = (
    "INSERT INTO vector_stores (id, project_id, embedding_provider, embedding_model, "
    "embedding_dimensions) VALUES ('vs', :p, 'hash', 'hash', 8)"
)
FILE = "INSERT INTO files (id, project_id, filename, purpose) VALUES (:f, :p, 'x', 'assistants')"
ATTACH = (
    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, status, "
    "chunking_strategy) VALUES ('vs', :f, :p, 'in_progress', '{}') "
    "ON CONFLICT (vector_store_id, file_id) DO UPDATE SET status = vector_store_files.status"
)
BATCH = (
    "INSERT INTO file_batches (id, project_id, vector_store_id, created_at) "
    "VALUES (:b, :p, 'vs', now() - make_interval(mins => :ago))"
)
MEMBER = "INSERT INTO file_batch_files (batch_id, vector_store_id, file_id) VALUES (:b, 'vs', :f)"


async def test_a_cancel_waits_for_a_later_batch_sending_its_file_again(fresh_url: str) -> None:
    await upgrade_head(fresh_url, MODEL)
    engine = create_async_engine(fresh_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(STORE), {"p": PROJECT})
            await conn.execute(text(BATCH), {"b": "A", "p": PROJECT, "ago": 1})
            for f in ("f1", "f2"):
                await conn.execute(text(FILE), {"f": f, "p": PROJECT})
                await conn.execute(text(ATTACH), {"f": f, "p": PROJECT})
                await conn.execute(text(MEMBER), {"b": "A", "f": f})
        # Batch B re-sends f1 as attachments.attach does (upsert, then membership), open.
        later = await engine.connect()
        await later.begin()
        await later.execute(text(BATCH), {"b": "B", "p": PROJECT, "ago": 0})
        await later.execute(text(ATTACH), {"f": "f1", "p": PROJECT})
        await later.execute(text(MEMBER), {"b": "B", "f": "f1"})

        async def cancel() -> list[str]:
            async with AsyncSession(engine) as session, session.begin():
                return await file_batches.cancel_pending(
                    session, project_id=uuid.UUID(PROJECT), vector_store_id="vs", batch_id="A"
                )

        cancelling = asyncio.create_task(cancel())
        await asyncio.sleep(0.3)
        assert not cancelling.done()  # waiting for B's attach
        await later.commit()
        await later.close()
        assert await cancelling == ["f2"]
        async with engine.connect() as conn:
            statuses = dict(
                (await conn.execute(text("SELECT file_id, status FROM vector_store_files"))).all()
            )
        assert statuses == {"f1": "in_progress", "f2": "cancelled"}
    finally:
        await engine.dispose()


async def test_the_0017_downgrade_purges_a_store_deleted_meanwhile(fresh_url: str) -> None:
    await upgrade_head(fresh_url, MODEL)
    engine = create_async_engine(fresh_url)
    try:
        await _seed(engine)
        async with engine.begin() as conn:
            await conn.execute(text(POST_EVERYTHING))
            key = await conn.scalar(
                text("SELECT key FROM bm25_stores WHERE vector_store_id = 'vs_a'")
            )
        deleting = await engine.connect()
        await deleting.begin()
        await deleting.execute(text("DELETE FROM vector_stores WHERE id = 'vs_a'"))
        config = alembic_config(fresh_url, MODEL)
        downgrade = asyncio.create_task(
            asyncio.to_thread(command.downgrade, config, "20261130_0016")
        )
        await asyncio.sleep(1.0)
        await deleting.commit()
        await deleting.close()
        await downgrade
        async with engine.connect() as conn:
            left = await conn.scalar(
                text("SELECT count(*) FROM bm25_postings WHERE store_key = :k"), {"k": key}
            )
        assert left == 0
    finally:
        await engine.dispose()
