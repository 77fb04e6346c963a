"""Uploads for the ingestion benchmark over plain keep-alive HTTP/1.1 connections.

The bench's client runs on the same two cores as the server it measures: through httpx a
one-chunk upload cost the client ~2.5 ms of CPU (building the multipart body, httpcore's
connection pool and request/response models), more than the server's whole handling of
it. Here each of the 4 connections writes the request bytes itself and reads the JSON
answer by its Content-Length: the same requests on the wire (multipart with the file and
`purpose`, what the OpenAI SDK sends), a fraction of the client's CPU.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

from ingest_corpus import Document

CONCURRENCY = 4
HEAD_END = b"\r\n\r\n"


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


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """The body of one response; anything but a 200 with a Content-Length is an error."""
    head = (await reader.readuntil(HEAD_END)).decode("latin-1").split("\r\n")
    if head[0].split(" ", 2)[1] != "200":
        raise RuntimeError(f"upload failed: {head[0]}")
    headers = dict(line.lower().split(": ", 1) for line in head[1:] if line)
    return await reader.readexactly(int(headers["content-length"]))


async def _connection(
    host: str, port: int, pending: Iterator[tuple[int, Document]], ids: list[str]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for number, document in pending:
            body, content_type = multipart(document)
            writer.write(
                f"POST /v1/files HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            ids[number] = json.loads(await _answer(reader))["id"]
    finally:
        writer.close()
        await writer.wait_closed()


async def upload_raw(base_url: str, documents: list[Document]) -> list[str]:
    """Every document through `/v1/files`, 4 in flight; their file ids in order."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    ids = [""] * len(documents)
    pending = iter(enumerate(documents))
    await asyncio.gather(*(_connection(host, port, pending, ids) for _ in range(CONCURRENCY)))
    return ids
