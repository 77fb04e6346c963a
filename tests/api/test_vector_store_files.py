"""Attaching files: ingestion to `completed`, failures explained, text readable back."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.vector_stores import VectorStoreFile
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

STORY = "The quick brown fox jumps over the lazy dog. " * 400


async def _upload(sdk: AsyncOpenAI, name: str, data: bytes) -> str:
    return (await sdk.files.create(file=(name, data), purpose="assistants")).id


class TestAttach:
    async def test_upload_and_poll_completes(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        store = await sdk.vector_stores.create(name="s")
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("story.txt", STORY.encode()), poll_interval_ms=50
        )
        assert done.status == "completed"
        assert done.last_error is None
        assert done.usage_bytes > 0
        assert done.chunking_strategy is not None
        assert done.chunking_strategy.type == "static"
        count = await connection.scalar(
            text("SELECT count(*) FROM file_chunks WHERE file_id = :f"), {"f": done.id}
        )
        assert count is not None
        assert count > 1
        refreshed = await sdk.vector_stores.retrieve(store.id)
        assert refreshed.file_counts.completed == 1
        assert refreshed.usage_bytes == done.usage_bytes
        assert refreshed.status == "completed"

    async def test_response_is_pending_with_poll_hint(self, client: httpx.AsyncClient) -> None:
        made = await client.post(
            "/v1/files", files={"file": ("a.txt", b"hello")}, data={"purpose": "assistants"}
        )
        store = (await client.post("/v1/vector_stores", json={})).json()
        attached = await client.post(
            f"/v1/vector_stores/{store['id']}/files", json={"file_id": made.json()["id"]}
        )
        assert attached.status_code == 200
        VectorStoreFile.model_validate(attached.json())
        assert attached.json()["status"] == "in_progress"
        assert attached.headers["openai-poll-after-ms"].isdigit()

    async def test_static_chunking_is_reported(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        file_id = await _upload(sdk, "s.txt", STORY.encode())
        vsf = await sdk.vector_stores.files.create_and_poll(
            vector_store_id=store.id,
            file_id=file_id,
            poll_interval_ms=50,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
            },
        )
        assert vsf.chunking_strategy is not None
        assert vsf.chunking_strategy.static.max_chunk_size_tokens == 100  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("static", "param"),
        [
            ({"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}, "max_chunk_size_tokens"),
            ({"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}, "max_chunk_size_tokens"),
            ({"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}, "chunking_strategy"),
        ],
    )
    async def test_rejects_chunking_out_of_bounds(
        self, client: httpx.AsyncClient, static: dict[str, int], param: str
    ) -> None:
        store = (await client.post("/v1/vector_stores", json={})).json()
        response = await client.post(
            f"/v1/vector_stores/{store['id']}/files",
            json={"file_id": "file-x", "chunking_strategy": {"type": "static", "static": static}},
        )
        assert response.status_code == 400
        assert param in response.json()["error"]["param"]

    async def test_rejects_bad_attributes(self, client: httpx.AsyncClient) -> None:
        store = (await client.post("/v1/vector_stores", json={})).json()
        for attributes in ({f"k{i}": 1 for i in range(17)}, {"k": "v" * 513}, {"k": [1]}):
            response = await client.post(
                f"/v1/vector_stores/{store['id']}/files",
                json={"file_id": "file-x", "attributes": attributes},
            )
            assert response.status_code == 400, attributes
            assert response.json()["error"]["param"].startswith("attributes")

    async def test_attaching_twice_is_idempotent(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        file_id = await _upload(sdk, "a.txt", b"alpha beta")
        first = await sdk.vector_stores.files.create_and_poll(
            vector_store_id=store.id, file_id=file_id, poll_interval_ms=50
        )
        again = await sdk.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
        assert again.status == first.status == "completed"
        assert (await sdk.vector_stores.retrieve(store.id)).file_counts.total == 1

    async def test_unknown_file_is_404(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")

    async def test_expired_store_refuses_files_but_reads(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        store = await sdk.vector_stores.create(
            expires_after={"anchor": "last_active_at", "days": 1}
        )
        await connection.execute(
            text("UPDATE vector_stores SET expires_at = now() - interval '1 minute'")
        )
        assert (await sdk.vector_stores.retrieve(store.id)).status == "expired"
        file_id = await _upload(sdk, "a.txt", b"alpha")
        with pytest.raises(openai.BadRequestError, match="expired"):
            await sdk.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)


class TestFailures:
    @pytest.mark.parametrize(
        ("name", "data", "code"),
        [
            ("image.png", b"\x89PNG\r\n\x1a\n....", "unsupported_file"),
            ("empty.txt", b"", "invalid_file"),
            ("blank.md", b"   \n\t ", "invalid_file"),
            ("broken.pdf", b"%PDF-1.4 not really", "invalid_file"),
        ],
    )
    async def test_bad_files_fail_with_a_reason(
        self, sdk: AsyncOpenAI, name: str, data: bytes, code: str
    ) -> None:
        store = await sdk.vector_stores.create()
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, data), poll_interval_ms=50
        )
        assert done.status == "failed"
        assert done.last_error is not None
        assert done.last_error.code == code
        assert done.last_error.message
        counts = (await sdk.vector_stores.retrieve(store.id)).file_counts
        assert counts.failed == 1
        assert counts.total == 1

    async def test_failed_file_can_be_attached_again(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        failed = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("x.png", b"png"), poll_interval_ms=50
        )
        retried = await sdk.vector_stores.files.create(vector_store_id=store.id, file_id=failed.id)
        assert retried.status == "in_progress"


class TestReadUpdateDelete:
    async def test_content_returns_parsed_text(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        html = b"<html><head><style>p{}</style></head><body><p>Visible words</p></body></html>"
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("page.html", html), poll_interval_ms=50
        )
        parts = [
            p
            async for p in sdk.vector_stores.files.content(
                file_id=done.id, vector_store_id=store.id
            )
        ]
        text_ = "".join(p.text or "" for p in parts)
        assert "Visible words" in text_
        assert "p{}" not in text_

    async def test_update_attributes(self, sdk: AsyncOpenAI, connection: AsyncConnection) -> None:
        store = await sdk.vector_stores.create()
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("a.txt", b"alpha beta"), poll_interval_ms=50
        )
        updated = await sdk.vector_stores.files.update(
            file_id=done.id, vector_store_id=store.id, attributes={"lang": "en", "year": 2024}
        )
        assert updated.attributes == {"lang": "en", "year": 2024}
        stored = await connection.scalar(
            text("SELECT attributes FROM file_chunks WHERE file_id = :f LIMIT 1"),
            {"f": done.id},
        )
        assert stored == {"lang": "en", "year": 2024}

    async def test_detach_keeps_the_file_and_drops_chunks(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        store = await sdk.vector_stores.create()
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("a.txt", b"alpha beta"), poll_interval_ms=50
        )
        deleted = await sdk.vector_stores.files.delete(file_id=done.id, vector_store_id=store.id)
        assert deleted.deleted is True
        assert (await sdk.files.retrieve(done.id)).id == done.id
        count = await connection.scalar(text("SELECT count(*) FROM file_chunks"))
        assert count == 0
        assert (await sdk.vector_stores.retrieve(store.id)).file_counts.total == 0

    async def test_deleting_the_file_detaches_it_everywhere(self, sdk: AsyncOpenAI) -> None:
        a, b = await sdk.vector_stores.create(), await sdk.vector_stores.create()
        file_id = await _upload(sdk, "a.txt", b"alpha")
        for store in (a, b):
            await sdk.vector_stores.files.create_and_poll(
                vector_store_id=store.id, file_id=file_id, poll_interval_ms=50
            )
        await sdk.files.delete(file_id)
        for store in (a, b):
            assert (await sdk.vector_stores.retrieve(store.id)).file_counts.total == 0

    async def test_list_filters_by_status(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("ok.txt", b"fine"), poll_interval_ms=50
        )
        await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("bad.png", b"png"), poll_interval_ms=50
        )
        failed = await sdk.vector_stores.files.list(vector_store_id=store.id, filter="failed")
        assert [f.status for f in failed.data] == ["failed"]
        every = await sdk.vector_stores.files.list(vector_store_id=store.id)
        assert len(every.data) == 2


@pytest.mark.committed  # concurrent requests: one connection cannot serve them at once
class TestConcurrency:
    async def test_parallel_attaches_all_complete(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await asyncio.gather(
            *(_upload(sdk, f"{i}.txt", f"doc {i}".encode()) for i in range(12))
        )
        await asyncio.gather(
            *(sdk.vector_stores.files.create(vector_store_id=store.id, file_id=f) for f in ids)
        )
        for _ in range(200):
            counts = (await sdk.vector_stores.retrieve(store.id)).file_counts
            if counts.completed == 12:
                break
            await asyncio.sleep(0.05)
        assert counts.completed == 12
        assert counts.total == 12
