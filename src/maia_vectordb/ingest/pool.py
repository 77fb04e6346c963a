"""In-process ingestion workers (and the housekeeping they carry) with an orderly stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.ingest.worker import IngestWorker
from maia_vectordb.services import files

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
HOUSEKEEPING_SECONDS = 60.0


async def housekeeping(sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    """Purge files past their `expires_after` once a minute. Every process may run this:
    the delete is idempotent, and a database outage only skips a round."""
    while not stop.is_set():
        try:
            async with sessionmaker() as session, session.begin():
                purged = await files.purge_expired(session)
            if purged:
                log.info("files.expired.purged", extra={"files": purged})
        except (OSError, DBAPIError, OperationalError) as exc:
            log.warning("files.expired.purge_failed", extra={"error": str(exc)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_SECONDS)


@contextlib.asynccontextmanager
async def running_workers(workers: list[IngestWorker]) -> AsyncIterator[None]:
    """Workers run while the context is open; on exit they finish or are cancelled.

    A cancelled job keeps its lease until it lapses, then another worker redoes
    it: the final write is idempotent, so nothing is lost or doubled.
    """
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop), name=w.name) for w in workers]
    if workers:
        janitor = housekeeping(workers[0].sessionmaker, stop)
        tasks.append(asyncio.create_task(janitor, name="housekeeping"))
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
