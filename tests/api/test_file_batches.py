"""File batches: many files at once, counted together, cancellable."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.vector_stores import VectorStoreFileBatch
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def _uploads(sdk: AsyncOpenAI, n: int) -> list[str]:
    return [
        (
            await sdk.files.create(
                file=(f"{i}.txt", f"document {i}".encode()), purpose="assistants"
            )
        ).id
        for i in range(n)
    ]


class TestCreate:
    async def test_create_and_poll_counts_every_file(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await _uploads(sdk, 5)
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids, poll_interval_ms=50
        )
        assert batch.id.startswith("vsfb_")
        assert batch.status == "completed"
        assert batch.file_counts.completed == 5
        assert batch.file_counts.total == 5

    async def test_files_form_carries_per_file_attributes(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        a, b = await _uploads(sdk, 2)
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id,
            poll_interval_ms=50,
            files=[{"file_id": a, "attributes": {"n": 1}}, {"file_id": b}],
        )
        listed = {
            f.id: f.attributes
            async for f in sdk.vector_stores.file_batches.list_files(
                batch_id=batch.id, vector_store_id=store.id
            )
        }
        assert listed == {a: {"n": 1}, b: None}

    @pytest.mark.committed  # the SDK helper uploads the files concurrently
    async def test_upload_and_poll_helper(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        files = [(f"{i}.md", f"# Title {i}".encode()) for i in range(3)]
        batch = await sdk.vector_stores.file_batches.upload_and_poll(
            vector_store_id=store.id, files=files, poll_interval_ms=50
        )
        assert batch.file_counts.completed == 3

    async def test_response_validates_as_sdk_type(self, client: httpx.AsyncClient) -> None:
        made = await client.post(
            "/v1/files", files={"file": ("a.txt", b"x")}, data={"purpose": "assistants"}
        )
        store = (await client.post("/v1/vector_stores", json={})).json()
        response = await client.post(
            f"/v1/vector_stores/{store['id']}/file_batches",
            json={"file_ids": [made.json()["id"]]},
        )
        assert response.status_code == 200
        VectorStoreFileBatch.model_validate(response.json())

    async def test_unknown_file_is_404_naming_it(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        (known,) = await _uploads(sdk, 1)
        with pytest.raises(openai.NotFoundError, match="file-missing"):
            await sdk.vector_stores.file_batches.create(
                vector_store_id=store.id, file_ids=[known, "file-missing"]
            )
        assert (await sdk.vector_stores.retrieve(store.id)).file_counts.total == 0

    async def test_rejects_both_forms_and_neither(self, client: httpx.AsyncClient) -> None:
        store = (await client.post("/v1/vector_stores", json={})).json()
        url = f"/v1/vector_stores/{store['id']}/file_batches"
        both = await client.post(url, json={"file_ids": ["file-a"], "files": [{"file_id": "b"}]})
        neither = await client.post(url, json={})
        assert both.status_code == neither.status_code == 400


class TestCancel:
    @pytest.mark.committed  # needs the workers to lag behind the cancel
    async def test_cancel_stops_pending_files(self, settings: object, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await _uploads(sdk, 40)
        batch = await sdk.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
        cancelled = await sdk.vector_stores.file_batches.cancel(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert cancelled.status == "cancelled"
        counts = cancelled.file_counts
        assert counts.in_progress == 0
        assert counts.cancelled + counts.completed + counts.failed == 40
        assert counts.cancelled > 0
        listed = await sdk.vector_stores.file_batches.list_files(
            batch_id=batch.id, vector_store_id=store.id, filter="cancelled", limit=100
        )
        assert len(listed.data) == counts.cancelled

    async def test_files_a_later_batch_sent_again_are_that_batchs(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        """Cancelling the earlier batch leaves them in progress for the later one;
        cancelling the later one cancels them (it sent them last)."""
        store = (await sdk.vector_stores.create()).id
        ids = await _uploads(sdk, 4)
        first = await sdk.vector_stores.file_batches.create(vector_store_id=store, file_ids=ids)
        later = await sdk.vector_stores.file_batches.create(vector_store_id=store, file_ids=ids[:2])
        # Both batches' files back in progress, as if the workers lagged behind.
        await connection.execute(
            text("UPDATE vector_store_files SET status = 'in_progress' WHERE vector_store_id = :s"),
            {"s": store},
        )
        cancelled = await sdk.vector_stores.file_batches.cancel(
            batch_id=first.id, vector_store_id=store
        )
        assert cancelled.status == "cancelled"
        assert (cancelled.file_counts.cancelled, cancelled.file_counts.in_progress) == (2, 2)
        going_on = await sdk.vector_stores.file_batches.retrieve(
            batch_id=later.id, vector_store_id=store
        )
        assert going_on.status == "in_progress"
        assert going_on.file_counts.in_progress == 2
        stopped = await sdk.vector_stores.file_batches.cancel(
            batch_id=later.id, vector_store_id=store
        )
        assert stopped.status == "cancelled"
        assert stopped.file_counts.cancelled == 2

    async def test_unknown_batch_is_404(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.file_batches.retrieve(
                batch_id="vsfb_nope", vector_store_id=store.id
            )


class TestMembership:
    async def test_a_later_batch_does_not_empty_an_earlier_one(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await _uploads(sdk, 3)
        first = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids, poll_interval_ms=50
        )
        second = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids[:2], poll_interval_ms=50
        )
        again = await sdk.vector_stores.file_batches.retrieve(
            batch_id=first.id, vector_store_id=store.id
        )
        assert again.status == "completed"
        assert again.file_counts.total == again.file_counts.completed == 3
        assert second.file_counts.total == 2
        members = sdk.vector_stores.file_batches.list_files(
            batch_id=first.id, vector_store_id=store.id
        )
        assert sorted([f.id async for f in members]) == sorted(ids)

    async def test_detached_file_leaves_the_batch(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await _uploads(sdk, 2)
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids, poll_interval_ms=50
        )
        await sdk.vector_stores.files.delete(file_id=ids[0], vector_store_id=store.id)
        again = await sdk.vector_stores.file_batches.retrieve(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert again.file_counts.total == 1

    async def test_files_list_pages_both_ways(self, client: httpx.AsyncClient) -> None:
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        ids = []
        for i in range(5):
            made = await client.post(
                "/v1/files", files={"file": (f"{i}.txt", b"x")}, data={"purpose": "assistants"}
            )
            ids.append(made.json()["id"])
        url = f"/v1/vector_stores/{store}/file_batches"
        batch = (await client.post(url, json={"file_ids": ids})).json()
        files_url = f"{url}/{batch['id']}/files"
        listed = [
            f["id"] for f in (await client.get(files_url, params={"order": "asc"})).json()["data"]
        ]
        assert sorted(listed) == sorted(ids)
        page = (
            await client.get(files_url, params={"order": "asc", "limit": 2, "before": listed[4]})
        ).json()
        assert [f["id"] for f in page["data"]] == listed[2:4]
        assert page["has_more"] is True


class TestCancelFinished:
    async def test_cancel_of_a_completed_batch_changes_nothing(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        ids = await _uploads(sdk, 2)
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids, poll_interval_ms=50
        )
        cancelled = await sdk.vector_stores.file_batches.cancel(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert cancelled.status == "completed"
        assert cancelled.file_counts == batch.file_counts
        again = await sdk.vector_stores.file_batches.retrieve(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert again.status == "completed"

    async def test_cancel_of_a_failed_batch_keeps_it_failed(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create()
        bad = await sdk.files.create(file=("x.bin", b"\x00\x01binary"), purpose="assistants")
        batch = await sdk.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[bad.id], poll_interval_ms=50
        )
        assert batch.status == "failed"
        cancelled = await sdk.vector_stores.file_batches.cancel(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert cancelled.status == "failed"
        assert cancelled.file_counts.failed == 1
        assert cancelled.file_counts.cancelled == 0
