"""Search benchmark: latency, throughput and recall@10 of the live server over N chunks.

    uv run python bench/search.py [--chunks 100000] [--stores 5] [--dims 1536]
        [--queries 300] [--concurrency 1,8,32] [--keep-data DIR] [--data random|latent]
        [--server-workers 1] [--client raw|httpx]

Starts an embedded PostgreSQL, loads N chunks (random unit vectors, or `--data latent`
for the low intrinsic dimension of real embeddings) into `--stores` stores, times the
HNSW index build, then starts `maia_vectordb serve` (and a fake OpenAI embeddings
server that answers from a table of query vectors) and searches one store over HTTP:
pure vector, vector + attribute filter, and hybrid. Recall@10 is measured against an
exact scan. The same top-10 statement in plain SQL, at pgvector's defaults and at the
server's HNSW settings, separates the database's share from the API's. Prints a
markdown report on stdout; progress goes to stderr. `--client` picks the load generator
(search_client.py): plain keep-alive connections (`raw`, the default) or httpx (`httpx`,
the client before issue 10's fifth pass); the report states which, and its CPU per search.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from cpu import CpuMeter
from harness import (
    fake_openai,
    log,
    maia_server,
    pg_connect,
    pg_connect_kwargs,
    pseudo_words,
    workspace,
)
from search_client import CLIENTS, search_client
from search_data import DATA_KINDS, Built, Layout, latent_basis, prepare
from search_plans import baseline_plans, service_plans
from search_queries import Basis, QuerySet, exact_top_k, recall
from search_report import Measured, render
from search_runs import SQL_VARIANTS, ApiBench, Run, sql_run

from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec

SEED = 20261123
# The model the stores record and the server is configured with (search_data inserts it).
BENCH_MODEL = "text-embedding-3-small"
VOCABULARY = 500
WARMUP = 100
RECALL_QUERIES = 50
# Timed through the API at every concurrency level; the first three are also measured for
# recall against an exact scan, the first two in plain SQL.
API_MODES = ("vector", "filtered", "small", "keyword", "hybrid", "hybrid-filtered")
RECALL_MODES = ("vector", "filtered", "small")
MODES = ("vector", "filtered")


@dataclass(frozen=True)
class Options:
    layout: Layout
    queries: int
    concurrency: tuple[int, ...]
    keep_data: Path | None
    server_workers: int
    client: str

    @property
    def query_count(self) -> int:
        # API modes at each level and each SQL variant for each SQL mode.
        api = len(API_MODES) * len(self.concurrency)
        timed = self.queries * (api + len(MODES) * len(SQL_VARIANTS))
        return len(API_MODES) * WARMUP + RECALL_QUERIES + timed


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the table")
    parser.add_argument("--stores", type=int, default=5, help="stores sharing them")
    parser.add_argument("--dims", type=int, default=1536, help="embedding dimensions")
    parser.add_argument("--queries", type=int, default=300, help="searches per timed run")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    parser.add_argument("--keep-data", type=Path, default=None, help="keep (and reuse) data here")
    parser.add_argument(
        "--data", choices=DATA_KINDS, default="random", help="vector distribution (see search_data)"
    )
    parser.add_argument("--server-workers", type=int, default=1, help="serve --workers N")
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="raw",
        help="the load generator: plain keep-alive connections (raw) or httpx (before pass 5)",
    )
    args = parser.parse_args()
    levels = tuple(int(level) for level in args.concurrency.split(","))
    layout = Layout(args.chunks, args.stores, args.dims, args.data)
    return Options(layout, args.queries, levels, args.keep_data, args.server_workers, args.client)


async def api_runs(
    base_url: str, opts: Options, queries: QuerySet, recall_set: range, meter: CpuMeter
) -> tuple[list[Run], dict[str, Run]]:
    """Warm up, time every mode at every concurrency, then one pass over the recall set."""
    async with search_client(opts.client, base_url, max(opts.concurrency)) as client:
        bench = ApiBench(client, opts.layout, queries, meter)
        for mode in API_MODES:
            await bench.run(mode, queries.take(WARMUP), max(opts.concurrency))
        runs = []
        for mode in API_MODES:
            for level in opts.concurrency:
                log(f"API {mode} at concurrency {level}")
                runs.append(await bench.run(mode, queries.take(opts.queries), level))
        recall_runs = {mode: await bench.run(mode, recall_set, 1) for mode in RECALL_MODES}
    return runs, recall_runs


async def ground_truth(
    connect: dict[str, str], store: str, queries: QuerySet, numbers: range, *, filtered: bool
) -> dict[int, list[str]]:
    """Exact top-k for each query, over two connections (each scan uses one core)."""

    async def part(offset: int) -> dict[int, list[str]]:
        conn = await pg_connect(connect)
        try:
            return {
                n: await exact_top_k(conn, store, queries.vector(n), filtered=filtered)
                for n in numbers[offset::2]
            }
        finally:
            await conn.close()

    halves = await asyncio.gather(part(0), part(1))
    return {**halves[0], **halves[1]}


async def sql_runs(
    connect: dict[str, str], opts: Options, queries: QuerySet, recall_set: range
) -> tuple[list[Run], dict[str, Run]]:
    """Each SQL variant and mode: a timed run, then a pass over the recall set."""
    conn = await pg_connect(connect)
    timed, passes = [], {}
    try:
        for variant in SQL_VARIANTS:
            for mode in MODES:
                search = partial(
                    sql_run, conn, opts.layout, queries, variant=variant, filtered=mode != "vector"
                )
                timed.append(await search(queries.take(opts.queries)))
                passes[f"{variant}-{mode}"] = await search(recall_set)
    finally:
        await conn.close()
    return timed, passes


def mean_recall(run: Run, truth: dict[int, list[str]]) -> float:
    return sum(recall(run.found.get(n, []), t) for n, t in truth.items()) / len(truth)


async def measure(
    url: str, base_url: str, opts: Options, queries: QuerySet, meter: CpuMeter
) -> Measured:
    connect = pg_connect_kwargs(url)
    recall_set = queries.take(RECALL_QUERIES)
    runs, api_passes = await api_runs(base_url, opts, queries, recall_set, meter)
    log("exact top-10 for the recall set")
    layout = opts.layout
    truth = {
        mode: await ground_truth(
            connect,
            layout.small if mode == "small" else layout.target,
            queries,
            recall_set,
            filtered=mode == "filtered",
        )
        for mode in RECALL_MODES
    }
    log("plain SQL")
    sql_timed, sql_passes = await sql_runs(connect, opts, queries, recall_set)
    recalls = {m: mean_recall(api_passes[m], truth[m]) for m in RECALL_MODES}
    recalls |= {
        name: mean_recall(run, truth[name.split("-")[1]]) for name, run in sql_passes.items()
    }
    vector = queries.vector(recall_set[0])
    plans = await service_plans(url, opts.layout, vector)
    sql_plans = await baseline_plans(connect, opts.layout, vector)
    return Measured(runs, sql_timed, recalls, plans, sql_plans, await versions(connect))


async def versions(connect: dict[str, str]) -> str:
    conn = await pg_connect(connect)
    try:
        server = await conn.fetchval("SHOW server_version")
        vector = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        buffers = await conn.fetchval("SHOW shared_buffers")
    finally:
        await conn.close()
    return f"PostgreSQL {server} + pgvector {vector} (embedded, shared_buffers={buffers})"


async def load_data(
    url: str, opts: Options, words: list[str], root: Path
) -> tuple[Built, Basis | None]:
    """The data set (loaded now or kept), and the latent basis if the data has one."""
    await upgrade_head(url, ModelSpec("openai", BENCH_MODEL, opts.layout.dims))
    built = await prepare(pg_connect_kwargs(url), opts.layout, words, root)
    latent = opts.layout.data == "latent"
    return built, await latent_basis(pg_connect_kwargs(url)) if latent else None


def main() -> None:
    opts = parse_args()
    rng = random.Random(SEED)
    words = pseudo_words(VOCABULARY, rng)
    with workspace(opts.keep_data) as root, embedded_postgres(root / "pgdata") as url:
        built, basis = asyncio.run(load_data(url, opts, words, root))
        queries = QuerySet.generate(opts.query_count, opts.layout.dims, words, SEED, basis)
        files = queries.write(root)
        with (
            fake_openai(root, dims=opts.layout.dims, queries=files) as embed_url,
            maia_server(
                root,
                "--workers",
                str(opts.server_workers),
                DATABASE_URL=url,
                EMBEDDING_DIMENSIONS=str(opts.layout.dims),
                EMBEDDING_PROVIDER="openai",
                EMBEDDING_BASE_URL=embed_url,
                OPENAI_API_KEY="x",
                INGEST_WORKERS="0",
            ) as server,
        ):
            meter = CpuMeter.of(server.pid, root / "pgdata")
            measured = asyncio.run(measure(url, server.base_url, opts, queries, meter))
    print(render(opts.layout, built, measured, opts.server_workers, opts.client))


if __name__ == "__main__":
    main()
