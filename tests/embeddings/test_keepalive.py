"""The keep-alive client against small real HTTP servers, each answering as scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from maia_vectordb.embeddings.http_client import EmbeddingsClient
from maia_vectordb.embeddings.keepalive import KeepAliveClient, Unreachable, direct_target
from tests.fakes.openai_server import FakeOpenAIServer

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
CHUNKED = b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
UNTIL_CLOSE = b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"a":2}'

# What a scripted connection does with each request it reads: the bytes to send, and
# whether to close the connection afterwards.
Script = Callable[[int], Awaitable[tuple[bytes, bool]]]


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                answer, close = await self.script(len(self.requests))
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], Awaitable[ScriptedServer]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> ScriptedServer:
        scripted = ScriptedServer(script)
        server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        servers.append(server)
        scripted.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/embeddings"
        return scripted

    yield start
    for server in servers:
        server.close()


def client(url: str, *, timeout: float = 5.0) -> KeepAliveClient:
    target = direct_target(url)
    assert target is not None
    return KeepAliveClient(target, {"authorization": "Bearer k"}, timeout=timeout)


def answer(data: bytes, *, close: bool = False) -> Script:
    async def script(_number: int) -> tuple[bytes, bool]:
        return data, close

    return script


class TestKeepAlive:
    async def test_reuses_one_connection_and_sends_the_head_and_body(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]]
    ) -> None:
        server = await serve(answer(OK))
        http = client(server.url)
        replies = [await http.post(b'{"n":1}') for _ in range(3)]
        await http.aclose()
        assert [(r.status_code, r.content) for r in replies] == [(200, b"{}")] * 3
        assert server.connections == 1
        assert server.requests[0].startswith(b"POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1:")
        tail = (
            b"authorization: Bearer k\r\naccept-encoding: identity\r\n"
            b'content-length: 7\r\n\r\n{"n":1}'
        )
        assert server.requests[0].endswith(tail)
        assert replies[0].headers["content-type"] == "application/json"

    async def test_a_connection_closed_while_idle_is_replaced_without_an_error(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]]
    ) -> None:
        # The server closes after each response without saying so (as idle timeouts do).
        server = await serve(answer(OK, close=True))
        http = client(server.url)
        for _ in range(3):
            assert (await http.post(b"{}")).status_code == 200
            await asyncio.sleep(0.01)
        await http.aclose()
        assert server.connections == 3

    @pytest.mark.parametrize(
        ("data", "body"),
        [(CHUNKED, b'{"a":1}'), (UNTIL_CLOSE, b'{"a":2}')],
        ids=["chunked", "until-close"],
    )
    async def test_reads_chunked_and_until_close_bodies(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]], data: bytes, body: bytes
    ) -> None:
        server = await serve(answer(data, close=data is UNTIL_CLOSE))
        http = client(server.url)
        replies = [await http.post(b"{}"), await http.post(b"{}")]
        await http.aclose()
        assert [reply.content for reply in replies] == [body, body]

    async def test_a_silent_server_times_out(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]]
    ) -> None:
        async def never(_number: int) -> tuple[bytes, bool]:
            await asyncio.sleep(10)
            return OK, False

        server = await serve(never)
        http = client(server.url, timeout=0.2)
        with pytest.raises(Unreachable) as caught:
            await http.post(b"{}")
        assert caught.value.timed_out

    async def test_a_response_cut_short_is_unreachable(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]]
    ) -> None:
        server = await serve(answer(OK[:-1], close=True))
        with pytest.raises(Unreachable) as caught:
            await client(server.url).post(b"{}")
        assert not caught.value.timed_out


class TestRoutes:
    def test_a_proxy_setting_leaves_the_url_to_httpx(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
        assert direct_target("https://api.openai.com/v1/embeddings") is None

    def test_default_ports(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        target = direct_target("https://api.openai.com/v1/embeddings")
        assert target is not None
        assert (target.port, target.path) == (443, "/v1/embeddings")

    async def test_a_redirect_is_followed_through_httpx(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]], fake_openai: FakeOpenAIServer
    ) -> None:
        _, embeddings = await _redirecting(serve, fake_openai)
        try:
            body = await embeddings.create({"input": ["hi"], "model": "text-embedding-3-small"})
        finally:
            await embeddings.aclose()
        assert len(body["data"]) == 1
        assert len(fake_openai.requests) == 1

    async def test_after_a_redirect_every_call_goes_through_httpx(
        self, serve: Callable[[Script], Awaitable[ScriptedServer]], fake_openai: FakeOpenAIServer
    ) -> None:
        server, embeddings = await _redirecting(serve, fake_openai)
        try:
            for _ in range(3):
                await embeddings.create({"input": ["hi"], "model": "text-embedding-3-small"})
        finally:
            await embeddings.aclose()
        # The direct client's one request, then httpx's one per call.
        assert len(server.requests) == 4
        assert len(fake_openai.requests) == 3


async def _redirecting(
    serve: Callable[[Script], Awaitable[ScriptedServer]], fake_openai: FakeOpenAIServer
) -> tuple[ScriptedServer, EmbeddingsClient]:
    """A server that redirects every request to the fake OpenAI, and a client of it."""
    moved = f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {fake_openai.base_url}/embeddings"
    server = await serve(answer(moved.encode() + b"\r\ncontent-length: 0\r\n\r\n"))
    embeddings = EmbeddingsClient(
        base_url=server.url.removesuffix("/embeddings"),
        api_key=None,
        model="text-embedding-3-small",
        timeout=5.0,
        max_retries=0,
    )
    return server, embeddings
