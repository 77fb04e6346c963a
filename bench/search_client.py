"""The search bench's load generator: how each simulated client sends its searches.

`raw` (the default) sends each search over one of raw_http.py's keep-alive connections;
`httpx` goes through one `httpx.AsyncClient`, the bench's client before issue 10's fifth
pass. The requests are the same on the wire (the JSON body, its Content-Type); the
difference is the client's own CPU, which shares the two cores with the server,
PostgreSQL and the fake embedder: httpx spends ~2 ms per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import httpx
from raw_http import json_body, raw_connection

CLIENTS = ("raw", "httpx")
Post = Callable[[str, dict[str, Any]], Awaitable[bytes | None]]
"""Sends one search body to a path; the 200 answer's bytes, None for another status."""


class SearchClient(Protocol):
    def connection(self) -> AbstractAsyncContextManager[Post]:
        """One simulated client's way to send searches, one after another."""
        ...


class RawClient:
    """A new keep-alive connection per simulated client and run; a non-200 raises."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Post]:
        async with raw_connection(self.base_url) as connection:

            async def post(path: str, body: dict[str, Any]) -> bytes | None:
                return await connection.post(path, json_body(body), "application/json")

            yield post


class HttpxClient:
    """Every simulated client shares one httpx pool; a non-200 is counted as an error."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Post]:
        yield self._post

    async def _post(self, path: str, body: dict[str, Any]) -> bytes | None:
        response = await self.client.post(path, json=body)
        return response.content if response.status_code == httpx.codes.OK else None


@asynccontextmanager
async def search_client(kind: str, base_url: str, connections: int) -> AsyncIterator[SearchClient]:
    """The `kind` client for `base_url`, up to `connections` searches in flight."""
    if kind == "raw":
        yield RawClient(base_url)
        return
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        yield HttpxClient(client)
