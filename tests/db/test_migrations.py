"""The schema the migrations build is exactly the one the ORM models describe."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.db.bootstrap import DatabaseUnavailable, prepare_schema
from maia_vectordb.db.migrate import (
    compare_type,
    current_revision,
    embedding_dimensions,
    head_revision,
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
