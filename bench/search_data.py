"""The search benchmark's data set: generated inside PostgreSQL, then indexed and measured.

Rows go straight into the service's tables (stores, files, attached files, chunks), as
ingestion would leave them; each chunk's text starts with `chunk <store>-<i>`, which
identifies it in API responses. Vectors are drawn by PostgreSQL, normalised, as either
- `random`: uniform on the sphere, the hardest case for HNSW: in 1536 dimensions every
  point is almost equally far from every other, so "the" top 10 is nearly arbitrary;
- `latent`: a 32-dimensional Gaussian latent mapped through a fixed random basis
  (`bench_basis`), plus isotropic noise: the low intrinsic dimension of real embeddings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, astuple, dataclass
from pathlib import Path

import asyncpg
from harness import log, pg_connect
from ingest_base import post_pending_keywords
from search_sql import (
    ALIGN_ATTRIBUTES,
    ATTACH_FILES,
    BUILD_SETTINGS,
    CHUNKS_PER_FILE,
    CREATE_BASIS,
    FILTER_KEY,
    FILTER_VALUE,
    INSERT_CHUNKS,
    INSERT_FILES,
    LATENT_VECTOR,
    PROJECT,
    RANDOM_VECTOR,
    STRATEGY,
)

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.vector_indexes import create_statement, index_name

# The server's default: stores this large get their own index (the others are exact).
INDEX_MIN_CHUNKS = int(SearchSettings.model_fields["index_min_chunks"].default)

LOAD_BATCH = 5000
LOAD_CONNECTIONS = 2
DATA_KINDS = ("random", "latent")
SMALL_SHARE = 20


@dataclass(frozen=True)
class Layout:
    """N chunks over `stores` stores: the last, the small store, holds N / 20 of them (a
    small store inside a large table); store 0, the target, and the others share the rest."""

    chunks: int
    stores: int
    dims: int
    data: str = "random"

    @property
    def insert_chunks(self) -> str:
        return INSERT_CHUNKS.format(
            vector=LATENT_VECTOR if self.data == "latent" else RANDOM_VECTOR
        )

    def store_id(self, store: int) -> str:
        return f"vs_bench{store:016d}"

    def file_prefix(self, store: int) -> str:
        return f"file-bench{store:02d}"

    def sizes(self) -> list[int]:
        small = self.chunks // SMALL_SHARE
        rest = self.chunks - small
        base = rest // (self.stores - 1)
        return [rest - base * (self.stores - 2)] + [base] * (self.stores - 2) + [small]

    @property
    def target(self) -> str:
        return self.store_id(0)

    def indexed(self, store: int) -> bool:
        """Whether the server gives this store an HNSW index of its own."""
        return self.sizes()[store] >= INDEX_MIN_CHUNKS

    @property
    def target_chunks(self) -> int:
        return self.sizes()[0]

    @property
    def small(self) -> str:
        return self.store_id(self.stores - 1)

    @property
    def small_chunks(self) -> int:
        return self.sizes()[-1]


@dataclass(frozen=True)
class Built:
    """What loading and indexing cost; kept beside a `--keep-data` directory for reuse."""

    chunks: int
    stores: int
    dims: int
    data: str
    load_seconds: float
    build_seconds: float
    index_mb: float
    table_mb: float
    filtered_chunks: int
    reused: bool = False


def _batches(layout: Layout) -> Iterator[tuple[int, int, int]]:
    for store, size in enumerate(layout.sizes()):
        for low in range(0, size, LOAD_BATCH):
            yield store, low, min(low + LOAD_BATCH, size)


async def _create_stores(conn: asyncpg.Connection, layout: Layout) -> None:
    await conn.execute("TRUNCATE vector_stores, files CASCADE")
    for store, size in enumerate(layout.sizes()):
        files = -(-size // CHUNKS_PER_FILE)
        store_id, prefix = layout.store_id(store), layout.file_prefix(store)
        await conn.execute(
            "INSERT INTO vector_stores (id, project_id, name, embedding_provider, "
            "embedding_model, embedding_dimensions) "
            "VALUES ($1, $2::uuid, $3, 'openai', 'text-embedding-3-small', $4)",
            store_id,
            PROJECT,
            f"bench {store}",
            layout.dims,
        )
        await conn.execute(INSERT_FILES, prefix, PROJECT, files)
        await conn.execute(ATTACH_FILES, store_id, prefix, PROJECT, json.dumps(STRATEGY), files)


async def _load_worker(
    conn: asyncpg.Connection,
    batches: Iterator[tuple[int, int, int]],
    layout: Layout,
    words: list[str],
) -> None:
    for store, low, high in batches:
        # A seed per batch keeps the data identical however batches fall to connections.
        await conn.execute("SELECT setseed($1)", ((store * 7919 + low) % 19_997) / 10_000 - 1)
        await conn.execute(
            layout.insert_chunks,
            layout.store_id(store),
            layout.file_prefix(store),
            str(store),
            words,
            layout.dims,
            low,
            high,
        )
        log(f"loaded store {store} chunks {low}..{high - 1}")


async def load(connect: dict[str, str], layout: Layout, words: list[str]) -> float:
    """Drop the stores' HNSW indexes, then fill the tables over two connections; returns
    seconds."""
    conns = [await pg_connect(connect) for _ in range(LOAD_CONNECTIONS)]
    try:
        started = time.perf_counter()
        for store in range(layout.stores):
            await conns[0].execute(f'DROP INDEX IF EXISTS "{index_name(layout.store_id(store))}"')
        await conns[0].execute("SELECT setseed(0.5)")
        await conns[0].execute(CREATE_BASIS.format(dims=layout.dims))
        await _create_stores(conns[0], layout)
        batches = _batches(layout)
        await asyncio.gather(*(_load_worker(c, batches, layout, words) for c in conns))
        # Posted as the keyword indexer would after a load, so searches time the postings.
        await post_pending_keywords(conns[0])
        # The postings too: autovacuum would otherwise run into the first timed searches.
        await conns[0].execute("VACUUM ANALYZE file_chunks, bm25_postings, bm25_stores")
        return time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()


async def _report_progress(connect: dict[str, str], every: float = 30.0) -> None:
    conn = await pg_connect(connect)
    try:
        while True:
            await asyncio.sleep(every)
            row = await conn.fetchrow(
                "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index"
            )
            if row is not None:
                log(f"index build: {row['phase']} {row['tuples_done']}/{row['tuples_total']}")
    finally:
        await conn.close()


async def build_index(connect: dict[str, str], layout: Layout) -> float:
    """Time the stores' `CREATE INDEX`, as the index builder runs it after a load (without
    CONCURRENTLY: nothing else runs here); returns seconds."""
    conn = await pg_connect(connect)
    progress = asyncio.create_task(_report_progress(connect))
    try:
        for name, value in BUILD_SETTINGS.items():
            await conn.execute("SELECT set_config($1, $2, false)", name, value)
        await conn.execute("CHECKPOINT")
        started = time.perf_counter()
        for store in range(layout.stores):
            if layout.indexed(store):
                await conn.execute(
                    create_statement(layout.store_id(store), layout.dims, concurrently=False)
                )
        return time.perf_counter() - started
    finally:
        progress.cancel()
        await conn.close()


async def sizes(connect: dict[str, str], layout: Layout) -> tuple[float, float, int]:
    """Index MB, table MB (heap + TOAST, no indexes), and chunks the filter leaves in the target."""
    conn = await pg_connect(connect)
    try:
        index = await conn.fetchval(
            "SELECT coalesce(sum(pg_relation_size(to_regclass(quote_ident(name)))), 0)::bigint "
            "FROM unnest($1::text[]) AS name",
            [index_name(layout.store_id(store)) for store in range(layout.stores)],
        )
        table = await conn.fetchval("SELECT pg_table_size('file_chunks')")
        filtered = await conn.fetchval(
            "SELECT count(*) FROM file_chunks WHERE vector_store_id = $1 "
            "AND attributes -> $2 = $3::jsonb",
            layout.target,
            FILTER_KEY,
            str(FILTER_VALUE),
        )
    finally:
        await conn.close()
    # sum() of bigints is numeric: asyncpg hands back a Decimal, which bench.json cannot hold.
    return float(index) / 2**20, table / 2**20, int(filtered)


def _reusable(path: Path, layout: Layout) -> Built | None:
    if not path.exists():
        return None
    built = Built(**json.loads(path.read_text()))
    if (built.chunks, built.stores, built.dims, built.data) != astuple(layout):
        raise SystemExit(
            f"{path.parent} holds {built.chunks} {built.data} chunks in {built.stores} stores "
            f"of {built.dims} dimensions; use another --keep-data directory or delete it"
        )
    return Built(**{**asdict(built), "reused": True})


async def _align_attributes(connect: dict[str, str]) -> None:
    conn = await pg_connect(connect)
    try:
        status = await conn.execute(ALIGN_ATTRIBUTES)
        if status != "UPDATE 0":
            log(f"kept data set: attachments' attributes aligned with their chunks ({status})")
            await conn.execute("VACUUM ANALYZE vector_store_files")
    finally:
        await conn.close()


async def prepare(connect: dict[str, str], layout: Layout, words: list[str], keep: Path) -> Built:
    """Load and index, or reuse what an earlier `--keep-data` run left in `keep`."""
    record = keep / "bench.json"
    reused = _reusable(record, layout)
    if reused is not None:
        log(f"reusing the data set in {keep}")
        await _align_attributes(connect)
        return reused
    load_seconds = await load(connect, layout, words)
    log(f"loaded {layout.chunks} chunks in {load_seconds:.0f} s; building the HNSW index")
    build_seconds = await build_index(connect, layout)
    index_mb, table_mb, filtered = await sizes(connect, layout)
    built = Built(
        *astuple(layout),
        load_seconds,
        build_seconds,
        index_mb,
        table_mb,
        filtered,
    )
    record.write_text(json.dumps(asdict(built)))
    return built


async def latent_basis(connect: dict[str, str]) -> list[list[float]]:
    """The basis `latent` data was drawn with, so queries can be drawn the same way."""
    conn = await pg_connect(connect)
    try:
        rows = await conn.fetch("SELECT v FROM bench_basis ORDER BY k")
    finally:
        await conn.close()
    return [row["v"].to_list() for row in rows]
