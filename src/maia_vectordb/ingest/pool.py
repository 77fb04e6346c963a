"""In-process ingestion workers with an orderly stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from maia_vectordb.ingest.worker import IngestWorker

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


@contextlib.asynccontextmanager
async def running_workers(workers: list[IngestWorker]) -> AsyncIterator[None]:
    """Workers run while the context is open; on exit they finish or are cancelled.

    A cancelled job keeps its lease until it lapses, then another worker redoes
    it: the final write is idempotent, so nothing is lost or doubled.
    """
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop), name=w.name) for w in workers]
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
