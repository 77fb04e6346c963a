"""The two test tiers isolate as README's "Tests" says: a rollback test's requests write
only inside its own transaction, and a committed test's rows are gone after it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.db.models import VectorStore
from maia_vectordb.runtime import Database

NAME = "isolation-probe"


async def _stores(conn: AsyncConnection, name: str = NAME) -> int:
    query = select(func.count()).select_from(VectorStore).where(VectorStore.name == name)
    return int(await conn.scalar(query) or 0)


async def _create(client: httpx.AsyncClient, name: str = NAME) -> str:
    made = await client.post("/v1/vector_stores", json={"name": name})
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


class TestRollbackTier:
    @pytest.mark.parametrize("run", ["first", "second"])
    async def test_each_test_starts_without_the_rows_another_wrote(
        self, client: httpx.AsyncClient, connection: AsyncConnection, run: str
    ) -> None:
        assert await _stores(connection) == 0
        await _create(client)
        assert await _stores(connection) == 1

    async def test_requests_are_not_committed(
        self, client: httpx.AsyncClient, connection: AsyncConnection, engine: AsyncEngine
    ) -> None:
        store_id = await _create(client)
        assert (await client.get(f"/v1/vector_stores/{store_id}")).status_code == 200
        async with engine.connect() as other:
            assert await _stores(other) == 0

    async def test_a_failed_request_undoes_only_its_own_unit_of_work(
        self, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        await _create(client)
        missing = await client.post("/v1/vector_stores", json={"name": NAME, "file_ids": ["x"]})
        assert missing.status_code == 404
        assert await _stores(connection) == 1

    async def test_rollback_leaves_nothing(self, settings: Settings, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            outer = await conn.begin()
            app = create_app(settings, database=Database.on_connection(conn))
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
            ):
                await _create(client, "rolled-back")
            assert await _stores(conn, "rolled-back") == 1
            await outer.rollback()
        async with engine.connect() as other:
            assert await _stores(other, "rolled-back") == 0


@pytest.fixture(scope="module")
async def committed_ids(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """After every test of this module, `_clean_tables` has removed what they committed."""
    ids: list[str] = []
    yield ids
    async with engine.connect() as conn:
        left = select(func.count()).select_from(VectorStore).where(VectorStore.id.in_(ids))
        assert ids
        assert await conn.scalar(left) == 0


@pytest.mark.committed
class TestCommittedTier:
    async def test_requests_commit_and_are_truncated_after(
        self, client: httpx.AsyncClient, engine: AsyncEngine, committed_ids: list[str]
    ) -> None:
        committed_ids.append(await _create(client, "committed-probe"))
        async with engine.connect() as other:
            assert await _stores(other, "committed-probe") == 1
