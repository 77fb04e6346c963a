"""Local model benchmark: passages/s and query latency of all-MiniLM-L6-v2 in-process.

    uv run python bench/embed_local.py [--passages 256] [--queries 50] [--model-path DIR]

Passages are SciFact abstracts (`../shared/data/beir/scifact/corpus.jsonl`, most
longer than 256 tokens, so truncated as sentence-transformers does); queries are
SciFact's claims. Also measures query latency while a file's passages are being
embedded, which is what a search waits for during ingestion. Prints the load
average with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from maia_vectordb.config import Settings
from maia_vectordb.embeddings import LocalModelEmbeddings

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "data" / "beir" / "scifact"
MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"


def _lines(name: str, field: str, limit: int) -> list[str]:
    with (SCIFACT / name).open() as handle:
        rows = [json.loads(line) for _, line in zip(range(limit), handle, strict=False)]
    return [(row.get("title", "") + " " + row[field]).strip() for row in rows]


async def _latencies(model: LocalModelEmbeddings, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        await model.embed([query])
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def run(args: argparse.Namespace) -> None:
    settings = Settings(
        EMBEDDING_MODEL_PATH=args.model_path,
        EMBEDDING_LOCAL_THREADS=args.threads,
        _env_file=None,  # type: ignore[call-arg]
    )
    model = LocalModelEmbeddings(settings.embeddings)
    await model.load()
    passages = _lines("corpus.jsonl", "text", args.passages)
    queries = _lines("queries.jsonl", "text", args.queries)
    await model.embed(passages[:16])
    started = time.perf_counter()
    await model.embed(passages)
    rate = len(passages) / (time.perf_counter() - started)
    idle = await _latencies(model, queries)
    ingest = asyncio.create_task(model.embed(passages))
    await asyncio.sleep(1.0)  # tokenised and into its first batch
    busy = await _latencies(model, queries[: max(5, len(queries) // 5)])
    await ingest
    load = os.getloadavg()
    print(f"threads={args.threads} load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"passages/s: {rate:.1f} ({len(passages)} SciFact abstracts)")
    print(f"query latency idle ms: p50 {statistics.median(idle):.1f} p95 {_p(idle, 0.95):.1f}")
    print(
        f"query latency during ingestion ms: p50 {statistics.median(busy):.1f} "
        f"p95 {_p(busy, 0.95):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=256)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model-path", type=Path, default=MODEL)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
