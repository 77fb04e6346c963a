"""BM25: the inverted index and store statistics stay exactly what a from-scratch
computation over the chunks gives, through attach, detach, file and store deletion,
and concurrent ingestion; and keyword scores behave as Okapi BM25 does."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# What the triggers must have produced, recomputed from file_chunks alone: a store's
# postings carry its bm25_stores key, a term its 64-bit hash.
EXPECTED_POSTINGS = """
SELECT c.vector_store_id, hashtextextended(t.lexeme, 0), c.id,
       coalesce(array_length(t.positions, 1), 1),
       (SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)
        FROM unnest(c.tsv) AS u)::int
FROM file_chunks AS c CROSS JOIN LATERAL unnest(c.tsv) AS t
"""
POSTINGS = """
SELECT s.vector_store_id, p.term, p.chunk_id, p.tf, p.length
FROM bm25_postings AS p LEFT JOIN bm25_stores AS s ON s.key = p.store_key
"""
# The postings a pending chunk will get (bm25_post_pending), with its recorded length.
PENDING_POSTINGS = """
SELECT s.vector_store_id, hashtextextended(t.lexeme, 0), c.id,
       coalesce(array_length(t.positions, 1), 1), p.length
FROM bm25_pending AS p LEFT JOIN bm25_stores AS s ON s.key = p.store_key
    LEFT JOIN file_chunks AS c ON c.id = p.chunk_id CROSS JOIN LATERAL unnest(c.tsv) AS t
"""
# Chunks both pending and posted, or pending twice: there must be none.
DOUBLE_COUNTED = """
SELECT p.chunk_id FROM bm25_pending AS p
WHERE EXISTS (SELECT 1 FROM bm25_postings AS q WHERE q.chunk_id = p.chunk_id)
UNION ALL
SELECT chunk_id FROM bm25_pending GROUP BY chunk_id HAVING count(*) > 1
"""
# Pending rows whose chunk is gone or sits in another store: there must be none.
ORPHANED = """
SELECT p.chunk_id FROM bm25_pending AS p
    LEFT JOIN bm25_stores AS s ON s.key = p.store_key
    LEFT JOIN file_chunks AS c ON c.id = p.chunk_id
WHERE c.id IS NULL OR s.vector_store_id IS DISTINCT FROM c.vector_store_id
"""
POST_EVERYTHING = "SELECT bm25_post_pending(key, 2147483647) FROM bm25_stores ORDER BY key"
EXPECTED_STORES = """
SELECT c.vector_store_id, count(*)::bigint,
       sum((SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)
            FROM unnest(c.tsv) AS u))::bigint
FROM file_chunks AS c GROUP BY c.vector_store_id
"""
LENGTH_OF_1_TXT = """
SELECT DISTINCT bm25_length(c.tsv) FROM file_chunks AS c
JOIN files AS f ON f.id = c.file_id WHERE f.filename = '1.txt'
"""
PASSAGES = [
    "Vaccination lowers the risk of measles in children and adults.",
    "Measles outbreaks follow falling vaccination rates; measles spreads fast.",
    "Container ships carry cargo across oceans and between ports.",
    "Cats sleep most of the day and purr loudly when content.",
    "Antibiotics do not treat viral infections such as measles or influenza.",
    "Deep ocean currents move heat around the planet over centuries.",
]


async def _rows(engine: AsyncEngine, sql: str) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return {tuple(row) for row in await conn.execute(text(sql))}


async def assert_exact(engine: AsyncEngine) -> None:
    """Every chunk is either posted or pending, once, and either way holds exactly its
    postings; the store totals count every chunk. (Before 20261130_0015 nothing is
    pending.)"""
    postings = await _rows(engine, POSTINGS)
    if await _rows(engine, "SELECT to_regclass('bm25_pending') IS NOT NULL") == {(True,)}:
        assert await _rows(engine, DOUBLE_COUNTED) == set()
        assert await _rows(engine, ORPHANED) == set()
        postings |= await _rows(engine, PENDING_POSTINGS)
    assert postings == await _rows(engine, EXPECTED_POSTINGS)
    stores = await _rows(engine, "SELECT vector_store_id, chunks, length FROM bm25_stores")
    assert stores == await _rows(engine, EXPECTED_STORES)


async def _upload(sdk: AsyncOpenAI, name: str, body: str) -> str:
    return (await sdk.files.create(file=(name, body.encode()), purpose="assistants")).id


async def _attach(sdk: AsyncOpenAI, store_id: str, file_ids: list[str]) -> None:
    batch = await sdk.vector_stores.file_batches.create_and_poll(
        vector_store_id=store_id,
        file_ids=file_ids,
        poll_interval_ms=50,  # type: ignore[arg-type]
    )
    assert batch.file_counts.completed == len(file_ids)


class TestStatisticsStayExact:
    async def test_attach_detach_delete_file_and_store(
        self, sdk: AsyncOpenAI, engine: AsyncEngine
    ) -> None:
        a, b = await sdk.vector_stores.create(), await sdk.vector_stores.create()
        ids = [await _upload(sdk, f"{i}.txt", p) for i, p in enumerate(PASSAGES)]
        await _attach(sdk, a.id, ids)
        await _attach(sdk, b.id, ids[:3])
        await assert_exact(engine)
        assert await _rows(engine, "SELECT count(*) FROM bm25_stores") == {(2,)}
        await sdk.vector_stores.files.delete(vector_store_id=a.id, file_id=ids[0])
        await assert_exact(engine)
        await sdk.files.delete(ids[1])
        await assert_exact(engine)
        await sdk.vector_stores.delete(b.id)
        await assert_exact(engine)
        assert await _rows(engine, "SELECT vector_store_id FROM bm25_stores") == {(a.id,)}

    async def test_a_store_emptied_and_refilled_gets_a_new_key(
        self, sdk: AsyncOpenAI, engine: AsyncEngine
    ) -> None:
        store = await sdk.vector_stores.create()
        ids = [await _upload(sdk, f"{i}.txt", p) for i, p in enumerate(PASSAGES[:2])]
        await _attach(sdk, store.id, ids)
        (first,) = await _rows(engine, "SELECT key FROM bm25_stores")
        for file_id in ids:
            await sdk.vector_stores.files.delete(vector_store_id=store.id, file_id=file_id)
        assert await _rows(engine, "SELECT count(*) FROM bm25_postings") == {(0,)}
        assert await _rows(engine, "SELECT count(*) FROM bm25_pending") == {(0,)}
        await _attach(sdk, store.id, ids[:1])
        await assert_exact(engine)
        assert await _rows(engine, "SELECT key FROM bm25_stores") != {first}
        page = await sdk.vector_stores.search(
            vector_store_id=store.id, query="measles", extra_body={"search_mode": "keyword"}
        )
        assert [hit.filename for hit in page.data] == ["0.txt"]

    async def test_concurrent_ingestion_and_deletion(
        self, sdk: AsyncOpenAI, engine: AsyncEngine
    ) -> None:
        store = await sdk.vector_stores.create()
        bodies = [f"{PASSAGES[i % len(PASSAGES)]} item{i} shared words" for i in range(24)]
        ids = await asyncio.gather(*(_upload(sdk, f"{i}.txt", b) for i, b in enumerate(bodies)))
        await _attach(sdk, store.id, list(ids[:8]))
        attaches = (
            sdk.vector_stores.files.create(vector_store_id=store.id, file_id=f) for f in ids[8:]
        )
        detaches = (
            sdk.vector_stores.files.delete(vector_store_id=store.id, file_id=f) for f in ids[:4]
        )
        await asyncio.gather(*attaches, *detaches)
        for _ in range(400):
            counts = (await sdk.vector_stores.retrieve(store.id)).file_counts
            if counts.in_progress == 0:
                break
            await asyncio.sleep(0.05)
        assert counts.completed == 20
        await assert_exact(engine)


def _okapi(tf: float, df: float, n: float, length: float, avgdl: float) -> float:
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avgdl))


class TestScores:
    @pytest.fixture
    async def store_id(self, sdk: AsyncOpenAI) -> str:
        store = await sdk.vector_stores.create()
        await _attach(
            sdk, store.id, [await _upload(sdk, f"{i}.txt", p) for i, p in enumerate(PASSAGES)]
        )
        return store.id

    async def _keyword(self, sdk: AsyncOpenAI, store_id: str, query: str, **extra: Any) -> Any:
        return await sdk.vector_stores.search(
            vector_store_id=store_id, query=query, extra_body={"search_mode": "keyword", **extra}
        )

    async def test_any_query_word_matches(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await self._keyword(sdk, store_id, "what do cats and zebras do")
        assert [hit.filename for hit in page.data] == ["3.txt"]

    async def test_score_is_okapi_bm25_over_the_query_ceiling(
        self, sdk: AsyncOpenAI, store_id: str, engine: AsyncEngine
    ) -> None:
        page = await self._keyword(sdk, store_id, "measles vaccination")
        # 1.txt holds "measles" twice and "vaccination" once; 3 chunks say measles, 2 vaccin.
        ((n, total),) = await _rows(engine, "SELECT chunks, length FROM bm25_stores")
        ((length,),) = await _rows(engine, LENGTH_OF_1_TXT)
        avgdl = total / n
        raw = _okapi(2, 3, n, length, avgdl) + _okapi(1, 2, n, length, avgdl)
        ceiling = 2.2 * (math.log(1 + (n - 2.5) / 3.5) + math.log(1 + (n - 1.5) / 2.5))
        scores = {hit.filename: hit.score for hit in page.data}
        assert set(scores) == {"0.txt", "1.txt", "4.txt"}
        assert scores["1.txt"] == pytest.approx(raw / ceiling, abs=1e-5)
        assert all(0 < score < 1 for score in scores.values())
        assert [h.score for h in page.data] == sorted(scores.values(), reverse=True)

    async def test_an_expired_best_match_gives_way_to_the_next_ones(
        self, sdk: AsyncOpenAI, store_id: str, engine: AsyncEngine
    ) -> None:
        """The ranking is visited best first until enough chunks pass the file's liveness:
        one cut to `max_num_results` before that check would come back short."""
        best = (await self._keyword(sdk, store_id, "measles vaccination")).data[0]
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = :f"),
                {"f": best.file_id},
            )
        page = await self._keyword(sdk, store_id, "measles vaccination", max_num_results=2)
        assert len(page.data) == 2
        assert best.file_id not in {hit.file_id for hit in page.data}

    async def test_rare_terms_weigh_more_than_common_ones(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        page = await self._keyword(sdk, store_id, "measles ports")
        assert page.data[0].filename == "2.txt"

    async def test_no_shared_word_means_no_keyword_hit_and_a_low_hybrid_score(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        assert (await self._keyword(sdk, store_id, "xylophone quartet")).data == []
        hybrid = await sdk.vector_stores.search(vector_store_id=store_id, query="xylophone quartet")
        assert all(hit.score < 0.25 for hit in hybrid.data)
