"""Ingestion benchmark: files/s, chunks/s and tokens/s of the live server, end to end.

    uv run python bench/ingest.py [--mb 50] [--files 500] [--corpus synthetic|scifact]
        [--embedder hash|fake-openai|fake-openai-latent|all] [--dims 1536]
        [--workers N] [--server-workers N] [--worker-processes N] [--base-chunks N]
        [--base-cache DIR]
        [--profile DIR] [--uploader raw|httpx]

Generates a deterministic corpus (.txt and .md), then for each embedder starts
`maia_vectordb serve` with a fresh data directory (embedded PostgreSQL), uploads every
file through `/v1/files`, attaches them to a new store in file batches of at most 500,
and polls until all are done. `--corpus scifact` uploads the first `--files` SciFact
abstracts instead (one chunk each, `--mb` unused). `--base-chunks N` first loads N
chunks into another store by plain SQL and waits for its index (ingest_base.py), so the
ingest runs inside a table that large; "index ready" is then first upload to the
ingested store's own index being valid, when it is large enough to get one.
`--base-cache DIR` builds that table once (loaded, then indexed with the builder's own
statement) under DIR and copies it into every later run with the same size and width.
`--worker-processes N` starts N `maia_vectordb worker` processes next to `serve` (each with
`--workers` ingestion workers, or 2); with `--workers 0` the API
process only serves HTTP and they do all the ingesting, the deployment docs/operations.md
recommends for heavy ingestion. Their CPU and memory count as the server's.
`--profile DIR` runs the server under cProfile (`DIR/<embedder>.prof`).
`--uploader httpx` uploads through httpx (the client before the fourth pass of issue 10);
the default `raw` sends the same multipart requests over plain keep-alive connections
(raw_upload.py), much cheaper for the client, which shares the cores with the server.
`client CPU ms/upload` is the uploading thread's own CPU per file.
`fake-openai` points the server's OpenAI client at a local fake that answers at once,
so the figures are the server's own cost: `fake-openai` returns uniform random vectors
(the hardest, costliest case for HNSW inserts) and `fake-openai-latent` embedding-like
ones (low intrinsic dimension, texts sharing words nearby), which is what real models
give. Reports throughput and the peak memory of the server and of PostgreSQL as a
markdown table.
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
from harness import (
    fake_openai,
    load_average,
    log,
    machine,
    maia_server,
    maia_workers,
    markdown_table,
    revision,
)
from ingest_base import (
    index_min_chunks,
    preload,
    restore_base,
    wait_for_index,
    wait_for_keywords,
)
from ingest_client import Timing, ingest
from ingest_corpus import Document, corpus, scifact
from memory import Peaks, peak_memory
from pg_activity import WalCounters, wal_counters

SEED = 20261123
EMBEDDERS = ("hash", "fake-openai", "fake-openai-latent")
DEFAULT_INGEST_WORKERS = 2
CORPORA = ("synthetic", "scifact")
HEADERS = (
    "embedder",
    "files",
    "MiB",
    "chunks",
    "tokens",
    "upload s",
    "wall s",
    "index ready s",
    "files/s",
    "chunks/s",
    "tokens/s",
    "server peak RSS MB",
    "PostgreSQL peak PSS MB",
    "server CPU ms/chunk",
    "PostgreSQL CPU ms/chunk",
    "upload CPU ms/file (server / PostgreSQL)",
    "client CPU ms/upload",
    "embedding requests",
    "failed",
    "load before / after",
)


@dataclass(frozen=True)
class Options:
    megabytes: float
    files: int
    embedders: tuple[str, ...]
    dims: int
    workers: int | None
    server_workers: int
    worker_processes: int
    corpus: str
    base_chunks: int
    base_cache: Path | None
    profile: Path | None
    uploader: str


@dataclass(frozen=True)
class Outcome:
    embedder: str
    chunks: int
    tokens: int
    failed: int
    upload_seconds: float
    wall_seconds: float
    index_seconds: float | None
    peaks: Peaks
    requests: int | None
    loads: tuple[str, str]
    base: tuple[float, float] | None
    upload_cpu: tuple[float, float]
    """Server and PostgreSQL CPU seconds when the last upload was answered."""
    wal: WalCounters
    """WAL written and checkpoints from the first upload until the index was ready."""
    client_cpu: float
    """CPU seconds of the bench's uploading thread."""
    embedder_cpu: float | None
    """CPU seconds of the fake embeddings server from the first upload on (None for `hash`)."""


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
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=0,
        help="`maia_vectordb worker` processes started next to serve",
    )
    parser.add_argument("--corpus", choices=CORPORA, default="synthetic")
    parser.add_argument(
        "--base-chunks", type=int, default=0, help="chunks preloaded into another store"
    )
    parser.add_argument(
        "--base-cache",
        type=Path,
        default=None,
        help="keep the --base-chunks table here once built, and copy it for every run",
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the server here")
    parser.add_argument(
        "--uploader",
        choices=("raw", "httpx"),
        default="raw",
        help="the client for the uploads: plain connections (raw) or httpx (before pass 4)",
    )
    args = parser.parse_args()
    embedders = EMBEDDERS if args.embedder == "all" else (args.embedder,)
    return Options(
        args.mb,
        args.files,
        embedders,
        args.dims,
        args.workers,
        args.server_workers,
        args.worker_processes,
        args.corpus,
        args.base_chunks,
        args.base_cache,
        args.profile,
        args.uploader,
    )


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


def pg_socket(pgdata: Path) -> dict[str, str]:
    """asyncpg arguments for the server's own database, over its socket."""
    lines = _postmaster_lines(pgdata)
    return {"host": lines[4], "port": lines[3], "user": "postgres", "database": "postgres"}


async def count_chunks(pgdata: Path, store_id: str) -> tuple[int, int]:
    """The ingested store's chunks and embedded tokens."""
    conn = await asyncpg.connect(**pg_socket(pgdata))
    try:
        row = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(token_count), 0) FROM file_chunks "
            "WHERE vector_store_id = $1",
            store_id,
        )
    finally:
        await conn.close()
    return int(row[0]), int(row[1])


async def cluster_wal(pgdata: Path) -> WalCounters:
    conn = await asyncpg.connect(**pg_socket(pgdata))
    try:
        return await wal_counters(conn)
    finally:
        await conn.close()


async def index_ready(pgdata: Path, timing: Timing) -> float:
    """Seconds from the first upload until the ingested store is wholly indexed: its own
    HNSW index valid (when it is large enough for one and the code has them) and none of
    its chunks waiting for BM25 postings (code that writes them after the load)."""
    minimum = index_min_chunks()
    chunks, _ = await count_chunks(pgdata, timing.store_id)
    conn = await asyncpg.connect(**pg_socket(pgdata))
    try:
        ready = await wait_for_keywords(conn, timing.store_id)
        if minimum is not None and chunks >= minimum:
            ready = max(ready, await wait_for_index(conn, timing.store_id))
        return ready - timing.started
    finally:
        await conn.close()


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
    built = None
    if opts.base_chunks and opts.base_cache is not None:
        built = restore_base(opts.base_cache, pgdata, opts.base_chunks, opts.dims)
    with contextlib.ExitStack() as stack:
        stack.enter_context(postgres_stopped_after(pgdata))
        embed_url = None
        if embedder.startswith("fake-openai"):
            vectors = "latent" if embedder.endswith("latent") else "random"
            embed_url = stack.enter_context(fake_openai(root, dims=opts.dims, vectors=vectors))
        options = ("--workers", str(opts.server_workers)) if opts.server_workers > 1 else ()
        settings = server_settings(opts, data_dir, embed_url)
        launcher = _launcher(opts.profile, embedder)
        server = stack.enter_context(maia_server(root, *options, launcher=launcher, **settings))
        log(f"{embedder}: server ready at {server.base_url}")
        workers = stack.enter_context(
            maia_workers(root, opts.worker_processes, *_worker_options(opts), **settings)
        )
        base = None
        if built is not None:
            base = (built, 0.0)
        elif opts.base_chunks:
            base = asyncio.run(preload(pg_socket(pgdata), opts.base_chunks, opts.dims))
            log(f"base store: loaded in {base[0]:.0f} s, its index ready {base[1]:.0f} s later")
        before = load_average()
        embedder_before = embedder_stats(embed_url)
        wal_before = asyncio.run(cluster_wal(pgdata))
        upload_cpu: list[tuple[float, float]] = []
        with peak_memory([server.pid, *workers], postmaster_pid(pgdata)) as peaks:
            mark = lambda: upload_cpu.append(peaks.cpu_seconds())  # noqa: E731
            timing = asyncio.run(ingest(server.base_url, documents, mark, opts.uploader))
            index_seconds = asyncio.run(index_ready(pgdata, timing))
        wal = asyncio.run(cluster_wal(pgdata)) - wal_before
        chunks, tokens = asyncio.run(count_chunks(pgdata, timing.store_id))
        embedder_after = embedder_stats(embed_url)
    loads = (before, load_average())
    return Outcome(
        embedder,
        chunks,
        tokens,
        timing.failed,
        timing.upload,
        timing.wall,
        index_seconds,
        peaks,
        None if embedder_after is None else embedder_after.requests,
        loads,
        base,
        upload_cpu[0],
        wal,
        timing.client_cpu,
        _embedder_cpu(embedder_before, embedder_after),
    )


def _worker_options(opts: Options) -> tuple[str, ...]:
    """A worker process runs `--workers` ingestion workers, as each API process does;
    `--workers 0` empties the API process, and the worker processes keep the default."""
    return ("--concurrency", str(opts.workers or DEFAULT_INGEST_WORKERS))


def _launcher(profile: Path | None, embedder: str) -> tuple[str, ...]:
    """The server, or the server under cProfile writing `<profile>/<embedder>.prof` as it
    exits (wall time of its main thread: time awaiting PostgreSQL is charged to whoever
    awaits it; `bench/profiled_serve.py` profiles CPU time instead)."""
    if profile is None:
        return ("-m", "maia_vectordb")
    return ("-m", "cProfile", "-o", str(profile / f"{embedder}.prof"), "-m", "maia_vectordb")


@dataclass(frozen=True)
class EmbedderStats:
    """What the fake embeddings server has answered so far, and its own CPU seconds."""

    requests: int
    cpu_seconds: float


def embedder_stats(embed_url: str | None) -> EmbedderStats | None:
    """The fake embeddings server's `/stats` (None for `hash`)."""
    if embed_url is None:
        return None
    stats = httpx.get(embed_url.removesuffix("/v1") + "/stats", timeout=10).json()
    return EmbedderStats(int(stats["requests"]), float(stats["cpu_seconds"]))


def _embedder_cpu(before: EmbedderStats | None, after: EmbedderStats | None) -> float | None:
    """The fake embedder's CPU seconds between the two reads (None for `hash`)."""
    return None if before is None or after is None else after.cpu_seconds - before.cpu_seconds


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
        "-" if outcome.index_seconds is None else f"{outcome.index_seconds:.1f}",
        f"{files / wall:.2f}",
        f"{outcome.chunks / wall:.0f}",
        f"{outcome.tokens / wall:.0f}",
        f"{peaks.server_rss_mb:.0f}",
        f"{peaks.postgres_pss_mb:.0f}",
        f"{server_cpu * per_chunk:.2f}",
        f"{postgres_cpu * per_chunk:.2f}",
        " / ".join(f"{1000 * cpu / files:.2f}" for cpu in outcome.upload_cpu),
        f"{1000 * outcome.client_cpu / files:.2f}",
        "-" if outcome.requests is None else outcome.requests,
        outcome.failed,
        " / ".join(outcome.loads),
    ]


def render(opts: Options, documents: list[Document], outcomes: list[Outcome]) -> str:
    megabytes = sum(len(d.data) for d in documents) / 2**20
    markdown = sum(d.name.endswith(".md") for d in documents)
    workers = opts.workers if opts.workers is not None else f"default ({DEFAULT_INGEST_WORKERS})"
    kind = "SciFact abstracts" if opts.corpus == "scifact" else "deterministic English-ish text"
    lines = [
        f"## Ingestion benchmark ({megabytes:.1f} MiB, {len(documents)} files)",
        "",
        f"- machine: {machine()}; embedded PostgreSQL started by the server; code {revision()}",
        f"- corpus: {len(documents) - markdown} .txt + {markdown} .md, {kind}; "
        f"chunking `auto` (800 tokens, 400 overlap); dims={opts.dims}; "
        f"INGEST_WORKERS={workers} in each of {opts.server_workers} server process(es)"
        f"{_worker_line(opts)}",
        "- wall = first upload to last file completed; index ready = first upload to the "
        "store wholly indexed: its own HNSW index valid (stores of VECTOR_INDEX_MIN_CHUNKS "
        "or more) and no chunk waiting for its BM25 postings (written after the load); CPU "
        "figures cover both; tokens = sum of chunk token counts (overlap counted twice, "
        "as embedded); load = 1/5/15-min load average before and after the ingest",
        *_base_lines(opts, outcomes),
        "",
        markdown_table(HEADERS, [_row(o, len(documents), megabytes) for o in outcomes]),
        "",
        *(line for o in outcomes for line in _postgres_lines(o)),
    ]
    return "\n".join(lines)


def _postgres_lines(outcome: Outcome) -> list[str]:
    """Where PostgreSQL's CPU went (by process kind) and the WAL it wrote, per chunk."""
    per_chunk = 1000 / max(outcome.chunks, 1)
    kinds = sorted(outcome.peaks.postgres_cpu_by_kind().items(), key=lambda kv: -kv[1])
    split = ", ".join(f"{kind} {cpu * per_chunk:.2f}" for kind, cpu in kinds)
    lines = [
        f"- {outcome.embedder}: PostgreSQL CPU ms/chunk by process: {split}",
        f"- {outcome.embedder}: {outcome.wal.per_item(outcome.chunks)}",
    ]
    if outcome.embedder_cpu is not None:
        used = outcome.embedder_cpu * per_chunk
        lines.append(f"- {outcome.embedder}: the fake embedder's own CPU: {used:.2f} ms/chunk")
    return lines


def _worker_line(opts: Options) -> str:
    if not opts.worker_processes:
        return ""
    each = opts.workers or DEFAULT_INGEST_WORKERS
    return f", and {opts.worker_processes} `worker` process(es) of {each} workers each"


def _base_lines(opts: Options, outcomes: list[Outcome]) -> list[str]:
    if not opts.base_chunks:
        return []
    if opts.base_cache is not None:
        return [
            f"- table: {opts.base_chunks} embedding-like chunks in another store, indexed, "
            f"copied from {opts.base_cache} before each run"
        ]
    timings = ", ".join(
        f"{o.embedder}: loaded in {o.base[0]:.0f} s, indexed in {o.base[1]:.0f} s"
        for o in outcomes
        if o.base is not None
    )
    return [
        f"- table: {opts.base_chunks} embedding-like chunks preloaded by SQL into another "
        f"store, indexed before the ingest ({timings})"
    ]


def main() -> None:
    opts = parse_args()
    started = time.perf_counter()
    if opts.corpus == "scifact":
        documents = scifact(opts.files)
    else:
        documents = corpus(opts.megabytes, opts.files, SEED)
    log(f"corpus of {len(documents)} files generated in {time.perf_counter() - started:.0f} s")
    if opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maia-bench-ingest-") as tmp:
        outcomes = [run_one(name, documents, opts, Path(tmp)) for name in opts.embedders]
    print(render(opts, documents, outcomes))


if __name__ == "__main__":
    main()
