"""Who reaches `/v1`: keys checked before the body, bodies bounded while they stream,
and a keyless server that only answers its own host and origin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings

API_KEY = "sk-guard-test-key-000000001"
CHUNK = b"x" * 65536
MULTIPART = "multipart/form-data; boundary=b0undary"
FORM_HEAD = (
    b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
    b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
)
FORM_TAIL = b"\r\n--b0undary--\r\n"

# Slow and stalled clients beside other requests, keys committed for apps of their own.
pytestmark = pytest.mark.committed


@dataclass
class Tracked:
    """A chunked request body that counts how much of itself the server pulled."""

    chunks: int
    prefix: bytes = b""
    suffix: bytes = b""
    pause: float = 0.0
    pulled: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for part in (self.prefix, *([CHUNK] * self.chunks), self.suffix):
            if self.pause and part is CHUNK:
                await asyncio.sleep(self.pause)
            self.pulled += len(part)
            yield part


@asynccontextmanager
async def serving(settings: Settings, host: str = "localhost") -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            yield client


@pytest.fixture
async def keyed(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings.replace(MAIA_API_KEYS=SecretStr(API_KEY))) as client:
        yield client


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


class TestAuthBeforeBody:
    @pytest.mark.parametrize(
        ("path", "content_type"),
        [
            ("/v1/vector_stores", "application/json"),
            ("/v1/vector_stores", MULTIPART),
            ("/v1/files", MULTIPART),
        ],
    )
    async def test_no_key_is_401_with_the_body_unread(
        self, keyed: httpx.AsyncClient, path: str, content_type: str
    ) -> None:
        body = Tracked(chunks=64, prefix=FORM_HEAD)
        response = await keyed.post(
            path, content=body.stream(), headers={"content-type": content_type}
        )
        assert _error(response, 401)["code"] == "missing_api_key"
        assert body.pulled == 0

    async def test_wrong_key_is_401_with_the_body_unread(self, keyed: httpx.AsyncClient) -> None:
        body = Tracked(chunks=64, prefix=FORM_HEAD)
        response = await keyed.post(
            "/v1/files",
            content=body.stream(),
            headers={"content-type": MULTIPART, "authorization": "Bearer sk-not-a-real-key-123"},
        )
        assert _error(response, 401)["code"] == "invalid_api_key"
        assert body.pulled == 0

    async def test_valid_key_uploads(self, keyed: httpx.AsyncClient) -> None:
        response = await keyed.post(
            "/v1/files",
            files={"file": ("a.txt", b"hello")},
            data={"purpose": "assistants"},
            headers={"authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200, response.text


class TestStreamedLimits:
    async def test_chunked_upload_is_refused_as_soon_as_it_passes_the_limit(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        small = settings.replace(MAX_UPLOAD_BYTES=256 * 1024)
        limit = small.http.max_upload_bytes + 64 * 1024  # the multipart allowance
        body = Tracked(chunks=64, prefix=FORM_HEAD, suffix=FORM_TAIL)  # 4 MiB
        async with serving(small) as client:
            response = await client.post(
                "/v1/files", content=body.stream(), headers={"content-type": MULTIPART}
            )
        _error(response, 413)
        assert body.pulled <= limit + len(CHUNK)

    async def test_multipart_to_a_json_route_is_bounded_while_streaming(
        self, client: httpx.AsyncClient
    ) -> None:
        body = Tracked(chunks=160, prefix=FORM_HEAD)  # 10 MiB against a 4 MiB limit
        response = await client.post(
            "/v1/vector_stores", content=body.stream(), headers={"content-type": MULTIPART}
        )
        _error(response, 413)
        assert body.pulled <= 4 * 1024 * 1024 + len(CHUNK)

    async def test_stalled_upload_is_408(self, settings: Settings, engine: AsyncEngine) -> None:
        impatient = settings.replace(BODY_IDLE_TIMEOUT=0.2)
        body = Tracked(chunks=3, prefix=FORM_HEAD, suffix=FORM_TAIL, pause=1.0)
        async with serving(impatient) as client:
            response = await client.post(
                "/v1/files", content=body.stream(), headers={"content-type": MULTIPART}
            )
        assert _error(response, 408)["code"] == "request_timeout"

    async def test_stalled_json_body_is_408(self, settings: Settings, engine: AsyncEngine) -> None:
        impatient = settings.replace(BODY_IDLE_TIMEOUT=0.2)
        body = Tracked(chunks=3, prefix=b'{"name": "', pause=1.0)
        async with serving(impatient) as client:
            response = await client.post(
                "/v1/vector_stores",
                content=body.stream(),
                headers={"content-type": "application/json"},
            )
        _error(response, 408)


class TestOpenModeHostAndOrigin:
    @pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "10.0.0.7"])
    async def test_foreign_host_is_403(self, client: httpx.AsyncClient, host: str) -> None:
        response = await client.get("/v1/files", headers={"host": host})
        assert _error(response, 403)["code"] == "host_not_allowed"

    @pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:80"])
    async def test_served_hosts_are_answered(self, client: httpx.AsyncClient, host: str) -> None:
        response = await client.get("/v1/files", headers={"host": host})
        assert response.status_code == 200

    async def test_configured_host_is_answered(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        async with serving(settings.replace(HOST="::1"), host="[::1]:8000") as c:
            assert (await c.get("/v1/vector_stores")).status_code == 200

    @pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:9999"])
    async def test_cross_site_upload_is_403(self, client: httpx.AsyncClient, origin: str) -> None:
        response = await client.post(
            "/v1/files",
            files={"file": ("a.txt", b"planted")},
            data={"purpose": "assistants"},
            headers={"origin": origin},
        )
        assert _error(response, 403)["code"] == "origin_not_allowed"
        assert (await client.get("/v1/files")).json()["data"] == []

    async def test_same_origin_is_answered(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/files", headers={"origin": "http://localhost"})
        assert response.status_code == 200

    async def test_health_answers_any_host(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"host": "attacker.example"})
        assert response.status_code == 200

    async def test_keyed_mode_ignores_host(self, keyed: httpx.AsyncClient) -> None:
        response = await keyed.get(
            "/v1/files",
            headers={"host": "maia.internal", "authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 200


class TestSlowClients:
    async def test_a_stalled_upload_holds_no_connection(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        """With a pool of one, another request is served while an upload waits mid-body."""
        # No in-process workers: the one connection is the requests' alone (housekeeping
        # takes it briefly at start, hence a timeout that tolerates a loaded machine).
        pool_of_one = {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0, "DB_POOL_TIMEOUT": 3.0}
        one = settings.replace(MAIA_API_KEYS=SecretStr(API_KEY), INGEST_WORKERS=0, **pool_of_one)
        resume = asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield FORM_HEAD + b"first half "
            await resume.wait()
            yield b"second half" + FORM_TAIL

        auth = {"authorization": f"Bearer {API_KEY}"}
        async with serving(one) as client:
            upload = asyncio.create_task(
                client.post(
                    "/v1/files", content=stalled(), headers={**auth, "content-type": MULTIPART}
                )
            )
            await asyncio.sleep(0.3)  # the upload is admitted and waiting for its body
            meanwhile = await client.get("/v1/vector_stores", headers=auth)
            resume.set()
            uploaded = await upload
        assert meanwhile.status_code == 200, meanwhile.text
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["bytes"] == len(b"first half second half")
