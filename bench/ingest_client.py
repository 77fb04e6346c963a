"""The ingestion benchmark's client: upload, attach in batches, poll until every file is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from harness import log
from ingest_corpus import Document
from raw_upload import upload_raw

UPLOAD_CONCURRENCY = 4
BATCH_LIMIT = 500
POLL_SECONDS = 0.25
"""The wall ends at the poll that sees the last file done: at 1 s (before issue 10's fourth
pass) that added 0.5 s on average to a ~10 s run; four GETs a quarter second cost the
server ~1 % of a core."""
PROGRESS_SECONDS = 15.0


@dataclass(frozen=True)
class Timing:
    upload: float
    wall: float
    failed: int
    store_id: str
    started: float
    """`time.perf_counter()` at the first upload, to time what follows from it."""
    client_cpu: float = 0.0
    """CPU seconds of the client's own thread while it uploaded (it shares the cores)."""


async def _upload_worker(
    client: httpx.AsyncClient, pending: Iterator[tuple[int, Document]], ids: list[str]
) -> None:
    for number, document in pending:
        response = await client.post(
            "/v1/files",
            files={"file": (document.name, document.data, document.mime)},
            data={"purpose": "assistants"},
        )
        response.raise_for_status()
        ids[number] = response.json()["id"]


async def upload(client: httpx.AsyncClient, documents: list[Document]) -> list[str]:
    ids = [""] * len(documents)
    pending = iter(enumerate(documents))
    workers = (_upload_worker(client, pending, ids) for _ in range(UPLOAD_CONCURRENCY))
    await asyncio.gather(*workers)
    return ids


async def upload_texts(client: httpx.AsyncClient, named: list[tuple[str, str]]) -> list[str]:
    """Upload (name, text) pairs as UTF-8 files; returns their ids in order."""
    return await upload(client, [Document(name, text.encode()) for name, text in named])


async def attach(client: httpx.AsyncClient, file_ids: list[str]) -> tuple[str, list[str]]:
    """A new store, and one file batch per 500 files; returns the store and batch ids."""
    return await attach_files(client, file_ids, None, "ingest benchmark")


async def attach_files(
    client: httpx.AsyncClient,
    file_ids: list[str],
    attributes: list[dict[str, Any]] | None,
    name: str,
) -> tuple[str, list[str]]:
    """A new store, and one file batch per 500 files (each file with its attributes)."""
    store = await client.post("/v1/vector_stores", json={"name": name})
    store.raise_for_status()
    store_id = store.json()["id"]
    batches = []
    for start in range(0, len(file_ids), BATCH_LIMIT):
        part = range(start, min(start + BATCH_LIMIT, len(file_ids)))
        body: dict[str, Any] = {"file_ids": [file_ids[i] for i in part]}
        if attributes is not None:
            body = {"files": [{"file_id": file_ids[i], "attributes": attributes[i]} for i in part]}
        response = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json=body)
        response.raise_for_status()
        batches.append(response.json()["id"])
    return store_id, batches


async def _counts(client: httpx.AsyncClient, store_id: str, batch_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return {"status": body["status"], **body["file_counts"]}


async def wait_done(client: httpx.AsyncClient, store_id: str, batches: list[str]) -> int:
    """Poll until no batch is in progress; returns how many files failed."""
    last_report = time.monotonic()
    while True:
        counts = [await _counts(client, store_id, batch) for batch in batches]
        if all(c["status"] != "in_progress" for c in counts):
            return sum(c["failed"] for c in counts)
        if time.monotonic() - last_report > PROGRESS_SECONDS:
            done = sum(c["completed"] + c["failed"] for c in counts)
            log(f"{done}/{sum(c['total'] for c in counts)} files done")
            last_report = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)


async def ingest(
    base_url: str,
    documents: list[Document],
    on_uploaded: Callable[[], object] = lambda: None,
    uploader: str = "httpx",
) -> Timing:
    """Upload, attach, wait; `on_uploaded` runs between the upload and the attach.
    `uploader` `raw` sends the uploads over plain connections (raw_upload.py)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        started = time.perf_counter()
        cpu_started = time.thread_time()
        if uploader == "raw":
            file_ids = await upload_raw(base_url, documents)
        else:
            file_ids = await upload(client, documents)
        client_cpu = time.thread_time() - cpu_started
        uploaded = time.perf_counter() - started
        on_uploaded()
        log(f"uploaded {len(file_ids)} files in {uploaded:.1f} s")
        store_id, batches = await attach(client, file_ids)
        failed = await wait_done(client, store_id, batches)
        wall = time.perf_counter() - started
        return Timing(uploaded, wall, failed, store_id, started, client_cpu)
