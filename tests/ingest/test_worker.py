"""The ingestion worker against a fake OpenAI server: retries, failures, leases, races."""

from __future__ import annotations

import array
import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from pgvector import HalfVector
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.ingest.chunking import Chunker, ChunkingConfig
from tests.fakes.documents import make_docx_bomb, make_pdf_shared_tree
from tests.fakes.openai_server import FakeOpenAIServer, expected_vector

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
    return settings.replace(
        EMBEDDING_PROVIDER="openai",
        OPENAI_API_KEY=SecretStr(API_KEY),
        EMBEDDING_BASE_URL=fake_openai.base_url,
        EMBEDDING_MAX_RETRIES=0,
        INGEST_MAX_ATTEMPTS=3,
    )


async def _ingest(sdk: AsyncOpenAI, name: str = "doc.txt", body: str | bytes = LONG_TEXT) -> Any:
    store = await sdk.vector_stores.create()
    data = body.encode() if isinstance(body, str) else body
    return await sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=(name, data), poll_interval_ms=50
    )


def _static(max_tokens: int) -> Any:
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": max_tokens, "chunk_overlap_tokens": 0},
    }


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


class TestOpenAIEmbeddings:
    async def test_embeds_every_chunk_through_the_api(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        assert done.status == "completed"
        assert fake_openai.requests
        assert all(
            r.dimensions == openai_settings.embeddings.dimensions for r in fake_openai.requests
        )
        assert all(r.authorization == f"Bearer {API_KEY}" for r in fake_openai.requests)

    async def test_stores_each_chunks_vector_as_half_floats(
        self, openai_settings: Settings, engine: AsyncEngine
    ) -> None:
        """The float32 values the server sent, rounded to half-floats as pgvector rounds a
        list of them (`db.halfvec` packs the float32 array without that list)."""
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT text, embedding::text FROM file_chunks WHERE file_id = :f"),
                {"f": done.id},
            )
            stored = rows.all()
        assert len(stored) > 1
        dims = openai_settings.embeddings.dimensions
        for chunk_text, vector in stored:
            halves = HalfVector(expected_vector(chunk_text, dims)).to_list()
            # PostgreSQL prints the shortest text that reads back as the same float32.
            printed = [float(v) for v in vector[1:-1].split(",")]
            assert array.array("f", printed) == array.array("f", halves)

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
        many = settings.replace(INGEST_WORKERS=3)
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


class TestHostileFiles:
    """A file no retry could read fails at once as `invalid_file`, naming the limit."""

    @pytest.mark.parametrize(
        ("name", "body", "message"),
        [
            ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
            ("bomb.docx", make_docx_bomb(5 * 1024 * 1024), "compression ratio limit"),
            ("pages.pdf", make_pdf_shared_tree(13), "page tree shares or repeats nodes"),
        ],
    )
    async def test_fails_as_invalid_file_without_embedding(
        self,
        openai_settings: Settings,
        fake_openai: FakeOpenAIServer,
        name: str,
        body: bytes,
        message: str,
    ) -> None:
        async with _sdk_for(create_app(openai_settings)) as sdk:
            done = await _ingest(sdk, name, body)
        assert done.status == "failed"
        assert done.last_error is not None
        assert done.last_error.code == "invalid_file"
        assert message in done.last_error.message
        assert fake_openai.requests == []

    async def test_text_cap_comes_from_settings(self, openai_settings: Settings) -> None:
        capped = openai_settings.replace(INGEST_MAX_TEXT_CHARS=1000)
        async with _sdk_for(create_app(capped)) as sdk:
            done = await _ingest(sdk, "big.md", "x" * 1001)
        assert done.last_error is not None
        assert done.last_error.code == "invalid_file"
        assert "limit of 1000 characters" in done.last_error.message


class TestSupersede:
    """One worker makes the order certain: it is held inside the first ingestion's
    embedding call while the file is detached and attached again, so the superseded
    ingestion always reaches its final write first."""

    async def _reattach_while_held(
        self, sdk: AsyncOpenAI, fake_openai: FakeOpenAIServer, *, then_fail: bool = False
    ) -> Any:
        fake_openai.hold()
        store = await sdk.vector_stores.create()
        upload = ("doc.txt", LONG_TEXT.encode())
        made = await sdk.files.create(file=upload, purpose="assistants")
        await sdk.vector_stores.files.create(
            vector_store_id=store.id, file_id=made.id, chunking_strategy=_static(100)
        )
        await _until(lambda: bool(fake_openai.requests))
        await sdk.vector_stores.files.delete(made.id, vector_store_id=store.id)
        await sdk.vector_stores.files.create(
            vector_store_id=store.id, file_id=made.id, chunking_strategy=_static(300)
        )
        if then_fail:
            fake_openai.fail_next(401)
        fake_openai.release()
        return await sdk.vector_stores.files.poll(
            made.id, vector_store_id=store.id, poll_interval_ms=50
        )

    async def test_reattach_during_ingestion_keeps_only_the_new_strategy(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer, engine: AsyncEngine
    ) -> None:
        one_worker = openai_settings.replace(INGEST_WORKERS=1)
        async with _sdk_for(create_app(one_worker)) as sdk:
            done = await self._reattach_while_held(sdk, fake_openai)
        assert done.status == "completed"
        async with engine.connect() as conn:
            sizes = list(
                await conn.scalars(text("SELECT token_count FROM file_chunks ORDER BY chunk_index"))
            )
        expected = Chunker().chunk(LONG_TEXT, ChunkingConfig(max_tokens=300, overlap_tokens=0))
        assert sizes == [c.token_count for c in expected]

    async def test_a_superseded_ingestion_failing_does_not_fail_the_new_one(
        self, openai_settings: Settings, fake_openai: FakeOpenAIServer
    ) -> None:
        one_worker = openai_settings.replace(INGEST_WORKERS=1)
        async with _sdk_for(create_app(one_worker)) as sdk:
            done = await self._reattach_while_held(sdk, fake_openai, then_fail=True)
        assert done.status == "completed"
        assert done.chunking_strategy.static.max_chunk_size_tokens == 300
