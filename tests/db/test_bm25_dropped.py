"""A deleted store's BM25 postings (20261130_0017): its DELETE drops its pending rows and
totals at once and leaves its postings, by key, to the keyword indexer, which purges
them in slices; a chunk deleted from a live store takes its postings with it, found by
primary key however the planner joins them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.ingest import keyword_indexer
from maia_vectordb.ingest.keyword_indexer import KeywordIndexer
from tests.db.test_bm25 import POST_EVERYTHING, _rows, assert_exact
from tests.db.test_bm25_writers import INSERT, VECTOR
from tests.db.test_migration_bm25_keys import MODEL, _seed

KEYS = "SELECT vector_store_id, key FROM bm25_stores"
DROPPED = "SELECT key FROM bm25_dropped_keys"
POSTINGS_OF = "SELECT count(*) FROM bm25_postings WHERE store_key = :k"


@pytest.fixture
async def db(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    """vs_a and vs_b of `_seed`, 200 more chunks of varied words in vs_a, all posted."""
    await upgrade_head(fresh_url, MODEL)
    engine = create_async_engine(fresh_url)
    await _seed(engine)
    async with engine.begin() as conn:
        words = "measles cargo ships cats purr"
        params = {"s": "vs_a", "first": 100, "n": 200, "t": words, "v": VECTOR}
        await conn.execute(text(INSERT), params)
        await conn.execute(text(POST_EVERYTHING))
    yield engine
    await engine.dispose()


async def _keys(db: AsyncEngine) -> dict[str, int]:
    return dict(await _rows(db, KEYS))


async def _postings_of(db: AsyncEngine, key: int) -> int:
    async with db.connect() as conn:
        return int(await conn.scalar(text(POSTINGS_OF), {"k": key}) or 0)


async def _delete_store(db: AsyncEngine, store: str) -> None:
    async with db.begin() as conn:
        await conn.execute(text("DELETE FROM vector_stores WHERE id = :s"), {"s": store})


class TestDeletingAStore:
    async def test_leaves_its_postings_by_key_and_the_indexer_purges_them(
        self, db: AsyncEngine
    ) -> None:
        key = (await _keys(db))["vs_a"]
        left = await _postings_of(db, key)
        assert left > 1000
        await _delete_store(db, "vs_a")
        assert await _rows(db, DROPPED) == {(key,)}
        assert "vs_a" not in await _keys(db)
        assert await _postings_of(db, key) == left  # nothing looked up one by one
        purged = await KeywordIndexer(db, SearchSettings()).run_once()
        assert purged == left
        assert await _postings_of(db, key) == 0
        assert await _rows(db, DROPPED) == set()
        await assert_exact(db)  # vs_b untouched

    async def test_pending_rows_go_at_once(self, db: AsyncEngine) -> None:
        async with db.begin() as conn:
            params = {"s": "vs_b", "first": 500, "n": 30, "t": "purr", "v": VECTOR}
            await conn.execute(text(INSERT), params)
        key = (await _keys(db))["vs_b"]
        await _delete_store(db, "vs_b")
        assert await _rows(db, "SELECT count(*) FROM bm25_pending") == {(0,)}
        await KeywordIndexer(db, SearchSettings()).run_once()
        assert await _postings_of(db, key) == 0
        await assert_exact(db)

    async def test_many_stores_in_slices_in_one_pass(
        self, db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Slices smaller than a store, and a store with no postings (all pending)."""
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO vector_stores (id, project_id, embedding_provider, "
                    "embedding_model, embedding_dimensions) SELECT 'vs_c', project_id, "
                    "'hash', 'hash', 8 FROM vector_stores WHERE id = 'vs_a'"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                    "status, chunking_strategy) SELECT 'vs_c', file_id, project_id, "
                    "'completed', '{}' FROM vector_store_files WHERE vector_store_id = 'vs_a'"
                )
            )
            params = {"s": "vs_c", "first": 900, "n": 5, "t": "ships", "v": VECTOR}
            await conn.execute(text(INSERT), params)
        monkeypatch.setattr(keyword_indexer, "PURGE_ROWS", 100)
        for store in ("vs_a", "vs_b", "vs_c"):
            await _delete_store(db, store)
        assert len(await _rows(db, DROPPED)) == 3
        await KeywordIndexer(db, SearchSettings()).run_once()
        assert await _rows(db, "SELECT count(*) FROM bm25_postings") == {(0,)}
        assert await _rows(db, DROPPED) == set()

    async def test_a_posting_in_flight_is_waited_for_then_purged(self, db: AsyncEngine) -> None:
        """A store deleted while the indexer posts it: its DELETE waits for the slice at
        the pending rows; what the slice wrote is purged with the rest."""
        async with db.begin() as conn:
            params = {"s": "vs_a", "first": 700, "n": 50, "t": "cargo", "v": VECTOR}
            await conn.execute(text(INSERT), params)
        key = (await _keys(db))["vs_a"]
        async with db.connect() as poster:
            await poster.execute(text("SELECT bm25_post_pending(:k, 1000)"), {"k": key})
            deleting = asyncio.create_task(_delete_store(db, "vs_a"))
            await asyncio.sleep(0.3)
            assert not deleting.done()
            await poster.commit()
        await deleting
        await KeywordIndexer(db, SearchSettings()).run_once()
        assert await _postings_of(db, key) == 0
        await assert_exact(db)


class TestDeletingChunksOfALiveStore:
    async def test_their_postings_go_with_them(self, db: AsyncEngine) -> None:
        async with db.begin() as conn:
            await conn.execute(text("DELETE FROM file_chunks WHERE chunk_index >= 150"))
        assert await _rows(db, DROPPED) == set()
        await assert_exact(db)


class TestMigration:
    async def test_downgrade_purges_what_is_left(self, db: AsyncEngine, fresh_url: str) -> None:
        key = (await _keys(db))["vs_a"]
        await _delete_store(db, "vs_a")
        await asyncio.to_thread(
            command.downgrade, alembic_config(fresh_url, MODEL), "20261130_0016"
        )
        assert await _postings_of(db, key) == 0
        assert await _rows(db, "SELECT to_regclass('bm25_dropped_keys')") == {(None,)}
        await assert_exact(db)
