"""One keep-alive HTTP/1.1 connection that POSTs a body and reads a Content-Length answer.

The benches' load generators run on the same two cores as the server they measure, and
httpx spends ~2 ms of CPU per request (httpcore's pool, request and response models):
for a one-chunk upload or a search that is as much as the server's whole handling of it.
Here the connection writes the request bytes itself and reads the answer by its
Content-Length, which is all the server sends for these endpoints; anything but a 200
raises, so a bench never times error pages.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

HEAD_END = b"\r\n\r\n"
ERROR_BODY_CHARS = 300


class RawConnection:
    """Requests go out one at a time; each waits for its answer before the next."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def post(self, path: str, body: bytes, content_type: str) -> bytes:
        """The 200 answer's body; any other status raises with the status line and body."""
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = (await self.reader.readuntil(HEAD_END)).decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if line)
        answer = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if head[0].split(" ", 2)[1] != "200":
            excerpt = answer[:ERROR_BODY_CHARS].decode(errors="replace")
            raise RuntimeError(f"POST {path} failed: {head[0]} {excerpt}")
        return answer


def json_body(payload: object) -> bytes:
    """`payload` as the JSON bytes httpx (and so the OpenAI SDK) sends for `json=`."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode()


@asynccontextmanager
async def raw_connection(base_url: str) -> AsyncIterator[RawConnection]:
    """A connection to `base_url`'s host and port, closed on the way out."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    try:
        yield RawConnection(reader, writer, f"{host}:{port}")
    finally:
        writer.close()
        await writer.wait_closed()
