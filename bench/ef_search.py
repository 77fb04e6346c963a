"""Recall, nDCG and PostgreSQL CPU per search against `hnsw.ef_search`: the evidence for
`SEARCH_EF_SEARCH`'s default.

    uv run python bench/ef_search.py --keep-data DIR [--chunks 100000 --stores 5]
        [--ef 32,40,64,100] [--queries 200] [--rounds 3] [--scifact ../shared/data/beir/scifact]

`--keep-data DIR` is a latent data set kept by `bench/search.py --data latent --keep-data
DIR` with the same `--chunks` and `--stores` (the searched store's own HNSW index must be
valid: run bench/search.py on it once more if an interrupted build left it invalid).
Each query runs the plain top-10 statement on the store's own index with the server's
other per-search settings (iterative scan `relaxed_order`, `max_scan_tuples`),
unfiltered and with the 1 % filter; the ef values take turns within each round so load
drift falls on all of them alike. Recall is against the exact top 10; CPU is the
backend's own (from /proc) per query, so coarse (clock ticks): trust p50 for small gaps.

`--scifact` adds the real-model check: SciFact's 5,183 documents and 300 test queries,
embedded with all-MiniLM-L6-v2 (cached by bench/index_scifact.py), in a table with one
HNSW index (the builder's m = 16, ef_construction = 64); nDCG@10 and recall per ef.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect, pg_connect_kwargs
from index_designs import load_average, settings
from index_scifact import embeddings, fill, literal, scores, sql_for, top10
from quality_metrics import qrels
from search_data import Layout, latent_basis
from search_queries import QuerySet, chunk_key, exact_top_k, recall, top_k_sql

from maia_vectordb.db.embedded import embedded_postgres

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
Tally = dict[tuple[bool, int], list[float]]
# Query texts only label the vectors here (QuerySet wants distinct pairs of words).
WORDS = [f"w{i}" for i in range(64)]


async def _timed(conn: asyncpg.Connection, pid: int, sql: str, vector: list[float]) -> tuple:
    before, started = process_cpu_seconds(pid), time.perf_counter()
    rows = await conn.fetch(sql, vector)
    wall = time.perf_counter() - started
    return [chunk_key(r["text"]) for r in rows], process_cpu_seconds(pid) - before, wall


async def latent(connect: dict[str, str], args: argparse.Namespace) -> list[list[str]]:
    layout = Layout(args.chunks, args.stores, 1536, "latent")
    conn = await pg_connect(connect)
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    queries = QuerySet.generate(args.queries, 1536, WORDS, 7, await latent_basis(connect))
    found: Tally = defaultdict(list)
    cpu: Tally = defaultdict(list)
    wall: Tally = defaultdict(list)
    for filtered in (False, True):
        truth = [
            await exact_top_k(conn, layout.target, queries.vector(i), filtered=filtered)
            for i in range(args.queries)
        ]
        sql = top_k_sql(filtered=filtered, dims=1536, store=layout.target, indexed=True)
        for _ in range(args.rounds):
            for ef in args.ef:
                await settings(conn, ef)
                for i in range(args.queries):
                    keys, seconds, elapsed = await _timed(conn, pid, sql, queries.vector(i))
                    found[filtered, ef].append(recall(keys, truth[i]))
                    cpu[filtered, ef].append(seconds)
                    wall[filtered, ef].append(elapsed)
            log(f"latent filtered={filtered}: a round done, load {load_average()}")
    await conn.close()
    return [
        [
            "1 % filter" if filtered else "unfiltered",
            str(ef),
            f"{statistics.fmean(found[filtered, ef]):.3f}",
            f"{statistics.median(wall[filtered, ef]) * 1000:.2f}",
            f"{statistics.fmean(cpu[filtered, ef]) * 1000:.2f}",
        ]
        for filtered in (False, True)
        for ef in args.ef
    ]


async def scifact(connect: dict[str, str], args: argparse.Namespace) -> list[list[str]]:
    data = await embeddings(args.scifact, MODEL)
    judged = qrels(args.scifact, "test")
    queries = {q: literal(v) for q, v in data["queries"].items()}
    conn = await asyncpg.connect(**connect)
    await fill(conn, data["docs"])
    await conn.execute("SET enable_indexscan = off")
    exact = await top10(conn, sql_for("exact", 0), queries)
    await conn.execute("RESET enable_indexscan")
    rows = [["exact", "1.000", f"{scores(exact, exact, judged)[1]:.4f}"]]
    await conn.execute(
        "CREATE INDEX sci_hnsw ON sci USING hnsw ((embedding::halfvec(384)) "
        "halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )
    for ef in args.ef:
        await settings(conn, ef)
        found, ndcg = scores(await top10(conn, sql_for("halfvec", 0), queries), exact, judged)
        rows.append([f"ef_search {ef}", f"{found:.3f}", f"{ndcg:.4f}"])
    await conn.execute("DROP TABLE sci")
    await conn.close()
    return rows


async def run(url: str, args: argparse.Namespace) -> None:
    connect = pg_connect_kwargs(url)
    print(f"## hnsw.ef_search sweep\n\n- {machine()}\n")
    if args.keep_data:
        headers = [
            f"{args.chunks} latent, searched store",
            "ef_search",
            "recall@10",
            "p50 ms",
            "PG CPU ms",
        ]
        print(markdown_table(headers, await latent(connect, args)) + "\n")
    if args.scifact:
        headers = ["SciFact, MiniLM", "recall@10 vs exact", "nDCG@10"]
        print(markdown_table(headers, await scifact(connect, args)) + "\n")
    print(f"load average at the end: {load_average()}")


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-data", type=Path, default=None)
    parser.add_argument("--scifact", type=Path, default=None)
    parser.add_argument("--chunks", type=int, default=100_000, help="as given to bench/search.py")
    parser.add_argument("--stores", type=int, default=5, help="as given to bench/search.py")
    parser.add_argument(
        "--ef", type=lambda s: [int(x) for x in s.split(",")], default=[32, 40, 64, 100]
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.keep_data and not args.scifact:
        parser.error("give --keep-data, --scifact or both")
    return args


def main() -> None:
    args = parse()
    pgdata = (
        (args.keep_data / "pgdata")
        if args.keep_data
        else Path(os.environ.get("TMPDIR", "/tmp")) / "ef-search-pg"
    )
    with embedded_postgres(pgdata, delete_on_exit=args.keep_data is None) as url:
        asyncio.run(run(url, args))


if __name__ == "__main__":
    main()
