"""Writers of one store's BM25 index at once (20261130_0014): a writer holds the store's
`bm25_stores` row only from its totals to its commit, a delete that empties a store
never waits for a writer holding the store's key, and whatever the interleaving the
postings and totals stay what a computation from the chunks gives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from maia_vectordb.db.migrate import upgrade_head
from tests.db.test_bm25 import assert_exact
from tests.db.test_migration_bm25_keys import MODEL, _seed

VECTOR = str([0.5] * 8)
INSERT = (
    "INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, token_count, "
    "embedding) SELECT :s, 'file-a', i, CAST(:t AS text) || ' word' || i, 1, "
    "CAST(:v AS halfvec) FROM generate_series(CAST(:first AS int), :first + :n - 1) AS i"
)
STORE_KEY = "SELECT key FROM bm25_stores WHERE vector_store_id = :s"


@pytest.fixture
async def db(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    """A scratch database at head with two stores of two chunks each (`_seed`)."""
    await upgrade_head(fresh_url, MODEL)
    engine = create_async_engine(fresh_url)
    await _seed(engine)
    yield engine
    await engine.dispose()


async def _insert(conn: AsyncConnection, store: str, first: int, n: int, words: str) -> None:
    await conn.execute(text(INSERT), {"s": store, "first": first, "n": n, "t": words, "v": VECTOR})


async def _waiting(db: AsyncEngine, pid: int) -> bool:
    """Whether backend `pid` is waiting for a lock."""
    async with db.connect() as conn:
        query = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"
        return bool(await conn.scalar(text(query), {"p": pid}))


async def _until_waiting(db: AsyncEngine, pid: int) -> None:
    for _ in range(200):
        if await _waiting(db, pid):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited")


async def _empty_vs_b_while_key_held(writer: AsyncConnection, deleter: AsyncConnection) -> int:
    """`writer` takes vs_b's key as the insert trigger does, then `deleter` deletes every
    vs_b chunk and commits, failing with a lock timeout if it waits for `writer`. The
    key `writer` holds (its transaction stays open)."""
    await writer.begin()
    key = await writer.scalar(text(STORE_KEY + " FOR KEY SHARE"), {"s": "vs_b"})
    await deleter.begin()
    await deleter.execute(text("SET LOCAL lock_timeout = '2s'"))
    await deleter.execute(text("DELETE FROM file_chunks WHERE vector_store_id = 'vs_b'"))
    await deleter.commit()
    return int(key)


class TestTwoWriters:
    async def test_the_second_waits_for_the_first_commit_and_both_land(
        self, db: AsyncEngine
    ) -> None:
        async with db.connect() as first, db.connect() as second:
            await first.begin()
            await _insert(first, "vs_a", 100, 50, "measles cargo")
            await second.begin()
            pid = await second.scalar(text("SELECT pg_backend_pid()"))
            writing = asyncio.create_task(_insert(second, "vs_a", 200, 50, "cargo ports"))
            await _until_waiting(db, pid)
            await first.commit()
            await writing
            await second.commit()
        await assert_exact(db)

    async def test_a_writer_rolled_back_leaves_the_totals_as_they_were(
        self, db: AsyncEngine
    ) -> None:
        async with db.connect() as first, db.connect() as second:
            await first.begin()
            await _insert(first, "vs_a", 100, 20, "measles")
            await second.begin()
            writing = asyncio.create_task(_insert(second, "vs_a", 200, 20, "cargo"))
            await asyncio.sleep(0.2)
            await first.rollback()
            await writing
            await second.commit()
        await assert_exact(db)

    async def test_writers_of_the_same_two_stores_at_once(self, db: AsyncEngine) -> None:
        """Each statement writes both stores; their totals are taken in store order."""
        both = (
            "INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, "
            "token_count, embedding) SELECT s, 'file-a', i, 'cats purr' || i, 1, "
            "CAST(:v AS halfvec) FROM unnest(CAST(:stores AS text[])) AS s, "
            "generate_series(CAST(:first AS int), :first + 9) AS i"
        )

        async def write(first: int, stores: list[str]) -> None:
            async with db.begin() as conn:
                params = {"v": VECTOR, "first": first, "stores": stores}
                await conn.execute(text(both), params)
                await asyncio.sleep(0.1)

        await asyncio.gather(
            *(write(10 + 10 * n, ["vs_b", "vs_a"][:: 1 - 2 * (n % 2)]) for n in range(4))
        )
        await assert_exact(db)


class TestEmptyingDelete:
    async def test_does_not_wait_for_a_writer_holding_the_key(self, db: AsyncEngine) -> None:
        """A writer between reading the key and adding its totals (here, a transaction
        holding the key share): the delete goes through and the row stays for it."""
        async with db.connect() as writer, db.connect() as deleter:
            key = await _empty_vs_b_while_key_held(writer, deleter)
            await _insert(writer, "vs_b", 5, 3, "purring cats")
            await writer.commit()
        async with db.connect() as conn:
            assert await conn.scalar(text(STORE_KEY), {"s": "vs_b"}) == key
        await assert_exact(db)

    async def test_a_row_kept_at_zero_is_reused(self, db: AsyncEngine) -> None:
        async with db.connect() as writer, db.connect() as deleter:
            key = await _empty_vs_b_while_key_held(writer, deleter)
            await writer.rollback()
        async with db.begin() as conn:
            row = (
                await conn.execute(
                    text("SELECT key, chunks FROM bm25_stores WHERE vector_store_id = 'vs_b'")
                )
            ).one()
            assert tuple(row) == (key, 0)
            await _insert(conn, "vs_b", 5, 2, "cats")
            assert await conn.scalar(text(STORE_KEY), {"s": "vs_b"}) == key
        async with db.connect() as conn:
            stores = await conn.execute(
                text("SELECT vector_store_id, chunks FROM bm25_stores ORDER BY 1")
            )
            assert [tuple(r) for r in stores] == [("vs_a", 2), ("vs_b", 2)]

    async def test_an_emptied_store_still_loses_its_row_when_no_writer_holds_it(
        self, db: AsyncEngine
    ) -> None:
        async with db.begin() as conn:
            await conn.execute(text("DELETE FROM file_chunks WHERE vector_store_id = 'vs_b'"))
        async with db.connect() as conn:
            assert await conn.scalar(text(STORE_KEY), {"s": "vs_b"}) is None
        await assert_exact(db)

    async def test_a_writer_after_an_uncommitted_emptying_delete_gets_a_new_row(
        self, db: AsyncEngine
    ) -> None:
        async with db.connect() as deleter, db.connect() as writer:
            await deleter.begin()
            old = await deleter.scalar(text(STORE_KEY), {"s": "vs_b"})
            await deleter.execute(text("DELETE FROM file_chunks WHERE vector_store_id = 'vs_b'"))
            await writer.begin()
            writing = asyncio.create_task(_insert(writer, "vs_b", 5, 3, "cats purr"))
            await asyncio.sleep(0.2)
            await deleter.commit()
            await writing
            await writer.commit()
        async with db.connect() as conn:
            assert await conn.scalar(text(STORE_KEY), {"s": "vs_b"}) not in (None, old)
        await assert_exact(db)
