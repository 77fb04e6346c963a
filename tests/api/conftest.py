"""API tests roll back: each one's app runs every request on one connection inside an
outer transaction, and the test ends by rolling it back (conventions §13).

A test (or module, through `pytestmark`) marked `committed` instead gets an app that
opens its own pool and commits, emptied after by `_clean_tables`: anything that needs
the in-process workers or housekeeping, SKIP LOCKED or advisory locks between
sessions, a database outage, or concurrent requests (one connection runs one statement
at a time: asyncpg answers "another operation is in progress").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from maia_vectordb.db.engine import with_vector_codecs
from maia_vectordb.ingest.worker import IngestWorker
from maia_vectordb.runtime import Database
from maia_vectordb.state import AppState
from tests.conftest import RequestHook
from tests.fakes.db_proxy import DatabaseProxy, database_proxy

IngestNow = Callable[[], Awaitable[int]]


@pytest.fixture(scope="session")
async def rollback_engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """Connections for the rollback tier, with the codecs the app's own engines have."""
    engine = with_vector_codecs(create_async_engine(migrated_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(rollback_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection, inside a transaction that is rolled back at the end: rows a
    test writes or tampers with here are the ones its requests see."""
    async with rollback_engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            try:
                await outer.rollback()
            except Exception:
                # Left mid-statement by a failed test: never hand it to the next one.
                await conn.invalidate()
                raise


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Database | None:
    if request.node.get_closest_marker("committed") is not None:
        return None
    connection: AsyncConnection = request.getfixturevalue("connection")
    return Database.on_connection(connection)


@pytest.fixture
def ingest_now(app: FastAPI, database: Database | None) -> IngestNow:
    """Run the ingestion worker's passes on the test's connection, in the test's task,
    until no job is due; returns how many passes did work."""
    assert database is not None, "committed tests have background workers: poll instead"
    state: AppState = app.state.maia
    worker = IngestWorker(
        sessionmaker=state.sessionmaker,
        embedders=state.embedders,
        chunker=state.chunker,
        settings=state.settings.ingest,
        name="ingest-now",
        metrics=state.metrics,
    )

    async def run() -> int:
        passes = 0
        while await worker.run_once():
            passes += 1
        return passes

    return run


@pytest.fixture
def before_request(request: pytest.FixtureRequest, database: Database | None) -> list[RequestHook]:
    """The rollback tier's stand-in for the background workers: every due ingestion job
    runs before each request `client` or `sdk` sends, never beside one. One interleaving
    real workers may produce, and the same on every run; a test that needs ingestion to
    lag behind its requests (or to retry after a backoff: the database clock stands
    still inside one transaction) is a committed one."""
    if database is None:
        return []
    ingest_now: IngestNow = request.getfixturevalue("ingest_now")

    async def drain(_: httpx.Request) -> None:
        await ingest_now()

    return [drain]


@pytest.fixture
async def proxy(migrated_url: str) -> AsyncIterator[DatabaseProxy]:
    """A TCP proxy to the test database that a test can cut or count (committed tier)."""
    async with database_proxy(migrated_url) as proxy:
        yield proxy
