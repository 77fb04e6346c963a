"""POSTs to one URL over pooled HTTP/1.1 keep-alive connections: asyncio streams + httptools.

Through httpx (h11 and anyio beneath it) an embeddings call cost ~1.2 ms of CPU against
an instant server; a request head written once and a response parsed by httptools cost
~0.2 ms (docs/benchmarks.md), and every search whose query is not cached pays for one.
This client does only what that call needs: one fixed URL, a body, httpx's timeout on
each connect, write and read, and the whole response (by length, chunks or close).
Proxies and redirects stay with httpx (`http_client`): a URL that a proxy setting
covers never comes here (`direct_target`), and a redirect is sent again through httpx.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

READ_SIZE = 65536
MAX_IDLE = 100
DEFAULT_PORTS = {"http": 80, "https": 443}


class Unreachable(Exception):
    """No response came back: the connection failed, closed early, or timed out."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _Stale(Exception):
    """A pooled connection the server had closed while it sat idle."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def direct_target(url: str) -> Target | None:
    """Where to connect for `url`, or None when httpx must send it (not http(s), or a
    proxy setting in the environment that could cover it)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    proxies = urllib.request.getproxies()
    if parts.scheme in proxies or "all" in proxies:
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme], path)


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: Mapping[str, str]
    """Names in lower case; a repeated header keeps its last value."""
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status_code < 400 and "location" in self.headers


@dataclass
class _Reading:
    """httptools' callbacks, collecting one response."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    headers_done: bool = False
    complete: bool = False
    keep_alive: bool = False
    parser: httptools.HttpResponseParser = field(init=False)

    def __post_init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        # Asked now: the parser forgets once the message is over.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True

    def ends_at_close(self) -> bool:
        """A body with neither a length nor chunks runs until the server closes."""
        framed = "content-length" in self.headers or "transfer-encoding" in self.headers
        return self.headers_done and not framed


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class KeepAliveClient:
    """`post(body)` to the one target; idle connections are reused, up to `MAX_IDLE`."""

    def __init__(
        self,
        target: Target,
        headers: Mapping[str, str],
        *,
        timeout: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._target, self._timeout, self._tls = target, timeout, tls
        default = DEFAULT_PORTS[target.scheme] == target.port
        host = target.host if default else f"{target.host}:{target.port}"
        lines = [f"POST {target.path} HTTP/1.1", f"host: {host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        # Without this header a server may compress the body, which this client cannot undo.
        lines.append("accept-encoding: identity")
        self._head = ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")
        self._idle: list[Streams] = []

    async def post(self, body: bytes) -> Reply:
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        while self._idle:
            streams = self._idle.pop()
            if streams[0].at_eof() or streams[1].is_closing():
                streams[1].close()
                continue
            try:
                return await self._exchange(streams, request, reused=True)
            except _Stale:
                continue  # closed while idle: the next one, or a fresh connection
        return await self._exchange(await self._connect(), request, reused=False)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def _connect(self) -> Streams:
        tls, host = self._tls, self._target.host
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.open_connection(
                    host, self._target.port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise Unreachable("connect timed out", timed_out=True) from None
        except OSError as exc:
            raise Unreachable(f"could not connect: {exc}") from None

    async def _exchange(self, streams: Streams, request: bytes, *, reused: bool) -> Reply:
        """Send and read one response; the connection goes back to the pool only when
        the response ended cleanly and the server keeps it open."""
        reader, writer = streams
        reading = _Reading()
        try:
            await self._write(writer, request, reused=reused)
            await self._read(reader, reading, reused=reused)
        except BaseException:
            writer.close()
            raise
        if reading.keep_alive and len(self._idle) < MAX_IDLE:
            self._idle.append(streams)
        else:
            writer.close()
        return Reply(reading.parser.get_status_code(), reading.headers, bytes(reading.body))

    async def _write(self, writer: asyncio.StreamWriter, request: bytes, *, reused: bool) -> None:
        writer.write(request)
        try:
            async with asyncio.timeout(self._timeout):
                await writer.drain()
        except TimeoutError:
            raise Unreachable("write timed out", timed_out=True) from None
        except OSError as exc:
            if reused:
                raise _Stale from None
            raise Unreachable(f"connection failed: {exc}") from None

    async def _read(
        self,
        reader: asyncio.StreamReader,
        reading: _Reading,
        *,
        reused: bool,
    ) -> None:
        received = False
        while not reading.complete:
            try:
                async with asyncio.timeout(self._timeout):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                raise Unreachable("read timed out", timed_out=True) from None
            except OSError as exc:
                data = b""
                if received or not reused:
                    raise Unreachable(f"connection failed: {exc}") from None
            if not data:
                if reading.ends_at_close():
                    return
                if reused and not received:
                    raise _Stale
                raise Unreachable("the server closed the connection mid-response")
            received = True
            try:
                reading.parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise Unreachable(f"invalid HTTP response: {exc}") from None
