"""Stores of different embedding models side by side in one database.

The server's default is OpenAI (the fake server, 1536-d); the built-in
all-MiniLM-L6-v2 (384-d) is offered because its files are at EMBEDDING_MODEL_PATH.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.config import Settings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.shared_model import SHARED_MODEL, needs_model

pytestmark = needs_model

DOCS = {
    "cars.txt": ("Fixing cars and trucks: brakes, engines and tyres.", {"team": "garage"}),
    "bread.txt": ("Baking bread at home with flour, water and yeast.", {"team": "kitchen"}),
    "pets.txt": ("Caring for a young dog: feeding, walks and vet visits.", {"team": "garage"}),
}


@pytest.fixture
def settings(migrated_url: str, tmp_path: Path, fake_openai: FakeOpenAIServer) -> Settings:
    return Settings(
        DATABASE_URL=migrated_url,
        MAIA_DATA_DIR=tmp_path,
        OPENAI_API_KEY="sk-test-0123456789abcdef",
        EMBEDDING_BASE_URL=fake_openai.base_url,
        EMBEDDING_MODEL_PATH=SHARED_MODEL,
        INGEST_POLL_INTERVAL=0.05,
        _env_file=None,  # type: ignore[call-arg]
    )


async def _filled(sdk: AsyncOpenAI, **extra: object) -> str:
    store = await sdk.vector_stores.create(name="docs", extra_body=extra or None)
    files = []
    for name, (body, attributes) in DOCS.items():
        made = await sdk.files.create(file=(name, body.encode()), purpose="assistants")
        files.append({"file_id": made.id, "attributes": attributes})
    batch = await sdk.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=files,  # type: ignore[arg-type]
        poll_interval_ms=50,
    )
    assert batch.file_counts.completed == len(DOCS)
    return store.id


async def _search(sdk: AsyncOpenAI, store_id: str, query: str, **kwargs: object) -> list[str]:
    page = await sdk.vector_stores.search(
        vector_store_id=store_id,
        query=query,
        extra_body={"search_mode": "vector"},
        **kwargs,  # type: ignore[arg-type]
    )
    return [hit.filename for hit in page.data]


async def _chunk_widths(connection: AsyncConnection, store_id: str) -> set[int]:
    query = text("SELECT DISTINCT embedding_dim FROM file_chunks WHERE vector_store_id = :s")
    return set((await connection.execute(query, {"s": store_id})).scalars())


class TestTwoModelsInOneDatabase:
    async def test_each_store_embeds_and_searches_with_its_own_model(
        self, sdk: AsyncOpenAI, connection: AsyncConnection, fake_openai: FakeOpenAIServer
    ) -> None:
        openai_store = await _filled(sdk)
        local_store = await _filled(
            sdk,
            embedding_model="all-MiniLM-L6-v2",
            embedding_dimension=384,
            provider_id="local",
        )
        assert await _chunk_widths(connection, openai_store) == {1536}
        assert await _chunk_widths(connection, local_store) == {384}
        # Meaning with no shared words: only the local model can find it.
        assert (await _search(sdk, local_store, "automobile repair"))[0] == "cars.txt"
        # The fake OpenAI embeds lexically: shared words find it.
        assert (await _search(sdk, openai_store, "bread flour yeast"))[0] == "bread.txt"
        garage = {"type": "eq", "key": "team", "value": "garage"}
        for store in (openai_store, local_store):
            hits = await _search(sdk, store, "puppy care", filters=garage)
            assert set(hits) == {"cars.txt", "pets.txt"}

    async def test_deleting_one_store_leaves_the_other(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        openai_store = await _filled(sdk)
        local_store = await _filled(sdk, embedding_model="sentence-transformers/all-MiniLM-L6-v2")
        await sdk.vector_stores.delete(openai_store)
        assert await _chunk_widths(connection, openai_store) == set()
        assert await _chunk_widths(connection, local_store) == {384}
        assert (await _search(sdk, local_store, "automobile repair"))[0] == "cars.txt"


class TestChoosingAModel:
    async def test_store_shows_its_model(self, sdk: AsyncOpenAI, client: httpx.AsyncClient) -> None:
        default = await sdk.vector_stores.create(name="a")
        local = await sdk.vector_stores.create(
            name="b", extra_body={"embedding_model": "all-MiniLM-L6-v2"}
        )
        body = (await client.get(f"/v1/vector_stores/{local.id}")).json()
        assert (body["embedding_provider"], body["embedding_model"]) == (
            "local",
            "all-MiniLM-L6-v2",
        )
        assert body["embedding_dimension"] == 384
        listed = (await client.get("/v1/vector_stores")).json()["data"]
        models = {item["id"]: item["embedding_model"] for item in listed}
        assert models == {default.id: "text-embedding-3-small", local.id: "all-MiniLM-L6-v2"}

    async def test_llama_stack_vector_io_provider_id_is_accepted(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create(
            name="ls",
            extra_body={
                "embedding_model": "all-MiniLM-L6-v2",
                "embedding_dimension": 384,
                "provider_id": "pgvector",
            },
        )
        assert store.model_extra is not None
        assert store.model_extra["embedding_dimension"] == 384

    @pytest.mark.parametrize(
        ("extra", "param"),
        [
            ({"embedding_model": "nomic-embed-text"}, "embedding_model"),
            (
                {"embedding_model": "all-MiniLM-L6-v2", "embedding_dimension": 768},
                "embedding_model",
            ),
            ({"embedding_dimension": 1024}, "embedding_dimension"),
            ({"provider_id": "hash"}, "embedding_dimension"),
        ],
    )
    async def test_models_not_offered_are_400_listing_the_offered_ones(
        self, client: httpx.AsyncClient, extra: dict[str, object], param: str
    ) -> None:
        response = await client.post("/v1/vector_stores", json={"name": "x", **extra})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"] == param
        assert "all-MiniLM-L6-v2 (local, 384 dimensions)" in error["message"]
        assert "text-embedding-3-small (openai, 1536 dimensions)" in error["message"]
