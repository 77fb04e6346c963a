"""The worker's line for a file names the request that queued it, whichever process runs it."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

REQUEST_ID = "req-attach-0042"


async def _completed(client: httpx.AsyncClient, store_id: str, file_id: str) -> None:
    for _ in range(400):
        got = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")
        if got.json()["status"] != "in_progress":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("ingestion did not finish")


async def test_the_ingestion_line_carries_the_attaching_request_id(
    client: httpx.AsyncClient, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="maia_vectordb")
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    upload = await client.post(
        "/v1/files",
        files={"file": ("a.txt", b"hello request ids")},
        data={"purpose": "assistants"},
    )
    file_id = upload.json()["id"]
    attached = await client.post(
        f"/v1/vector_stores/{store}/files",
        json={"file_id": file_id},
        headers={"x-request-id": REQUEST_ID},
    )
    assert attached.headers["x-request-id"] == REQUEST_ID
    await _completed(client, store, file_id)
    lines = [r for r in caplog.records if r.getMessage() == "ingest.file.completed"]
    assert [getattr(r, "request_id", None) for r in lines] == [REQUEST_ID]
    assert lines[0].file_id == file_id
