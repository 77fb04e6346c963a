"""The ingestion benchmark's large table: chunks preloaded into another store by plain SQL.

The issue's scenario is a store ingested inside a table that already holds 100k chunks.
Those chunks go straight into the server's tables with the search benchmark's statements
(`search_sql.py`: embedding-like `latent` vectors, the server's own width), into a store
of their own; then the benchmark waits for the server's index builder to give that store
its HNSW index, as a deployment's large store would have, before the timed ingest.

The code before per-store indexes (d993199) kept one HNSW index per width over the whole
table: its index is dropped for the load and built again in one pass afterwards (as
`search_data.py` did), so the ingest then inserts into a 100k-row graph, as it did there.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg
from harness import log, pg_connect, pg_connect_kwargs, pseudo_words
from search_sql import (
    ATTACH_FILES,
    BUILD_SETTINGS,
    CHUNKS_PER_FILE,
    CREATE_BASIS,
    INDEX,
    INSERT_CHUNKS,
    INSERT_FILES,
    LATENT_VECTOR,
    PROJECT,
    STRATEGY,
)

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec

BASE_STORE = "vs_benchbase00000000"
BASE_FILES = "file-benchbase"
LOAD_BATCH = 5000
LOAD_CONNECTIONS = 2
VOCABULARY = 2000
INDEX_WAIT_SECONDS = 3600.0
POLL_SECONDS = 0.5
# Indexes covering the whole table (the code before per-store indexes had one per width).
_TABLE_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename = 'file_chunks' AND indexdef ILIKE '%USING hnsw%'
  AND NOT starts_with(indexname, $1)
"""
_VALID = """
SELECT i.indisvalid FROM pg_index AS i
WHERE i.indexrelid = to_regclass(quote_ident($1))
"""


def index_min_chunks() -> int | None:
    """The server's threshold for a store's own index; None for code without them."""
    field = SearchSettings.model_fields.get("index_min_chunks")
    return None if field is None else int(field.default)


def store_index(vector_store_id: str) -> str:
    return f"{INDEX}{vector_store_id}"


async def index_valid(conn: asyncpg.Connection, vector_store_id: str) -> bool:
    return bool(await conn.fetchval(_VALID, store_index(vector_store_id)))


async def wait_for_index(conn: asyncpg.Connection, vector_store_id: str) -> float:
    """Poll the catalog until the store's own index is valid; returns when it was seen so
    (`time.perf_counter()`)."""
    deadline = time.perf_counter() + INDEX_WAIT_SECONDS
    while not await index_valid(conn, vector_store_id):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no valid index for {vector_store_id} in {INDEX_WAIT_SECONDS} s")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter()


async def has_pending_keywords(conn: asyncpg.Connection) -> bool:
    """Whether the schema writes BM25 postings after the load (20261130_0015 on): older
    code, which a comparison runs these files against, writes them with the chunks."""
    return bool(await conn.fetchval("SELECT to_regclass('bm25_pending') IS NOT NULL"))


async def post_pending_keywords(conn: asyncpg.Connection) -> None:
    """Every store's pending BM25 postings written now, as the keyword indexer would after
    the load: a bulk load here must not leave the server that work for the timed run."""
    if await has_pending_keywords(conn):
        await conn.execute(
            "SELECT bm25_post_pending(key, 2147483647) FROM bm25_stores ORDER BY key"
        )


async def wait_for_keywords(conn: asyncpg.Connection, vector_store_id: str) -> float:
    """Poll until none of the store's chunks waits for its BM25 postings (at once on code
    that writes them with the chunks); returns when it was seen so (`time.perf_counter()`)."""
    deadline = time.perf_counter() + INDEX_WAIT_SECONDS
    pending = (
        "SELECT EXISTS (SELECT 1 FROM bm25_pending p JOIN bm25_stores s "
        "ON s.key = p.store_key WHERE s.vector_store_id = $1)"
    )
    while await has_pending_keywords(conn) and await conn.fetchval(pending, vector_store_id):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{vector_store_id} still pending after {INDEX_WAIT_SECONDS} s")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter()


async def _create_store(conn: asyncpg.Connection, chunks: int, dims: int) -> None:
    files = -(-chunks // CHUNKS_PER_FILE)
    await conn.execute(
        "INSERT INTO vector_stores (id, project_id, name, embedding_provider, "
        "embedding_model, embedding_dimensions) "
        "VALUES ($1, $2::uuid, 'bench base', 'openai', 'text-embedding-3-small', $3)",
        BASE_STORE,
        PROJECT,
        dims,
    )
    await conn.execute(INSERT_FILES, BASE_FILES, PROJECT, files)
    await conn.execute(ATTACH_FILES, BASE_STORE, BASE_FILES, PROJECT, json.dumps(STRATEGY), files)


async def _load_worker(
    conn: asyncpg.Connection, ranges: list[tuple[int, int]], dims: int, words: list[str]
) -> None:
    """One transaction per connection: the index builder sees the store only once it is
    whole, so it builds the index once, after the load, not from its first 10,000 rows."""
    statement = INSERT_CHUNKS.format(vector=LATENT_VECTOR)
    async with conn.transaction():
        while ranges:
            low, high = ranges.pop()
            await conn.execute("SELECT setseed($1)", (low % 19_997) / 10_000 - 1)
            await conn.execute(statement, BASE_STORE, BASE_FILES, "base", words, dims, low, high)
            log(f"base load: chunks {low}..{high - 1}")


async def _fill(connect: Mapping[str, str], chunks: int, dims: int) -> None:
    conns = [await pg_connect(connect) for _ in range(LOAD_CONNECTIONS)]
    try:
        await conns[0].execute("SELECT setseed(0.5)")
        await conns[0].execute(CREATE_BASIS.format(dims=dims))
        await _create_store(conns[0], chunks, dims)
        words = pseudo_words(VOCABULARY, random.Random(chunks))
        ranges = [(low, min(low + LOAD_BATCH, chunks)) for low in range(0, chunks, LOAD_BATCH)]
        await asyncio.gather(*(_load_worker(c, ranges, dims, words) for c in conns))
        await post_pending_keywords(conns[0])
        await conns[0].execute("VACUUM ANALYZE file_chunks")
    finally:
        for conn in conns:
            await conn.close()


async def _rebuild(conn: asyncpg.Connection, definitions: list[str]) -> None:
    for name, value in BUILD_SETTINGS.items():
        await conn.execute("SELECT set_config($1, $2, false)", name, value)
    for definition in definitions:
        await conn.execute(definition)


async def preload(connect: Mapping[str, str], chunks: int, dims: int) -> tuple[float, float]:
    """Load `chunks` into the base store and wait for its index; (load s, index s)."""
    conn = await pg_connect(connect)
    try:
        started = time.perf_counter()
        table_indexes = await conn.fetch(_TABLE_INDEXES, INDEX)
        for row in table_indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        await _fill(connect, chunks, dims)
        loaded = time.perf_counter()
        log(f"base load: {chunks} chunks in {loaded - started:.0f} s; waiting for the index")
        await _rebuild(conn, [row["indexdef"] for row in table_indexes])
        minimum = index_min_chunks()
        if minimum is not None and chunks >= minimum:
            await wait_for_index(conn, BASE_STORE)
        return loaded - started, time.perf_counter() - loaded
    finally:
        await conn.close()


def _snapshot_dir(cache: Path, chunks: int, dims: int) -> Path:
    return cache.resolve() / f"base-{chunks}x{dims}" / "pgdata"


async def _build_base(url: str, chunks: int, dims: int) -> None:
    """The base store loaded and indexed as a serving process's index builder would
    index it (same statement), on a PostgreSQL no server runs on."""
    from maia_vectordb.db.vector_indexes import create_statement

    await upgrade_head(url, ModelSpec("openai", "text-embedding-3-small", dims))
    connect = pg_connect_kwargs(url)
    await _fill(connect, chunks, dims)
    if (minimum := index_min_chunks()) is None or chunks < minimum:
        return
    conn = await pg_connect(connect)
    try:
        await _rebuild(conn, [create_statement(BASE_STORE, dims, concurrently=False)])
    finally:
        await conn.close()


def restore_base(cache: Path, pgdata: Path, chunks: int, dims: int) -> float:
    """Copy the cached base table into `pgdata` (building it first if it is not cached);
    returns the seconds spent building (0 when it was cached). `cp -a` keeps ownership:
    as root the embedded server runs PostgreSQL as its own user."""
    snapshot = _snapshot_dir(cache, chunks, dims)
    built = 0.0
    if not snapshot.is_dir():
        started = time.perf_counter()
        partial = snapshot.with_name("pgdata.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        with embedded_postgres(partial) as url:
            asyncio.run(_build_base(url, chunks, dims))
        partial.rename(snapshot)
        built = time.perf_counter() - started
        log(f"base table cached in {snapshot} ({built:.0f} s)")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(snapshot), str(pgdata)], check=True)
    return built
