"""Retrieval quality through the public API on any BEIR-layout folder.

    uv run --frozen python bench/quality.py DATASET_DIR [--embedder hash|local|openai]

Every document becomes one small file (title, blank line, text) attached with its id
as the attribute `doc_id`; every query of the split is searched in each mode, and
nDCG@10 / Recall@10 (trec_eval definitions, graded relevance; no result scores 0) are
printed per mode with ingest time and search latency. A result list holds chunks: a
document counts at its best-ranked chunk. `--embedder local` is the service's built-in
all-MiniLM-L6-v2 (files from `--model-path`, default ../shared/models/all-MiniLM-L6-v2);
`--embedder hash` (the lexical hashing embedder, the default) needs no model; `openai`
uses `--embed-url` (any OpenAI-compatible server). Keyword quality does not depend on
the embedder.
`--keep-data DIR` keeps the database and reuses an ingested store on the next run.
`--index-min-chunks N` sets `VECTOR_INDEX_MIN_CHUNKS` so a store of N chunks or more is
searched through its own HNSW index (at the default `SEARCH_EF_SEARCH`), waited for
before the queries: the quality a larger store gets, on this data set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import quality_metrics as qm
from harness import (
    log,
    machine,
    maia_server,
    markdown_table,
    revision,
    workspace,
)
from ingest_base import wait_for_index
from ingest_client import attach_files, upload_texts, wait_done
from quality_fusion import study

from ingest import pg_socket, postgres_stopped_after

MODES = ("vector", "keyword", "hybrid")
SHARED_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "all-MiniLM-L6-v2"
K = 10
FETCH = 20
STATE = "quality-store.json"


@dataclass(frozen=True)
class Options:
    dataset: Path
    split: str
    embedder: str
    model_path: Path
    embed_url: str | None
    keep_data: Path | None
    modes: tuple[str, ...]
    fusion_study: bool
    index_min_chunks: int | None


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--embedder", choices=("hash", "local", "openai"), default="hash")
    parser.add_argument(
        "--model-path", type=Path, default=SHARED_MODEL, help="EMBEDDING_MODEL_PATH for local"
    )
    parser.add_argument("--embed-url", default=None, help="OpenAI-compatible /v1 base URL")
    parser.add_argument("--keep-data", type=Path, default=None)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--fusion-study", action="store_true", help="compare fusion methods")
    parser.add_argument(
        "--index-min-chunks",
        type=int,
        default=None,
        help="VECTOR_INDEX_MIN_CHUNKS: below the store's size, search it through its own "
        "HNSW index (waited for) instead of exactly",
    )
    a = parser.parse_args()
    if a.embedder == "openai" and a.embed_url is None and "OPENAI_API_KEY" not in os.environ:
        parser.error("--embedder openai needs --embed-url or OPENAI_API_KEY")
    modes = tuple(m for m in a.modes.split(",") if m)
    return Options(
        a.dataset,
        a.split,
        a.embedder,
        a.model_path,
        a.embed_url,
        a.keep_data,
        modes,
        a.fusion_study,
        a.index_min_chunks,
    )


def embedder_settings(opts: Options) -> dict[str, str]:
    if opts.embedder == "hash":
        return {"EMBEDDING_PROVIDER": "hash", "EMBEDDING_DIMENSIONS": "384"}
    if opts.embedder == "local":
        return {"EMBEDDING_PROVIDER": "local", "EMBEDDING_MODEL_PATH": str(opts.model_path)}
    return {
        "EMBEDDING_PROVIDER": "openai",
        "EMBEDDING_BASE_URL": opts.embed_url or "",
        "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "x"),
    }


async def ensure_store(client: httpx.AsyncClient, root: Path, opts: Options) -> tuple[str, float]:
    """The ingested store (reused from `root` when an earlier run left one) and ingest seconds."""
    state = root / STATE
    if state.exists():
        saved = json.loads(state.read_text())
        log(f"reusing store {saved['store_id']} ingested in {saved['seconds']:.0f} s")
        return str(saved["store_id"]), float(saved["seconds"])
    documents = list(qm.corpus(opts.dataset))
    started = time.perf_counter()
    file_ids = await upload_texts(client, [(f"{d.doc_id}.txt", d.body()) for d in documents])
    log(f"uploaded {len(file_ids)} files in {time.perf_counter() - started:.0f} s")
    attributes = [{"doc_id": d.doc_id} for d in documents]
    store_id, batches = await attach_files(client, file_ids, attributes, opts.dataset.name)
    failed = await wait_done(client, store_id, batches)
    seconds = time.perf_counter() - started
    log(f"ingested {len(documents)} documents in {seconds:.0f} s, {failed} failed")
    state.write_text(json.dumps({"store_id": store_id, "seconds": seconds}))
    return store_id, seconds


@dataclass
class ModeResult:
    ndcg: float
    recall: float
    empty: int
    p50_ms: float


async def run_mode(
    client: httpx.AsyncClient, store_id: str, mode: str, queries: dict[str, str], judged: qm.Qrels
) -> ModeResult:
    ndcgs, recalls, latencies, empty = [], [], [], 0
    for query_id, text in queries.items():
        body = {"query": text, "max_num_results": FETCH, "search_mode": mode}
        started = time.perf_counter()
        response = await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        ranked = list(dict.fromkeys(r["attributes"]["doc_id"] for r in response.json()["data"]))
        empty += not ranked
        ndcgs.append(qm.ndcg(ranked, judged[query_id], K))
        recalls.append(qm.recall(ranked, judged[query_id], K))
    mean = statistics.fmean
    return ModeResult(mean(ndcgs), mean(recalls), empty, statistics.median(latencies))


async def indexed(pgdata: Path, store_id: str) -> None:
    """Wait until the serving process's index builder has given the store its index."""
    conn = await asyncpg.connect(**pg_socket(pgdata))
    try:
        started = time.perf_counter()
        await wait_for_index(conn, store_id)
        log(f"store index valid after {time.perf_counter() - started:.0f} s")
    finally:
        await conn.close()


async def measure(
    base_url: str, root: Path, opts: Options
) -> tuple[float, dict[str, ModeResult], str]:
    judged = qm.qrels(opts.dataset, opts.split)
    queries = qm.queries(opts.dataset, judged)
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        store_id, seconds = await ensure_store(client, root, opts)
        if opts.index_min_chunks is not None:
            await indexed(root / "data" / "pgdata", store_id)
        results = {}
        for mode in opts.modes:
            results[mode] = await run_mode(client, store_id, mode, queries, judged)
            log(f"{mode}: nDCG@10 {results[mode].ndcg:.4f}")
        fused = await study(client, store_id, queries, judged) if opts.fusion_study else ""
    return seconds, results, fused


def render(opts: Options, seconds: float, results: dict[str, ModeResult], count: int) -> str:
    rows = [
        [m, f"{r.ndcg:.4f}", f"{r.recall:.4f}", f"{r.empty} of {count}", f"{r.p50_ms:.1f}"]
        for m, r in results.items()
    ]
    headers = ["mode", "nDCG@10", "Recall@10", "queries with no result", "search p50 (ms)"]
    return "\n".join(
        [
            f"## {opts.dataset.name} ({opts.split}), embedder {opts.embedder}, at {revision()}",
            "",
            markdown_table(headers, rows),
            "",
            f"Ingest (upload + attach + embed, through the API): {seconds:.0f} s.",
            f"Machine: {machine()}.",
        ]
    )


def main() -> None:
    opts = parse_args()
    with workspace(opts.keep_data) as root, contextlib.ExitStack() as stack:
        data_dir = root / "data"
        stack.enter_context(postgres_stopped_after(data_dir / "pgdata"))
        settings = {"MAIA_DATA_DIR": str(data_dir), **embedder_settings(opts)}
        if opts.index_min_chunks is not None:
            settings["VECTOR_INDEX_MIN_CHUNKS"] = str(opts.index_min_chunks)
        server = stack.enter_context(maia_server(root, **settings))
        seconds, results, fused = asyncio.run(measure(server.base_url, root, opts))
    count = len(qm.qrels(opts.dataset, opts.split))
    print(render(opts, seconds, results, count))
    if fused:
        print(f"\n{fused}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
