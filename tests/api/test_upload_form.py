"""A small upload's form is read straight into bytes (`api/upload_form`), a large or
chunked one by Starlette: the same body gets the same answer either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

BOUNDARY = "xYzBoundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, *, filename: str | None = None, raw: str = "") -> bytes:
    disposition = raw or f'form-data; name="{name}"' + (
        "" if filename is None else f'; filename="{filename}"'
    )
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


PURPOSE = part("purpose", b"assistants")
FILE = part("file", b"hello\n", filename="a.txt")

BODIES = {
    "missing purpose": body(FILE),
    "missing file": body(PURPOSE),
    "file sent as a field": body(PURPOSE, part("file", b"hello")),
    "unknown purpose": body(part("purpose", b"fun"), FILE),
    "two files": body(PURPOSE, FILE, part("other", b"x", filename="b.txt")),
    "seventeen fields": body(FILE, *(part(f"f{n}", b"v") for n in range(17))),
    "a part without a name": body(PURPOSE, FILE, part("", b"x", raw="form-data")),
    "not multipart at all": b"this is not a multipart body",
    "the last purpose wins": body(part("purpose", b"fun"), PURPOSE, FILE),
    "an empty filename": body(PURPOSE, part("file", b"x", filename="")),
    "only an RFC 2231 filename*": body(
        PURPOSE, part("file", b"x", raw="form-data; name=\"file\"; filename*=utf-8''na%C3%AFve.txt")
    ),
    "expires_after out of range": body(
        PURPOSE,
        FILE,
        part("expires_after[anchor]", b"created_at"),
        part("expires_after[seconds]", b"60"),
    ),
}


async def _chunked(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def send(client: httpx.AsyncClient, data: bytes, *, chunked: bool) -> httpx.Response:
    headers = {"content-type": CONTENT_TYPE}
    content: Any = _chunked(data) if chunked else data
    return await client.post("/v1/files", content=content, headers=headers)


def comparable(response: httpx.Response) -> tuple[int, Any]:
    found = response.json()
    if response.status_code == 200:
        return 200, {k: found[k] for k in ("filename", "bytes", "purpose", "expires_at")}
    return response.status_code, found


@pytest.mark.parametrize("name", list(BODIES))
async def test_small_and_streamed_bodies_get_the_same_answer(
    client: httpx.AsyncClient, name: str
) -> None:
    small = await send(client, BODIES[name], chunked=False)
    streamed = await send(client, BODIES[name], chunked=True)
    assert "content-length" in small.request.headers
    assert "content-length" not in streamed.request.headers
    assert comparable(small) == comparable(streamed)
    assert small.status_code < 500


async def test_a_missing_boundary_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/files", content=body(PURPOSE, FILE), headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing boundary in multipart."


async def test_what_a_small_upload_answers_with(client: httpx.AsyncClient) -> None:
    """The filename as sent (UTF-8), the exact byte count, the param of each caller
    mistake."""
    utf8 = part("file", b"x", raw='form-data; name="file"; filename="naïve.txt"')
    named = await send(client, body(PURPOSE, utf8), chunked=False)
    assert named.json()["filename"] == "naïve.txt"
    assert (await send(client, body(PURPOSE, FILE), chunked=False)).json()["bytes"] == 6
    for name, param in (
        ("missing purpose", "purpose"),
        ("missing file", "file"),
        ("file sent as a field", "file"),
        ("only an RFC 2231 filename*", "file"),
        ("unknown purpose", "purpose"),
        ("expires_after out of range", "expires_after"),
    ):
        error = (await send(client, BODIES[name], chunked=False)).json()["error"]
        assert error["param"] == param, name
