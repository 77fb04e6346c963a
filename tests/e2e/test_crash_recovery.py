"""`kill -9` in the middle of ingestion: after a restart every file completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import cli_env, free_port, serving, wait_ready

pytestmark = pytest.mark.e2e

FILES = 40
BODY = " ".join(f"token{i % 997}" for i in range(20000)).encode()


def _counts(base: str, store_id: str) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{base}/v1/vector_stores/{store_id}", timeout=10).json()[
        "file_counts"
    ]
    return counts


def test_interrupted_files_complete_after_restart(data_root: Path) -> None:
    data_dir = data_root / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(MAIA_DATA_DIR=str(data_dir), INGEST_LEASE_SECONDS="3", INGEST_WORKERS="2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "maia_vectordb", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, proc)
        store_id = httpx.post(f"{base}/v1/vector_stores", json={}, timeout=10).json()["id"]
        ids = [
            httpx.post(
                f"{base}/v1/files",
                files={"file": (f"{i}.txt", BODY)},
                data={"purpose": "assistants"},
                timeout=30,
            ).json()["id"]
            for i in range(FILES)
        ]
        httpx.post(
            f"{base}/v1/vector_stores/{store_id}/file_batches", json={"file_ids": ids}, timeout=30
        ).raise_for_status()
        deadline = time.monotonic() + 60
        while _counts(base, store_id)["completed"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with serving(data_dir, INGEST_LEASE_SECONDS="3") as restarted:
        counts = _counts(restarted, store_id)
        assert counts["in_progress"] > 0, "the kill came too late to interrupt anything"
        deadline = time.monotonic() + 120
        while counts["completed"] < FILES and time.monotonic() < deadline:
            time.sleep(0.2)
            counts = _counts(restarted, store_id)
        assert counts == {
            "in_progress": 0,
            "completed": FILES,
            "failed": 0,
            "cancelled": 0,
            "total": FILES,
        }
        jobs_left = httpx.get(
            f"{restarted}/v1/vector_stores/{store_id}/files",
            params={"filter": "in_progress"},
            timeout=10,
        ).json()["data"]
        assert jobs_left == []
