"""Server CPU per upload: what `POST /v1/files` costs the API process and PostgreSQL.

    uv run python bench/upload_cpu.py [--files 500] [--rounds 3] [--compare NAME=SRC ...]
        [--profile DIR | --instructions DIR]

Uploads SciFact abstracts (one chunk each, ~1.5 KB) the way `bench/ingest.py` does (4 in
flight, httpx multipart, purpose `assistants`), nothing attached, so the figures are the
upload request alone. `--compare NAME=SRC` starts another server on the same database
from another checkout's `src` (e.g. `git archive <commit> src | tar -x -C /tmp/old`); the
servers take turns, round by round, so old and new are measured side by side. Per row:
the server's and PostgreSQL's CPU per upload (from /proc), the median over rounds, the
uploads per second of the client and the load average when the row ended.
`--profile DIR` profiles the new server's CPU time in round 1 (`bench/profiled_serve.py`).
`--instructions DIR` runs every server under callgrind (`bench/callgrind_serve.py`) and
adds the instructions each executed per upload: a figure the machine's load does not
move (the servers run ~50x slower, so use a few hundred files and one round).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import statistics
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from callgrind_serve import counting, instructions
from cpu import CpuMeter
from harness import Server, compared_servers, log, machine, markdown_table, revision, workspace
from ingest_client import upload
from ingest_corpus import Document, scifact

from maia_vectordb.db.embedded import embedded_postgres

WARMUP = 100
PROFILE_LINES = 35


@dataclass(frozen=True)
class Options:
    files: int
    rounds: int
    compare: tuple[tuple[str, Path], ...]
    profile: Path | None
    instructions: Path | None


@dataclass
class Row:
    server_ms: list[float] = field(default_factory=list)
    postgres_ms: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    instructions: list[float] = field(default_factory=list)
    """Millions per upload, under callgrind."""
    load: float = 0.0


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="uploads per server and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the servers")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=SRC", help="another src dir"
    )
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats here")
    parser.add_argument(
        "--instructions", type=Path, default=None, help="count instructions, dumps here"
    )
    args = parser.parse_args()
    if args.profile is not None and args.instructions is not None:
        parser.error("--profile and --instructions exclude each other")
    compare = []
    for value in args.compare:
        name, _, src = value.partition("=")
        if not name or not src or name == "new":
            parser.error(f"--compare wants NAME=SRC with a name other than 'new', not {value!r}")
        compare.append((name, Path(src).resolve()))
    return Options(args.files, args.rounds, tuple(compare), args.profile, args.instructions)


async def _round(
    server: Server, meter: CpuMeter, documents: list[Document], row: Row, dumps: Path | None
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=600) as client:
        await upload(client, documents[:WARMUP])
        if dumps is not None:
            counting(server.pid, on=True)
        before, started = meter.read(), asyncio.get_running_loop().time()
        await upload(client, documents)
        elapsed = asyncio.get_running_loop().time() - started
        after = meter.read()
    if dumps is not None:
        counting(server.pid, on=False)
        row.instructions.append(instructions(server.pid, dumps) / 1e6 / len(documents))
    row.server_ms.append((after[0] - before[0]) * 1000 / len(documents))
    row.postgres_ms.append((after[1] - before[1]) * 1000 / len(documents))
    row.rates.append(len(documents) / elapsed)
    row.load = os.getloadavg()[0]


async def _signal(server: Server, profile: Path | None, sig: signal.Signals) -> None:
    if profile is not None:
        os.kill(server.pid, sig)
        await asyncio.sleep(0.3)


async def measure(
    opts: Options, servers: dict[str, tuple[Server, CpuMeter]], documents: list[Document]
) -> dict[str, Row]:
    rows = {name: Row() for name in servers}
    for number in range(opts.rounds):
        log(f"round {number + 1} of {opts.rounds}")
        order = list(servers.items())
        for name, (server, meter) in order if number % 2 == 0 else order[::-1]:
            profiled = opts.profile if name == "new" and number == 0 else None
            await _signal(server, profiled, signal.SIGUSR1)
            dumps = None if opts.instructions is None else opts.instructions / name
            await _round(server, meter, documents, rows[name], dumps)
            await _signal(server, profiled, signal.SIGUSR2)
    return rows


def render(rows: dict[str, Row], opts: Options) -> str:
    headers = ["server", "server CPU ms/upload (rounds)", "median", "PostgreSQL CPU ms/upload"]
    headers += ["uploads/s (rounds)", "M instructions/upload", "load (1 min)"]
    table = [
        [
            name,
            " / ".join(f"{ms:.2f}" for ms in row.server_ms),
            f"{statistics.median(row.server_ms):.2f}",
            f"{statistics.median(row.postgres_ms):.2f}",
            " / ".join(f"{rate:.0f}" for rate in row.rates),
            " / ".join(f"{count:.2f}" for count in row.instructions) or "-",
            f"{row.load:.1f}",
        ]
        for name, row in rows.items()
    ]
    return "\n".join(
        [
            f"# Server CPU per upload ({revision()})",
            "",
            f"{opts.files} SciFact abstracts per server and round, {opts.rounds} rounds, "
            f"4 uploads in flight; {machine()}.",
            "",
            markdown_table(headers, table),
        ]
    )


def start_servers(stack: ExitStack, root: Path, opts: Options, url: str) -> dict[str, Server]:
    settings = {"DATABASE_URL": url, "EMBEDDING_PROVIDER": "hash", "INGEST_WORKERS": "0"}
    profile = None if opts.profile is None else opts.profile / "upload"
    return compared_servers(stack, root, opts.compare, profile, opts.instructions, **settings)


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(1)


def main() -> None:
    opts = parse_args()
    signal.signal(signal.SIGTERM, _stop)
    documents = scifact(opts.files + WARMUP)
    with workspace(None) as root, ExitStack() as stack:
        url = stack.enter_context(embedded_postgres(root / "pgdata"))
        started = start_servers(stack, root, opts, url)
        servers = {
            name: (server, CpuMeter.of(server.pid, root / "pgdata"))
            for name, server in started.items()
        }
        rows = asyncio.run(measure(opts, servers, documents[WARMUP:]))
    print(render(rows, opts))
    if opts.profile is not None and (path := opts.profile / "upload.0.prof").exists():
        stats = pstats.Stats(str(path))
        stats.sort_stats("tottime").print_stats(PROFILE_LINES)
        stats.sort_stats("cumulative").print_stats(PROFILE_LINES)


if __name__ == "__main__":
    main()
