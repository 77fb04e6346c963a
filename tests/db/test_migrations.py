"""The schema the migrations build is exactly the one the ORM models describe, built once
however many processes start together."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.migrate import (
    compare_type,
    current_revision,
    head_revision,
    include_object,
    script_head,
    upgrade_head,
)
from maia_vectordb.db.models import Base
from maia_vectordb.embeddings import ModelSpec
from tests.conftest import TEST_DIMENSIONS


def _diff(sync_conn: Any) -> list[Any]:
    opts = {"compare_type": compare_type, "include_object": include_object}
    ctx = MigrationContext.configure(sync_conn, opts=opts)
    return list(compare_metadata(ctx, Base.metadata))


class TestMigrations:
    async def test_database_is_at_head(self, engine: AsyncEngine) -> None:
        assert await current_revision(engine) == head_revision()

    def test_head_revision_names_the_newest_script(self) -> None:
        """A new migration script must also update HEAD_REVISION in db/migrate.py."""
        assert script_head() == head_revision()

    async def test_models_and_migrations_agree(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert diff == []

    async def test_embedding_column_takes_any_width(self, engine: AsyncEngine) -> None:
        query = text(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'file_chunks'::regclass AND attname = 'embedding'"
        )
        async with engine.connect() as conn:
            assert (await conn.execute(query)).scalar() == "halfvec"

    async def test_no_index_spans_the_whole_table(self, engine: AsyncEngine) -> None:
        """Vector indexes are per store, made by the index builder, not by migrations."""
        query = text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'file_chunks' "
            "AND indexdef LIKE '%USING hnsw%'"
        )
        async with engine.connect() as conn:
            assert await conn.scalar(query) == 0

    async def test_vectors_stay_in_the_row(self, engine: AsyncEngine) -> None:
        """Exact searches read vectors from the heap row, not from TOAST."""
        storage = text(
            "SELECT attstorage::text FROM pg_attribute "
            "WHERE attrelid = 'file_chunks'::regclass AND attname = 'embedding'"
        )
        options = text("SELECT reloptions FROM pg_class WHERE oid = 'file_chunks'::regclass")
        async with engine.connect() as conn:
            assert await conn.scalar(storage) == "m"
            assert await conn.scalar(options) == ["toast_tuple_target=8160"]


class TestConcurrentStart:
    async def test_three_processes_migrating_a_fresh_database_all_succeed(
        self, fresh_url: str
    ) -> None:
        await asyncio.gather(
            *(upgrade_head(fresh_url, ModelSpec("hash", "hash", TEST_DIMENSIONS)) for _ in range(3))
        )
        fresh = create_async_engine(fresh_url)
        try:
            assert await current_revision(fresh) == head_revision()
        finally:
            await fresh.dispose()
