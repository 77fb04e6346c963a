"""The ingestion worker: claims jobs from PostgreSQL and records every outcome.

Each job runs in short units of work: claim (commit), do the slow work with no
transaction open while a heartbeat keeps the lease, then one transaction that
writes the chunks and the final status together. A crash anywhere leaves either
the old state or the new one, and an expired lease hands the job to another
worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.db import chunks, jobs
from maia_vectordb.db.files import read_all
from maia_vectordb.db.models import File, IngestJob, VectorStore, VectorStoreFile
from maia_vectordb.embeddings import (
    EmbedderRegistry,
    ModelSpec,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.ingest.chunking import Chunker
from maia_vectordb.ingest.liveness import TaskLiveness
from maia_vectordb.ingest.parsers import InvalidFile, UnsupportedFile
from maia_vectordb.ingest.pipeline import Ingested, ingest, parse_limits
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.observability.metrics import Metrics

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
MAX_FAILURE_PAUSE_SECONDS = 30.0
_GAVE_UP = "Processing stopped unexpectedly {n} times; giving up on this file."


def backoff_seconds(failures: int) -> float:
    """0 after a success, then 0.5 s doubling per consecutive failure, capped at 30 s."""
    if failures <= 0:
        return 0.0
    return min(0.5 * 2.0 ** (failures - 1), MAX_FAILURE_PAUSE_SECONDS)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(frozen=True)
class Outcome:
    status: str
    code: str | None = None
    message: str | None = None
    chunks: int = 0


@dataclass
class IngestWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    embedders: EmbedderRegistry
    """Each file is embedded with its store's model."""
    chunker: Chunker
    settings: Settings
    name: str = "worker"
    metrics: Metrics | None = None

    async def run(self, stop: asyncio.Event, liveness: TaskLiveness | None = None) -> None:
        """Claim and process jobs until `stop` is set. Any failure (an outage, a pool
        timeout, a bug) is logged and waited out with a growing pause, never fatal."""
        failures = 0
        while not stop.is_set():
            if liveness is not None:
                liveness.beat()
            try:
                worked = await self.run_once(liveness)
                failures = 0
            except Exception as exc:
                failures += 1
                fields = {"worker": self.name, **describe_error(exc)}
                log.warning("ingest.worker.failed", extra=fields)
                worked = False
            if not worked:
                await pause(stop, self.settings.job_poll_interval + backoff_seconds(failures))

    async def run_once(self, liveness: TaskLiveness | None = None) -> bool:
        """Process one job if any is due; False when the queue had nothing for us."""
        async with self.sessionmaker() as session, session.begin():
            job = await jobs.claim(session, lease_seconds=self.settings.job_lease_seconds)
        if job is None:
            return False
        started = time.monotonic()
        outcome = await self._run_job(job, liveness)
        self._report(job, outcome, time.monotonic() - started)
        return True

    async def _run_job(self, job: jobs.ClaimedJob, liveness: TaskLiveness | None) -> Outcome:
        if job.attempts > self.settings.job_max_attempts:
            return await self._fail(job, "server_error", _GAVE_UP.format(n=job.attempts - 1))
        async with self._heartbeat(job.id, liveness):
            return await self._process(job)

    def _report(self, job: jobs.ClaimedJob, outcome: Outcome, seconds: float) -> None:
        """Ids and the error code only: messages may quote the file, logs must not."""
        log.info(
            "ingest.file.%s",
            outcome.status,
            extra={
                "file_id": job.file_id,
                "vector_store_id": job.vector_store_id,
                "attempt": job.attempts,
                "code": outcome.code,
                "chunks": outcome.chunks,
                "seconds": round(seconds, 3),
                "request_id": job.request_id,
            },
        )
        if self.metrics is not None:
            self.metrics.ingest.record_job(
                outcome=outcome.status, seconds=seconds, chunks=outcome.chunks
            )

    async def _process(self, job: jobs.ClaimedJob) -> Outcome:
        async with self.sessionmaker() as session:
            target = await self._load(session, job)
        if target is None:
            async with self.sessionmaker() as session, session.begin():
                await jobs.finish(session, job.id)
            return Outcome("skipped")
        attachment, filename, data, model = target
        try:
            result = await ingest(
                filename=filename,
                data=data,
                strategy=attachment.chunking_strategy,
                chunker=self.chunker,
                embedder=self.embedders.get(model),
                limits=parse_limits(self.settings),
            )
        except UnsupportedFile as exc:
            return await self._fail(job, "unsupported_file", str(exc))
        except InvalidFile as exc:
            return await self._fail(job, "invalid_file", str(exc))
        except PermanentEmbeddingError as exc:
            return await self._fail(job, "server_error", str(exc))
        except TransientEmbeddingError as exc:
            return await self._retry_or_fail(job, str(exc))
        except (OSError, SQLAlchemyError):
            raise
        except Exception as exc:
            log.error("ingest.file.crashed", extra={"file_id": job.file_id, **describe_error(exc)})
            return await self._retry_or_fail(job, "internal error while processing the file")
        return await self._complete(job, attachment, result)

    async def _load(
        self, session: AsyncSession, job: jobs.ClaimedJob
    ) -> tuple[VectorStoreFile, str, bytes, ModelSpec] | None:
        query = (
            select(
                VectorStoreFile,
                File.filename,
                VectorStore.embedding_provider,
                VectorStore.embedding_model,
                VectorStore.embedding_dimensions,
            )
            .join(File, File.id == VectorStoreFile.file_id)
            .join(VectorStore, VectorStore.id == VectorStoreFile.vector_store_id)
            .where(
                VectorStoreFile.vector_store_id == job.vector_store_id,
                VectorStoreFile.file_id == job.file_id,
                VectorStoreFile.status == "in_progress",
            )
        )
        row = (await session.execute(query)).first()
        if row is None:
            return None
        model = ModelSpec(row[2], row[3], row[4])
        return row[0], row[1], await read_all(session, job.file_id), model

    async def _complete(
        self, job: jobs.ClaimedJob, attachment: VectorStoreFile, result: Ingested
    ) -> Outcome:
        async with self.sessionmaker() as session, session.begin():
            current = await self._lock_pending(session, job)
            if current is None:
                await jobs.finish(session, job.id)
                return Outcome("discarded")
            await chunks.replace_chunks(
                session,
                vector_store_id=job.vector_store_id,
                file_id=job.file_id,
                attributes=current.attributes,
                chunks=result.chunks,
            )
            current.status = "completed"
            current.last_error = None
            current.content = result.text
            current.usage_bytes = result.usage_bytes()
            await jobs.finish(session, job.id)
        return Outcome("completed", chunks=len(result.chunks))

    async def _fail(self, job: jobs.ClaimedJob, code: str, message: str) -> Outcome:
        async with self.sessionmaker() as session, session.begin():
            current = await self._lock_pending(session, job)
            if current is not None:
                current.status = "failed"
                current.last_error = {"code": code, "message": message[:1000]}
            await jobs.finish(session, job.id)
        return Outcome("failed", code, message)

    async def _retry_or_fail(self, job: jobs.ClaimedJob, message: str) -> Outcome:
        if job.attempts >= self.settings.job_max_attempts:
            return await self._fail(
                job,
                "server_error",
                f"Embedding failed after {job.attempts} attempts: {message}",
            )
        delay = min(
            self.settings.job_retry_base_seconds * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS
        ) * random.uniform(0.8, 1.2)  # noqa: S311
        async with self.sessionmaker() as session, session.begin():
            await jobs.retry_later(session, job.id, delay=delay, error=message)
        return Outcome("retrying", message=message)

    @staticmethod
    async def _lock_pending(session: AsyncSession, job: jobs.ClaimedJob) -> VectorStoreFile | None:
        """The attachment, locked, if it still awaits this very job's result.

        The job row is the attachment's generation: detach, cancel and delete all
        remove it, and a re-attach queues a new one. An ingestion whose job is gone
        was superseded (or cancelled), so it finds nothing here and discards its result.
        """
        query = (
            select(VectorStoreFile)
            .join(
                IngestJob,
                (IngestJob.vector_store_id == VectorStoreFile.vector_store_id)
                & (IngestJob.file_id == VectorStoreFile.file_id),
            )
            .where(
                VectorStoreFile.vector_store_id == job.vector_store_id,
                VectorStoreFile.file_id == job.file_id,
                VectorStoreFile.status == "in_progress",
                IngestJob.id == job.id,
            )
            .with_for_update(of=VectorStoreFile)
        )
        return (await session.execute(query)).scalar_one_or_none()

    @contextlib.asynccontextmanager
    async def _heartbeat(self, job_id: int, liveness: TaskLiveness | None) -> AsyncIterator[None]:
        """Renew the lease while the job runs, so only a dead worker loses it; a renewed
        lease is also the worker's sign of progress while one long job runs."""
        lease = self.settings.job_lease_seconds

        async def beat() -> None:
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    async with self.sessionmaker() as session, session.begin():
                        await jobs.heartbeat(session, job_id, lease_seconds=lease)
                except Exception as exc:
                    log.warning("ingest.heartbeat.failed", extra=describe_error(exc))
                else:
                    if liveness is not None:
                        liveness.beat()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
