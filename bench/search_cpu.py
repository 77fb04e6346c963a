"""Server CPU per search: what the API process spends on one search, PostgreSQL kept small.

    uv run python bench/search_cpu.py [--chunks 400] [--queries 300] [--rounds 3]
        [--compare NAME=SRC ...] [--modes vector,...] [--profile DIR | --instructions DIR]

Loads a few hundred embedding-like 1536-d chunks (so PostgreSQL's share is small and
the API process's own cost shows), starts `maia-vectordb serve` and the fake OpenAI
server, and times vector, keyword and hybrid searches one at a time, each with a query
text the server has not seen (so every vector search pays its query-embedding call),
plus `vector-cached`: one text over and over, answered by the query cache. Per row:
p50 latency, the server's and PostgreSQL's CPU per search (from /proc), and the load
average when the row ended.

`--compare NAME=SRC` (repeatable) starts another server on the same database from
another checkout's `src` (e.g. `git archive <commit> src | tar -x -C /tmp/old`), and the
servers take turns, round by round, so old and new are measured side by side in one run.
`--profile DIR` runs the (new) server under cProfile for each mode's timed searches
(`bench/profiled_serve.py`) and prints where its time went. `--instructions DIR` runs
every server under callgrind (`bench/callgrind_serve.py`) and adds the instructions each
executed per search: a figure the machine's load does not move (use fewer `--queries`:
the servers run ~50x slower).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import os
import pstats
import random
import signal
import statistics
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from callgrind_serve import counting, instructions
from cpu import CpuMeter
from harness import (
    Server,
    compared_servers,
    fake_openai,
    log,
    machine,
    markdown_table,
    pseudo_words,
    revision,
    workspace,
)
from search import BENCH_MODEL, SEED, VOCABULARY, load_data
from search_data import Layout
from search_queries import Basis, QuerySet
from search_runs import request_body
from search_sql import LATENT_NOISE

from maia_vectordb.db.embedded import embedded_postgres

MODES = ("vector", "vector-cached", "keyword", "hybrid", "filtered", "filtered-or")
WARMUP = 50
PROFILE_LINES = 30


@dataclass(frozen=True)
class Options:
    chunks: int
    queries: int
    rounds: int
    compare: tuple[tuple[str, Path], ...]
    profile: Path | None
    modes: tuple[str, ...]
    instructions: Path | None


@dataclass
class Row:
    """One server's searches in one mode, over every round."""

    latencies_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0
    load: float = 0.0
    per_round_ms: list[float] = field(default_factory=list)
    """The server's CPU per search in each round: their median shrugs off a busy spell."""
    instructions: list[float] = field(default_factory=list)
    """Millions per search in each round, under callgrind."""


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=400, help="chunks in the searched store")
    parser.add_argument("--queries", type=int, default=300, help="searches per mode and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the servers")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=SRC", help="another src dir"
    )
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats here")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset")
    parser.add_argument(
        "--instructions", type=Path, default=None, help="count instructions, dumps here"
    )
    args = parser.parse_args()
    if args.profile is not None and args.instructions is not None:
        parser.error("--profile and --instructions exclude each other")
    compare = tuple(_named_source(value, parser) for value in args.compare)
    modes = tuple(mode.strip() for mode in args.modes.split(","))
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    return Options(
        args.chunks, args.queries, args.rounds, compare, args.profile, modes, args.instructions
    )


def _named_source(value: str, parser: argparse.ArgumentParser) -> tuple[str, Path]:
    name, _, src = value.partition("=")
    if not name or not src or name == "new":
        parser.error(f"--compare wants NAME=SRC with a name other than 'new', not {value!r}")
    return name, Path(src).resolve()


class Searcher:
    """Sends searches one at a time to one server and books their cost to a row."""

    def __init__(
        self, server: Server, meter: CpuMeter, store: str, queries: QuerySet, dumps: Path | None
    ) -> None:
        self.server, self.meter, self.queries, self.dumps = server, meter, queries, dumps
        self.path = f"/v1/vector_stores/{store}/search"

    async def run(self, client: httpx.AsyncClient, mode: str, count: int, row: Row) -> None:
        texts = self._texts(mode, count)
        self._count(row, on=True, searches=len(texts))
        before = self.meter.read()
        for text in texts:
            body = request_body("vector" if mode.startswith("vector") else mode, text)
            started = asyncio.get_running_loop().time()
            response = await client.post(self.server.base_url + self.path, json=body)
            row.latencies_ms.append((asyncio.get_running_loop().time() - started) * 1000)
            response.raise_for_status()
        after = self.meter.read()
        self._count(row, on=False, searches=len(texts))
        row.server_cpu += after[0] - before[0]
        row.per_round_ms.append((after[0] - before[0]) * 1000 / len(texts))
        row.postgres_cpu += after[1] - before[1]
        row.load = os.getloadavg()[0]

    def _count(self, row: Row, *, on: bool, searches: int) -> None:
        """Switch callgrind's counting on or off; when off, book what it counted."""
        if self.dumps is None:
            return
        counting(self.server.pid, on=on)
        if not on:
            row.instructions.append(instructions(self.server.pid, self.dumps) / 1e6 / searches)

    def _texts(self, mode: str, count: int) -> list[str]:
        if mode == "vector-cached":
            return [self.queries.texts[0]] * count
        return [self.queries.texts[n] for n in self.queries.take(count)]


async def _signal_profiler(server: Server, profile: Path | None, sig: signal.Signals) -> None:
    """Start (SIGUSR1) or stop (SIGUSR2) `profiled_serve.py`'s profiler, and give the
    server a moment to handle it before the next signal."""
    if profile is not None:
        os.kill(server.pid, sig)
        await asyncio.sleep(0.3)


async def measure(opts: Options, searchers: dict[str, Searcher]) -> dict[tuple[str, str], Row]:
    """Warm every server up, then each round runs every mode on every server in turn."""
    rows = {(name, mode): Row() for name in searchers for mode in opts.modes}
    async with httpx.AsyncClient(timeout=60) as client:
        for searcher in searchers.values():
            await searcher.run(client, "vector-cached", 1, Row())
            for mode in ("vector", "keyword", "hybrid"):
                await searcher.run(client, mode, WARMUP, Row())
        for number in range(opts.rounds):
            log(f"round {number + 1} of {opts.rounds}")
            for mode in opts.modes:
                for name, searcher in _alternated(searchers, number):
                    profiled = opts.profile if name == "new" and number == 0 else None
                    await _signal_profiler(searcher.server, profiled, signal.SIGUSR1)
                    await searcher.run(client, mode, opts.queries, rows[name, mode])
                    await _signal_profiler(searcher.server, profiled, signal.SIGUSR2)
    return rows


def _alternated(searchers: dict[str, Searcher], number: int) -> Iterator[tuple[str, Searcher]]:
    items = list(searchers.items())
    return iter(items if number % 2 == 0 else items[::-1])


def render(rows: dict[tuple[str, str], Row], opts: Options) -> str:
    headers = ["mode", "server", "p50 ms", "server CPU ms/search", "(median of rounds)"]
    headers += ["PostgreSQL CPU ms/search", "M instructions/search (rounds)", "load (1 min)"]
    order = [name for name, _ in opts.compare] + ["new"]
    table = [_cells(mode, name, rows[name, mode]) for mode in opts.modes for name in order]
    lines = [
        f"# Server CPU per search ({revision()})",
        "",
        f"{opts.chunks} latent 1536-d chunks, {opts.queries} searches per mode and round, "
        f"{opts.rounds} rounds, concurrency 1; {machine()}.",
        "",
        markdown_table(headers, table),
    ]
    return "\n".join(lines)


def _cells(mode: str, name: str, row: Row) -> list[str]:
    count = len(row.latencies_ms)
    return [
        mode,
        name,
        f"{statistics.median(row.latencies_ms):.2f}",
        f"{row.server_cpu * 1000 / count:.2f}",
        f"{statistics.median(row.per_round_ms):.2f}",
        f"{row.postgres_cpu * 1000 / count:.2f}",
        " / ".join(f"{value:.2f}" for value in row.instructions) or "-",
        f"{row.load:.1f}",
    ]


def print_profiles(profile: Path, modes: tuple[str, ...]) -> None:
    for number, mode in enumerate(modes):
        path = Path(f"{profile}.{number}.prof")
        if not path.exists():
            continue
        print(f"\n## cProfile, {mode} (new server, round 1)\n")
        stats = pstats.Stats(str(path))
        stats.sort_stats("tottime").print_stats(PROFILE_LINES)
        stats.sort_stats("cumulative").print_stats(PROFILE_LINES)


def latent_queries(count: int, words: list[str], basis: Basis | None) -> QuerySet:
    """Distinct two-word texts with vectors drawn like the data (`QuerySet.generate`, in
    numpy: thousands of 1536-d vectors in pure Python take minutes)."""
    assert basis is not None, "the latent layout always has a basis"
    rng = random.Random(SEED)
    texts: dict[str, None] = {}
    while len(texts) < count:
        texts[" ".join(rng.sample(words, 2))] = None
    draw = np.random.default_rng(SEED)
    matrix = np.asarray(basis)
    dense = draw.standard_normal((count, matrix.shape[0])) @ matrix
    dense += draw.normal(0.0, LATENT_NOISE, dense.shape)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    vectors = array.array("f", dense.astype(np.float32).tobytes())
    return QuerySet(list(texts), vectors, matrix.shape[1])


def start_servers(
    stack: ExitStack, root: Path, opts: Options, url: str, embed_url: str
) -> dict[str, Server]:
    settings = {
        "DATABASE_URL": url,
        "EMBEDDING_DIMENSIONS": "1536",
        "EMBEDDING_PROVIDER": "openai",
        "EMBEDDING_MODEL": BENCH_MODEL,
        "EMBEDDING_BASE_URL": embed_url,
        "OPENAI_API_KEY": "x",
        "INGEST_WORKERS": "0",
    }
    return compared_servers(stack, root, opts.compare, opts.profile, opts.instructions, **settings)


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(1)


def main() -> None:
    opts = parse_args()
    # A plain `kill` still stops the servers and PostgreSQL this run started.
    signal.signal(signal.SIGTERM, _stop)
    rng = random.Random(SEED)
    words = pseudo_words(VOCABULARY, rng)
    # Two stores are the layout's minimum: the searched one, and one of 1/20 its size.
    layout = Layout(opts.chunks + opts.chunks // 19, 2, 1536, "latent")
    servers = 1 + len(opts.compare)
    count = 1 + servers * (3 * WARMUP + 3 * opts.queries * opts.rounds)
    with workspace(None) as root, ExitStack() as stack:
        url = stack.enter_context(embedded_postgres(root / "pgdata"))
        _, basis = asyncio.run(load_data(url, _SearchOptions(layout), words, root))
        queries = latent_queries(count, words, basis)
        embed_url = stack.enter_context(
            fake_openai(root, dims=layout.dims, queries=queries.write(root))
        )
        started = start_servers(stack, root, opts, url, embed_url)
        searchers = {
            name: Searcher(
                server,
                CpuMeter.of(server.pid, root / "pgdata"),
                layout.target,
                queries,
                None if opts.instructions is None else opts.instructions / name,
            )
            for name, server in started.items()
        }
        rows = asyncio.run(measure(opts, searchers))
    print(render(rows, opts))
    if opts.profile is not None:
        print_profiles(opts.profile, opts.modes)


@dataclass(frozen=True)
class _SearchOptions:
    """What `search.load_data` reads of bench/search.py's options."""

    layout: Layout


if __name__ == "__main__":
    main()
