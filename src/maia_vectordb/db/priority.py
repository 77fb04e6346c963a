"""A `worker` process, and its embedded PostgreSQL backends, yield the CPU to searches.

On a machine where the API, the ingestion workers and PostgreSQL share a few cores, a
heavy ingest took the cores searches needed: their p50 doubled (docs/benchmarks.md).
Ingestion is background work that only needs to finish; a search has someone waiting.
So `maia-vectordb worker` runs at a lower scheduling priority (`INGEST_WORKER_NICE`),
and so do the PostgreSQL backends serving its connections, where most of ingestion's
CPU goes, when that PostgreSQL is the embedded one: a server this package started on
this machine, so the backend pid it reports names a process here. A pid from any other
server could name an unrelated local process, so those are left alone; an operator can
renice such backends, or use the database's own resource controls.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


def lower_own_priority(niceness: int) -> None:
    """Every thread of this process at `niceness`, and so every thread they start later
    (Linux keeps a nice value per thread, inherited at creation). Called once the
    database is up, so an embedded server this process starts runs at normal priority.
    Where there is no /proc (macOS), the nice value belongs to the process: set once."""
    tasks = Path("/proc/self/task")
    ids = [int(task.name) for task in tasks.iterdir()] if tasks.is_dir() else [0]
    for tid in ids:
        try:
            if niceness > os.getpriority(os.PRIO_PROCESS, tid):
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except ProcessLookupError:  # a thread that ended meanwhile
            continue


def lower_backend_priority(engine: AsyncEngine, niceness: int) -> None:
    """Every connection `engine` opens from now on has its backend reniced to `niceness`."""
    event.listen(engine.sync_engine, "connect", functools.partial(_renice_backend, niceness))


def _renice_backend(niceness: int, dbapi_connection: Any, _record: Any) -> None:
    pid = dbapi_connection.driver_connection.get_server_pid()
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError as exc:  # not ours to renice (another user's server): run as it is
        log.warning("backend %d keeps its priority: %s", pid, exc)
