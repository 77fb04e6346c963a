"""Readiness: can we reach PostgreSQL, is its schema the one this code needs, and are the
in-process ingestion workers alive and making progress?"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.db.migrate import current_revision, head_revision
from maia_vectordb.ingest.liveness import WorkerMonitor
from maia_vectordb.observability.errors import describe_error

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ReadinessReport:
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str | None
    workers: str
    """`ok`, `none` (no in-process workers) or why ingestion is not healthy."""


async def readiness(engine: AsyncEngine, monitor: WorkerMonitor) -> ReadinessReport:
    expected = head_revision()
    workers = _workers(monitor)
    try:
        revision = await asyncio.wait_for(current_revision(engine), READY_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("health.database.unreachable", extra=describe_error(exc))
        return ReadinessReport("unavailable", "unreachable", None, expected, workers)
    healthy = revision == expected and workers in {"ok", "none"}
    return ReadinessReport("ok" if healthy else "unavailable", "ok", revision, expected, workers)


def _workers(monitor: WorkerMonitor) -> str:
    if not monitor.tasks:
        return "none"
    problem = monitor.problem()
    if problem is not None:
        log.warning("health.workers.unhealthy", extra={"reason": problem})
    return problem or "ok"
