"""The one owner of start-up, for every command and for the app's lifespan.

embedded PostgreSQL (when DATABASE_URL is unset) → wait until it answers → migrate once
(under an advisory lock) → engines → embedder → ingestion workers and scheduled
housekeeping. Each stage is a context manager that undoes itself in reverse, and each
command enters only the stages it needs: `migrate` and `keys` stop at the database,
`worker` and the API's lifespan take the whole runtime. Nothing else starts a database or
migrates. The serving stages import their stacks (embeddings, ingestion, metrics) when
entered, so the database-only commands start without loading them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from maia_vectordb.config import DatabaseSettings, HttpSettings, Settings
from maia_vectordb.db.bootstrap import STARTUP_DB_TIMEOUT, wait_for_database
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.engine import (
    build_engine,
    build_search_engine,
    build_sessionmaker,
    connection_sessionmaker,
)
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.db.priority import lower_backend_priority

if TYPE_CHECKING:
    from maia_vectordb.ingest.worker import IngestWorker
    from maia_vectordb.observability.metrics import Metrics
    from maia_vectordb.state import AppState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    """A reachable database whose schema is at head and of the configured width."""

    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    one_connection: bool = False
    """Every session rides one connection its owner holds (`on_connection`). One
    connection runs one statement at a time, so searches share it and nothing runs
    beside the requests: no ingestion workers, no housekeeping."""

    @classmethod
    def on_connection(cls, connection: AsyncConnection) -> Database:
        """The database as seen through `connection`, already migrated and inside a
        transaction its owner ends: each unit of work becomes a savepoint, so the owner
        can roll every request back at once (the API tests' isolation)."""
        url = connection.engine.url.render_as_string(hide_password=False)
        sessions = connection_sessionmaker(connection)
        return cls(url=url, engine=connection.engine, sessionmaker=sessions, one_connection=True)


@contextlib.contextmanager
def hosted_database(settings: Settings) -> Iterator[Settings]:
    """Settings aimed at a running server: the configured one, or the embedded one
    started here (joined if already running) and stopped when the context closes."""
    if settings.database.url is not None:
        yield settings
        return
    with embedded_postgres(settings.database.pgdata) as url:
        yield settings.replace(DATABASE_URL=url)


@contextlib.asynccontextmanager
async def _hosted(settings: Settings) -> AsyncIterator[str]:
    """`hosted_database` from async code: the embedded server starts and stops in a thread."""
    with contextlib.ExitStack() as stack:
        hosted = await asyncio.to_thread(stack.enter_context, hosted_database(settings))
        try:
            assert hosted.database.url is not None
            yield hosted.database.url
        finally:
            await asyncio.to_thread(stack.close)


@contextlib.asynccontextmanager
async def open_database(settings: Settings, *, backend_nice: int = 0) -> AsyncIterator[Database]:
    """Start (or reach) PostgreSQL, wait for it, migrate once, build the primary engine.
    `backend_nice` lowers the priority of its backends if the server is the embedded one
    (db/priority.py)."""
    embedded = settings.database.url is None
    async with _hosted(settings) as url:
        await wait_for_database(url, within=STARTUP_DB_TIMEOUT)
        engine = build_engine(settings.database, url)
        if embedded and backend_nice > 0:
            lower_backend_priority(engine, backend_nice)
        try:
            from maia_vectordb.embeddings.offer import offered_specs

            await upgrade_head(url, offered_specs(settings.embeddings)[0])
            yield Database(url=url, engine=engine, sessionmaker=build_sessionmaker(engine))
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    database: Database | None = None,
    backend_nice: int = 0,
) -> AsyncIterator[AppState]:
    """Everything a serving process holds: database, engines, embedder, workers, housekeeping.

    `database`, when given, is one the caller opened and still owns (it is neither
    started, migrated nor disposed here); when it is `one_connection`, the background
    stages are left out. `backend_nice`: as `open_database`'s."""
    from maia_vectordb.ingest.pool import running_workers
    from maia_vectordb.observability.metrics import Metrics

    metrics = metrics if metrics is not None else Metrics.build()
    async with contextlib.AsyncExitStack() as stack:
        db = database
        if db is None:
            db = await stack.enter_async_context(open_database(settings, backend_nice=backend_nice))
        metrics.pool.watch(db.engine.sync_engine.pool)
        state = await _serving_state(stack, settings, db, metrics)
        if not db.one_connection:
            await stack.enter_async_context(running_workers(build_workers(state), state.workers))
            await stack.enter_async_context(scheduled(housekeeping(state)))
        yield state


async def _serving_state(
    stack: contextlib.AsyncExitStack, settings: Settings, db: Database, metrics: Metrics
) -> AppState:
    """The embedder, the search reader and the request-side helpers, disposed by `stack`."""
    from maia_vectordb.embeddings import LocalModelEmbeddings, build_registry
    from maia_vectordb.ingest.chunking import Chunker
    from maia_vectordb.services.auth_gate import AuthGate
    from maia_vectordb.state import AppState

    embedders = build_registry(
        settings.embeddings, cache_size=settings.search.cache_size, metrics=metrics
    )
    stack.push_async_callback(embedders.aclose)
    default = embedders.default_embedder
    if isinstance(default, LocalModelEmbeddings):
        # Found (or downloaded) before serving: a missing model is one line at start,
        # not a failure on the first file.
        await default.load()
    await _seed_keys(settings.http, db.sessionmaker)
    return AppState(
        settings=settings,
        engine=db.engine,
        sessionmaker=db.sessionmaker,
        search_engine=_search_engine(stack, settings.database, db),
        embedders=embedders,
        chunker=await asyncio.to_thread(Chunker),
        auth=AuthGate(db.sessionmaker, needs_keys=settings.http.needs_keys),
        metrics=metrics,
    )


def _search_engine(
    stack: contextlib.AsyncExitStack, database: DatabaseSettings, db: Database
) -> AsyncEngine | None:
    """Searches read through their own autocommit pool (a replica's when configured),
    unless every session must share the database's one connection."""
    if db.one_connection:
        return None
    search_engine = build_search_engine(database, database.search_url or db.url)
    stack.push_async_callback(search_engine.dispose)
    return search_engine


async def _seed_keys(http: HttpSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    from maia_vectordb.services import keys

    if http.api_keys is not None:
        async with sessionmaker() as session, session.begin():
            await keys.seed_keys(session, http.api_keys.get_secret_value())


def build_workers(state: AppState) -> list[IngestWorker]:
    from maia_vectordb.ingest.worker import IngestWorker

    return [
        IngestWorker(
            sessionmaker=state.sessionmaker,
            embedders=state.embedders,
            chunker=state.chunker,
            settings=state.settings.ingest,
            name=f"ingest-{i}",
            metrics=state.metrics,
        )
        for i in range(state.settings.ingest.workers)
    ]


@dataclass(frozen=True)
class Job:
    """A housekeeping task the runtime repeats: first at start, then every `every` seconds."""

    name: str
    every: float
    run: Callable[[], Awaitable[object]]


def housekeeping(state: AppState) -> list[Job]:
    """Runs in every serving process, whether or not it ingests (INGEST_WORKERS=0)."""
    from maia_vectordb.ingest import indexer, keyword_indexer
    from maia_vectordb.services import expiry

    purge = expiry.purge_expired_files
    forget = expiry.forget_deleted_positions
    indexes = indexer.IndexBuilder(state.engine, state.settings.search)
    keywords = keyword_indexer.KeywordIndexer(state.engine, state.settings.search)
    return [
        Job("files.expiry", expiry.PURGE_EVERY_SECONDS, lambda: purge(state.sessionmaker)),
        Job(
            "list_tombstones.sweep", expiry.PURGE_EVERY_SECONDS, lambda: forget(state.sessionmaker)
        ),
        Job("vector_indexes.build", indexer.CHECK_EVERY_SECONDS, indexes.run_once),
        Job("keyword_index.post", keyword_indexer.CHECK_EVERY_SECONDS, keywords.run_once),
    ]


HOUSEKEEPING_STOP_SECONDS = 10.0


@contextlib.asynccontextmanager
async def scheduled(jobs: list[Job]) -> AsyncIterator[None]:
    """Each job on its own timer while the context is open; cancelled on the way out."""
    tasks = [asyncio.create_task(_repeat(job), name=job.name) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        # Bounded: a job stuck in its cleanup must not keep the process from stopping.
        if tasks:
            await asyncio.wait(tasks, timeout=HOUSEKEEPING_STOP_SECONDS)


async def _repeat(job: Job) -> None:
    """A job that fails unexpectedly is logged and tried again on its next turn."""
    while True:
        try:
            await job.run()
        except Exception as exc:
            if _cancelling():
                raise asyncio.CancelledError from exc  # stopping, whatever the job made of it
            from maia_vectordb.observability.errors import describe_error

            log.error("housekeeping.failed", extra={"job": job.name, **describe_error(exc)})
        await asyncio.sleep(job.every)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
