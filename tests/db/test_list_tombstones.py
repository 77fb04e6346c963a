"""Deleted list items keep their place (20261130_0016): the delete triggers record every
path a store, file or attachment goes by, cascades included, and the sweep forgets a
place a day later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.db.queries import tombstones
from tests.db.seed import PROJECT, add_store, attach_file
from tests.db.test_migration_bm25_keys import MODEL

PLACES = "SELECT kind, scope, id FROM list_tombstones ORDER BY kind, scope, id"


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """Two stores sharing file-x, vs_a also holding file-y; rolled back afterwards."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn)
        await add_store(session, "vs_a", 8)
        await add_store(session, "vs_b", 8)
        await attach_file(session, "vs_a", "file-x", None)
        await attach_file(session, "vs_a", "file-y", None)
        await session.execute(
            text(
                "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                "chunking_strategy) VALUES ('vs_b', 'file-x', CAST(:p AS uuid), '{}'::jsonb)"
            ),
            {"p": PROJECT},
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


async def _places(session: AsyncSession) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in (await session.execute(text(PLACES))).all()]


class TestTriggers:
    async def test_a_store_is_recorded_without_its_attachments(self, session: AsyncSession) -> None:
        await session.execute(text("DELETE FROM vector_stores WHERE id = 'vs_a'"))
        assert await _places(session) == [("vector_store", PROJECT, "vs_a")]

    async def test_a_file_is_recorded_with_its_attachments(self, session: AsyncSession) -> None:
        await session.execute(text("DELETE FROM files WHERE id = 'file-x'"))
        assert await _places(session) == [
            ("file", PROJECT, "file-x"),
            ("vector_store_file", "vs_a", "file-x"),
            ("vector_store_file", "vs_b", "file-x"),
        ]

    async def test_the_place_is_the_deleted_rows_own(self, session: AsyncSession) -> None:
        created = await session.scalar(
            text("SELECT created_at FROM vector_store_files WHERE file_id = 'file-y'")
        )
        await session.execute(text("DELETE FROM vector_store_files WHERE file_id = 'file-y'"))
        recorded = await session.scalar(
            text("SELECT created_at FROM list_tombstones WHERE id = 'file-y'")
        )
        assert recorded == created

    async def test_deleting_again_moves_the_place(self, session: AsyncSession) -> None:
        """A file detached, attached again later, and detached again: its latest place."""
        detach = text("DELETE FROM vector_store_files WHERE vector_store_id = 'vs_b'")
        await session.execute(detach)
        await session.execute(
            text(
                "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                "chunking_strategy, created_at) VALUES ('vs_b', 'file-x', CAST(:p AS uuid), "
                "'{}'::jsonb, '2030-01-01')"
            ),
            {"p": PROJECT},
        )
        await session.execute(detach)
        year = await session.scalar(
            text("SELECT extract(year FROM created_at) FROM list_tombstones WHERE scope = 'vs_b'")
        )
        assert year == 2030


class TestSweep:
    async def test_forgets_places_a_day_old(self, session: AsyncSession) -> None:
        await session.execute(text("DELETE FROM files"))
        await session.execute(
            text(
                "UPDATE list_tombstones SET deleted_at = now() - interval '25 hours' "
                "WHERE kind = 'file'"
            )
        )
        assert await tombstones.sweep(session) == 2
        kinds = {kind for kind, _, _ in await _places(session)}
        assert kinds == {"vector_store_file"}


class TestMigration:
    async def test_downgrade_drops_the_triggers_and_upgrade_restores_them(
        self, fresh_url: str
    ) -> None:
        await upgrade_head(fresh_url, MODEL)
        config = alembic_config(fresh_url, MODEL)
        await asyncio.to_thread(command.downgrade, config, "20261130_0015")
        engine = create_async_engine(fresh_url)
        try:
            triggers = text("SELECT count(*) FROM pg_trigger WHERE tgname = 'list_tombstones'")
            async with engine.connect() as conn:
                assert await conn.scalar(triggers) == 0
                assert await conn.scalar(text("SELECT to_regclass('list_tombstones')")) is None
            await asyncio.to_thread(command.upgrade, config, "head")
            async with engine.connect() as conn:
                assert await conn.scalar(triggers) == 3
        finally:
            await engine.dispose()
