"""A search costs at most two database round trips: opening it (store, plan, settings)
and one statement with every retrieval leg. Counted on the wire, by a proxy in front of
the search pool, after a first search has opened the connection and prepared the
statements (both happen once per pooled connection, not per search)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from tests.fakes.db_proxy import DatabaseProxy

DOCS = {
    "fox.txt": ("The quick brown fox jumps over the lazy dog.", {"lang": "en"}),
    "ships.md": ("Container ships carry cargo across oceans.", {"lang": "en"}),
    "zorro.txt": ("El zorro marrón salta sobre el perro perezoso.", {"lang": "es"}),
}
MODES: dict[str, dict[str, Any]] = {
    "vector": {"search_mode": "vector"},
    "keyword": {"search_mode": "keyword"},
    "hybrid": {},
    "filtered hybrid": {"filters": {"type": "eq", "key": "lang", "value": "en"}},
    "two queries": {"search_mode": "hybrid", "extra": ["oceans"]},
}

# Counts the round trips of the search pool itself, reached through a proxy.
pytestmark = pytest.mark.committed


@pytest.fixture
async def store_id(client: httpx.AsyncClient) -> str:
    """Ingested by the ordinary app (workers on, not through the proxy)."""
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    files = []
    for name, (body, attributes) in DOCS.items():
        upload = {"file": (name, body.encode())}
        made = await client.post("/v1/files", files=upload, data={"purpose": "assistants"})
        files.append({"file_id": made.json()["id"], "attributes": attributes})
    path = f"/v1/vector_stores/{store}/file_batches"
    batch = (await client.post(path, json={"files": files})).json()
    while batch["status"] == "in_progress":
        batch = (await client.get(f"{path}/{batch['id']}")).json()
    assert batch["file_counts"]["completed"] == len(DOCS)
    return str(store)


@pytest.fixture
async def searching_app(
    app: FastAPI, settings: Settings, proxy: DatabaseProxy
) -> AsyncIterator[FastAPI]:
    """A second app whose search pool reaches the database through the proxy."""
    through = settings.replace(SEARCH_DATABASE_URL=proxy.url(), INGEST_WORKERS=0)
    searching = create_app(through)
    async with searching.router.lifespan_context(searching):
        yield searching


def _body(mode: str, query: str) -> dict[str, Any]:
    options = dict(MODES[mode])
    extra = options.pop("extra", [])
    return {"query": [query, *extra] if extra else query, **options}


@pytest.mark.parametrize("mode", list(MODES))
async def test_search_is_two_round_trips(
    searching_app: FastAPI, store_id: str, proxy: DatabaseProxy, mode: str
) -> None:
    transport = httpx.ASGITransport(app=searching_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        path = f"/v1/vector_stores/{store_id}/search"
        first = await client.post(path, json=_body(mode, "lazy dog"))
        assert first.status_code == 200, first.text
        before = proxy.round_trips
        second = await client.post(path, json=_body(mode, "cargo ships"))
        assert second.status_code == 200, second.text
        assert second.json()["data"], "the counted search found something"
        trips = proxy.round_trips - before
        assert trips <= 2, f"{trips} round trips"


class TestIndexedStoreUnderASelectiveFilter:
    """Every store gets its own HNSW index here. A filter that keeps one file's one
    chunk is ranked exactly from the attachments' index, and the leg says so: fewer hits
    than the candidate depth is then the whole answer, not a reason for an exact retry
    (a third round trip)."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.replace(VECTOR_INDEX_MIN_CHUNKS=1)

    async def test_still_two_round_trips(
        self,
        searching_app: FastAPI,
        store_id: str,
        proxy: DatabaseProxy,
        engine: AsyncEngine,
    ) -> None:
        await _wait_for_store_index(engine, store_id)
        transport = httpx.ASGITransport(app=searching_app)
        body = {"search_mode": "vector", "filters": {"type": "eq", "key": "lang", "value": "es"}}
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            path = f"/v1/vector_stores/{store_id}/search"
            first = await client.post(path, json={"query": "lazy dog", **body})
            assert first.status_code == 200, first.text
            before = proxy.round_trips
            second = await client.post(path, json={"query": "a fox", **body})
            trips = proxy.round_trips - before
        assert [hit["filename"] for hit in second.json()["data"]] == ["zorro.txt"]
        assert trips <= 2, f"{trips} round trips"


async def _wait_for_store_index(engine: AsyncEngine, store_id: str) -> None:
    """The server's index builder builds it once the store's queue is empty."""
    name = f'"ix_file_chunks_hnsw_{store_id}"'
    query = text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)")
    for _ in range(300):
        async with engine.connect() as conn:
            if await conn.scalar(query, {"name": name}):
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the store's index was not built")
