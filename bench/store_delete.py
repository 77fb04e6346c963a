"""What deleting a store whose BM25 postings are written costs the DELETE that does it.

    uv run python bench/store_delete.py [--mb 8] [--rounds 2] [--analyze] [--detach]

Each round writes the `bench/ingest.py` corpus, cut by the server's chunker, into one
store of a scratch database at head (the worker's binary COPY, 500 chunks a
statement), posts its postings, and times
`DELETE FROM vector_stores` for it: the statement a `DELETE /v1/vector_stores/{id}`
runs, with everything its cascades and triggers do, and that backend's CPU. Then it
times whatever the deployment still does for that store afterwards (the keyword
indexer's `run_once` until it has nothing left). `--analyze` runs `VACUUM ANALYZE`
before the delete, as a deployment that autovacuum has visited; without it the
tables' statistics are a fresh deployment's. `--detach` times detaching the store's one
file instead (`DELETE FROM vector_store_files`: its chunks go, the store stays), the
path every file delete and detach takes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect, pg_connect_kwargs, workspace
from ingest_base import post_pending_keywords
from keyword_write_cost import DIMS, SETUP, STORE, chunk_records, copy_chunks
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.ingest.keyword_indexer import KeywordIndexer


@dataclass(frozen=True)
class Options:
    megabytes: float
    rounds: int
    analyze: bool
    detach: bool


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument("--detach", action="store_true")
    args = parser.parse_args()
    return Options(args.mb, args.rounds, args.analyze, args.detach)


async def load(url: str, records: list[tuple[object, ...]], analyze: bool) -> int:
    """The store written and posted; its postings."""
    raw = await pg_connect(pg_connect_kwargs(url))
    try:
        for statement in SETUP:
            await raw.execute(statement)
        await copy_chunks(raw, records, 500)
        await post_pending_keywords(raw)
        if analyze:
            await raw.execute("VACUUM ANALYZE")
        return int(await raw.fetchval("SELECT count(*) FROM bm25_postings"))
    finally:
        await raw.close()


async def delete(url: str, detach: bool) -> tuple[float, float]:
    """(wall seconds, backend CPU seconds) of the store's (or its file's) DELETE."""
    table = "vector_store_files" if detach else "vector_stores"
    column = "vector_store_id" if detach else "id"
    raw = await pg_connect(pg_connect_kwargs(url))
    try:
        pid = await raw.fetchval("SELECT pg_backend_pid()")
        cpu, started = process_cpu_seconds(pid), time.perf_counter()
        await raw.execute(f"DELETE FROM {table} WHERE {column} = $1", STORE)
        timed = time.perf_counter() - started, process_cpu_seconds(pid) - cpu
        # The next round writes them again.
        await raw.execute("DELETE FROM vector_stores WHERE id = $1", STORE)
        await raw.execute("DELETE FROM files")
        return timed
    finally:
        await raw.close()


async def afterwards(engine: AsyncEngine) -> tuple[float, int]:
    """(seconds, postings left) of the keyword indexer's passes until one does nothing."""
    indexer = KeywordIndexer(engine, SearchSettings())
    started = time.perf_counter()
    while await indexer.run_once():
        pass
    async with engine.connect() as conn:
        left = int(await conn.scalar(text("SELECT count(*) FROM bm25_postings")) or 0)
    return time.perf_counter() - started, left


async def measure(url: str, opts: Options) -> list[list[object]]:
    await upgrade_head(url, ModelSpec("openai", "bench", DIMS))
    records = chunk_records(opts.megabytes)
    engine = create_async_engine(url)
    rows: list[list[object]] = []
    try:
        for n in range(opts.rounds):
            postings = await load(url, records, opts.analyze)
            log(f"round {n + 1}: deleting a store of {len(records)} chunks, {postings} postings")
            seconds, cpu = await delete(url, opts.detach)
            later, left = await afterwards(engine)
            rows.append(
                [
                    n + 1,
                    len(records),
                    postings,
                    f"{seconds:.2f}",
                    f"{cpu:.2f}",
                    f"{later:.2f}",
                    left,
                ]
            )
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    opts = parse_args()
    with workspace(None) as root, embedded_postgres(root / "pgdata") as url:
        rows = asyncio.run(measure(url, opts))
    headers = (
        "round",
        "chunks",
        "postings",
        "DELETE s",
        "its backend CPU s",
        "indexer after it s",
        "postings left",
    )
    stats = "VACUUM ANALYZE before each delete" if opts.analyze else "a fresh deployment's"
    what = "its one file detached" if opts.detach else "the store deleted"
    print(
        "\n".join(
            [
                f"## A store with posted keywords, {what} ({opts.megabytes} MiB corpus)",
                "",
                f"- machine: {machine()}",
                f"- statistics: {stats}",
                "",
                markdown_table(headers, rows),
            ]
        )
    )


if __name__ == "__main__":
    main()
