"""The ingestion queue: a PostgreSQL table leased with `FOR UPDATE SKIP LOCKED`.

A lease is kept alive by heartbeats while a worker runs; a worker that dies
stops renewing it, and the job becomes claimable again when the lease lapses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import IngestJob


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    project_id: uuid.UUID
    vector_store_id: str
    file_id: str
    attempts: int
    request_id: str | None = None
    """Of the request that queued the job, so the worker's log lines can name it."""


async def enqueue(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_ids: list[str],
    request_id: str | None = None,
) -> None:
    """One job per attachment; a job already queued or running is left as it is."""
    if not file_ids:
        return
    rows = [
        {
            "project_id": project_id,
            "vector_store_id": vector_store_id,
            "file_id": f,
            "request_id": request_id,
        }
        for f in file_ids
    ]
    stmt = insert(IngestJob).values(rows)
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=[IngestJob.vector_store_id, IngestJob.file_id])
    )


# Fair across projects: the oldest runnable job of the project with the fewest jobs
# running now, so one project's backlog (or its slow files) cannot hold every worker
# while another project's file waits.
_CLAIM = text(
    """
    WITH running AS (
        SELECT project_id, count(*) AS n FROM ingest_jobs
        WHERE leased_until >= now() GROUP BY project_id
    )
    UPDATE ingest_jobs SET leased_until = now() + make_interval(secs => :lease),
                           attempts = attempts + 1
    WHERE id = (
        SELECT j.id FROM ingest_jobs j LEFT JOIN running r ON r.project_id = j.project_id
        WHERE j.run_after <= now() AND (j.leased_until IS NULL OR j.leased_until < now())
        ORDER BY coalesce(r.n, 0), j.run_after, j.id
        FOR UPDATE OF j SKIP LOCKED
        LIMIT 1
    )
    RETURNING id, project_id, vector_store_id, file_id, attempts, request_id
    """
)


async def claim(session: AsyncSession, *, lease_seconds: int) -> ClaimedJob | None:
    row = (await session.execute(_CLAIM, {"lease": lease_seconds})).first()
    return None if row is None else ClaimedJob(*row)


async def heartbeat(session: AsyncSession, job_id: int, *, lease_seconds: int) -> None:
    await session.execute(
        update(IngestJob)
        .where(IngestJob.id == job_id)
        .values(leased_until=func.now() + timedelta(seconds=lease_seconds))
    )


async def retry_later(session: AsyncSession, job_id: int, *, delay: float, error: str) -> None:
    await session.execute(
        update(IngestJob)
        .where(IngestJob.id == job_id)
        .values(
            leased_until=None,
            run_after=func.now() + timedelta(seconds=delay),
            last_error=error[:2000],
        )
    )


async def finish(session: AsyncSession, job_id: int) -> None:
    await session.execute(delete(IngestJob).where(IngestJob.id == job_id))


async def depth(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM ingest_jobs")) or 0)
