"""Ingestion benchmark: files/s, chunks/s and tokens/s of the live server, end to end.

    uv run python bench/ingest.py [--mb 50] [--files 500]
        [--embedder hash|fake-openai|fake-openai-latent|all] [--dims 1536]
        [--workers N] [--server-workers N]

Generates a deterministic corpus (.txt and .md), then for each embedder starts
`maia_vectordb serve` with a fresh data directory (embedded PostgreSQL), uploads every
file through `/v1/files`, attaches them to a new store in file batches of at most 500,
and polls until all are done. `fake-openai` points the server's OpenAI client at a local
fake that answers at once, so the figures are the server's own cost: `fake-openai`
returns uniform random vectors (the hardest, costliest case for HNSW inserts) and
`fake-openai-latent` embedding-like ones (low intrinsic dimension, texts sharing words
nearby), which is what real models give. Reports
throughput and the peak memory of the server and of PostgreSQL as a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
from harness import fake_openai, log, machine, maia_server, markdown_table, revision
from ingest_client import ingest
from ingest_corpus import Document, corpus
from memory import Peaks, peak_memory

SEED = 20261123
EMBEDDERS = ("hash", "fake-openai", "fake-openai-latent")
HEADERS = (
    "embedder",
    "files",
    "MiB",
    "chunks",
    "tokens",
    "upload s",
    "wall s",
    "files/s",
    "chunks/s",
    "tokens/s",
    "server peak RSS MB",
    "PostgreSQL peak PSS MB",
    "server CPU ms/chunk",
    "PostgreSQL CPU ms/chunk",
    "embedding requests",
    "failed",
)


@dataclass(frozen=True)
class Options:
    megabytes: float
    files: int
    embedders: tuple[str, ...]
    dims: int
    workers: int | None
    server_workers: int


@dataclass(frozen=True)
class Outcome:
    embedder: str
    chunks: int
    tokens: int
    failed: int
    upload_seconds: float
    wall_seconds: float
    peaks: Peaks
    requests: int | None


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="corpus size in MiB")
    parser.add_argument("--files", type=int, default=500, help="files in the corpus")
    parser.add_argument("--embedder", choices=[*EMBEDDERS, "all"], default="all")
    parser.add_argument("--dims", type=int, default=1536, help="EMBEDDING_DIMENSIONS")
    parser.add_argument("--workers", type=int, default=None, help="INGEST_WORKERS")
    parser.add_argument(
        "--server-workers", type=int, default=1, help="serve --workers N (API processes)"
    )
    args = parser.parse_args()
    embedders = EMBEDDERS if args.embedder == "all" else (args.embedder,)
    return Options(args.mb, args.files, embedders, args.dims, args.workers, args.server_workers)


def _postmaster_lines(pgdata: Path) -> list[str]:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return []


def postmaster_pid(pgdata: Path) -> Callable[[], int | None]:
    def read() -> int | None:
        lines = _postmaster_lines(pgdata)
        return int(lines[0]) if lines else None

    return read


async def count_chunks(pgdata: Path) -> tuple[int, int]:
    """Chunks and embedded tokens, read from the server's own database over its socket."""
    lines = _postmaster_lines(pgdata)
    conn = await asyncpg.connect(
        host=lines[4], port=int(lines[3]), user="postgres", database="postgres"
    )
    try:
        row = await conn.fetchrow("SELECT count(*), coalesce(sum(token_count), 0) FROM file_chunks")
    finally:
        await conn.close()
    return int(row[0]), int(row[1])


@contextlib.contextmanager
def postgres_stopped_after(pgdata: Path) -> Iterator[None]:
    """The server stops its PostgreSQL on exit; if it died instead, stop it here."""
    try:
        yield
    finally:
        pid = postmaster_pid(pgdata)()
        # A stale pid file could name an unrelated process by now: check before signalling.
        with contextlib.suppress(psutil.NoSuchProcess):
            if pid is not None and psutil.Process(pid).name() == "postgres":
                os.kill(pid, signal.SIGINT)


def server_settings(opts: Options, data_dir: Path, embed_url: str | None) -> dict[str, str]:
    settings = {"MAIA_DATA_DIR": str(data_dir), "EMBEDDING_DIMENSIONS": str(opts.dims)}
    if opts.workers is not None:
        settings["INGEST_WORKERS"] = str(opts.workers)
    if embed_url is None:
        return {**settings, "EMBEDDING_PROVIDER": "hash"}
    return {
        **settings,
        "EMBEDDING_PROVIDER": "openai",
        "EMBEDDING_BASE_URL": embed_url,
        "OPENAI_API_KEY": "x",
    }


def run_one(embedder: str, documents: list[Document], opts: Options, root: Path) -> Outcome:
    data_dir = root / embedder
    pgdata = data_dir / "pgdata"
    with contextlib.ExitStack() as stack:
        stack.enter_context(postgres_stopped_after(pgdata))
        embed_url = None
        if embedder.startswith("fake-openai"):
            vectors = "latent" if embedder.endswith("latent") else "random"
            embed_url = stack.enter_context(fake_openai(root, dims=opts.dims, vectors=vectors))
        options = ("--workers", str(opts.server_workers)) if opts.server_workers > 1 else ()
        server = stack.enter_context(
            maia_server(root, *options, **server_settings(opts, data_dir, embed_url))
        )
        log(f"{embedder}: server ready at {server.base_url}")
        with peak_memory(server.pid, postmaster_pid(pgdata)) as peaks:
            timing = asyncio.run(ingest(server.base_url, documents))
        chunks, tokens = asyncio.run(count_chunks(pgdata))
        requests = embedding_requests(embed_url)
    return Outcome(
        embedder, chunks, tokens, timing.failed, timing.upload, timing.wall, peaks, requests
    )


def embedding_requests(embed_url: str | None) -> int | None:
    """How many requests the fake embeddings server answered (None for `hash`)."""
    if embed_url is None:
        return None
    stats = httpx.get(embed_url.removesuffix("/v1") + "/stats", timeout=10).json()
    return int(stats["requests"])


def _row(outcome: Outcome, files: int, megabytes: float) -> list[object]:
    wall = outcome.wall_seconds
    peaks = outcome.peaks
    server_cpu, postgres_cpu = peaks.cpu_seconds()
    per_chunk = 1000 / max(outcome.chunks, 1)
    return [
        outcome.embedder,
        files,
        f"{megabytes:.1f}",
        outcome.chunks,
        outcome.tokens,
        f"{outcome.upload_seconds:.1f}",
        f"{wall:.1f}",
        f"{files / wall:.2f}",
        f"{outcome.chunks / wall:.0f}",
        f"{outcome.tokens / wall:.0f}",
        f"{peaks.server_rss_mb:.0f}",
        f"{peaks.postgres_pss_mb:.0f}",
        f"{server_cpu * per_chunk:.2f}",
        f"{postgres_cpu * per_chunk:.2f}",
        "-" if outcome.requests is None else outcome.requests,
        outcome.failed,
    ]


def render(opts: Options, documents: list[Document], outcomes: list[Outcome]) -> str:
    megabytes = sum(len(d.data) for d in documents) / 2**20
    markdown = sum(d.name.endswith(".md") for d in documents)
    workers = opts.workers if opts.workers is not None else "default (2)"
    lines = [
        f"## Ingestion benchmark ({megabytes:.1f} MiB, {len(documents)} files)",
        "",
        f"- machine: {machine()}; embedded PostgreSQL started by the server; code {revision()}",
        f"- corpus: {len(documents) - markdown} .txt + {markdown} .md, deterministic "
        f"English-ish text; chunking `auto` (800 tokens, 400 overlap); dims={opts.dims}; "
        f"INGEST_WORKERS={workers} in each of {opts.server_workers} server process(es)",
        "- wall = first upload to last file completed; tokens = sum of chunk token counts "
        "(overlap counted twice, as embedded)",
        "",
        markdown_table(HEADERS, [_row(o, len(documents), megabytes) for o in outcomes]),
    ]
    return "\n".join(lines)


def main() -> None:
    opts = parse_args()
    started = time.perf_counter()
    documents = corpus(opts.megabytes, opts.files, SEED)
    log(f"corpus of {len(documents)} files generated in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="maia-bench-ingest-") as tmp:
        outcomes = [run_one(name, documents, opts, Path(tmp)) for name in opts.embedders]
    print(render(opts, documents, outcomes))


if __name__ == "__main__":
    main()
