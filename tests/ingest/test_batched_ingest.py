"""A worker ingests a batch of files at once: shared embedding requests, one commit,
yet each file keeps its own outcome (fails alone, or is discarded when superseded)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.db.engine import build_engine
from maia_vectordb.embeddings.registry import build_registry
from maia_vectordb.ingest.chunking import Chunker
from maia_vectordb.ingest.worker import IngestWorker
from tests.fakes.openai_server import FakeOpenAIServer

FILES = 40
MAX_BATCH_FILE_IDS = 500


@pytest.fixture
def batch_settings(
    settings: Settings, fake_openai: FakeOpenAIServer, engine: AsyncEngine
) -> Settings:
    return settings.replace(
        EMBEDDING_PROVIDER="openai",
        OPENAI_API_KEY=SecretStr("sk-batch"),
        EMBEDDING_BASE_URL=fake_openai.base_url,
        EMBEDDING_MAX_RETRIES=0,
        INGEST_WORKERS=0,
    )


@pytest.fixture
async def client(batch_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no workers of its own: the test runs the worker's batches itself."""
    app = create_app(batch_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
async def worker(batch_settings: Settings, migrated_url: str) -> AsyncIterator[IngestWorker]:
    engine = build_engine(batch_settings.database, migrated_url)
    embedders = build_registry(
        batch_settings.embeddings, cache_size=batch_settings.search.cache_size
    )
    yield IngestWorker(
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        embedders=embedders,
        chunker=Chunker(),
        settings=batch_settings.ingest,
    )
    await embedders.aclose()
    await engine.dispose()


async def _attach(client: httpx.AsyncClient, files: dict[str, bytes]) -> tuple[str, list[str]]:
    """A new store with these files attached (queued, not yet ingested)."""
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    ids = []
    for name, data in files.items():
        made = await client.post(
            "/v1/files", files={"file": (name, data)}, data={"purpose": "assistants"}
        )
        ids.append(made.json()["id"])
    for start in range(0, len(ids), MAX_BATCH_FILE_IDS):
        part = ids[start : start + MAX_BATCH_FILE_IDS]
        batch = await client.post(
            f"/v1/vector_stores/{store}/file_batches", json={"file_ids": part}
        )
        assert batch.status_code == 200
    return store, ids


async def _statuses(client: httpx.AsyncClient, store: str, ids: list[str]) -> list[Any]:
    return [(await client.get(f"/v1/vector_stores/{store}/files/{f}")).json() for f in ids]


async def _embedding_requested(fake_openai: FakeOpenAIServer) -> None:
    """Until the worker's batch is waiting on its (held) embedding request."""
    for _ in range(500):
        if fake_openai.requests:
            return
        await asyncio.sleep(0.02)


def _abstracts(n: int) -> dict[str, bytes]:
    return {
        f"abstract-{i}.txt": f"Abstract {i}: a short finding about topic {i}.".encode()
        for i in range(n)
    }


async def test_many_small_files_complete_with_one_request_and_one_batch(
    client: httpx.AsyncClient, worker: IngestWorker, fake_openai: FakeOpenAIServer
) -> None:
    store, ids = await _attach(client, _abstracts(FILES))
    assert await worker.run_once()
    assert not await worker.run_once()
    assert [s["status"] for s in await _statuses(client, store, ids)] == ["completed"] * FILES
    assert [r.input_count for r in fake_openai.requests] == [FILES]


async def test_one_unsupported_file_fails_alone(
    client: httpx.AsyncClient, worker: IngestWorker
) -> None:
    files = {**_abstracts(5), "blob.bin": b"\x00\x01\x02 not a document"}
    store, ids = await _attach(client, files)
    assert await worker.run_once()
    statuses = await _statuses(client, store, ids)
    assert [s["status"] for s in statuses] == ["completed"] * 5 + ["failed"]
    assert statuses[-1]["last_error"]["code"] == "unsupported_file"


async def test_quick_and_other_files_in_one_batch_each_keep_their_outcome(
    client: httpx.AsyncClient, worker: IngestWorker, fake_openai: FakeOpenAIServer
) -> None:
    """Small text files are parsed together in one thread trip, any other file on its own;
    either way a file that cannot be read fails alone and the rest share one request."""
    files = {
        **_abstracts(3),
        "page.html": b"<html><body><p>An HTML page about topic 9.</p></body></html>",
        "broken.txt": b"caf\xe9 is not UTF-8 \xc3\x28",
        "same.md": b"# Heading\n\nMarkdown about topic 7.",
        "blob.bin": b"\x00\x01",
    }
    store, ids = await _attach(client, files)
    assert await worker.run_once()
    statuses = await _statuses(client, store, ids)
    assert [s["status"] for s in statuses] == ["completed"] * 4 + ["failed", "completed", "failed"]
    codes = [s["last_error"]["code"] for s in statuses if s["status"] == "failed"]
    assert codes == ["invalid_file", "unsupported_file"]
    assert [r.input_count for r in fake_openai.requests] == [5]


async def test_a_file_the_provider_rejects_fails_alone(
    client: httpx.AsyncClient, worker: IngestWorker, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fail_next(400, times=2)  # the shared request, then the first file alone
    store, ids = await _attach(client, _abstracts(6))
    assert await worker.run_once()
    statuses = [s["status"] for s in await _statuses(client, store, ids)]
    assert sorted(statuses) == ["completed"] * 5 + ["failed"]


async def test_a_file_detached_mid_batch_is_discarded_and_the_rest_land(
    client: httpx.AsyncClient,
    worker: IngestWorker,
    fake_openai: FakeOpenAIServer,
    engine: AsyncEngine,
) -> None:
    store, ids = await _attach(client, _abstracts(4))
    fake_openai.hold()
    running = asyncio.create_task(worker.run_once())
    try:
        await _embedding_requested(fake_openai)
        detached = await client.delete(f"/v1/vector_stores/{store}/files/{ids[0]}")
        assert detached.status_code == 200
    finally:
        fake_openai.release()
    assert await running
    statuses = await _statuses(client, store, ids[1:])
    assert [s["status"] for s in statuses] == ["completed"] * 3
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT file_id, count(*) FROM file_chunks GROUP BY file_id")
        )
        counted = dict(rows.all())
    assert counted == dict.fromkeys(ids[1:], 1)


async def test_requests_stay_within_one_per_500_small_chunks(
    client: httpx.AsyncClient, worker: IngestWorker, fake_openai: FakeOpenAIServer
) -> None:
    many = 1000
    store, ids = await _attach(client, _abstracts(many))
    while await worker.run_once():
        pass
    statuses = await _statuses(client, store, ids[:: many // 20])
    assert {s["status"] for s in statuses} == {"completed"}
    inputs = sum(r.input_count for r in fake_openai.requests)
    assert inputs == many
    assert len(fake_openai.requests) <= -(-many // 500)


def _count_statements(worker: IngestWorker) -> list[str]:
    """Every statement the worker's engine runs from now on, once per parameter set of an
    executemany, as PostgreSQL runs them (COPY goes by the driver, uncounted)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        seen.extend([statement] * (len(parameters) if executemany else 1))

    bind: AsyncEngine = worker.sessionmaker.kw["bind"]
    event.listen(bind.sync_engine, "before_cursor_execute", record)
    return seen


async def test_a_batch_costs_the_same_statements_for_5_files_as_for_40(
    client: httpx.AsyncClient, worker: IngestWorker
) -> None:
    """Claim, load, chunks, statuses and jobs are written per batch, never per file."""
    seen = _count_statements(worker)
    await _attach(client, _abstracts(5))
    assert await worker.run_once()
    statements_for_few = len(seen)
    seen.clear()
    store, many = await _attach(client, _abstracts(FILES))
    assert await worker.run_once()
    assert len(seen) == statements_for_few
    statuses = await _statuses(client, store, many)
    assert [s["status"] for s in statuses] == ["completed"] * FILES
    assert all(s["usage_bytes"] > 0 and s["last_error"] is None for s in statuses)


async def test_a_batch_lands_searchable_by_vector_and_keyword_with_its_counts(
    client: httpx.AsyncClient, worker: IngestWorker
) -> None:
    store, ids = await _attach(client, _abstracts(FILES))
    assert await worker.run_once()
    batches = await client.get(f"/v1/vector_stores/{store}")
    assert batches.json()["file_counts"] == {
        "in_progress": 0,
        "completed": FILES,
        "failed": 0,
        "cancelled": 0,
        "total": FILES,
    }
    for mode in ("vector", "keyword"):
        found = await client.post(
            f"/v1/vector_stores/{store}/search",
            json={"query": "Abstract 17: a short finding about topic 17.", "search_mode": mode},
        )
        assert found.json()["data"][0]["file_id"] == ids[17], mode
    content = await client.get(f"/v1/vector_stores/{store}/files/{ids[3]}/content")
    assert content.json()["data"] == [
        {"type": "text", "text": "Abstract 3: a short finding about topic 3."}
    ]


async def test_a_worker_dying_mid_batch_leaves_every_file_to_be_redone(
    client: httpx.AsyncClient,
    worker: IngestWorker,
    fake_openai: FakeOpenAIServer,
    engine: AsyncEngine,
) -> None:
    store, ids = await _attach(client, _abstracts(FILES))
    fake_openai.hold()
    dying = asyncio.create_task(worker.run_once())
    try:
        await _embedding_requested(fake_openai)
        dying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dying
    finally:
        fake_openai.release()
    statuses = await _statuses(client, store, ids)
    assert {s["status"] for s in statuses} == {"in_progress"}
    async with engine.begin() as conn:  # the dead worker's leases lapse
        await conn.execute(text("UPDATE ingest_jobs SET leased_until = now() - interval '1 s'"))
    assert await worker.run_once()
    statuses = await _statuses(client, store, ids)
    assert [s["status"] for s in statuses] == ["completed"] * FILES
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT file_id, count(*) FROM file_chunks GROUP BY 1"))
        assert dict(rows.all()) == dict.fromkeys(ids, 1)
        assert await conn.scalar(text("SELECT count(*) FROM ingest_jobs")) == 0
