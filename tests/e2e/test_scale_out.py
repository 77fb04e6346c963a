"""Scale-out: two API processes and a separate worker process share one database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import cli_env, serving

pytestmark = pytest.mark.e2e

FILES = 60


async def _upload_and_attach(http: httpx.AsyncClient, store: str, i: int) -> None:
    body = " ".join(f"term{(i * 7 + j) % 400}" for j in range(1500)).encode()
    made = await http.post(
        "/v1/files", files={"file": (f"{i}.txt", body)}, data={"purpose": "assistants"}
    )
    made.raise_for_status()
    attached = await http.post(
        f"/v1/vector_stores/{store}/files", json={"file_id": made.json()["id"]}
    )
    attached.raise_for_status()


def _thread_priorities(pid: int) -> set[int]:
    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            found.add(os.getpriority(os.PRIO_PROCESS, int(tid)))
    return found


async def test_every_job_runs_exactly_once(
    migrated_url: str, engine: AsyncEngine, data_root: Path
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "maia_vectordb", "worker", "--concurrency", "2"],
        env=cli_env(DATABASE_URL=migrated_url, INGEST_POLL_INTERVAL="0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with serving(
            data_root,
            "--workers",
            "2",
            DATABASE_URL=migrated_url,
            INGEST_WORKERS="1",
            INGEST_POLL_INTERVAL="0.1",
        ) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                store = (await http.post("/v1/vector_stores", json={})).json()["id"]
                await asyncio.gather(*(_upload_and_attach(http, store, i) for i in range(FILES)))
                deadline = time.monotonic() + 120
                counts = (await http.get(f"/v1/vector_stores/{store}")).json()["file_counts"]
                while counts["in_progress"] and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    counts = (await http.get(f"/v1/vector_stores/{store}")).json()["file_counts"]
                # Background work: every thread of the worker at INGEST_WORKER_NICE (10).
                assert _thread_priorities(worker.pid) == {10}
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert worker.returncode == 0
    assert counts["completed"] == FILES
    async with engine.connect() as conn:
        duplicates = await conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT file_id, chunk_index FROM file_chunks "
                "GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
        )
        files_with_chunks = await conn.scalar(
            text("SELECT count(DISTINCT file_id) FROM file_chunks")
        )
        jobs = await conn.scalar(text("SELECT count(*) FROM ingest_jobs"))
    assert duplicates == 0
    assert files_with_chunks == FILES
    assert jobs == 0
