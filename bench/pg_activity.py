"""What PostgreSQL did during a benchmark beyond its CPU total: WAL written, full-page
images, checkpoints, and which of its processes spent the CPU.

Full-page images are the first change to each page after a checkpoint, written whole
into the WAL; on a bulk load into a large btree they can outweigh the rows themselves,
so the ingest benchmark reports them per chunk next to the CPU. The counters are the
cluster's (`pg_stat_wal`, `pg_stat_checkpointer`, PostgreSQL 17+), read before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_COUNTERS = """
SELECT w.wal_records, w.wal_fpi, w.wal_bytes::bigint,
       c.num_timed + c.num_requested AS checkpoints,
       (SELECT sum(xact_commit) FROM pg_stat_database) AS commits,
       (SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal') AS flushes
FROM pg_stat_wal AS w CROSS JOIN pg_stat_checkpointer AS c
"""
KINDS = (
    "autovacuum",
    "checkpointer",
    "background writer",
    "walwriter",
    "parallel worker",
    "io worker",
)


@dataclass(frozen=True)
class WalCounters:
    records: int
    fpi: int
    bytes: int
    checkpoints: int
    commits: int
    flushes: int
    """WAL fsyncs (each commit that finds its WAL not yet flushed waits for one)."""

    def __sub__(self, other: WalCounters) -> WalCounters:
        return WalCounters(
            self.records - other.records,
            self.fpi - other.fpi,
            self.bytes - other.bytes,
            self.checkpoints - other.checkpoints,
            self.commits - other.commits,
            self.flushes - other.flushes,
        )

    def per_item(self, items: int) -> str:
        """One line of the report: WAL per item written (a chunk, say)."""
        n = max(items, 1)
        return (
            f"{self.records / n:.0f} WAL records, {self.fpi / n:.1f} full-page images, "
            f"{self.bytes / n / 1024:.1f} KiB of WAL ({self.fpi * 8192 / max(self.bytes, 1):.0%} "
            f"of it page images at 8 KiB each) per chunk; {self.checkpoints} checkpoints, "
            f"{self.commits} commits, {self.flushes} WAL fsyncs"
        )


async def wal_counters(conn: asyncpg.Connection) -> WalCounters:
    """The cluster's WAL and checkpoint counters, after this backend's own are flushed."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    row = await conn.fetchrow(_COUNTERS)
    return WalCounters(*(int(value) for value in row))


def process_kind(cmdline: list[str]) -> str:
    """A PostgreSQL process's role from its title (`postgres: checkpointer`, ...);
    a client connection is a `backend`."""
    title = " ".join(cmdline)
    if not title.startswith("postgres:"):
        return "postmaster"
    return next((kind for kind in KINDS if kind in title), "backend")
