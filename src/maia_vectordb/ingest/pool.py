"""In-process ingestion workers, supervised, with an orderly stop.

Each task's own loop already survives any exception; the supervisor is the second
line: should a task's body ever end with an exception, it is logged and the task
restarted after a backoff, so ingestion is never left silently dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from maia_vectordb.ingest.liveness import TaskLiveness, WorkerMonitor
from maia_vectordb.ingest.worker import IngestWorker, backoff_seconds, pause
from maia_vectordb.observability.errors import describe_error

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
MIN_STUCK_SECONDS = 90.0


async def supervise(
    body: Callable[[], Awaitable[None]], stop: asyncio.Event, liveness: TaskLiveness
) -> None:
    """Run `body` until `stop`; if it fails, log it and run it again after a backoff."""
    failures = 0
    while not stop.is_set():
        try:
            await body()
        except Exception as exc:
            failures += 1
            liveness.restarts += 1
            log.error(
                "ingest.task.crashed",
                extra={"task": liveness.name, "restarts": liveness.restarts, **describe_error(exc)},
            )
            await pause(stop, backoff_seconds(failures))
        else:
            return


@contextlib.asynccontextmanager
async def running_workers(
    workers: list[IngestWorker], monitor: WorkerMonitor | None = None
) -> AsyncIterator[None]:
    """Workers run while the context is open; on exit they finish or are cancelled.

    A cancelled job keeps its lease until it lapses, then another worker redoes
    it: the final write is idempotent, so nothing is lost or doubled.
    """
    monitor = monitor if monitor is not None else WorkerMonitor()
    stop = asyncio.Event()
    for worker in workers:
        stuck = max(3.0 * worker.settings.lease_seconds, MIN_STUCK_SECONDS)
        _start(monitor.register(worker.name, stuck_after=stuck), worker.run, stop)
    try:
        yield
    finally:
        monitor.stopping = True
        stop.set()
        await _stop([t.task for t in monitor.tasks if t.task is not None])


def _start(
    liveness: TaskLiveness,
    run: Callable[[asyncio.Event, TaskLiveness], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    body = functools.partial(run, stop, liveness)
    liveness.task = asyncio.create_task(supervise(body, stop, liveness), name=liveness.name)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
