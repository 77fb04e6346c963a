"""The ingestion worker against a fake OpenAI server: retries, failures, leases, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from tests.fakes.openai_server import FakeOpenAIServer

API_KEY = "sk-worker-test-secret"
LONG_TEXT = " ".join(f"word{i % 500}" for i in range(6000))

MakeSdk = Callable[..., Any]


@asynccontextmanager
async def _sdk_for(app: FastAPI) -> AsyncIterator[AsyncOpenAI]:
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        )
        client = AsyncOpenAI(base_url="http://localhost/v1", api_key="k", http_client=http)
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture
def openai_settings(
    settings: Settings, fake_openai: FakeOpenAIServer, engine: AsyncEngine
) -> Settings:
    return settings.model_copy(
        update={
            "embedding_provider": "openai",
            "openai_api_key": SecretStr(API_KEY),
            "embedding_base_url": fake_openai.base_url,
            "embedding_max_retries": 0,
            "job_max_attempts": 3,
        }
    )


async def _ingest(sdk: AsyncOpenAI, name: str = "doc.txt", body: str = LONG_TEXT) -> Any:
    store = await sdk.vector_stores.create()
    return await sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=(name, body.encode()), poll_interval_ms=50
    )


class TestOpenAIEmbeddings:
    async def test_embeds_every_chunk_through_the_api(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        assert done.status == "completed"
        assert fake_openai.requests
        assert all(
            r.dimensions == openai_settings.embedding_dimensions for r in fake_openai.requests
        )
        assert all(r.authorization == f"Bearer {API_KEY}" for r in fake_openai.requests)

    async def test_429_then_success_completes(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_next(429, times=1)
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        assert done.status == "completed"
        assert len(fake_openai.requests) >= 2

    async def test_persistent_500_ends_failed_after_max_attempts(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(500)
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        assert done.status == "failed"
        assert done.last_error is not None
        assert done.last_error.code == "server_error"
        assert "3 attempts" in done.last_error.message
        assert len(fake_openai.requests) == 3

    async def test_bad_key_fails_without_retrying_or_leaking_it(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(401)
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        assert done.status == "failed"
        assert done.last_error is not None
        assert API_KEY not in done.last_error.message
        assert len(fake_openai.requests) == 1


class TestLeases:
    async def _pending_job(self, sdk: AsyncOpenAI, engine: AsyncEngine, lease: str) -> str:
        """An attachment whose job a 'dead' worker holds with the given lease expiry."""
        store = await sdk.vector_stores.create()
        made = await sdk.files.create(file=("a.txt", b"alpha beta gamma"), purpose="assistants")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                    "chunking_strategy) SELECT id, :f, project_id, "
                    '\'{"type": "static", "static": {"max_chunk_size_tokens": 800, '
                    '"chunk_overlap_tokens": 400}}\' FROM vector_stores WHERE id = :vs'
                ),
                {"vs": store.id, "f": made.id},
            )
            await conn.execute(
                text(
                    "INSERT INTO ingest_jobs (project_id, vector_store_id, file_id, attempts, "
                    f"leased_until) SELECT project_id, id, :f, 1, {lease} "
                    "FROM vector_stores WHERE id = :vs"
                ),
                {"vs": store.id, "f": made.id},
            )
        return store.id

    async def _status(self, sdk: AsyncOpenAI, store_id: str) -> str:
        files = await sdk.vector_stores.files.list(vector_store_id=store_id)
        return files.data[0].status

    async def test_expired_lease_is_taken_over(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with _sdk_for(create_app(settings)) as sdk:
            store_id = await self._pending_job(sdk, engine, "now() - interval '1 second'")
            for _ in range(100):
                if await self._status(sdk, store_id) == "completed":
                    break
                await asyncio.sleep(0.05)
            assert await self._status(sdk, store_id) == "completed"

    async def test_live_lease_is_left_alone(self, settings: Settings, engine: AsyncEngine) -> None:
        async with _sdk_for(create_app(settings)) as sdk:
            store_id = await self._pending_job(sdk, engine, "now() + interval '1 hour'")
            await asyncio.sleep(0.5)
            assert await self._status(sdk, store_id) == "in_progress"


class TestRaces:
    async def test_two_apps_share_the_queue_without_duplicates(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        many = settings.model_copy(update={"workers": 3})
        async with _sdk_for(create_app(many)) as a, _sdk_for(create_app(many)) as b:
            store = await a.vector_stores.create()
            ids = [
                (
                    await a.files.create(
                        file=(f"{i}.txt", LONG_TEXT[: 2000 + i].encode()), purpose="assistants"
                    )
                ).id
                for i in range(20)
            ]
            batch = await b.vector_stores.file_batches.create_and_poll(
                vector_store_id=store.id, file_ids=ids, poll_interval_ms=50
            )
        assert batch.file_counts.completed == 20
        async with engine.connect() as conn:
            dupes = await conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT file_id, chunk_index FROM file_chunks "
                    "GROUP BY 1, 2 HAVING count(*) > 1) d"
                )
            )
            jobs = await conn.scalar(text("SELECT count(*) FROM ingest_jobs"))
        assert dupes == 0
        assert jobs == 0
