"""Keyword search over a store whose BM25 postings are not written yet, and what writing
them costs (migration 20261130_0015: postings are written after the load).

    uv run python bench/keyword_backlog.py [--mb 20] [--queries 40] [--rounds 3]

The `bench/ingest.py` corpus, cut by the server's chunker, is written into one store
of a scratch database at head with the worker's binary COPY (500 chunks a statement):
every chunk is then pending. The service's own keyword statement
(`db.bm25.keyword_candidates`, top 10) is timed for `--queries` queries of 3, 5 or 8
consecutive words of random chunks, `--rounds` times each, first with everything
pending, then after `bm25_post_pending` has posted the store in the keyword indexer's
slices (whose backend CPU per chunk is reported), then for a store half of which is
pending. The rankings must agree in all three states (the script fails otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect, pg_connect_kwargs, workspace
from keyword_write_cost import DIMS, SETUP, STORE, chunk_records, copy_chunks
from sqlalchemy import bindparam, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from maia_vectordb.db.bm25 import keyword_candidates
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.ingest.keyword_indexer import SLICE_CHUNKS

SEED = 20261201
STATEMENT = keyword_candidates(
    vector_store_id=bindparam("store"), query=bindparam("query"), condition=true(), limit=10
)


@dataclass(frozen=True)
class Options:
    megabytes: float
    queries: int
    rounds: int
    keep: Path | None


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-data", type=Path, default=None)
    args = parser.parse_args()
    return Options(args.mb, args.queries, args.rounds, args.keep_data)


def make_queries(texts: list[str], count: int) -> list[str]:
    rng = random.Random(SEED)
    queries = []
    for body in rng.sample(texts, min(count, len(texts))):
        words = body.split()
        length = rng.choice((3, 5, 8))
        start = rng.randrange(max(1, len(words) - length))
        queries.append(" ".join(words[start : start + length]))
    return queries


async def timed(
    conn: AsyncConnection, queries: list[str], rounds: int
) -> tuple[list[float], list[list[tuple[int, float]]]]:
    """Milliseconds per search (every round) and each query's ranking (the last round's)."""
    times: list[float] = []
    rankings: list[list[tuple[int, float]]] = []
    for _ in range(rounds):
        rankings = []
        for query in queries:
            started = time.perf_counter()
            rows = await conn.execute(STATEMENT, {"store": STORE, "query": query})
            times.append(1000 * (time.perf_counter() - started))
            rankings.append([(row.id, round(float(row.score), 9)) for row in rows])
    return times, rankings


async def unpost(conn: AsyncConnection, key: int, share: float) -> None:
    """The newest `share` of the store's chunks pending again: their postings back to
    pending rows, as if the keyword indexer had not reached them yet."""
    await conn.execute(
        text(
            "WITH moved AS (DELETE FROM bm25_postings WHERE store_key = :k AND chunk_id >= "
            "(SELECT percentile_disc(1 - CAST(:share AS float8)) WITHIN GROUP (ORDER BY id) "
            "FROM file_chunks) "
            "RETURNING chunk_id, length) INSERT INTO bm25_pending "
            "SELECT DISTINCT :k, chunk_id, length FROM moved"
        ),
        {"k": key, "share": share},
    )
    await conn.commit()


async def vacuum(engine: AsyncEngine) -> None:
    """Dead pending rows and fresh postings settled, so no autovacuum runs into a timing."""
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        await conn.execute(text("VACUUM ANALYZE bm25_postings, bm25_pending"))


async def post(conn: AsyncConnection, key: int, limit: int | None = None) -> tuple[int, float]:
    """Posts the store's pending chunks in the indexer's slices (at most `limit`);
    (chunks, backend CPU seconds)."""
    pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    before, moved = process_cpu_seconds(pid), 0
    while limit is None or moved < limit:
        size = SLICE_CHUNKS if limit is None else min(SLICE_CHUNKS, limit - moved)
        n = await conn.scalar(text("SELECT bm25_post_pending(:k, :n)"), {"k": key, "n": size})
        await conn.commit()
        moved += int(n)
        if n < size:
            break
    return moved, process_cpu_seconds(pid) - before


def _row(state: str, chunks: int, pending: int, times: list[float]) -> list[object]:
    cuts = statistics.quantiles(times, n=20)
    return [state, chunks, pending, f"{statistics.median(times):.1f}", f"{cuts[-1]:.1f}"]


async def measure(url: str, opts: Options) -> tuple[list[list[object]], str]:
    await upgrade_head(url, ModelSpec("openai", "bench", DIMS))
    raw = await pg_connect(pg_connect_kwargs(url))
    try:
        if not await raw.fetchval("SELECT count(*) FROM file_chunks"):
            for statement in SETUP:
                await raw.execute(statement)
            records = chunk_records(opts.megabytes)
            log(f"writing {len(records)} chunks")
            await copy_chunks(raw, records, 500)
        await raw.execute("VACUUM ANALYZE file_chunks, bm25_pending, bm25_stores")
        texts = [r["text"] for r in await raw.fetch("SELECT text FROM file_chunks")]
    finally:
        await raw.close()
    queries = make_queries(texts, opts.queries)
    engine = create_async_engine(url)
    rows: list[list[object]] = []
    try:
        async with engine.connect() as conn:
            query = "SELECT key FROM bm25_stores WHERE vector_store_id = :s"
            key = int(await conn.scalar(text(query), {"s": STORE}))
            chunks = len(texts)
            await unpost(conn, key, 1.0)  # a kept database was left posted
            pending = int(await conn.scalar(text("SELECT count(*) FROM bm25_pending")))
            await vacuum(engine)
            log(f"timing keyword searches, {pending} of {chunks} chunks pending")
            times, before = await timed(conn, queries, opts.rounds)
            rows.append(_row("all pending", chunks, pending, times))
            moved, cpu = await post(conn, key)
            posting = (
                f"posting {moved} chunks in slices of {SLICE_CHUNKS}: "
                f"{1000 * cpu / max(moved, 1):.2f} ms of backend CPU a chunk"
            )
            log(posting)
            await vacuum(engine)
            times, after = await timed(conn, queries, opts.rounds)
            rows.append(_row("all posted", chunks, 0, times))
            await unpost(conn, key, 0.5)
            half = int(await conn.scalar(text("SELECT count(*) FROM bm25_pending")))
            await vacuum(engine)
            times, middle = await timed(conn, queries, opts.rounds)
            rows.append(_row("half pending", chunks, half, times))
            if not before == middle == after:
                raise SystemExit("the rankings differ between pending and posted chunks")
            await post(conn, key)
    finally:
        await engine.dispose()
    return rows, posting


def main() -> None:
    opts = parse_args()
    with workspace(opts.keep) as root, embedded_postgres(root / "pgdata") as url:
        rows, posting = asyncio.run(measure(url, opts))
    headers = ("store", "chunks", "pending", "p50 ms", "p95 ms")
    print(
        "\n".join(
            [
                f"## Keyword search with pending postings ({opts.megabytes} MiB corpus)",
                "",
                f"- machine: {machine()}",
                f"- {opts.queries} queries of 3/5/8 words, {opts.rounds} rounds, top 10, "
                "the service's keyword statement run directly (no HTTP); rankings equal in "
                "all three states",
                f"- {posting}",
                "",
                markdown_table(headers, rows),
            ]
        )
    )


if __name__ == "__main__":
    main()
