"""The index builder: a large store gets its own HNSW index once its queue is empty,
built once, and what a dead build or a deleted store leaves behind is cleaned up."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.db import vector_indexes
from maia_vectordb.db.engine import build_engine
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.db.queries.chunks import ChunkRow, replace_chunks
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.ingest.indexer import IndexBuilder

DIMS = 8
MIN_CHUNKS = 40
PROJECT = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
async def db(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_head(fresh_url, ModelSpec("hash", "hash", DIMS))
    settings = Settings(DATABASE_URL=fresh_url, _env_file=None)  # type: ignore[call-arg]
    engine = build_engine(settings.database, fresh_url)
    yield engine
    await engine.dispose()


def _builder(db: AsyncEngine, min_chunks: int = MIN_CHUNKS) -> IndexBuilder:
    settings = Settings(VECTOR_INDEX_MIN_CHUNKS=min_chunks, _env_file=None)  # type: ignore[call-arg]
    return IndexBuilder(db, settings.search)


async def _store(
    db: AsyncEngine, store: str, chunks: int, *, queued: bool = False, dims: int = DIMS
) -> None:
    """A store with `chunks` chunks in one file; `queued` leaves a job for another file."""
    rng = random.Random(store)
    async with async_sessionmaker(db)() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO vector_stores (id, project_id, embedding_provider, "
                "embedding_model, embedding_dimensions) VALUES (:s, CAST(:p AS uuid), "
                "'hash', 'hash', :d)"
            ),
            {"s": store, "p": PROJECT, "d": dims},
        )
        for file_id in (f"file-{store}", f"file-{store}-queued"):
            await session.execute(
                text(
                    "INSERT INTO files (id, project_id, filename, purpose) "
                    "VALUES (:f, CAST(:p AS uuid), 'x.txt', 'assistants');"
                ),
                {"f": file_id, "p": PROJECT},
            )
            await session.execute(
                text(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, "
                    "status, chunking_strategy) VALUES (:s, :f, CAST(:p AS uuid), "
                    "'in_progress', CAST(:c AS jsonb))"
                ),
                {"s": store, "f": file_id, "p": PROJECT, "c": json.dumps({})},
            )
        rows = [
            ChunkRow(i, f"chunk {i}", 2, [rng.gauss(0, 1) for _ in range(dims)])
            for i in range(chunks)
        ]
        await replace_chunks(
            session, vector_store_id=store, file_id=f"file-{store}", attributes=None, chunks=rows
        )
        if queued:
            await session.execute(
                text(
                    "INSERT INTO ingest_jobs (project_id, vector_store_id, file_id) "
                    "VALUES (CAST(:p AS uuid), :s, :f)"
                ),
                {"p": PROJECT, "s": store, "f": f"file-{store}-queued"},
            )


async def _indexes(db: AsyncEngine) -> dict[str, bool]:
    """Our store indexes on file_chunks, by name: valid or not."""
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE starts_with(c.relname, :prefix)"
            ),
            {"prefix": vector_indexes.INDEX_PREFIX},
        )
        return {row[0]: row[1] for row in rows}


def _name(store: str) -> str:
    return vector_indexes.index_name(store)


async def test_indexes_large_idle_stores_once(db: AsyncEngine) -> None:
    await _store(db, "vs_Large", MIN_CHUNKS)
    await _store(db, "vs_small", MIN_CHUNKS - 1)
    assert await _builder(db).run_once() == ["vs_Large"]
    assert await _indexes(db) == {_name("vs_Large"): True}
    assert await _builder(db).run_once() == []


async def test_waits_for_the_store_queue_to_drain(db: AsyncEngine) -> None:
    await _store(db, "vs_busy", MIN_CHUNKS, queued=True)
    assert await _builder(db).run_once() == []
    async with db.begin() as conn:
        await conn.execute(text("DELETE FROM ingest_jobs"))
    assert await _builder(db).run_once() == ["vs_busy"]


async def test_index_covers_only_its_store(db: AsyncEngine) -> None:
    """The index holds its store's rows and no one else's (its predicate)."""
    await _store(db, "vs_one", MIN_CHUNKS)
    await _store(db, "vs_two", MIN_CHUNKS + 5)
    assert sorted(await _builder(db).run_once()) == ["vs_one", "vs_two"]
    async with db.connect() as conn:
        await conn.execute(text("ANALYZE file_chunks"))
        tuples = await conn.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = :n"), {"n": _name("vs_two")}
        )
    assert tuples == MIN_CHUNKS + 5


async def test_each_store_is_indexed_at_its_own_width(db: AsyncEngine) -> None:
    """Stores of different models share the table; each graph is built at its width."""
    await _store(db, "vs_narrow", MIN_CHUNKS)
    await _store(db, "vs_wide", MIN_CHUNKS, dims=2 * DIMS)
    await _builder(db).run_once()
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE starts_with(indexname, :p)"),
            {"p": vector_indexes.INDEX_PREFIX},
        )
        definitions = {row[0]: row[1] for row in rows}
    assert f"halfvec({DIMS})" in definitions[_name("vs_narrow")]
    assert f"halfvec({2 * DIMS})" in definitions[_name("vs_wide")]


async def test_rebuilds_an_index_a_dead_build_left_invalid(db: AsyncEngine) -> None:
    await _store(db, "vs_crash", MIN_CHUNKS)
    await _builder(db).run_once()
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(:n)"),
            {"n": f'"{_name("vs_crash")}"'},
        )
    assert await _indexes(db) == {_name("vs_crash"): False}
    assert await _builder(db).run_once() == ["vs_crash"]
    assert await _indexes(db) == {_name("vs_crash"): True}


async def test_drops_the_index_of_a_deleted_store(db: AsyncEngine) -> None:
    await _store(db, "vs_gone", MIN_CHUNKS)
    await _builder(db).run_once()
    async with db.begin() as conn:
        await conn.execute(text("DELETE FROM vector_stores WHERE id = 'vs_gone'"))
    assert await _builder(db).run_once() == []
    assert await _indexes(db) == {}


async def test_one_builder_at_a_time(db: AsyncEngine) -> None:
    """Another process holding the build lock: this pass builds nothing; then it can."""
    await _store(db, "vs_wait", MIN_CHUNKS)
    async with db.connect() as holder:
        held = await holder.scalar(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": vector_indexes.BUILD_LOCK_KEY}
        )
        assert held
        assert await _builder(db).run_once() == []
        await holder.execute(
            text("SELECT pg_advisory_unlock(:k)"), {"k": vector_indexes.BUILD_LOCK_KEY}
        )
        await holder.commit()
    assert await _builder(db).run_once() == ["vs_wait"]


async def test_concurrent_passes_build_each_store_once(db: AsyncEngine) -> None:
    await _store(db, "vs_race", MIN_CHUNKS)
    results = await asyncio.gather(*(_builder(db).run_once() for _ in range(3)))
    assert sorted(store for built in results for store in built) == ["vs_race"]
    assert await _indexes(db) == {_name("vs_race"): True}


def test_ids_that_could_not_name_an_index_are_refused() -> None:
    assert not vector_indexes.indexable('vs_"; DROP TABLE files; --')
    assert not vector_indexes.indexable("vs_" + "x" * 60)
    with pytest.raises(ValueError, match="cannot name"):
        vector_indexes.create_statement("vs_'x", DIMS)
    with pytest.raises(ValueError, match="not a store index"):
        vector_indexes.drop_statement("ix_files_project_id")


async def test_a_cancelled_build_stops_and_leaves_nothing_held(db: AsyncEngine) -> None:
    """Shutdown cancels a pass mid-build: the cancellation comes out as such (so the
    housekeeping task ends), and the lock is free for the next pass, which builds."""
    await _store(db, "vs_stop", MIN_CHUNKS)
    async with db.connect() as blocker:
        # A SHARE lock keeps CREATE INDEX CONCURRENTLY waiting at its start.
        await blocker.execute(text("LOCK TABLE file_chunks IN SHARE MODE"))
        task = asyncio.create_task(_builder(db).run_once())
        while await _waiting_builds(db) == 0:  # noqa: ASYNC110 (polling the database)
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await blocker.rollback()
    built: list[str] = []
    for _ in range(100):  # the cancelled backend may take a moment to let the lock go
        built = await _builder(db).run_once()
        if built:
            break
        await asyncio.sleep(0.1)
    assert built == ["vs_stop"]
    assert await _indexes(db) == {_name("vs_stop"): True}


async def _waiting_builds(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'"
            )
        )
        return int(waiting or 0)
