"""The ingestion worker: claims batches of jobs from PostgreSQL and records every outcome.

Each batch runs in short units of work: claim many jobs (commit), do the slow
work with no transaction open while one heartbeat keeps every lease, then one
transaction that writes all the chunks and final statuses together. A crash
anywhere leaves either the old state or the new one, and an expired lease hands
the jobs to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.config import IngestSettings
from maia_vectordb.db.queries import jobs
from maia_vectordb.db.queries.file_parts import read_many
from maia_vectordb.embeddings import EmbedderRegistry, ModelSpec, PermanentEmbeddingError
from maia_vectordb.ingest.chunking import Chunker
from maia_vectordb.ingest.liveness import TaskLiveness
from maia_vectordb.ingest.pipeline import (
    Parsed,
    embed_files,
    is_quick,
    prepare,
    prepare_quick,
)
from maia_vectordb.lifecycle import LastErrorCode
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.observability.metrics import Metrics
from maia_vectordb.services import ingestion
from maia_vectordb.services.ingestion import Completed, Failed, Skipped, Verdict

log = logging.getLogger(__name__)

MAX_FAILURE_PAUSE_SECONDS = 30.0


def backoff_seconds(failures: int) -> float:
    """0 after a success, then 0.5 s doubling per consecutive failure, capped at 30 s."""
    if failures <= 0:
        return 0.0
    return min(0.5 * 2.0 ** (failures - 1), MAX_FAILURE_PAUSE_SECONDS)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass
class IngestWorker:
    sessionmaker: async_sessionmaker[AsyncSession]
    embedders: EmbedderRegistry
    """Each file is embedded with its store's model."""
    chunker: Chunker
    settings: IngestSettings
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
                await pause(stop, self.settings.poll_interval + backoff_seconds(failures))

    async def run_once(self, liveness: TaskLiveness | None = None) -> bool:
        """Process one batch of due jobs; False when the queue had nothing for us."""
        async with self.sessionmaker() as session, session.begin():
            claimed = await jobs.claim_many(
                session,
                lease_seconds=self.settings.lease_seconds,
                limit=self.settings.batch_files,
                max_bytes=self.settings.batch_bytes,
            )
        if not claimed:
            return False
        started = time.monotonic()
        async with self._heartbeat([job.id for job in claimed], liveness):
            verdicts = await self._verdicts(claimed)
            outcomes = await self._record(verdicts)
        seconds = time.monotonic() - started
        for verdict in verdicts:
            self._report(verdict, outcomes[verdict.job.id], seconds)
        return True

    async def _verdicts(self, claimed: list[jobs.ClaimedJob]) -> list[Verdict]:
        """Every claimed job's verdict: given up, skipped, failed while parsing, or embedded."""
        verdicts: list[Verdict] = []
        runnable = []
        for job in claimed:
            over = ingestion.gave_up(job, self.settings)
            if over is not None:
                verdicts.append(over)
            else:
                runnable.append(job)
        async with self.sessionmaker() as session:
            targets = await jobs.load_targets(session, runnable)
            data = await read_many(session, [t.job.file_id for t in targets.values()])
        groups: dict[ModelSpec, list[Parsed]] = defaultdict(list)
        for job in runnable:
            if job.id not in targets:
                verdicts.append(Skipped(job))
        for parsed in await self._prepare(list(targets.values()), data):
            if isinstance(parsed, Parsed):
                groups[_model_of(targets[parsed.job.id])].append(parsed)
            else:
                verdicts.append(parsed)
        for model, files in groups.items():
            verdicts.extend(await self._embed(model, files))
        return verdicts

    async def _prepare(
        self, targets: list[jobs.JobTarget], data: dict[str, bytes]
    ) -> list[Parsed | Verdict]:
        """Quick files (small plain text) all in one thread trip; any other file alone."""
        files = [(target, data[target.job.file_id]) for target in targets]
        quick = [(t, d) for t, d in files if is_quick(t, d)]
        done = await prepare_quick(quick, self.chunker, self.settings) if quick else []
        for target, content in files:
            if not is_quick(target, content):
                done.append(await prepare(target, content, self.chunker, self.settings))
        return done

    async def _embed(self, model: ModelSpec, files: list[Parsed]) -> list[Verdict]:
        try:
            embedder = self.embedders.get(model)
        except PermanentEmbeddingError as exc:
            return [Failed(f.job, LastErrorCode.SERVER_ERROR, str(exc)) for f in files]
        return await embed_files(files, embedder, self.settings)

    async def _record(self, verdicts: list[Verdict]) -> dict[int, str]:
        """The whole batch in one transaction; should that fail, each file on its own, so
        one file the database rejects is retried alone once its lease lapses."""
        try:
            return await self._record_in_one(verdicts)
        except SQLAlchemyError as exc:
            if len(verdicts) == 1:
                raise
            log.warning("ingest.batch.write_failed", extra=describe_error(exc))
        outcomes: dict[int, str] = {}
        for verdict in verdicts:
            try:
                outcomes.update(await self._record_in_one([verdict]))
            except SQLAlchemyError as exc:
                log.warning(
                    "ingest.file.write_failed",
                    extra={"file_id": verdict.job.file_id, **describe_error(exc)},
                )
                outcomes[verdict.job.id] = "crashed"
        return outcomes

    async def _record_in_one(self, verdicts: list[Verdict]) -> dict[int, str]:
        async with self.sessionmaker() as session, session.begin():
            return await ingestion.record(session, verdicts)

    def _report(self, verdict: Verdict, outcome: str, seconds: float) -> None:
        """Ids and the error code only: messages may quote the file, logs must not."""
        job = verdict.job
        chunks = len(verdict.chunks) if isinstance(verdict, Completed) else 0
        log.info(
            "ingest.file.%s",
            outcome,
            extra={
                "file_id": job.file_id,
                "vector_store_id": job.vector_store_id,
                "attempt": job.attempts,
                "code": verdict.code if isinstance(verdict, Failed) else None,
                "chunks": chunks,
                "seconds": round(seconds, 3),
                "request_id": job.request_id,
            },
        )
        if self.metrics is not None:
            self.metrics.ingest.record_job(outcome=outcome, seconds=seconds, chunks=chunks)

    @contextlib.asynccontextmanager
    async def _heartbeat(
        self, job_ids: list[int], liveness: TaskLiveness | None
    ) -> AsyncIterator[None]:
        """Renew every lease of the batch while it runs, so only a dead worker loses them;
        a renewed lease is also the worker's sign of progress while one long batch runs."""
        lease = self.settings.lease_seconds

        async def beat() -> None:
            while True:
                await asyncio.sleep(lease / 3)
                try:
                    async with self.sessionmaker() as session, session.begin():
                        await jobs.heartbeat(session, job_ids, lease_seconds=lease)
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


def _model_of(target: jobs.JobTarget) -> ModelSpec:
    return ModelSpec(target.embedding_provider, target.embedding_model, target.embedding_dimensions)
