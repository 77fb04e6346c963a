"""The schema the migrations build is exactly the one the ORM models describe, built once
however many processes start together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.bootstrap import DatabaseUnavailable, prepare_schema
from maia_vectordb.db.migrate import (
    compare_type,
    current_revision,
    embedding_dimensions,
    head_revision,
    upgrade_head,
)
from maia_vectordb.db.models import Base
from tests.conftest import TEST_DIMENSIONS


def _diff(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": compare_type})
    return list(compare_metadata(ctx, Base.metadata))


class TestMigrations:
    async def test_database_is_at_head(self, engine: AsyncEngine) -> None:
        assert await current_revision(engine) == head_revision()

    async def test_models_and_migrations_agree(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert diff == []

    async def test_embedding_column_has_configured_width(self, engine: AsyncEngine) -> None:
        assert await embedding_dimensions(engine) == TEST_DIMENSIONS

    async def test_refuses_a_different_embedding_width(
        self, engine: AsyncEngine, migrated_url: str
    ) -> None:
        with pytest.raises(DatabaseUnavailable, match="EMBEDDING_DIMENSIONS=768"):
            await prepare_schema(engine, migrated_url, 768)


@pytest.fixture
async def fresh_url(engine: AsyncEngine, migrated_url: str) -> AsyncIterator[str]:
    """An empty database on the test server, dropped afterwards."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(migrated_url).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


class TestConcurrentStart:
    async def test_three_processes_migrating_a_fresh_database_all_succeed(
        self, fresh_url: str
    ) -> None:
        await asyncio.gather(*(upgrade_head(fresh_url, TEST_DIMENSIONS) for _ in range(3)))
        fresh = create_async_engine(fresh_url)
        try:
            assert await current_revision(fresh) == head_revision()
            assert await embedding_dimensions(fresh) == TEST_DIMENSIONS
        finally:
            await fresh.dispose()
