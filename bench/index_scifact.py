"""The SciFact leg of bench/index_designs.py: real MiniLM embeddings, recall and nDCG@10.

Each document (title + abstract, as bench/quality.py uploads it; almost every one is a
single chunk) and each test query is embedded with the service's own local embedder
(all-MiniLM-L6-v2, 384-d), cached in /tmp so reruns skip the ~minutes of inference.
The table holds only SciFact (5,183 rows, above the exact-scan threshold of 2,000, so
the service searches it through HNSW).
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import quality_metrics as qm
from harness import log, markdown_table

from maia_vectordb.config import Settings
from maia_vectordb.embeddings import LocalModelEmbeddings

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
CACHE = Path("/tmp/maia-bench-scifact-minilm.json")
DIMS = 384
EF_SEARCH = 200
DESIGNS = {
    "halfvec": f"USING hnsw ((embedding::halfvec({DIMS})) halfvec_cosine_ops)",
    "bit": f"USING hnsw ((binary_quantize(embedding::halfvec({DIMS}))::bit({DIMS})) "
    "bit_hamming_ops)",
}


@dataclass
class SciFact:
    rows: list[list[str]] = field(default_factory=list)

    def render(self) -> str:
        headers = ["design", "setting", "recall@10 vs exact", "nDCG@10", "load avg"]
        return (
            "SciFact (test queries), all-MiniLM-L6-v2 384-d, one row per document:\n\n"
            + markdown_table(headers, self.rows)
        )


Vectors = dict[str, dict[str, list[float]]]


def cached() -> Vectors | None:
    return json.loads(CACHE.read_text()) if CACHE.exists() else None  # type: ignore[no-any-return]


async def embeddings(dataset: Path, model_path: Path) -> Vectors:
    """{"docs": {doc_id: vector}, "queries": {query_id: vector}}, from the cache if there."""
    found = cached()
    if found is not None:
        return found
    settings = Settings(EMBEDDING_MODEL_PATH=model_path, _env_file=None)  # type: ignore[call-arg]
    model = LocalModelEmbeddings(settings)
    documents = list(qm.corpus(dataset))
    queries = qm.queries(dataset, qm.qrels(dataset, "test"))
    log(f"embedding {len(documents)} documents with MiniLM (cached in {CACHE})")
    vectors = await model.embed([d.body() for d in documents])
    asked = await model.embed(list(queries.values()))
    result = {
        "docs": {d.doc_id: v for d, v in zip(documents, vectors, strict=True)},
        "queries": dict(zip(queries, asked, strict=True)),
    }
    write_cache(result)
    return result


def write_cache(result: Vectors) -> None:
    CACHE.write_text(json.dumps(result))


def literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


async def top10(conn: asyncpg.Connection, sql: str, queries: dict[str, str]) -> dict[str, list]:
    statement = await conn.prepare(sql)
    return {q: [r[0] for r in await statement.fetch(v)] for q, v in queries.items()}


def scores(
    found: dict[str, list[str]], exact: dict[str, list[str]], judged: qm.Qrels
) -> tuple[float, float]:
    recall = statistics.fmean(len(set(found[q]) & set(exact[q])) / 10 for q in found)
    ndcg = statistics.fmean(qm.ndcg(found[q], judged[q], 10) for q in found)
    return recall, ndcg


async def fill(conn: asyncpg.Connection, vectors: dict[str, list[float]]) -> None:
    await conn.execute(
        "CREATE EXTENSION IF NOT EXISTS vector; DROP TABLE IF EXISTS sci; "
        "CREATE TABLE sci (doc text PRIMARY KEY, embedding halfvec)"
    )
    records = [(doc, literal(v)) for doc, v in vectors.items()]
    await conn.executemany("INSERT INTO sci VALUES ($1, $2::halfvec)", records)
    await conn.execute("VACUUM ANALYZE sci")


def sql_for(design: str, pool: int) -> str:
    order = f"embedding::halfvec({DIMS}) <=> $1::halfvec({DIMS})"
    if design != "bit":
        return f"SELECT doc FROM sci ORDER BY {order} LIMIT 10"
    bits = f"binary_quantize(embedding::halfvec({DIMS}))::bit({DIMS})"
    query_bits = f"binary_quantize($1::halfvec({DIMS}))::bit({DIMS})"
    return (
        f"WITH pool AS MATERIALIZED (SELECT doc, embedding FROM sci "
        f"ORDER BY {bits} <~> {query_bits} LIMIT {pool}) "
        f"SELECT doc FROM pool ORDER BY {order} LIMIT 10"
    )


async def load_scifact(conn: asyncpg.Connection, args: argparse.Namespace) -> SciFact:
    from index_designs import load_average, settings

    data = await embeddings(args.scifact, args.model_path or MODEL)
    judged = qm.qrels(args.scifact, "test")
    queries = {q: literal(v) for q, v in data["queries"].items()}
    await fill(conn, data["docs"])
    await conn.execute("SET enable_indexscan = off")
    exact = await top10(conn, sql_for("exact", 0), queries)
    await conn.execute("RESET enable_indexscan")
    result = SciFact([["exact", "", "1.000", f"{scores(exact, exact, judged)[1]:.4f}", ""]])
    for design, using in DESIGNS.items():
        await conn.execute(f"DROP INDEX IF EXISTS sci_hnsw; CREATE INDEX sci_hnsw ON sci {using}")
        await conn.execute("SET enable_seqscan = off")
        pools = [EF_SEARCH] if design == "halfvec" else args.pools
        for pool in pools:
            await settings(conn, max(pool, 40))
            recall, ndcg = scores(await top10(conn, sql_for(design, pool), queries), exact, judged)
            label = f"ef_search {pool}" if design == "halfvec" else f"K {pool}"
            result.rows.append([design, label, f"{recall:.3f}", f"{ndcg:.4f}", load_average()])
            log("SciFact " + " ".join(result.rows[-1]))
        await conn.execute("RESET enable_seqscan")
    return result


if __name__ == "__main__":
    raise SystemExit("run bench/index_designs.py --scifact DIR")
