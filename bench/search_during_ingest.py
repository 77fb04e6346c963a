"""Search latency while files ingest in separate `worker` processes, against idle.

    uv run python bench/search_during_ingest.py [--files 2000] [--mb 40] [--workers 1]
        [--concurrency N] [--queries 200] [--worker-nice N]

Starts a fake OpenAI server (embedding-like vectors), `maia_vectordb serve` with no
in-process ingestion (INGEST_WORKERS=0) and `--workers` `maia_vectordb worker`
processes (each with `--concurrency` ingestion workers, by default INGEST_WORKERS's) on
the same embedded PostgreSQL: the documented way to run heavy ingestion.
A seed store is ingested first; then vector searches run one at a time against it,
idle, and again while a second store ingests `--files` files (from the end of their
upload to the last file done, so the API's own upload work is not counted). Prints p50
and p95 of both phases, their ratio, and the load average around each.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import time
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import httpx
from harness import (
    child_process,
    fake_openai,
    log,
    maia_server,
    percentiles,
    server_env,
    workspace,
)
from ingest_client import attach, ingest, upload, wait_done
from ingest_corpus import corpus

SEED = 20261130
DIMS = 1536
QUESTIONS = (
    "how are the files stored",
    "what does the worker do after a crash",
    "measurements of latency under load",
    "the index and its recall",
    "which parser reads tables",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="files ingested meanwhile")
    parser.add_argument("--mb", type=float, default=40, help="their total size in MiB")
    parser.add_argument("--seed-files", type=int, default=300, help="files in the searched store")
    parser.add_argument("--workers", type=int, default=1, help="`worker` processes")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="ingestion workers in each (INGEST_WORKERS)"
    )
    parser.add_argument("--queries", type=int, default=200, help="searches in the idle phase")
    parser.add_argument(
        "--worker-nice", default=None, help="INGEST_WORKER_NICE for the workers (default: its own)"
    )
    return parser.parse_args()


async def _search_until(
    client: httpx.AsyncClient, store: str, stop: asyncio.Event | int
) -> list[float]:
    """One search at a time: `stop` is a count of searches, or an event that ends them."""
    latencies: list[float] = []
    for number in itertools.count():
        if (isinstance(stop, int) and number >= stop) or (
            isinstance(stop, asyncio.Event) and stop.is_set()
        ):
            return latencies
        body = {"query": QUESTIONS[number % len(QUESTIONS)], "max_num_results": 10}
        body["ranking_options"] = {"ranker": "none"}
        started = time.perf_counter()
        response = await client.post(f"/v1/vector_stores/{store}/search", json=body)
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _report(name: str, latencies: list[float], loads: tuple[float, float]) -> float:
    p50, p95, _ = percentiles(latencies)
    log(
        f"{name}: {len(latencies)} searches, p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(load average {loads[0]:.2f} before, {loads[1]:.2f} after)"
    )
    return p50


async def _phases(base_url: str, options: argparse.Namespace) -> None:
    seed_docs = corpus(options.mb * options.seed_files / options.files, options.seed_files, SEED)
    seeded = await ingest(base_url, seed_docs)
    log(f"seed store: {options.seed_files} files in {seeded.wall:.1f} s")
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        stores = (await client.get("/v1/vector_stores", params={"limit": 1})).json()
        target = stores["data"][0]["id"]
        await _search_until(client, target, 20)  # warm caches and connections
        before = os.getloadavg()[0]
        idle = await _search_until(client, target, options.queries)
        idle_p50 = _report("idle", idle, (before, os.getloadavg()[0]))
        documents = corpus(options.mb, options.files, SEED + 1)
        file_ids = await upload(client, documents)
        done = asyncio.Event()
        before = os.getloadavg()[0]
        searching = asyncio.create_task(_search_until(client, target, done))
        started = time.perf_counter()
        store, batches = await attach(client, file_ids)
        failed = await wait_done(client, store, batches)
        done.set()
        busy = await searching
        seconds = time.perf_counter() - started
        log(f"ingest: {options.files} files in {seconds:.1f} s, {failed} failed")
        busy_p50 = _report("during ingest", busy, (before, os.getloadavg()[0]))
        log(f"p50 during ingest / idle: {busy_p50 / idle_p50:.2f}x")


def main() -> None:
    options = parse_args()
    with workspace(None) as workdir, fake_openai(workdir, dims=DIMS, vectors="latent") as url:
        settings = {
            "MAIA_DATA_DIR": str(workdir / "data"),
            "EMBEDDING_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-bench",
            "EMBEDDING_BASE_URL": url,
            "EMBEDDING_DIMENSIONS": str(DIMS),
            "LOG_LEVEL": "WARNING",
        }
        with maia_server(workdir, INGEST_WORKERS="0", **settings) as server, ExitStack() as stack:
            nice = (
                {} if options.worker_nice is None else {"INGEST_WORKER_NICE": options.worker_nice}
            )
            count = options.concurrency
            each = {} if count is None else {"INGEST_WORKERS": str(count)}
            for number in range(options.workers):
                stack.enter_context(_worker(workdir, settings | nice | each, number))
            asyncio.run(_phases(server.base_url, options))


def _worker(
    workdir: Path, settings: dict[str, str], number: int
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    args = [sys.executable, "-m", "maia_vectordb", "worker"]
    env = server_env(**settings)
    return child_process(args, env=env, log_path=workdir / f"worker-{number}.log", cwd=workdir)


if __name__ == "__main__":
    main()
