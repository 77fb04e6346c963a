"""Text PostgreSQL cannot store and numbers JSON cannot carry: a 400 naming the field.

NUL bytes, lone UTF-16 surrogates, `NaN`, `Infinity` and `1e999` are valid for
Python's JSON parser but rejected by PostgreSQL; each must be refused at the
schema layer, wherever it appears, never reach the database as a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

BAD_TEXT = {"nul": '"a\\u0000b"', "surrogate": '"x\\ud800y"'}
BAD_NUMBERS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity", "overflow": "1e999"}
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class World:
    store: str
    file: str


@pytest.fixture
def world() -> World:
    """Ids of the right shape: validation answers before any lookup, so none must exist
    (a lookup reached by a hostile value would show up as a 404 and fail the test)."""
    return World("vs_hostile", "file-hostile")


def _assert_400(response: httpx.Response, param: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] is not None
    assert error["param"].startswith(param), error


# (method, url template, body template, param); `{X}` is the hostile JSON token.
TEXT_BODIES = [
    ("POST", "/v1/vector_stores", '{"name": {X}}', "name"),
    ("POST", "/v1/vector_stores", '{"description": {X}}', "description"),
    ("POST", "/v1/vector_stores", '{"metadata": {"k": {X}}}', "metadata"),
    ("POST", "/v1/vector_stores", '{"metadata": {{X}: "v"}}', "metadata"),
    ("POST", "/v1/vector_stores", '{"file_ids": [{X}]}', "file_ids"),
    ("POST", "/v1/vector_stores/{store}", '{"name": {X}}', "name"),
    ("POST", "/v1/vector_stores/{store}", '{"metadata": {"k": {X}}}', "metadata"),
    ("POST", "/v1/vector_stores/{store}/files", '{"file_id": {X}}', "file_id"),
    (
        "POST",
        "/v1/vector_stores/{store}/files",
        '{"file_id": "{file}", "attributes": {"k": {X}}}',
        "attributes",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/files",
        '{"file_id": "{file}", "attributes": {{X}: 1}}',
        "attributes",
    ),
    ("POST", "/v1/vector_stores/{store}/files/{file}", '{"attributes": {"k": {X}}}', "attributes"),
    ("POST", "/v1/vector_stores/{store}/file_batches", '{"file_ids": [{X}]}', "file_ids"),
    ("POST", "/v1/vector_stores/{store}/file_batches", '{"files": [{"file_id": {X}}]}', "files"),
    (
        "POST",
        "/v1/vector_stores/{store}/file_batches",
        '{"file_ids": ["{file}"], "attributes": {"k": {X}}}',
        "attributes",
    ),
    ("POST", "/v1/vector_stores/{store}/search", '{"query": {X}}', "query"),
    ("POST", "/v1/vector_stores/{store}/search", '{"query": ["ok", {X}]}', "query"),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "filters": {"type": "eq", "key": {X}, "value": 1}}',
        "filters",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "filters": {"type": "eq", "key": "k", "value": {X}}}',
        "filters",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "filters": {"type": "or", "filters": '
        '[{"type": "in", "key": "k", "value": ["a", {X}]}]}}',
        "filters",
    ),
]

NUMBER_BODIES = [
    (
        "POST",
        "/v1/vector_stores/{store}/files",
        '{"file_id": "{file}", "attributes": {"k": {X}}}',
        "attributes",
    ),
    ("POST", "/v1/vector_stores/{store}/files/{file}", '{"attributes": {"k": {X}}}', "attributes"),
    (
        "POST",
        "/v1/vector_stores/{store}/file_batches",
        '{"files": [{"file_id": "{file}", "attributes": {"k": {X}}}]}',
        "files",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "filters": {"type": "gt", "key": "k", "value": {X}}}',
        "filters",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "filters": {"type": "nin", "key": "k", "value": [1, {X}]}}',
        "filters",
    ),
    (
        "POST",
        "/v1/vector_stores/{store}/search",
        '{"query": "q", "ranking_options": {"score_threshold": {X}}}',
        "ranking_options",
    ),
]


async def _send(
    client: httpx.AsyncClient, world: World, method: str, url: str, body: str, token: str
) -> httpx.Response:
    target = url.replace("{store}", world.store).replace("{file}", world.file)
    content = body.replace("{file}", world.file).replace("{X}", token)
    return await client.request(method, target, content=content.encode(), headers=JSON)


class TestBodies:
    @pytest.mark.parametrize("token", BAD_TEXT.values(), ids=BAD_TEXT.keys())
    @pytest.mark.parametrize(("method", "url", "body", "param"), TEXT_BODIES)
    async def test_bad_text_is_400(
        self,
        client: httpx.AsyncClient,
        world: World,
        token: str,
        method: str,
        url: str,
        body: str,
        param: str,
    ) -> None:
        _assert_400(await _send(client, world, method, url, body, token), param)

    @pytest.mark.parametrize("token", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
    @pytest.mark.parametrize(("method", "url", "body", "param"), NUMBER_BODIES)
    async def test_non_finite_number_is_400(
        self,
        client: httpx.AsyncClient,
        world: World,
        token: str,
        method: str,
        url: str,
        body: str,
        param: str,
    ) -> None:
        _assert_400(await _send(client, world, method, url, body, token), param)

    @pytest.mark.parametrize("value", ["true", "1.0", '"3"'])
    async def test_max_num_results_is_a_strict_integer(
        self, client: httpx.AsyncClient, world: World, value: str
    ) -> None:
        body = '{"query": "q", "max_num_results": {X}}'
        url = "/v1/vector_stores/{store}/search"
        response = await _send(client, world, "POST", url, body, value)
        _assert_400(response, "max_num_results")


NUL = "a%00b"
PATHS = [
    ("GET", "/v1/files/{X}", "file_id"),
    ("GET", "/v1/files/{X}/content", "file_id"),
    ("DELETE", "/v1/files/{X}", "file_id"),
    ("GET", "/v1/vector_stores/{X}", "vector_store_id"),
    ("POST", "/v1/vector_stores/{X}/search", "vector_store_id"),
    ("GET", "/v1/vector_stores/{store}/files/{X}", "file_id"),
    ("DELETE", "/v1/vector_stores/{store}/files/{X}", "file_id"),
    ("GET", "/v1/vector_stores/{store}/files/{X}/content", "file_id"),
    ("GET", "/v1/vector_stores/{store}/file_batches/{X}", "batch_id"),
    ("POST", "/v1/vector_stores/{store}/file_batches/{X}/cancel", "batch_id"),
    ("GET", "/v1/files?after={X}", "after"),
    ("GET", "/v1/files?purpose={X}", "purpose"),
    ("GET", "/v1/vector_stores?after={X}", "after"),
    ("GET", "/v1/vector_stores?before={X}", "before"),
    ("GET", "/v1/vector_stores/{store}/files?after={X}", "after"),
    ("GET", "/v1/vector_stores/{store}/files?before={X}", "before"),
    ("GET", "/v1/vector_stores/{store}/files?filter={X}", "filter"),
    ("GET", "/v1/vector_stores/{store}/file_batches/{X}/files", "batch_id"),
]


class TestPathsAndQueries:
    @pytest.mark.parametrize(("method", "url", "param"), PATHS)
    async def test_nul_is_400(
        self, client: httpx.AsyncClient, world: World, method: str, url: str, param: str
    ) -> None:
        target = url.replace("{store}", world.store).replace("{X}", NUL)
        body = {"json": {"query": "q"}} if method == "POST" else {}
        _assert_400(await client.request(method, target, **body), param)  # type: ignore[arg-type]


def _multipart(disposition: bytes) -> bytes:
    return (
        b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; '
        + disposition
        + b"\r\n\r\nhello\r\n--B--\r\n"
    )


class TestUploadFilename:
    @pytest.mark.parametrize(
        "disposition",
        [b'filename="a\x00b.txt"', b"filename*=utf-8''a%00b.txt", b"filename*=utf-8''%ED%A0%80"],
        ids=["nul", "charset-nul", "charset-surrogate"],
    )
    async def test_unstorable_filename_is_400_naming_file(
        self, client: httpx.AsyncClient, disposition: bytes
    ) -> None:
        response = await client.post(
            "/v1/files",
            content=_multipart(disposition),
            headers={"content-type": "multipart/form-data; boundary=B"},
        )
        _assert_400(response, "file")

    async def test_non_ascii_filename_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/files", files={"file": ("café ü.txt", b"x")}, data={"purpose": "assistants"}
        )
        assert response.status_code == 200
        assert response.json()["filename"] == "café ü.txt"


class TestStrictIntegers:
    @pytest.mark.parametrize(
        ("body", "param"),
        [
            ('{"expires_after": {"anchor": "last_active_at", "days": true}}', "expires_after"),
            (
                '{"file_ids": ["f"], "chunking_strategy": {"type": "static", "static": '
                '{"max_chunk_size_tokens": 1e999, "chunk_overlap_tokens": 0}}}',
                "chunking_strategy",
            ),
        ],
    )
    async def test_booleans_and_overflow_are_not_integers(
        self, client: httpx.AsyncClient, body: str, param: str
    ) -> None:
        response = await client.post("/v1/vector_stores", content=body.encode(), headers=JSON)
        _assert_400(response, param)
