"""A database that cannot be reached is a 503 with `retry-after`, never a 500, and the
service recovers by itself when it comes back."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.db.outage import is_database_outage
from tests.fakes.db_proxy import DatabaseProxy

ROUTES = ("/v1/vector_stores", "/v1/files")

# Outages and an exhausted pool need the app's own pools, reached through a proxy.
pytestmark = pytest.mark.committed


@contextlib.asynccontextmanager
async def _served_through(
    settings: Settings, proxy: DatabaseProxy
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose every database connection goes through `proxy`."""
    through = settings.replace(DATABASE_URL=proxy.url(), INGEST_WORKERS=0, DB_CONNECT_TIMEOUT=2.0)
    app = create_app(through)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert error["code"] == "database_unavailable"


async def test_outage_is_503_then_recovers(
    settings: Settings, engine: AsyncEngine, proxy: DatabaseProxy
) -> None:
    async with _served_through(settings, proxy) as client:
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        await proxy.cut()
        for path in (*ROUTES, f"/v1/vector_stores/{store}"):
            _assert_unavailable(await client.get(path))
        search = await client.post(f"/v1/vector_stores/{store}/search", json={"query": "q"})
        _assert_unavailable(search)
        assert (await client.get("/health/ready")).status_code == 503
        await proxy.start()
        for path in ROUTES:
            assert (await client.get(path)).status_code == 200
        assert (await client.get(f"/v1/vector_stores/{store}")).json()["id"] == store


async def test_exhausted_pool_is_503(settings: Settings, engine: AsyncEngine) -> None:
    tiny = settings.replace(
        DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.2, INGEST_WORKERS=0
    )
    app = create_app(tiny)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            await client.get("/v1/vector_stores")  # the open/keyed answer is now cached
            async with app.state.maia.engine.connect():  # the only connection, held
                _assert_unavailable(await client.get("/v1/vector_stores"))
            assert (await client.get("/v1/vector_stores")).status_code == 200


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (PoolTimeoutError("QueuePool limit reached"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (ValueError("a bug"), False),
    ],
)
def test_outage_classification(error: BaseException, outage: bool) -> None:
    assert is_database_outage(error) is outage
    wrapped = DBAPIError("SELECT 1", None, Exception("adapted"))
    wrapped.orig.__cause__ = error
    assert is_database_outage(wrapped) is (outage and not isinstance(error, PoolTimeoutError))


async def _search(client: httpx.AsyncClient, store: str) -> httpx.Response:
    return await client.post(f"/v1/vector_stores/{store}/search", json={"query": "q"})


async def test_search_without_pre_ping_recovers(
    settings: Settings, engine: AsyncEngine, proxy: DatabaseProxy
) -> None:
    """The search pool does not ping before each checkout. While the database is down a
    search is a 503; once it is back, the first search finds its pooled connection dead
    (SQLAlchemy invalidates it and every connection opened before it) and runs once more
    on a fresh one."""
    async with _served_through(settings, proxy) as client:
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        assert (await _search(client, store)).status_code == 200
        await proxy.cut()
        _assert_unavailable(await _search(client, store))
        await proxy.start()
        assert (await _search(client, store)).status_code == 200
        # Dropped while idle and back before anyone noticed: the search finds its
        # pooled connection dead and runs once more on a fresh one.
        await proxy.cut()
        await proxy.start()
        assert (await _search(client, store)).status_code == 200


async def test_writes_ping_pooled_connections(
    settings: Settings, engine: AsyncEngine, proxy: DatabaseProxy
) -> None:
    """The primary's pool pings each pooled connection as it is checked out (one empty
    query): a database that dropped every connection while idle and came back before
    anyone noticed costs a write nothing, not a 503."""
    async with _served_through(settings, proxy) as client:
        for _ in range(3):
            created = await client.post("/v1/vector_stores", json={})
            assert created.status_code == 200, created.text
        await proxy.cut()
        await proxy.start()
        for _ in range(3):
            created = await client.post("/v1/vector_stores", json={})
            assert created.status_code == 200, created.text
