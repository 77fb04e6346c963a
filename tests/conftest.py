"""Shared fixtures: one real PostgreSQL + pgvector for the run, a fresh app per test.

Two tiers of isolation (README, "Tests"). By default an app opens its own database
and commits for real, and `_clean_tables` empties the tables after the test. Where a
conftest overrides `database` with a connection inside an outer transaction (tests/api
does), the app runs every request on it and the test ends in a rollback; tests marked
`committed` keep the first tier.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings, normalise_database_url
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.runtime import Database
from tests.fakes.openai_server import FakeOpenAIServer, running_fake_openai

TEST_DIMENSIONS = 1536
TENANT_TABLES = (
    "ingest_jobs",
    "bm25_postings",
    "bm25_pending",
    "bm25_dropped_keys",
    "bm25_stores",
    "file_chunks",
    "vector_store_files",
    "list_tombstones",
    "file_batches",
    "vector_stores",
    "file_parts",
    "files",
    "api_keys",
)
ANYTHING_COMMITTED = "SELECT " + " OR ".join(
    [
        *(f"EXISTS (SELECT FROM {table})" for table in TENANT_TABLES),
        "EXISTS (SELECT FROM projects WHERE name <> 'default')",
    ]
)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """`TEST_DATABASE_URL` when set, else an embedded server that lives for the run."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield normalise_database_url(given)
        return
    with (
        tempfile.TemporaryDirectory(prefix="maia-test-") as tmp,
        embedded_postgres(Path(tmp) / "pgdata", delete_on_exit=True) as url,
    ):
        yield url


@pytest.fixture(scope="session")
async def migrated_url(database_url: str) -> str:
    await upgrade_head(database_url, ModelSpec("hash", "hash", TEST_DIMENSIONS))
    return database_url


@pytest.fixture(scope="session")
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def database() -> Database | None:
    """None: the app opens its own database and commits (the committed tier)."""
    return None


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Committed tests commit for real (workers need it), so each one leaves the tables
    empty. A test whose app ran on a rolled-back connection must have left nothing: if
    it committed rows anyway (through `engine`, or an app of its own), it fails here."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    rolled_back = getattr(request.node, "funcargs", {}).get("database") is not None
    async with engine.begin() as conn:
        if rolled_back and not await conn.scalar(text(ANYTHING_COMMITTED)):
            return
        await conn.execute(text(f"TRUNCATE {', '.join(TENANT_TABLES)} CASCADE"))
        await conn.execute(text("DELETE FROM projects WHERE name <> 'default'"))
    if rolled_back:
        pytest.fail("this rollback-tier test committed rows: mark it `committed`")


@pytest.fixture
def settings(migrated_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=migrated_url,
        MAIA_DATA_DIR=tmp_path,
        EMBEDDING_PROVIDER="hash",
        EMBEDDING_DIMENSIONS=TEST_DIMENSIONS,
        INGEST_POLL_INTERVAL=0.05,
        INGEST_RETRY_BASE_SECONDS=0.05,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def app(
    settings: Settings, engine: AsyncEngine, database: Database | None
) -> AsyncIterator[FastAPI]:
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        yield app


RequestHook = Callable[[httpx.Request], Awaitable[None]]


@pytest.fixture
def before_request() -> list[RequestHook]:
    """What runs before each request of `client` and `sdk`: nothing, unless a tier needs it."""
    return []


@pytest.fixture
async def client(
    app: FastAPI, before_request: list[RequestHook]
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://localhost",
        event_hooks={"request": before_request},
    ) as client:
        yield client


@pytest.fixture
async def sdk(app: FastAPI, before_request: list[RequestHook]) -> AsyncIterator[AsyncOpenAI]:
    """The official SDK, talking to the app in-process: its types judge every response."""
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://localhost",
        event_hooks={"request": before_request},
    )
    client = AsyncOpenAI(base_url="http://localhost/v1", api_key="sk-test", http_client=http)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def fake_openai_session() -> Iterator[FakeOpenAIServer]:
    """One fake OpenAI embeddings server over real HTTP for the whole run."""
    with running_fake_openai() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_session: FakeOpenAIServer) -> FakeOpenAIServer:
    fake_openai_session.reset()
    return fake_openai_session
