"""List cursors that name an item the list no longer shows: deleted, detached, or moved
out of the list's filter. The SDKs page by passing the last item they yielded, so a loop
that deletes what it lists must still reach every item, once."""

from __future__ import annotations

import httpx
import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def _stores(sdk: AsyncOpenAI, n: int) -> list[str]:
    return [(await sdk.vector_stores.create(name=f"s{i}")).id for i in range(n)]


async def _files(sdk: AsyncOpenAI, n: int, purpose: str = "assistants") -> list[str]:
    return [
        (await sdk.files.create(file=(f"f{i}.txt", b"words %d" % i), purpose=purpose)).id  # type: ignore[arg-type]
        for i in range(n)
    ]


async def _attached(sdk: AsyncOpenAI, store: str, n: int) -> list[str]:
    ids = await _files(sdk, n)
    for file_id in ids:
        await sdk.vector_stores.files.create_and_poll(
            vector_store_id=store, file_id=file_id, poll_interval_ms=50
        )
    return ids


class TestDeletingWhatIsListed:
    async def test_every_store_is_reached_and_deleted(self, sdk: AsyncOpenAI) -> None:
        ids = await _stores(sdk, 5)
        seen = []
        async for store in sdk.vector_stores.list(limit=2):
            seen.append(store.id)
            await sdk.vector_stores.delete(store.id)
        assert seen == ids[::-1]
        assert (await sdk.vector_stores.list()).data == []

    async def test_every_file_is_reached_and_deleted(self, sdk: AsyncOpenAI) -> None:
        ids = await _files(sdk, 5)
        seen = []
        async for file in sdk.files.list(limit=2, order="asc"):
            seen.append(file.id)
            await sdk.files.delete(file.id)
        assert seen == ids
        assert (await sdk.files.list()).data == []

    async def test_every_attachment_is_reached_and_detached(self, sdk: AsyncOpenAI) -> None:
        store = (await sdk.vector_stores.create()).id
        ids = await _attached(sdk, store, 5)
        seen = []
        async for attached in sdk.vector_stores.files.list(vector_store_id=store, limit=2):
            seen.append(attached.id)
            await sdk.vector_stores.files.delete(attached.id, vector_store_id=store)
        assert sorted(seen) == sorted(ids)
        assert (await sdk.vector_stores.retrieve(store)).file_counts.total == 0

    async def test_deleting_the_files_keeps_their_attachments_places(
        self, sdk: AsyncOpenAI
    ) -> None:
        """The attachments go with their files (a cascade): their places stay."""
        store = (await sdk.vector_stores.create()).id
        ids = await _attached(sdk, store, 4)
        seen = []
        async for attached in sdk.vector_stores.files.list(
            vector_store_id=store, limit=1, order="asc"
        ):
            seen.append(attached.id)
            await sdk.files.delete(attached.id)
        assert sorted(seen) == sorted(ids)


class TestADeletedCursorKeepsItsPlace:
    async def test_after_and_before_a_deleted_store(self, client: httpx.AsyncClient) -> None:
        a, b, c, d = [
            (await client.post("/v1/vector_stores", json={"name": n})).json()["id"] for n in "abcd"
        ]
        await client.delete(f"/v1/vector_stores/{b}")
        after = await client.get("/v1/vector_stores", params={"after": b, "order": "asc"})
        assert [s["id"] for s in after.json()["data"]] == [c, d]
        before = await client.get("/v1/vector_stores", params={"before": b, "order": "asc"})
        assert [s["id"] for s in before.json()["data"]] == [a]

    async def test_another_projects_deleted_store_is_no_cursor(
        self, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        gone = (await client.post("/v1/vector_stores", json={})).json()["id"]
        await client.delete(f"/v1/vector_stores/{gone}")
        other = "00000000-0000-0000-0000-0000000000aa"
        await connection.execute(
            text("UPDATE list_tombstones SET scope = :p WHERE id = :id"), {"p": other, "id": gone}
        )
        response = await client.get("/v1/vector_stores", params={"after": gone})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "after"


@pytest.mark.committed  # each attachment's own created_at: the rollback tier has one clock
class TestAFileAttachedAgain:
    async def test_a_file_attached_again_pages_from_its_new_place(self, sdk: AsyncOpenAI) -> None:
        store = (await sdk.vector_stores.create()).id
        first, second, third = await _attached(sdk, store, 3)
        await sdk.vector_stores.files.delete(first, vector_store_id=store)
        await sdk.vector_stores.files.create_and_poll(
            vector_store_id=store, file_id=first, poll_interval_ms=50
        )
        after = await sdk.vector_stores.files.list(vector_store_id=store, after=first, order="asc")
        assert after.data == []
        before = await sdk.vector_stores.files.list(
            vector_store_id=store, before=first, order="asc"
        )
        assert [f.id for f in before.data] == [second, third]


class TestFilesPageBackwards:
    async def test_before_is_the_page_just_before(self, sdk: AsyncOpenAI) -> None:
        """An extension on `/v1/files`, as on the other lists (OpenAI's has `after` only)."""
        ids = await _files(sdk, 4)
        page = await sdk.files.list(extra_query={"before": ids[2], "order": "asc", "limit": 1})
        assert [f.id for f in page.data] == [ids[1]]
        assert page.has_more is True


class TestACursorOutsideTheFilter:
    async def test_an_attachment_whose_status_moved_on(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        """Polling `filter=in_progress` page by page while files complete."""
        store = (await sdk.vector_stores.create()).id
        await _attached(sdk, store, 3)
        await connection.execute(
            text("UPDATE vector_store_files SET status = 'in_progress' WHERE vector_store_id = :s"),
            {"s": store},
        )
        listed = await sdk.vector_stores.files.list(vector_store_id=store, order="asc")
        ids = [f.id for f in listed.data]
        page = await sdk.vector_stores.files.list(
            vector_store_id=store, filter="in_progress", limit=1, order="asc"
        )
        assert [f.id for f in page.data] == [ids[0]]
        await connection.execute(
            text("UPDATE vector_store_files SET status = 'completed' WHERE file_id = :f"),
            {"f": ids[0]},
        )
        rest = await sdk.vector_stores.files.list(
            vector_store_id=store, filter="in_progress", after=ids[0], order="asc"
        )
        assert [f.id for f in rest.data] == ids[1:]

    async def test_a_file_of_another_purpose(self, sdk: AsyncOpenAI) -> None:
        batch, user, batch_too = (
            (await _files(sdk, 1, "batch"))[0],
            (await _files(sdk, 1, "user_data"))[0],
            (await _files(sdk, 1, "batch"))[0],
        )
        page = await sdk.files.list(purpose="batch", after=user, order="asc")
        assert [f.id for f in page.data] == [batch_too]
        assert batch != batch_too

    async def test_an_unknown_cursor_is_still_a_400(self, client: httpx.AsyncClient) -> None:
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        for path in ("/v1/vector_stores", "/v1/files", f"/v1/vector_stores/{store}/files"):
            response = await client.get(path, params={"after": "nope"})
            assert response.status_code == 400, path
            assert response.json()["error"]["param"] == "after"
