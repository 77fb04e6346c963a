"""Uploads for the ingestion benchmark over plain keep-alive HTTP/1.1 connections.

The bench's client runs on the same two cores as the server it measures: through httpx a
one-chunk upload cost the client ~2.5 ms of CPU (building the multipart body, httpcore's
connection pool and request/response models), more than the server's whole handling of
it. Here each of the 4 connections is one of raw_http.py's: the same requests on the wire
(multipart with the file and `purpose`, what the OpenAI SDK sends), a fraction of the
client's CPU.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

from ingest_corpus import Document
from raw_http import raw_connection

CONCURRENCY = 4


def multipart(document: Document) -> tuple[bytes, str]:
    """The `POST /v1/files` body (the file part, then `purpose`) and its content type."""
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{document.name}"\r\nContent-Type: {document.mime}\r\n\r\n'
    )
    tail = (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
        f"assistants\r\n--{boundary}--\r\n"
    )
    return b"".join((head.encode(), document.data, tail.encode())), (
        f"multipart/form-data; boundary={boundary}"
    )


async def _connection(
    base_url: str, pending: Iterator[tuple[int, Document]], ids: list[str]
) -> None:
    async with raw_connection(base_url) as connection:
        for number, document in pending:
            body, content_type = multipart(document)
            answer = await connection.post("/v1/files", body, content_type)
            ids[number] = json.loads(answer)["id"]


async def upload_raw(base_url: str, documents: list[Document]) -> list[str]:
    """Every document through `/v1/files`, 4 in flight; their file ids in order."""
    ids = [""] * len(documents)
    pending = iter(enumerate(documents))
    await asyncio.gather(*(_connection(base_url, pending, ids) for _ in range(CONCURRENCY)))
    return ids
