"""Ingestion outcomes and the status transitions they make, in one place.

A worker turns each claimed job into a verdict; `record` writes a whole batch
of verdicts in the caller's transaction: chunks with one COPY, statuses, and the
jobs finished. Each verdict is still checked against its own job row, so a
superseded file's result is discarded while the rest of its batch lands.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.config import IngestSettings
from maia_vectordb.db.queries import chunks, jobs, vector_store_files
from maia_vectordb.db.queries.chunks import ChunkRow, FileChunks
from maia_vectordb.db.queries.jobs import ClaimedJob, Pending
from maia_vectordb.db.queries.vector_store_files import Settled
from maia_vectordb.lifecycle import FileStatus, LastErrorCode

MAX_BACKOFF_SECONDS = 300.0
MAX_MESSAGE_CHARS = 1000
BYTES_PER_HALF = 2
_GAVE_UP = "Processing stopped unexpectedly {n} times; giving up on this file."


@dataclass(frozen=True)
class Completed:
    job: ClaimedJob
    text: str
    chunks: list[ChunkRow]
    dimensions: int

    def usage_bytes(self) -> int:
        """What the chunks occupy: their text plus their half-precision vectors."""
        text_bytes = sum(len(c.text.encode()) for c in self.chunks)
        return text_bytes + len(self.chunks) * self.dimensions * BYTES_PER_HALF


@dataclass(frozen=True)
class Failed:
    job: ClaimedJob
    code: LastErrorCode
    message: str


@dataclass(frozen=True)
class RetryLater:
    job: ClaimedJob
    delay: float
    message: str


@dataclass(frozen=True)
class Skipped:
    """The attachment no longer awaited ingestion when its job was loaded."""

    job: ClaimedJob


Verdict = Completed | Failed | RetryLater | Skipped


def gave_up(job: ClaimedJob, settings: IngestSettings) -> Failed | None:
    """A job claimed more often than allowed: earlier runs died mid-way (a crash, a kill)."""
    if job.attempts <= settings.max_attempts:
        return None
    return Failed(job, LastErrorCode.SERVER_ERROR, _GAVE_UP.format(n=job.attempts - 1))


def retry_or_fail(job: ClaimedJob, message: str, settings: IngestSettings) -> Failed | RetryLater:
    """Retry with jittered exponential backoff until the attempts are spent."""
    if job.attempts >= settings.max_attempts:
        text = f"Embedding failed after {job.attempts} attempts: {message}"
        return Failed(job, LastErrorCode.SERVER_ERROR, text)
    delay = min(settings.retry_base_seconds * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS)
    return RetryLater(job, delay * random.uniform(0.8, 1.2), message)  # noqa: S311


async def record(session: AsyncSession, verdicts: list[Verdict]) -> dict[int, str]:
    """Write every verdict; returns each job's outcome (`discarded` when superseded).

    Whatever the batch's size: one lock of its attachments, one DELETE and one COPY of
    its chunks, one UPDATE of their statuses, one DELETE of its jobs (plus one UPDATE
    per file to retry later), all in the caller's transaction, so every file of the
    batch is `completed` together with its chunks, or none is."""
    settled = [v.job for v in verdicts if isinstance(v, Completed | Failed)]
    pending = await jobs.lock_pending(session, settled)
    outcomes: dict[int, str] = {}
    landed: list[FileChunks] = []
    statuses: list[Settled] = []
    for verdict in verdicts:
        job = verdict.job
        if isinstance(verdict, RetryLater):
            await jobs.retry_later(session, job.id, delay=verdict.delay, error=verdict.message)
            outcomes[job.id] = "retrying"
            continue
        current = pending.get((job.vector_store_id, job.file_id))
        outcomes[job.id] = _settle(current, verdict, landed, statuses)
    await chunks.replace_many(session, landed)
    await vector_store_files.settle_many(session, statuses)
    await jobs.finish_many(session, [j for j, outcome in outcomes.items() if outcome != "retrying"])
    return outcomes


def _settle(
    current: Pending | None,
    verdict: Completed | Failed | Skipped,
    landed: list[FileChunks],
    statuses: list[Settled],
) -> str:
    if isinstance(verdict, Skipped):
        return "skipped"
    if current is None:
        return "discarded"
    key = (current.vector_store_id, current.file_id)
    if isinstance(verdict, Failed):
        error = {"code": verdict.code.value, "message": verdict.message[:MAX_MESSAGE_CHARS]}
        statuses.append(Settled(*key, FileStatus.FAILED, error, None, None))
        return FileStatus.FAILED
    landed.append(FileChunks(*key, current.attributes, verdict.chunks))
    usage = verdict.usage_bytes()
    statuses.append(Settled(*key, FileStatus.COMPLETED, None, verdict.text, usage))
    return FileStatus.COMPLETED
