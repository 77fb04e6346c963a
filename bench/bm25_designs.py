"""Two ways to compute Okapi BM25 inside PostgreSQL, timed on the same data.

    uv run --frozen python bench/bm25_designs.py DATASET_DIR [--copies 20]

The BEIR corpus is loaded `--copies` times into one store of a scratch table (SciFact
x 20 = 103,660 chunks), then every test query is ranked (top 10, k1 1.2, b 0.75) by:

- `postings`: the shipped design, an inverted table (store, term, chunk) -> tf, length
  read by primary-key range per query term, df counted from the postings read;
- `tsvector`: a GIN index on the chunk tsvector finds the chunks matching any query
  term, a (store, term) -> df table gives IDF, and tf comes from `unnest(tsvector)` of
  each matching chunk.

Both give the same scores; the report is build time, size, and latency per query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
from harness import log, machine, markdown_table, percentiles, pg_connect_kwargs

from maia_vectordb.db.embedded import embedded_postgres

SCHEMA = """
CREATE TABLE docs (id bigint PRIMARY KEY, store text NOT NULL, body text NOT NULL,
                   tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED);
"""
BUILD = {
    "postings": """
        CREATE TABLE postings AS
        SELECT d.store, t.lexeme AS term, d.id AS chunk_id,
               coalesce(array_length(t.positions, 1), 1) AS tf, l.length
        FROM docs d CROSS JOIN LATERAL unnest(d.tsv) t
        CROSS JOIN LATERAL (SELECT sum(coalesce(array_length(u.positions, 1), 1))::int AS length
                            FROM unnest(d.tsv) u) l;
        ALTER TABLE postings ADD PRIMARY KEY (store, term, chunk_id);
    """,
    "tsvector": """
        CREATE INDEX docs_tsv ON docs USING gin (tsv);
        CREATE TABLE dfs AS SELECT d.store, t.lexeme AS term, count(*) AS df
        FROM docs d CROSS JOIN LATERAL unnest(d.tsv) t GROUP BY 1, 2;
        ALTER TABLE dfs ADD PRIMARY KEY (store, term);
    """,
}
STATS = """
CREATE TABLE stats AS SELECT store, count(*)::float8 AS n,
    avg((SELECT sum(coalesce(array_length(u.positions, 1), 1)) FROM unnest(tsv) u))::float8 AS avgdl
FROM docs GROUP BY store;
"""
QUERIES = {
    "postings": """
        WITH p AS (SELECT term, chunk_id, tf::float8 tf, length::float8 length,
                          count(*) OVER (PARTITION BY term)::float8 df
                   FROM postings WHERE store = 's'
                   AND term = ANY(tsvector_to_array(to_tsvector('english', $1))))
        SELECT chunk_id, sum(ln(1 + (s.n - df + 0.5) / (df + 0.5))
                             * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / s.avgdl))) AS score
        FROM p, stats s WHERE s.store = 's'
        GROUP BY chunk_id ORDER BY score DESC, chunk_id LIMIT 10
    """,
    "tsvector": """
        WITH q AS (SELECT replace(strip(to_tsvector('english', $1))::text, ' ', ' | ')::tsquery tq),
        c AS (SELECT d.id, d.tsv FROM docs d, q WHERE d.store = 's' AND d.tsv @@ q.tq),
        u AS (SELECT c.id, t.lexeme, coalesce(array_length(t.positions, 1), 1)::float8 tf,
                     sum(coalesce(array_length(t.positions, 1), 1))
                         OVER (PARTITION BY c.id)::float8 length
              FROM c CROSS JOIN LATERAL unnest(c.tsv) t)
        SELECT u.id, sum(ln(1 + (s.n - f.df + 0.5) / (f.df + 0.5))
                         * u.tf * 2.2 / (u.tf + 1.2 * (0.25 + 0.75 * u.length / s.avgdl))) AS score
        FROM u JOIN dfs f ON f.store = 's' AND f.term = u.lexeme, stats s
        WHERE s.store = 's' GROUP BY u.id ORDER BY score DESC, u.id LIMIT 10
    """,
}


async def load(conn: asyncpg.Connection, dataset: Path, copies: int) -> int:
    await conn.execute(SCHEMA)
    bodies = []
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            bodies.append(f"{row.get('title') or ''}\n\n{row.get('text') or ''}")
    records = [
        (copy * len(bodies) + i, "s", body)
        for copy in range(copies)
        for i, body in enumerate(bodies)
    ]
    await conn.copy_records_to_table("docs", records=records, columns=["id", "store", "body"])
    await conn.execute(STATS)
    return len(records)


async def size_mb(conn: asyncpg.Connection, design: str) -> float:
    relations = ("postings",) if design == "postings" else ("docs_tsv", "dfs")
    total = 0
    for name in relations:
        total += await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", name)
    return total / 2**20


async def run(url: str, dataset: Path, copies: int) -> str:
    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    try:
        rows = await load(conn, dataset, copies)
        log(f"loaded {rows} chunks")
        queries = [json.loads(line)["text"] for line in (dataset / "queries.jsonl").open()][:300]
        table = []
        for design, build in BUILD.items():
            started = time.perf_counter()
            await conn.execute(build)
            built = time.perf_counter() - started
            await conn.execute("ANALYZE")
            table.append(await timed(conn, design, queries, built))
            log(f"{design}: {table[-1]}")
        same = await agree(conn, queries)
    finally:
        await conn.close()
    headers = ["design", "build (s)", "size (MB)", "p50 (ms)", "p95 (ms)", "mean (ms)"]
    return (
        f"{rows} chunks in one store; identical top 10 on {same} of {len(queries)} queries\n\n"
        + markdown_table(headers, table)
    )


async def timed(
    conn: asyncpg.Connection, design: str, queries: list[str], built: float
) -> list[object]:
    statement = await conn.prepare(QUERIES[design])
    for query in queries[:20]:
        await statement.fetch(query)
    samples = []
    for query in queries:
        started = time.perf_counter()
        await statement.fetch(query)
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95, _ = percentiles(samples)
    mb = await size_mb(conn, design)
    return [
        design,
        f"{built:.0f}",
        f"{mb:.0f}",
        f"{p50:.1f}",
        f"{p95:.1f}",
        f"{statistics.fmean(samples):.1f}",
    ]


async def agree(conn: asyncpg.Connection, queries: list[str]) -> int:
    same = 0
    for query in queries:
        a = [r["chunk_id"] for r in await conn.fetch(QUERIES["postings"], query)]
        b = [r["id"] for r in await conn.fetch(QUERIES["tsvector"], query)]
        same += a == b
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="maia-bench-bm25-") as tmp,
        embedded_postgres(Path(tmp) / "pgdata", delete_on_exit=True) as url,
    ):
        report = asyncio.run(run(url, args.dataset, args.copies))
    print(report)
    print(f"\nMachine: {machine()}.")


if __name__ == "__main__":
    main()
