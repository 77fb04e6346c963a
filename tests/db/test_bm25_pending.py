"""BM25 postings written after the load (20261130_0015): a new chunk is pending until
`bm25_post_pending` moves it into the postings; keyword search ranks and scores it the
same either way; posting slices never wait for or double-count with writers, deletes
or each other; and the keyword indexer posts a store once its queue drains."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import ARRAY, Text, cast, func, select, text, true
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.bm25 import any_lexeme, keyword_candidates
from maia_vectordb.db.migrate import alembic_config, upgrade_head
from maia_vectordb.db.queries import keyword_index
from maia_vectordb.ingest.keyword_indexer import KeywordIndexer
from tests.db.test_bm25 import (
    EXPECTED_POSTINGS,
    POST_EVERYTHING,
    _rows,
    assert_exact,
)
from tests.db.test_bm25 import POSTINGS as POSTED
from tests.db.test_bm25_writers import INSERT, VECTOR, _until_waiting
from tests.db.test_migration_bm25_keys import MODEL, _seed

QUERIES = (
    "measles vaccination",
    "cats purr ports",
    "what do cargo ships and measles share",
    "word7 word12 measles",
    "xylophone",
    "the and of",  # stop words only: no term at all
    "it's O'Brien's \"quoted\" a:b | c & !d",  # quotes and tsquery operators
    "Café naïve façade",
    "example.com/it's/a:b!c(d)&e",  # a URL: its lexemes keep quotes and operators
)
EXTRA = "Café naïve façade, O'Brien's ports; see example.com/it's/a:b!c(d)&e"
# Lexemes as no parser run here makes them, but a tsvector may hold.
ODD_LEXEMES = ["a\\b", "it's", "''", "c:d", "!&|()", "é", "x:*", "\\'"]
PENDING = "SELECT count(*) FROM bm25_pending"
# A posting of a pending vs_b chunk, as a broken restore could leave: posting it fails.
COLLIDING_POSTING = """
INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
SELECT p.store_key, bm25_term(t.lexeme), p.chunk_id, 1, 1
FROM bm25_pending AS p JOIN bm25_stores AS s ON s.key = p.store_key
    JOIN file_chunks AS c ON c.id = p.chunk_id CROSS JOIN LATERAL unnest(c.tsv) AS t
WHERE s.vector_store_id = 'vs_b' AND t.lexeme = 'cat'
"""
POSTINGS = "SELECT count(*) FROM bm25_postings"


@pytest.fixture
async def db(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    """A scratch database at head: two stores of two chunks each (`_seed`), plus 60 chunks
    of varied words in vs_a, all pending."""
    await upgrade_head(fresh_url, MODEL)
    engine = create_async_engine(fresh_url)
    await _seed(engine)
    async with engine.begin() as conn:
        for first, words in ((100, "measles cargo ships"), (200, "cats purr cats"), (300, "")):
            params = {"s": "vs_a", "first": first, "n": 20, "t": words, "v": VECTOR}
            await conn.execute(text(INSERT), params)
        extra = (
            "INSERT INTO file_chunks (vector_store_id, file_id, chunk_index, text, "
            "token_count, embedding) VALUES ('vs_a', 'file-a', 999, :t, 1, CAST(:v AS halfvec))"
        )
        await conn.execute(text(extra), {"t": EXTRA, "v": VECTOR})
    yield engine
    await engine.dispose()


async def _ranking(db: AsyncEngine, store: str, query: str) -> list[tuple[Any, ...]]:
    statement = keyword_candidates(vector_store_id=store, query=query, condition=true(), limit=50)
    async with db.connect() as conn:
        rows = await conn.execute(statement)
        return [(row.id, round(float(row.score), 12)) for row in rows]


async def _post(db: AsyncEngine, store: str, max_chunks: int) -> int:
    async with db.begin() as conn:
        key = await conn.scalar(
            text("SELECT key FROM bm25_stores WHERE vector_store_id = :s"), {"s": store}
        )
        moved = await conn.scalar(
            text("SELECT bm25_post_pending(:k, :n)"), {"k": key, "n": max_chunks}
        )
        return int(moved)


class TestPendingUntilPosted:
    async def test_new_chunks_are_pending_and_have_no_postings(self, db: AsyncEngine) -> None:
        assert await _rows(db, PENDING) == {(65,)}
        assert await _rows(db, POSTINGS) == {(0,)}
        await assert_exact(db)

    async def test_search_ranks_and_scores_pending_chunks_as_posted_ones(
        self, db: AsyncEngine
    ) -> None:
        before = {(s, q): await _ranking(db, s, q) for s in ("vs_a", "vs_b") for q in QUERIES}
        assert before["vs_a", "measles vaccination"], "the pending chunks were not found"
        assert before["vs_a", "the and of"] == []
        assert before["vs_a", QUERIES[-1]], "the URL's lexemes were not matched"
        await _post(db, "vs_a", 30)  # half posted, half pending
        middle = {(s, q): await _ranking(db, s, q) for s in ("vs_a", "vs_b") for q in QUERIES}
        async with db.begin() as conn:
            await conn.execute(text(POST_EVERYTHING))
        assert await _rows(db, PENDING) == {(0,)}
        after = {(s, q): await _ranking(db, s, q) for s in ("vs_a", "vs_b") for q in QUERIES}
        assert before == middle == after
        await assert_exact(db)

    async def test_slices_move_the_lowest_ids_and_say_how_many(self, db: AsyncEngine) -> None:
        counts = [await _post(db, "vs_a", 25) for _ in range(4)]
        assert counts == [25, 25, 13, 0]  # vs_a: 2 seeded + 61 new
        await assert_exact(db)
        assert await _rows(db, "SELECT count(*) FROM bm25_pending") == {(2,)}  # vs_b's


class TestAnyLexeme:
    async def test_matches_each_lexeme_as_it_is_and_nothing_else(self, db: AsyncEngine) -> None:
        vector = func.array_to_tsvector(cast(ODD_LEXEMES, ARRAY(Text)))
        async with db.connect() as conn:
            query = await conn.scalar(select(cast(any_lexeme(vector), Text)))
            for lexeme in ODD_LEXEMES:
                one = func.array_to_tsvector(cast([lexeme], ARRAY(Text)))
                assert await conn.scalar(select(one.op("@@")(any_lexeme(vector)))), lexeme
            other = func.array_to_tsvector(cast(["a", "b", "it"], ARRAY(Text)))
            assert not await conn.scalar(select(other.op("@@")(any_lexeme(vector))))
            assert await conn.scalar(select(func.numnode(cast(query, TSQUERY)))) == 15

    async def test_no_lexeme_matches_nothing(self, db: AsyncEngine) -> None:
        empty = func.to_tsvector("english", "the and of")
        async with db.connect() as conn:
            assert await conn.scalar(select(any_lexeme(empty))) is None


class TestPostingRaces:
    async def test_two_posters_take_disjoint_slices_without_waiting(self, db: AsyncEngine) -> None:
        async with db.connect() as first:
            await first.begin()
            key = await first.scalar(
                text("SELECT key FROM bm25_stores WHERE vector_store_id = 'vs_a'")
            )
            held = await first.scalar(text("SELECT bm25_post_pending(:k, 40)"), {"k": key})
            async with db.connect() as second:
                await second.execute(text("SET lock_timeout = '2s'"))
                other = await second.scalar(text("SELECT bm25_post_pending(:k, 40)"), {"k": key})
                await second.commit()
            await first.commit()
        assert (held, other) == (40, 23)
        await assert_exact(db)

    async def test_a_delete_racing_a_posting_leaves_no_posting_behind(
        self, db: AsyncEngine
    ) -> None:
        """The posting holds the pending rows; the delete waits there, then deletes the
        postings the posting committed."""
        async with db.connect() as poster, db.connect() as deleter:
            await poster.begin()
            key = await poster.scalar(
                text("SELECT key FROM bm25_stores WHERE vector_store_id = 'vs_a'")
            )
            await poster.scalar(text("SELECT bm25_post_pending(:k, 1000)"), {"k": key})
            await deleter.begin()
            pid = await deleter.scalar(text("SELECT pg_backend_pid()"))
            delete = "DELETE FROM file_chunks WHERE vector_store_id = 'vs_a' AND chunk_index >= 100"
            deleting = asyncio.create_task(deleter.execute(text(delete)))
            await _until_waiting(db, pid)
            await poster.commit()
            await deleting
            await deleter.commit()
        await assert_exact(db)
        assert await _rows(
            db, "SELECT count(*) FROM file_chunks WHERE vector_store_id = 'vs_a'"
        ) == {(2,)}

    async def test_a_posting_after_an_uncommitted_delete_skips_those_chunks(
        self, db: AsyncEngine
    ) -> None:
        async with db.connect() as deleter:
            await deleter.begin()
            await deleter.execute(
                text("DELETE FROM file_chunks WHERE chunk_index BETWEEN 100 AND 119")
            )
            assert await _post(db, "vs_a", 1000) == 43
            await deleter.rollback()
        await assert_exact(db)
        assert await _post(db, "vs_a", 1000) == 20

    async def test_a_writer_rolled_back_leaves_nothing_pending(self, db: AsyncEngine) -> None:
        async with db.connect() as writer:
            await writer.begin()
            params = {"s": "vs_b", "first": 500, "n": 10, "t": "gone", "v": VECTOR}
            await writer.execute(text(INSERT), params)
            await writer.rollback()
        assert await _rows(db, PENDING) == {(65,)}
        await assert_exact(db)


class TestKeywordIndexer:
    async def test_posts_stores_with_an_empty_queue_and_waits_for_busy_ones(
        self, db: AsyncEngine
    ) -> None:
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO ingest_jobs (project_id, vector_store_id, file_id) "
                    "SELECT project_id, vector_store_id, file_id FROM vector_store_files "
                    "WHERE vector_store_id = 'vs_a'"
                )
            )
        indexer = KeywordIndexer(db, SearchSettings())
        assert await indexer.run_once() == 2  # vs_b only: vs_a is still loading
        assert await _rows(db, PENDING) == {(63,)}
        few = SearchSettings.model_validate({"KEYWORD_INDEX_MAX_PENDING": 50})
        crowded = KeywordIndexer(db, few)
        assert await crowded.run_once() == 63  # too many waiting: posted despite its queue
        await assert_exact(db)
        assert await indexer.run_once() == 0

    async def test_one_process_posts_at_a_time(self, db: AsyncEngine) -> None:
        async with db.connect() as other:
            assert await keyword_index.try_post_lock(other)  # another process posting
            assert await KeywordIndexer(db, SearchSettings()).run_once() == 0
            await keyword_index.release_post_lock(other)
            await other.commit()
        assert await KeywordIndexer(db, SearchSettings()).run_once() == 65
        await assert_exact(db)

    async def test_a_store_that_fails_does_not_stop_the_others(self, db: AsyncEngine) -> None:
        """vs_b (fewest pending, so first) cannot be posted: one of its postings exists."""
        async with db.begin() as conn:
            await conn.execute(text(COLLIDING_POSTING))
        assert await KeywordIndexer(db, SearchSettings()).run_once() == 63
        pending = (
            "SELECT s.vector_store_id, count(*) FROM bm25_pending AS p "
            "JOIN bm25_stores AS s ON s.key = p.store_key GROUP BY 1"
        )
        assert await _rows(db, pending) == {("vs_b", 2)}


class TestMigration:
    async def test_the_downgrade_posts_what_is_pending(
        self, db: AsyncEngine, fresh_url: str
    ) -> None:
        await asyncio.to_thread(
            command.downgrade, alembic_config(fresh_url, MODEL), "20261130_0014"
        )
        assert await _rows(db, "SELECT to_regclass('bm25_pending') IS NULL") == {(True,)}
        assert await _rows(db, POSTINGS) != {(0,)}
        # The 0014 trigger writes postings again.
        async with db.begin() as conn:
            params = {"s": "vs_b", "first": 500, "n": 3, "t": "again", "v": VECTOR}
            await conn.execute(text(INSERT), params)
        assert await _rows(db, POSTED) == await _rows(db, EXPECTED_POSTINGS)
