"""A TCP forwarder in front of the test PostgreSQL that a test can cut and restore.

Cutting it is what an outage looks like from the app: open connections reset,
new ones refused. Restoring it on the same port is the database coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url


def upstream_of(url: str) -> tuple[str, int | str]:
    """(host, port) of a TCP URL, or ("unix", socket path) of the embedded server's."""
    parsed = make_url(url)
    socket_dir = parsed.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        return "unix", sorted(glob.glob(f"{socket_dir}/.s.PGSQL.*"))[0]
    return parsed.host or "localhost", parsed.port or 5432


@dataclass
class DatabaseProxy:
    upstream: tuple[str, int | str]
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, where = self.upstream
        if host == "unix":
            return await asyncio.open_unix_connection(str(where))
        return await asyncio.open_connection(host, int(where))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._connect()
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@contextlib.asynccontextmanager
async def database_proxy(url: str) -> AsyncIterator[DatabaseProxy]:
    proxy = DatabaseProxy(upstream_of(url))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()
