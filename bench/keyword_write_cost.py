"""What keyword indexing costs PostgreSQL per chunk written, part by part.

    uv run python bench/keyword_write_cost.py [--mb 4] [--batch 50] [--rounds 3]
        [--variants NAME,...] [--prefill N]

`bench/ingest.py` reports PostgreSQL's CPU per chunk as one figure; this splits it. The
`bench/ingest.py` corpus is cut by the server's own chunker (800 tokens, 400 overlap),
then written into the real schema (migrated to head, one store) with the worker's binary
COPY in batches of `--batch` chunks, once per variant, each variant in a transaction that
is rolled back, so all of them write into the same empty table:

- `as shipped`: the chunk row, its stored tsvector and the BM25 insert trigger, which
  since 20261130_0015 records the chunk as pending (its postings are written after the
  load, `keyword_backlog.py` measures that) and adds it to the store's totals;
- `postings in the write (0014)`: 0014's insert trigger, which wrote the chunk's
  postings in the COPY itself;
- `postings without their index`: the same, the postings' primary key dropped;
- `no postings`: the trigger disabled (the tsvector is still computed and stored);
- `no tsvector`: the trigger disabled and the tsvector column dropped: the row alone;
- `two statements (0008)`: the insert trigger as migration 20261130_0008 wrote it (the
  store's upsert, then the postings, each chunk's length computed in both), which
  20261130_0013 made one statement;
- `store row first (0013)`: 0013's insert trigger, which upserted the store's totals
  before its postings, where 20261130_0014 adds them last (one writer alone costs the
  same; what 0014 changes is two writers of one store, `bm25_writers.py`);
- the postings layouts of `keyword_layouts.py` (a hashed term, an integer store, sorted
  inserts), each written by a rewritten trigger into a table of its own.

The differences are the parts: the tsvector (PostgreSQL's English parser and stemmer),
the postings' heap rows, and their btree. The figure is the backend's CPU (from /proc)
per chunk, the median of `--rounds`, printed with the load average, and the WAL the
variant wrote per chunk. The tables are truncated after every variant, so each one
writes into empty tables rather than beside the dead rows of the ones before it.

`--prefill N` first writes (and commits) N chunks of another corpus into the same store,
as an ingest into a store that already holds them: the variants then write beside a
postings btree of ~240 N entries, and the tables are vacuumed after every variant
instead of truncated.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect, pg_connect_kwargs, workspace
from ingest_base import post_pending_keywords
from ingest_corpus import corpus
from keyword_layouts import LAYOUTS
from pg_activity import WalCounters, wal_counters
from pgvector.asyncpg import register_vector

from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.ingest.chunking import AUTO, Chunker

SEED = 20261123
DIMS = 1536
STORE = "vs_keywordwritecost0000"
FILE = "file-keywordwritecost"
PROJECT = "00000000-0000-0000-0000-000000000001"
COLUMNS = ("vector_store_id", "file_id", "chunk_index", "text", "token_count", "embedding")
SETUP = (
    f"INSERT INTO projects (id, name) VALUES ('{PROJECT}', 'bench') ON CONFLICT DO NOTHING",
    "INSERT INTO vector_stores (id, project_id, name, embedding_provider, embedding_model, "
    f"embedding_dimensions) VALUES ('{STORE}', '{PROJECT}', 'bench', 'openai', 'bench', {DIMS})",
    "INSERT INTO files (id, project_id, filename, purpose, bytes, status) "
    f"VALUES ('{FILE}', '{PROJECT}', 'bench.txt', 'assistants', 1, 'processed')",
    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, status, usage_bytes, "
    f"chunking_strategy) VALUES ('{STORE}', '{FILE}', '{PROJECT}', 'completed', 1, "
    """'{"type": "auto"}')""",
)
MIGRATIONS = Path(__file__).resolve().parents[1] / "src/maia_vectordb/migrations/versions"


def migration_constant(script: str, name: str) -> str:
    """A constant of a migration script (migrations are no package): its downgrade's
    `OLD_INSERTED_FUNCTION` is the insert trigger before it (0013's gives 0008's,
    0014's gives 0013's)."""
    path = MIGRATIONS / script
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


NO_TRIGGER = "ALTER TABLE file_chunks DISABLE TRIGGER bm25_chunks_inserted"
WRITE_POSTINGS = migration_constant("20261130_0015_bm25_pending.py", "OLD_INSERTED_FUNCTION")
VARIANTS: dict[str, tuple[str, ...]] = {
    "as shipped": (),
    "postings in the write (0014)": (WRITE_POSTINGS,),
    "postings without their index": (
        WRITE_POSTINGS,
        "ALTER TABLE bm25_postings DROP CONSTRAINT pk_bm25_postings",
    ),
    "no postings": (NO_TRIGGER,),
    "no tsvector": (NO_TRIGGER, "ALTER TABLE file_chunks DROP COLUMN tsv"),
    "two statements (0008)": (
        migration_constant("20261130_0013_bm25_insert_one_pass.py", "OLD_INSERTED_FUNCTION"),
    ),
    "store row first (0013)": (
        migration_constant("20261130_0014_bm25_store_row_last.py", "OLD_INSERTED_FUNCTION"),
    ),
    **{name: layout.statements() for name, layout in LAYOUTS.items()},
}
EMPTY = "TRUNCATE file_chunks, bm25_postings, bm25_pending, bm25_stores"
CLEAN = "VACUUM file_chunks, bm25_postings, bm25_pending, bm25_stores"


@dataclass(frozen=True)
class Options:
    megabytes: float
    batch: int
    rounds: int
    variants: tuple[str, ...]
    prefill: int


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=4, help="corpus size in MiB")
    parser.add_argument("--batch", type=int, default=50, help="chunks per COPY")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefill", type=int, default=0, help="chunks in the store first")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated, from: " + "; ".join(VARIANTS),
    )
    args = parser.parse_args()
    variants = tuple(name.strip() for name in args.variants.split(","))
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants: {sorted(unknown)}")
    return Options(args.mb, args.batch, args.rounds, variants, args.prefill)


def chunk_records(megabytes: float, seed: int = SEED, first: int = 0) -> list[tuple[object, ...]]:
    """The corpus's chunks as COPY records, numbered from `first`."""
    chunker = Chunker()
    rng = random.Random(seed)
    norm = DIMS**-0.5
    records: list[tuple[object, ...]] = []
    for document in corpus(megabytes, max(1, int(megabytes * 50)), seed):
        for chunk in chunker.chunk(document.data.decode(), AUTO):
            vector = [rng.choice((-norm, norm)) for _ in range(DIMS)]
            index = first + len(records)
            records.append((STORE, FILE, index, chunk.text, chunk.token_count, vector))
    return records


async def copy_chunks(
    conn: asyncpg.Connection, records: list[tuple[object, ...]], batch: int
) -> None:
    """`records` into `file_chunks`, `batch` rows a binary COPY, as the worker writes them."""
    for low in range(0, len(records), batch):
        part = records[low : low + batch]
        await conn.copy_records_to_table("file_chunks", records=part, columns=COLUMNS)


async def prefill(conn: asyncpg.Connection, chunks: int, batch: int) -> int:
    """About `chunks` chunks of another corpus, committed; the index the variants number
    their chunks from."""
    if chunks <= 0:
        return 0
    records = chunk_records(chunks / 700, SEED + 1)[:chunks]
    log(f"prefilling the store with {len(records)} chunks")
    await copy_chunks(conn, records, batch)
    await post_pending_keywords(conn)
    await conn.execute("VACUUM ANALYZE file_chunks, bm25_postings, bm25_pending, bm25_stores")
    return len(records)


async def timed_write(
    conn: asyncpg.Connection,
    pid: int,
    statements: Sequence[str],
    records: list[tuple[object, ...]],
    batch: int,
    cleanup: str,
) -> tuple[float, WalCounters]:
    """CPU ms per chunk of writing `records` after `statements`, all rolled back, and the
    WAL written (the statements' own included)."""
    wal_before = await wal_counters(conn)
    transaction = conn.transaction()
    await transaction.start()
    try:
        for statement in statements:
            await conn.execute(statement)
        before = process_cpu_seconds(pid)
        await copy_chunks(conn, records, batch)
        cpu = 1000 * (process_cpu_seconds(pid) - before) / len(records)
    finally:
        await transaction.rollback()
    wal = await wal_counters(conn) - wal_before
    await conn.execute(cleanup)
    return cpu, wal


async def measure(url: str, opts: Options) -> list[list[object]]:
    await upgrade_head(url, ModelSpec("openai", "bench", DIMS))
    conn = await pg_connect(pg_connect_kwargs(url))
    try:
        await register_vector(conn)
        for statement in SETUP:
            await conn.execute(statement)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        first = await prefill(conn, opts.prefill, opts.batch)
        records = chunk_records(opts.megabytes, first=first)
        cleanup = CLEAN if first else EMPTY
        log(f"{len(records)} chunks; {opts.rounds} rounds of {len(opts.variants)} variants")
        samples: dict[str, list[float]] = {name: [] for name in opts.variants}
        wals: dict[str, WalCounters] = {}
        for round_ in range(opts.rounds):
            for name in opts.variants:
                cpu, wals[name] = await timed_write(
                    conn, pid, VARIANTS[name], records, opts.batch, cleanup
                )
                samples[name].append(cpu)
            log(f"round {round_ + 1} done")
        return [
            [
                name,
                f"{statistics.median(values):.3f}",
                *_wal_cells(wals[name], len(records)),
                f"{os.getloadavg()[0]:.1f}",
            ]
            for name, values in samples.items()
        ] + [["(chunks written per variant)", len(records), "", "", "", ""]]
    finally:
        await conn.close()


def _wal_cells(wal: WalCounters, chunks: int) -> list[str]:
    """WAL records, KiB and full-page images per chunk (the last round's)."""
    return [
        f"{wal.records / chunks:.0f}",
        f"{wal.bytes / chunks / 1024:.1f}",
        f"{wal.fpi / chunks:.2f}",
    ]


def main() -> None:
    opts = parse_args()
    with workspace(None) as root, embedded_postgres(root / "pgdata") as url:
        rows = asyncio.run(measure(url, opts))
    print("## PostgreSQL CPU per chunk written, by keyword-index part\n")
    print(
        f"- machine: {machine()}; COPY batches of {opts.batch}; median of {opts.rounds} "
        f"rounds; {opts.prefill} chunks in the store first\n"
    )
    headers = (
        "variant",
        "PostgreSQL CPU ms/chunk",
        "WAL records/chunk",
        "WAL KiB/chunk",
        "full-page images/chunk",
        "load (1 min)",
    )
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
