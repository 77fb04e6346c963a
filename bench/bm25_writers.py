"""One store written by one or several transactions at once: chunks/s of its write path.

    uv run python bench/bm25_writers.py [--mb 4] [--batch 500] [--writers 1,2] [--rounds 3]
        [--triggers NAME,...]

The worker writes each batch of files in one transaction: a binary COPY of its chunks,
whose BM25 insert trigger writes their postings and adds them to the store's totals.
Until 20261130_0014 the trigger upserted the store's `bm25_stores` row first and held it
to commit, so two transactions writing into one store ran their keyword indexing one
after the other; now the row is taken last.

This writes the `bench/ingest.py` corpus, cut by the server's chunker, into one store of
a scratch database at head: `--writers` connections at once, each COPYing its share of
the batches, one committed transaction per batch, once with each insert trigger
(`--triggers`: 0015's, which records chunks as pending and writes no postings,
0014's, and 0013's as 0014's downgrade restores it), the tables emptied
between runs. It prints chunks/s (the wall clock from the first COPY to the last
commit), PostgreSQL's CPU per chunk (the writers' backends) and the load average. On
two cores two writers can at best double one writer's chunks/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass

import asyncpg
from cpu import process_cpu_seconds
from harness import log, machine, markdown_table, pg_connect, pg_connect_kwargs, workspace
from keyword_write_cost import COLUMNS, DIMS, EMPTY, SETUP, chunk_records, migration_constant
from pgvector.asyncpg import register_vector

from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec

ROW_LAST = "20261130_0014_bm25_store_row_last.py"
TRIGGERS = {
    "postings after the load (0015)": migration_constant(
        "20261130_0015_bm25_pending.py", "INSERTED_FUNCTION"
    ),
    "store row last (0014)": migration_constant(ROW_LAST, "INSERTED_FUNCTION"),
    "store row first (0013)": migration_constant(ROW_LAST, "OLD_INSERTED_FUNCTION"),
}

Records = list[tuple[object, ...]]


@dataclass(frozen=True)
class Options:
    megabytes: float
    batch: int
    writers: tuple[int, ...]
    rounds: int
    triggers: tuple[str, ...]


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=4, help="corpus size in MiB")
    parser.add_argument("--batch", type=int, default=500, help="chunks per COPY (transaction)")
    parser.add_argument("--writers", default="1,2", help="concurrent writers, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--triggers", default=",".join(TRIGGERS), help=", ".join(TRIGGERS))
    args = parser.parse_args()
    triggers = tuple(name.strip() for name in args.triggers.split(","))
    if unknown := set(triggers) - set(TRIGGERS):
        parser.error(f"unknown triggers: {sorted(unknown)}")
    writers = tuple(int(n) for n in args.writers.split(","))
    return Options(args.mb, args.batch, writers, args.rounds, triggers)


async def _writer(conn: asyncpg.Connection, batches: list[Records]) -> None:
    for batch in batches:
        async with conn.transaction():
            await conn.copy_records_to_table("file_chunks", records=batch, columns=COLUMNS)


async def timed_run(
    conns: list[asyncpg.Connection], pids: list[int], records: Records, batch: int
) -> tuple[float, float]:
    """(chunks/s, PostgreSQL CPU ms per chunk) of `records` written by `conns` at once,
    batch i going to writer i mod len(conns)."""
    batches = [records[low : low + batch] for low in range(0, len(records), batch)]
    shares = [batches[i :: len(conns)] for i in range(len(conns))]
    before = sum(process_cpu_seconds(pid) for pid in pids)
    started = time.perf_counter()
    await asyncio.gather(*(_writer(c, s) for c, s in zip(conns, shares, strict=True)))
    seconds = time.perf_counter() - started
    cpu = sum(process_cpu_seconds(pid) for pid in pids) - before
    return len(records) / seconds, 1000 * cpu / len(records)


async def measure(url: str, opts: Options) -> list[list[object]]:
    await upgrade_head(url, ModelSpec("openai", "bench", DIMS))
    most = max(opts.writers)
    conns = [await pg_connect(pg_connect_kwargs(url)) for _ in range(most)]
    try:
        for conn in conns:
            await register_vector(conn)
        for statement in SETUP:
            await conns[0].execute(statement)
        pids = [await c.fetchval("SELECT pg_backend_pid()") for c in conns]
        records = chunk_records(opts.megabytes)
        log(f"{len(records)} chunks; {opts.rounds} rounds")
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for round_ in range(opts.rounds):
            for trigger in opts.triggers:
                await conns[0].execute(TRIGGERS[trigger])
                for writers in opts.writers:
                    run = await timed_run(conns[:writers], pids[:writers], records, opts.batch)
                    results.setdefault((trigger, writers), []).append(run)
                    await conns[0].execute(EMPTY)
            log(f"round {round_ + 1} done")
        load = f"{os.getloadavg()[0]:.1f}"
        return [
            [
                trigger,
                writers,
                f"{statistics.median(r[0] for r in runs):.0f}",
                f"{statistics.median(r[1] for r in runs):.2f}",
                load,
            ]
            for (trigger, writers), runs in results.items()
        ] + [["(chunks per run)", len(records), "", "", ""]]
    finally:
        for conn in conns:
            await conn.close()


def main() -> None:
    opts = parse_args()
    with workspace(None) as root, embedded_postgres(root / "pgdata") as url:
        rows = asyncio.run(measure(url, opts))
    print("## One store's write path, writers at once\n")
    print(
        f"- machine: {machine()}; COPY batches of {opts.batch}, one transaction each; "
        f"median of {opts.rounds} rounds\n"
    )
    headers = ("insert trigger", "writers", "chunks/s", "PostgreSQL CPU ms/chunk", "load (1 min)")
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
