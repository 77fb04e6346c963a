"""Ingestion cannot be left dead: failures are logged and survived, crashed tasks
restarted, and readiness tells a dead or stuck worker pool apart from a healthy one."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.ingest.liveness import TaskLiveness
from maia_vectordb.ingest.pool import supervise
from maia_vectordb.runtime import Job, scheduled
from maia_vectordb.services.expiry import purge_expired_files
from maia_vectordb.state import AppState


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield app, client


async def _eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _past_503(
    call: Callable[..., Awaitable[httpx.Response]], *args: Any, **kw: Any
) -> httpx.Response:
    """The call, repeated while the service answers 503 (its pool is busy), for up to 10 s."""
    for _ in range(200):
        response = await call(*args, **kw)
        if response.status_code != 503:
            return response
        await asyncio.sleep(0.05)
    return response


def _logged(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == event]


class TestSupervisor:
    async def test_a_crashed_task_is_logged_and_restarted(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        stop, runs = asyncio.Event(), []
        liveness = TaskLiveness("ingest-x", stuck_after=60)

        async def body() -> None:
            runs.append(1)
            if len(runs) < 3:
                raise RuntimeError("worker bug")
            stop.set()

        await asyncio.wait_for(supervise(body, stop, liveness), 10)
        assert len(runs) == 3
        assert liveness.restarts == 2
        crashed = _logged(caplog, "ingest.task.crashed")
        assert [r.__dict__["error_type"] for r in crashed] == ["RuntimeError", "RuntimeError"]


class TestPoolExhaustion:
    async def test_workers_survive_a_pool_timeout_and_ingest_afterwards(
        self, settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        tiny = settings.replace(
            DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=0.1, INGEST_WORKERS=1
        )
        caplog.set_level(logging.WARNING)
        async with serving(tiny) as (app, client):
            async with app.state.maia.engine.connect():  # starve the worker of connections
                assert await _eventually(
                    lambda: any(
                        r.__dict__.get("error_type") == "TimeoutError"
                        for r in _logged(caplog, "ingest.worker.failed")
                    )
                )
            # One connection shared with the worker, 0.1 s to get it: a request may meet
            # the documented 503 and is retried, as a client would.
            store = (await _past_503(client.post, "/v1/vector_stores", json={})).json()["id"]
            made = await _past_503(
                client.post,
                "/v1/files",
                files={"file": ("a.txt", b"alpha beta")},
                data={"purpose": "assistants"},
            )
            attach = f"/v1/vector_stores/{store}/files"
            await _past_503(client.post, attach, json={"file_id": made.json()["id"]})
            # The worker may be in its longest backoff (30 s) when the pool frees up.
            for _ in range(1200):
                listed = (await _past_503(client.get, attach)).json()["data"]
                if listed[0]["status"] != "in_progress":
                    break
                await asyncio.sleep(0.05)
            assert listed[0]["status"] == "completed"


class TestReadiness:
    async def test_reports_a_dead_worker(self, settings: Settings, engine: AsyncEngine) -> None:
        async with serving(settings) as (app, client):
            state: AppState = app.state.maia
            assert (await client.get("/health/ready")).json()["workers"] == "ok"
            task = state.workers.tasks[0].task
            assert task is not None
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["workers"] == "ingest-0 is not running"

    async def test_reports_a_stuck_worker_until_it_moves_again(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with serving(settings) as (app, client):
            state: AppState = app.state.maia
            liveness = state.workers.tasks[0]
            liveness.last_progress -= 10 * liveness.stuck_after  # as if its loop froze
            frozen = await client.get("/health/ready")
            assert await _eventually(lambda: liveness.problem() is None)
            recovered = await client.get("/health/ready")
        assert frozen.status_code == 503
        assert "ingest-0 made no progress" in frozen.json()["workers"]
        assert recovered.status_code == 200

    async def test_no_in_process_workers_is_ready(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with serving(settings.replace(INGEST_WORKERS=0)) as (_app, client):
            response = await client.get("/health/ready")
        assert response.status_code == 200
        assert response.json()["workers"] == "none"


class TestHousekeeping:
    async def test_a_pool_timeout_skips_a_round_and_the_task_lives_on(
        self, migrated_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        engine = create_async_engine(migrated_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
        job = Job("files.expiry", 0.05, lambda: purge_expired_files(async_sessionmaker(engine)))
        try:
            async with scheduled([job]):
                async with engine.connect():  # the only connection, held
                    assert await _eventually(
                        lambda: bool(_logged(caplog, "files.expired.purge_failed"))
                    )
                purged = await purge_expired_files(async_sessionmaker(engine))
        finally:
            await engine.dispose()
        assert purged == 0
        failed = _logged(caplog, "files.expired.purge_failed")[0]
        assert failed.__dict__["error_type"] == "TimeoutError"

    async def test_a_job_that_turns_its_cancellation_into_an_error_still_stops(self) -> None:
        """What a database driver may do to a cancelled query: the job raises an ordinary
        error instead. The scheduler must stop it, not log it and run it again."""
        started = asyncio.Event()
        runs = 0

        async def stubborn() -> None:
            nonlocal runs
            runs += 1
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                raise RuntimeError("connection closed in the middle of operation") from None

        tasks_before = asyncio.all_tasks()
        async with scheduled([Job("stubborn", 0.01, stubborn)]):
            await asyncio.wait_for(started.wait(), 5)
        leftover = [t for t in asyncio.all_tasks() - tasks_before if not t.done()]
        assert leftover == []
        assert runs == 1
