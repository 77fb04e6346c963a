"""A store file's parsed text comes back in bounded pages that join to the whole text."""

from __future__ import annotations

import httpx
import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.services.file_content import PAGE_CHARS

LINES = "".join(f"line {i:07d} of a long parsed document\n" for i in range(80_000))


async def _completed_file(
    sdk: AsyncOpenAI, connection: AsyncConnection, content: str
) -> tuple[str, str]:
    """A completed attachment whose stored text is `content` (as a huge file's would be)."""
    store = await sdk.vector_stores.create()
    done = await sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", b"short"), poll_interval_ms=50
    )
    await connection.execute(
        text("UPDATE vector_store_files SET content = :c WHERE file_id = :f"),
        {"c": content, "f": done.id},
    )
    return store.id, done.id


class TestPaging:
    async def test_pages_are_bounded_and_join_to_the_whole_text(
        self, sdk: AsyncOpenAI, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        store_id, file_id = await _completed_file(sdk, connection, LINES)
        url = f"/v1/vector_stores/{store_id}/files/{file_id}/content"
        pages, cursor = [], None
        while True:
            body = (await client.get(url, params={"page": cursor} if cursor else None)).json()
            assert body["object"] == "vector_store.file_content.page"
            pages.append(body["data"][0]["text"])
            cursor = body["next_page"]
            assert body["has_more"] == (cursor is not None)
            if cursor is None:
                break
        assert len(pages) == 4  # 3.1M characters
        assert all(len(p) <= PAGE_CHARS for p in pages)
        assert all(p.endswith("\n") for p in pages)
        assert "".join(pages) == LINES

    async def test_short_text_is_one_page(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        store_id, file_id = await _completed_file(sdk, connection, "just a line")
        page = await sdk.vector_stores.files.content(file_id=file_id, vector_store_id=store_id)
        assert [p.text for p in page.data] == ["just a line"]

    async def test_page_past_the_end_is_empty(
        self, sdk: AsyncOpenAI, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        store_id, file_id = await _completed_file(sdk, connection, "just a line")
        url = f"/v1/vector_stores/{store_id}/files/{file_id}/content"
        body = (await client.get(url, params={"page": "999"})).json()
        assert body["data"] == []
        assert body["has_more"] is False

    @pytest.mark.parametrize("page", ["-1", "abc", "9999999999", ""])
    async def test_malformed_page_is_a_400_naming_it(
        self, sdk: AsyncOpenAI, client: httpx.AsyncClient, connection: AsyncConnection, page: str
    ) -> None:
        store_id, file_id = await _completed_file(sdk, connection, "just a line")
        url = f"/v1/vector_stores/{store_id}/files/{file_id}/content"
        response = await client.get(url, params={"page": page})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "page"
