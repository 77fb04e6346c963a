"""A store searched before has its query embedded while it is looked up, not after.

The store's model never changes, so the server remembers it and starts the embedding
call next to the database round trip. What a client can observe of that: results
are the same, and a store deleted since still answers 404 (having cost one embedding
call), even when that call fails.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from maia_vectordb.config import Settings
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.embeddings.store_models import StoreModels
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def settings(migrated_url: str, tmp_path: Path, fake_openai: FakeOpenAIServer) -> Settings:
    return Settings(
        DATABASE_URL=migrated_url,
        MAIA_DATA_DIR=tmp_path,
        OPENAI_API_KEY="sk-test-0123456789abcdef",
        EMBEDDING_BASE_URL=fake_openai.base_url,
        EMBEDDING_PROVIDER="openai",
        INGEST_POLL_INTERVAL=0.05,
        _env_file=None,  # type: ignore[call-arg]
    )


async def _store_with_a_file(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/v1/files",
        files={"file": ("fox.txt", b"The quick brown fox jumps over the lazy dog.")},
        data={"purpose": "assistants"},
    )
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    body = {"file_id": made.json()["id"]}
    await client.post(f"/v1/vector_stores/{store}/files", json=body)
    for _ in range(400):
        item = (await client.get(f"/v1/vector_stores/{store}/files/{made.json()['id']}")).json()
        if item["status"] != "in_progress":
            return store
        await asyncio.sleep(0.05)
    raise AssertionError("ingestion did not finish")


async def _search(client: httpx.AsyncClient, store: str, query: str) -> httpx.Response:
    return await client.post(f"/v1/vector_stores/{store}/search", json={"query": query})


def _asked(fake: FakeOpenAIServer, query: str) -> bool:
    return any(query in request.inputs for request in fake.requests)


class TestEarlyEmbedding:
    async def test_the_second_search_finds_what_the_first_found(
        self, client: httpx.AsyncClient
    ) -> None:
        store = await _store_with_a_file(client)
        first = await _search(client, store, "a quick fox")
        second = await _search(client, store, "a lazy dog")
        assert first.status_code == second.status_code == 200
        assert [hit["filename"] for hit in second.json()["data"]] == ["fox.txt"]

    async def test_a_deleted_store_is_404_after_its_query_was_sent(
        self, client: httpx.AsyncClient, fake_openai: FakeOpenAIServer
    ) -> None:
        store = await _store_with_a_file(client)
        assert (await _search(client, store, "first look")).status_code == 200
        await client.delete(f"/v1/vector_stores/{store}")
        gone = await _search(client, store, "asked of a deleted store")
        assert gone.status_code == 404
        assert gone.json()["error"]["param"] == "vector_store_id"
        assert _asked(fake_openai, "asked of a deleted store")

    async def test_a_failing_embedder_does_not_hide_the_404(
        self,
        client: httpx.AsyncClient,
        fake_openai: FakeOpenAIServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        store = await _store_with_a_file(client)
        assert (await _search(client, store, "first look")).status_code == 200
        await client.delete(f"/v1/vector_stores/{store}")
        fake_openai.fail_always(400, message="no")
        gone = await _search(client, store, "embedder says no")
        await asyncio.sleep(0.2)  # the abandoned call settles
        assert gone.status_code == 404
        assert "never retrieved" not in caplog.text


class TestStoreModels:
    def test_bounded_least_recently_used_out_first(self) -> None:
        models = StoreModels(max_entries=2)
        spec = ModelSpec("openai", "m", 8)
        project = uuid.uuid4()
        models.put((project, "a"), spec)
        models.put((project, "b"), spec)
        assert models.get((project, "a")) == spec
        models.put((project, "c"), spec)
        assert models.get((project, "b")) is None
        assert models.get((project, "a")) == spec
        assert len(models) == 2

    def test_another_project_does_not_see_a_store(self) -> None:
        models = StoreModels()
        spec = ModelSpec("openai", "m", 8)
        models.put((uuid.uuid4(), "a"), spec)
        assert models.get((uuid.uuid4(), "a")) is None
