"""A TCP forwarder in front of the test PostgreSQL that a test can cut and restore.

Cutting it is what an outage looks like from the app: open connections reset,
new ones refused. Restoring it on the same port is the database coming back. It also
counts round trips: every simple Query and every Sync the clients send waits for the
server's ReadyForQuery.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url


def upstream_of(url: str) -> tuple[str, int | str]:
    """(host, port) of a TCP URL, or ("unix", socket path) of the embedded server's."""
    parsed = make_url(url)
    socket_dir = parsed.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        return "unix", sorted(glob.glob(f"{socket_dir}/.s.PGSQL.*"))[0]
    return parsed.host or "localhost", parsed.port or 5432


# Untyped messages that precede the startup packet (the client sends another after them).
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
ROUND_TRIP_MESSAGES = frozenset(b"QS")


@dataclass
class FrontendCounter:
    """Reads a client's message stream just enough to count its round trips."""

    buffer: bytearray = field(default_factory=bytearray)
    startup: bool = True
    round_trips: int = 0

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while (size := self._next_size()) is not None and len(self.buffer) >= size:
            if self.startup:
                code = int.from_bytes(self.buffer[4:8], "big")
                self.startup = code in (SSL_REQUEST, GSSENC_REQUEST)
            elif self.buffer[0] in ROUND_TRIP_MESSAGES:
                self.round_trips += 1
            del self.buffer[:size]

    def _next_size(self) -> int | None:
        """Startup messages are length-first; the rest carry a type byte, then the length."""
        header = 8 if self.startup else 5
        if len(self.buffer) < header:
            return None
        if self.startup:
            return int.from_bytes(self.buffer[0:4], "big")
        return 1 + int.from_bytes(self.buffer[1:5], "big")


@dataclass
class DatabaseProxy:
    upstream: tuple[str, int | str]
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _counters: list[FrontendCounter] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        """Round trips so far over every connection, including ones since closed."""
        return sum(counter.round_trips for counter in self._counters)

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
        counter = FrontendCounter()
        self._counters.append(counter)
        await asyncio.gather(_pipe(reader, up_writer, counter.feed), _pipe(up_reader, writer))


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    observe: Callable[[bytes], None] | None = None,
) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            if observe is not None:
                observe(data)
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
