"""SEARCH_DATABASE_URL: searches read from a replica, the one write goes to the primary.

The 'replica' is the test database reached as a role whose transactions are read
only, so any write sent through it would fail the search.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings

# The replica is a second role reading committed rows through its own pool.
pytestmark = [
    pytest.mark.committed,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")), reason="needs a role it can create (embedded)"
    ),
]


@pytest.fixture
async def reader_url(engine: AsyncEngine, migrated_url: str) -> AsyncIterator[str]:
    async with engine.begin() as conn:
        await conn.execute(text("DROP ROLE IF EXISTS maia_reader"))
        await conn.execute(text("CREATE ROLE maia_reader LOGIN"))
        await conn.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO maia_reader"))
        await conn.execute(text("ALTER ROLE maia_reader SET default_transaction_read_only = on"))
    yield make_url(migrated_url).set(username="maia_reader").render_as_string(False)
    async with engine.begin() as conn:
        await conn.execute(text("DROP OWNED BY maia_reader"))
        await conn.execute(text("DROP ROLE maia_reader"))


async def test_search_reads_the_replica_and_touches_the_primary(
    settings: Settings, reader_url: str, engine: AsyncEngine
) -> None:
    app = create_app(settings.replace(SEARCH_DATABASE_URL=reader_url))
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        )
        sdk = AsyncOpenAI(base_url="http://localhost/v1", api_key="k", http_client=http)
        store = await sdk.vector_stores.create()
        await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("a.txt", b"replicated words"), poll_interval_ms=50
        )
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE vector_stores SET last_active_at = now() - interval '1 hour'")
            )
        page = await sdk.vector_stores.search(vector_store_id=store.id, query="replicated")
        await sdk.close()
    assert page.data[0].filename == "a.txt"
    async with engine.connect() as conn:
        idle = await conn.scalar(text("SELECT now() - last_active_at FROM vector_stores"))
    assert idle.total_seconds() < 60
