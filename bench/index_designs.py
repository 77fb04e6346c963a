"""HNSW designs compared in raw SQL: insert cost per row and recall@10 against exact.

    uv run --frozen python bench/index_designs.py [--rows 100000] [--dims 1536,384]
        [--queries 100] [--inserts 2000] [--pools 40,100,200,400] [--scifact DIR]
        [--designs halfvec,bit,bit-m24] [--commit-modes on,off] [--keep-data DIR]

Designs (each alone on the table while it is measured; `none` has no vector index,
the base cost of a row; `halfvec-m8` and `halfvec-efc32` are today's index with m 8,
or ef_construction 32):
- `halfvec`: today's index, `embedding::halfvec(d)` with `halfvec_cosine_ops`, m 16,
  ef_construction 64, searched at the server's `ef_search` 200 (iterative scan);
- `bit`: `binary_quantize(embedding::halfvec(d))::bit(d)` with `bit_hamming_ops`, m 16,
  ef_construction 64: the K nearest by Hamming distance (ef_search = max(K, 40)),
  re-ranked by exact cosine distance on the stored vectors to the top 10;
- `bit-m24`: the same with m 24, ef_construction 128.

Synthetic rows are `latent` vectors (bench/search_sql.py: a 32-d Gaussian latent
through a fixed random basis plus noise, as bench/search.py draws them) in a table of
`--rows`: store 0 holds ~24 % of it (as in bench/search.py), a small store 5 %;
the filter `pct = 3` keeps 1 % of store 0. Inserts are timed after the index is
built: `--inserts` pre-drawn rows moved in 100-row statements (like the ingest's
batched COPY), CPU read from the backend's /proc entry. SciFact (`--scifact`) embeds
the corpus and test queries with the built-in all-MiniLM-L6-v2 (cached under /tmp)
and adds nDCG@10.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect_kwargs, workspace
from index_scifact import SciFact, load_scifact
from search_sql import CREATE_BASIS, LATENT_VECTOR

from maia_vectordb.db.embedded import embedded_postgres

SMALL_SHARE = 20
OTHER_STORES = 3
INSERT_BATCH = 100
EF_SEARCH = 200
MAX_SCAN_TUPLES = 20000

VECTOR = LATENT_VECTOR.replace("$5", "$1")
SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
DROP TABLE IF EXISTS rows, stage;
CREATE TABLE rows (id bigint PRIMARY KEY, store int NOT NULL, pct int NOT NULL,
                   embedding halfvec NOT NULL);
CREATE INDEX rows_store ON rows (store, id);
CREATE TABLE stage (LIKE rows INCLUDING ALL);
"""
FILL = f"""
INSERT INTO {{table}} (id, store, pct, embedding)
SELECT i, CASE WHEN i % {SMALL_SHARE} = 0 THEN 9 ELSE i % {OTHER_STORES + 1} END,
       (i / 100) % 100, l2_normalize({VECTOR})::halfvec
FROM generate_series($2::int, $3::int - 1) AS i
"""
QUERY_VECTORS = f"SELECT l2_normalize({VECTOR})::halfvec::text FROM generate_series(1, $2) AS i"


@dataclass(frozen=True)
class Design:
    name: str
    opclass: str
    m: int = 16
    ef_construction: int = 64

    def key(self, dims: int) -> str:
        if self.opclass == "bit_hamming_ops":
            return f"(binary_quantize(embedding::halfvec({dims}))::bit({dims}))"
        return f"(embedding::halfvec({dims}))"

    def create(self, dims: int) -> str:
        if not self.opclass:
            return "SELECT 'no vector index'"
        return (
            f"CREATE INDEX rows_hnsw ON rows USING hnsw ({self.key(dims)} {self.opclass}) "
            f"WITH (m = {self.m}, ef_construction = {self.ef_construction})"
        )

    @property
    def binary(self) -> bool:
        return self.opclass == "bit_hamming_ops"


DESIGNS = (
    Design("none", ""),
    Design("halfvec", "halfvec_cosine_ops"),
    Design("halfvec-m8", "halfvec_cosine_ops", m=8),
    Design("halfvec-efc32", "halfvec_cosine_ops", ef_construction=32),
    Design("bit", "bit_hamming_ops"),
    Design("bit-m24", "bit_hamming_ops", m=24, ef_construction=128),
)


@dataclass(frozen=True)
class Scenario:
    name: str
    where: str

    @property
    def hidden(self) -> str:
        """As db/search.py does: the store hidden from its btree, so HNSW is the only plan."""
        return self.where.replace("store =", "store + 0 =")


SCENARIOS = (
    Scenario("unfiltered", "store = 0"),
    Scenario("1 % filter", "store = 0 AND pct = 3"),
    Scenario("small store", "store = 9"),
)


def exact_sql(dims: int, where: str, limit: int = 10) -> str:
    return (
        f"SELECT id FROM rows WHERE {where} "
        f"ORDER BY embedding::halfvec({dims}) <=> $1::halfvec({dims}) LIMIT {limit}"
    )


def reranked_sql(dims: int, where: str, pool: int, limit: int = 10) -> str:
    """Hamming candidates from the bit index, then exact cosine on the full vectors."""
    bits = f"binary_quantize($1::halfvec({dims}))::bit({dims})"
    return (
        f"WITH pool AS MATERIALIZED (SELECT id, embedding FROM rows WHERE {where} "
        f"ORDER BY binary_quantize(embedding::halfvec({dims}))::bit({dims}) <~> {bits} "
        f"LIMIT {pool}) SELECT id FROM pool "
        f"ORDER BY embedding::halfvec({dims}) <=> $1::halfvec({dims}) LIMIT {limit}"
    )


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


async def settings(conn: asyncpg.Connection, ef_search: int) -> None:
    """The server's settings for a large store (db/search.py `open_search`)."""
    await conn.execute(
        "SELECT set_config('enable_seqscan', 'off', false), "
        "set_config('hnsw.iterative_scan', 'relaxed_order', false), "
        "set_config('hnsw.ef_search', $1, false), set_config('hnsw.max_scan_tuples', $2, false)",
        str(ef_search),
        str(MAX_SCAN_TUPLES),
    )


async def fill(conn: asyncpg.Connection, dims: int, rows: int, inserts: int) -> float:
    """The table and the staged rows for the insert test; returns load seconds."""
    started = time.perf_counter()
    await conn.execute(SCHEMA)
    await conn.execute("SELECT setseed(0.5)")
    await conn.execute(CREATE_BASIS.format(dims=dims))
    for low in range(0, rows, 5000):
        await conn.execute(FILL.format(table="rows"), dims, low, min(low + 5000, rows))
        log(f"{dims}-d: loaded {min(low + 5000, rows)} rows")
    await conn.execute(FILL.format(table="stage"), dims, rows, rows + inserts)
    await conn.execute("VACUUM ANALYZE rows")
    return time.perf_counter() - started


async def timed_inserts(conn: asyncpg.Connection, first: int, inserts: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per row, moving staged rows `first`.. in 100-row statements. Each
    pass moves rows of its own: pgvector files a vector equal to an indexed one (a row
    inserted, deleted and inserted again) under the existing element, a far cheaper path."""
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    cpu, wall = process_cpu_seconds(pid), time.perf_counter()
    for low in range(first, first + inserts, INSERT_BATCH):
        await conn.execute(
            "INSERT INTO rows SELECT * FROM stage WHERE id >= $1 AND id < $2",
            low,
            low + INSERT_BATCH,
        )
    cpu, wall = process_cpu_seconds(pid) - cpu, time.perf_counter() - wall
    await conn.execute("DELETE FROM rows WHERE id >= $1", first)
    return cpu * 1000 / inserts, wall * 1000 / inserts


@dataclass
class Measured:
    recall: float
    cpu_ms: float


async def measure(
    conn: asyncpg.Connection, sql: str, queries: Sequence[str], truth: Sequence[list[int]]
) -> Measured:
    """Mean recall@10 against `truth` and backend CPU per query."""
    statement = await conn.prepare(sql)
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    await statement.fetch(queries[0])
    cpu, hits = process_cpu_seconds(pid), []
    for query, exact in zip(queries, truth, strict=True):
        found = {row[0] for row in await statement.fetch(query)}
        hits.append(len(found.intersection(exact)) / max(1, len(exact)))
    return Measured(statistics.fmean(hits), (process_cpu_seconds(pid) - cpu) * 1000 / len(queries))


async def exact_truth(
    conn: asyncpg.Connection, dims: int, where: str, queries: Sequence[str]
) -> list[list[int]]:
    statement = await conn.prepare(exact_sql(dims, where))
    return [[row[0] for row in await statement.fetch(q)] for q in queries]


async def uses_index(conn: asyncpg.Connection, sql: str, query: str) -> bool:
    plan = await conn.fetch(f"EXPLAIN {sql}", query)
    return any("rows_hnsw" in row[0] for row in plan)


async def recall_rows(
    conn: asyncpg.Connection, design: Design, dims: int, truth: Truth, pools: Sequence[int]
) -> list[list[str]]:
    table = []
    for scenario in SCENARIOS:
        runs = [(EF_SEARCH, exact_sql(dims, scenario.hidden))] if not design.binary else []
        runs += [(p, reranked_sql(dims, scenario.hidden, p)) for p in pools if design.binary]
        for pool, sql in runs:
            await settings(conn, max(pool, 40))
            if not await uses_index(conn, sql, truth.queries[0]):
                raise SystemExit(f"{design.name} {scenario.name}: the plan skips the index")
            got = await measure(conn, sql, truth.queries, truth.top10[scenario.name])
            label = f"ef_search {pool}" if not design.binary else f"K {pool}"
            table.append(
                [
                    f"{dims}",
                    design.name,
                    scenario.name,
                    label,
                    f"{got.recall:.3f}",
                    f"{got.cpu_ms:.2f}",
                    load_average(),
                ]
            )
            log(" ".join(table[-1]))
    return table


@dataclass
class Truth:
    """Query vectors and, per scenario, their exact top 10 (no vector index yet)."""

    queries: list[str]
    top10: dict[str, list[list[int]]]


async def exact_truths(conn: asyncpg.Connection, dims: int, count: int) -> Truth:
    await conn.execute("SELECT setseed(0.25)")
    queries = [r[0] for r in await conn.fetch(QUERY_VECTORS, dims, count)]
    await conn.execute("SET enable_seqscan = on")
    top10 = {s.name: await exact_truth(conn, dims, s.where, queries) for s in SCENARIOS}
    return Truth(queries, top10)


@dataclass
class Report:
    inserts: list[list[str]]
    recalls: list[list[str]]


async def design_pass(
    conn: asyncpg.Connection, design: Design, truth: Truth, args: argparse.Namespace, report: Report
) -> None:
    dims = len(truth.queries[0].split(","))
    await conn.execute("DROP INDEX IF EXISTS rows_hnsw")
    await conn.execute("CHECKPOINT")
    started = time.perf_counter()
    await conn.execute(design.create(dims))
    built = time.perf_counter() - started
    size = await conn.fetchval("SELECT coalesce(pg_relation_size(to_regclass('rows_hnsw')), 0)")
    log(f"{dims}-d {design.name}: built in {built:.0f} s, {size / 2**20:.0f} MB")
    if design.opclass:
        report.recalls += await recall_rows(conn, design, dims, truth, args.pools)
    for number, commit in enumerate(args.commit_modes):
        await conn.execute("SELECT set_config('synchronous_commit', $1, false)", commit)
        cpu, wall = await timed_inserts(conn, args.rows + number * args.inserts, args.inserts)
        row = [dims, design.name, args.rows, f"{built:.0f}", f"{size / 2**20:.0f}", commit]
        report.inserts.append([*map(str, row), f"{cpu:.2f}", f"{wall:.2f}", load_average()])
        log(" ".join(report.inserts[-1]))
    await conn.execute("RESET synchronous_commit")


async def synthetic(conn: asyncpg.Connection, args: argparse.Namespace, report: Report) -> None:
    await conn.execute("SET maintenance_work_mem = '2GB'; SET max_parallel_maintenance_workers = 0")
    for dims in args.dims:
        seconds = await fill(conn, dims, args.rows, args.inserts * len(args.commit_modes))
        log(f"{dims}-d: {args.rows} rows in {seconds:.0f} s")
        truth = await exact_truths(conn, dims, args.queries)
        for design in DESIGNS:
            if design.name in args.designs:
                await design_pass(conn, design, truth, args, report)


async def run(url: str, args: argparse.Namespace) -> str:
    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    report = Report([], [])
    try:
        await synthetic(conn, args, report)
        quality = await load_scifact(conn, args) if args.scifact else None
    finally:
        await conn.close()
    return render(report, quality)


def render(report: Report, quality: SciFact | None) -> str:
    inserts = [
        "dims",
        "design",
        "rows",
        "build s",
        "index MB",
        "synchronous_commit",
        "insert CPU ms/row",
        "insert wall ms/row",
        "load avg",
    ]
    recalls = ["dims", "design", "scenario", "setting", "recall@10", "PG CPU ms/search", "load avg"]
    parts = []
    if report.inserts:
        parts.append(
            "Inserts (after the index is built):\n\n" + markdown_table(inserts, report.inserts)
        )
    if report.recalls:
        parts.append(
            "Recall@10 against exact (latent vectors):\n\n"
            + markdown_table(recalls, report.recalls)
        )
    if quality is not None:
        parts.append(quality.render())
    return "\n\n".join(parts)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dims", type=ints, default=[1536, 384])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--inserts", type=int, default=2000)
    parser.add_argument("--pools", type=ints, default=[40, 100, 200, 400])
    parser.add_argument("--designs", default="halfvec,bit,bit-m24")
    parser.add_argument("--commit-modes", default="on", help="synchronous_commit values")
    parser.add_argument("--scifact", type=Path, default=None)
    parser.add_argument("--model-path", type=Path, default=None)
    parser.add_argument("--keep-data", type=Path, default=None)
    args = parser.parse_args()
    args.designs = args.designs.split(",")
    args.commit_modes = args.commit_modes.split(",")
    return args


def main() -> None:
    args = parse()
    with (
        workspace(args.keep_data) as root,
        embedded_postgres(root / "pgdata", delete_on_exit=args.keep_data is None) as url,
    ):
        report = asyncio.run(run(url, args))
    print(report)
    print(f"\nMachine: {machine()}.")


if __name__ == "__main__":
    main()
