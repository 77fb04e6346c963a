"""The ingestion queue: a PostgreSQL table leased with `FOR UPDATE SKIP LOCKED`.

A lease is kept alive by heartbeats while a worker runs; a worker that dies
stops renewing it, and the job becomes claimable again when the lease lapses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import File, IngestJob, VectorStore, VectorStoreFile
from maia_vectordb.db.queries.bulk import insert_rows, is_any, pair_in
from maia_vectordb.db.queries.scope import of_project
from maia_vectordb.lifecycle import FileStatus


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    project_id: uuid.UUID
    vector_store_id: str
    file_id: str
    attempts: int
    request_id: str | None = None
    """Of the request that queued the job, so the worker's log lines can name it."""


@dataclass(frozen=True)
class JobTarget:
    """What a claimed job needs to run: its file, how to chunk it, its store's model."""

    job: ClaimedJob
    filename: str
    chunking_strategy: dict[str, Any]
    embedding_provider: str
    embedding_model: str
    embedding_dimensions: int


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
    stmt = insert_rows(IngestJob).on_conflict_do_nothing(
        index_elements=[IngestJob.vector_store_id, IngestJob.file_id]
    )
    await session.execute(stmt, rows)


# Fair across projects: each runnable job's turn is its place in its project's queue
# plus the jobs that project has running now; the lowest turns go first (oldest first
# within a turn), so one project's backlog (or its slow files) cannot hold every
# worker while another project's file waits, and a claim of many takes each project's
# share in turn. The window runs unlocked; the chosen rows are then locked, skipping
# rows another worker is claiming, and the
# batch is cut where its files' bytes pass the budget (the rest stay runnable).
_CLAIM = text(
    """
    WITH running AS (
        SELECT project_id, count(*) AS n FROM ingest_jobs
        WHERE leased_until >= now() GROUP BY project_id
    ), ranked AS (
        SELECT j.id, j.run_after, f.bytes, coalesce(r.n, 0)
               + row_number() OVER (PARTITION BY j.project_id ORDER BY j.run_after, j.id) AS turn
        FROM ingest_jobs j LEFT JOIN running r ON r.project_id = j.project_id
        JOIN files f ON f.id = j.file_id
        WHERE j.run_after <= now() AND (j.leased_until IS NULL OR j.leased_until < now())
    ), candidates AS (
        SELECT id, run_after, bytes, turn FROM ranked ORDER BY turn, run_after, id LIMIT :scan
    ), picked AS (
        SELECT j.id, c.turn, c.run_after, c.bytes
        FROM ingest_jobs j JOIN candidates c ON c.id = j.id
        WHERE j.leased_until IS NULL OR j.leased_until < now()
        ORDER BY c.turn, c.run_after, c.id
        FOR UPDATE OF j SKIP LOCKED
        LIMIT :limit
    ), chosen AS (
        SELECT id, turn, run_after FROM (
            SELECT *, sum(bytes) OVER (ORDER BY turn, run_after, id) - bytes AS bytes_before
            FROM picked
        ) p WHERE bytes_before < :budget
    )
    UPDATE ingest_jobs j SET leased_until = now() + make_interval(secs => :lease),
                             attempts = j.attempts + 1
    FROM chosen p WHERE j.id = p.id
    RETURNING j.id, j.project_id, j.vector_store_id, j.file_id, j.attempts, j.request_id,
              p.turn, p.run_after
    """
)
# Candidates looked at per job wanted, so concurrent claimers still fill their batches.
_SCAN_FACTOR = 4


async def claim_many(
    session: AsyncSession, *, lease_seconds: int, limit: int, max_bytes: int | None = None
) -> list[ClaimedJob]:
    """Up to `limit` runnable jobs, leased to the caller, in fair order; past the first,
    only while the files claimed so far hold under `max_bytes`, so a batch of large
    files stays a bounded amount of text and vectors in memory."""
    params = {
        "lease": lease_seconds,
        "limit": limit,
        "scan": limit * _SCAN_FACTOR,
        "budget": max_bytes if max_bytes is not None else 2**62,
    }
    rows = (await session.execute(_CLAIM, params)).all()
    ordered = sorted(rows, key=lambda row: (row[6], row[7], row[0]))
    return [ClaimedJob(*row[:6]) for row in ordered]


async def claim(session: AsyncSession, *, lease_seconds: int) -> ClaimedJob | None:
    claimed = await claim_many(session, lease_seconds=lease_seconds, limit=1)
    return claimed[0] if claimed else None


async def heartbeat(session: AsyncSession, job_ids: list[int], *, lease_seconds: int) -> None:
    await session.execute(
        update(IngestJob)
        .where(is_any(IngestJob.id, job_ids))
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
    await finish_many(session, [job_id])


async def finish_many(session: AsyncSession, job_ids: list[int]) -> None:
    if job_ids:
        await session.execute(delete(IngestJob).where(is_any(IngestJob.id, job_ids)))


async def discard(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, file_ids: list[str]
) -> None:
    """The jobs of attachments no longer awaiting ingestion (a cancelled batch's files)."""
    if file_ids:
        await session.execute(
            delete(IngestJob).where(
                IngestJob.vector_store_id == vector_store_id,
                IngestJob.file_id.in_(file_ids),
                of_project(IngestJob, project_id),
            )
        )


async def depth(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM ingest_jobs")) or 0)


@dataclass(frozen=True)
class Pending:
    """An attachment locked for its job's result: its key and the attributes its chunks
    copy (only what a result needs, not a whole ORM row per file of the batch)."""

    vector_store_id: str
    file_id: str
    attributes: dict[str, Any] | None


async def lock_pending(
    session: AsyncSession, claimed: list[ClaimedJob]
) -> dict[tuple[str, str], Pending]:
    """The attachments, locked, that still await these very jobs' results.

    The job row is the attachment's generation: detach, cancel and delete all
    remove it, and a re-attach queues a new one. An ingestion whose job is gone
    was superseded (or cancelled), so it finds nothing here and discards its result.
    Rows are locked in key order, as every other writer of many attachments does.
    """
    if not claimed:
        return {}
    query = (
        select(VectorStoreFile.vector_store_id, VectorStoreFile.file_id, VectorStoreFile.attributes)
        .join(
            IngestJob,
            (IngestJob.vector_store_id == VectorStoreFile.vector_store_id)
            & (IngestJob.file_id == VectorStoreFile.file_id),
        )
        .where(
            is_any(IngestJob.id, [job.id for job in claimed]),
            VectorStoreFile.status == FileStatus.IN_PROGRESS,
        )
        .order_by(VectorStoreFile.vector_store_id, VectorStoreFile.file_id)
        .with_for_update(of=VectorStoreFile)
    )
    rows = await session.execute(query)
    return {(store, file): Pending(store, file, attributes) for store, file, attributes in rows}


async def load_targets(session: AsyncSession, claimed: list[ClaimedJob]) -> dict[int, JobTarget]:
    """Each claimed job whose attachment still awaits ingestion, by job id, in one query."""
    by_key = {(job.vector_store_id, job.file_id): job for job in claimed}
    query = (
        select(
            VectorStoreFile.vector_store_id,
            VectorStoreFile.file_id,
            File.filename,
            VectorStoreFile.chunking_strategy,
            VectorStore.embedding_provider,
            VectorStore.embedding_model,
            VectorStore.embedding_dimensions,
        )
        .join(File, File.id == VectorStoreFile.file_id)
        .join(VectorStore, VectorStore.id == VectorStoreFile.vector_store_id)
        .where(
            pair_in(VectorStoreFile.vector_store_id, VectorStoreFile.file_id, list(by_key)),
            VectorStoreFile.status == FileStatus.IN_PROGRESS,
        )
    )
    targets = {}
    for store_id, file_id, *rest in await session.execute(query):
        job = by_key[(store_id, file_id)]
        targets[job.id] = JobTarget(job, *rest)
    return targets
