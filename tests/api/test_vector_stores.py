"""`/v1/vector_stores` as the OpenAI SDK sees it."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types import VectorStore


class TestCreate:
    async def test_returns_an_sdk_vector_store(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create(name="handbook", metadata={"team": "hr"})
        assert store.id.startswith("vs_")
        assert store.object == "vector_store"
        assert store.name == "handbook"
        assert store.metadata == {"team": "hr"}
        assert store.status == "completed"
        assert store.usage_bytes == 0
        assert store.file_counts.total == 0
        assert store.last_active_at is not None
        assert store.expires_after is None
        assert store.expires_at is None

    async def test_response_has_no_fields_the_sdk_does_not_know(
        self, client: httpx.AsyncClient
    ) -> None:
        body = (await client.post("/v1/vector_stores", json={"name": "x"})).json()
        VectorStore.model_validate(body)
        extensions = {"description", "embedding_model", "embedding_dimension", "embedding_provider"}
        assert set(body) <= set(VectorStore.model_fields) | extensions

    async def test_expires_after_sets_expires_at(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create(
            expires_after={"anchor": "last_active_at", "days": 7}
        )
        assert store.expires_after is not None
        assert store.expires_after.days == 7
        assert store.expires_at == pytest.approx(store.last_active_at + 7 * 86400, abs=2)

    async def test_rejects_17_metadata_keys(self, client: httpx.AsyncClient) -> None:
        metadata = {f"k{i}": "v" for i in range(17)}
        response = await client.post("/v1/vector_stores", json={"metadata": metadata})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "metadata"

    async def test_rejects_long_metadata_value(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/vector_stores", json={"metadata": {"k": "v" * 513}})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "metadata"

    async def test_rejects_unknown_fields(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/vector_stores", json={"nmae": "typo"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "nmae"

    async def test_rejects_malformed_json(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/vector_stores", content=b"{", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"

    async def test_rejects_expiry_beyond_a_year(self, client: httpx.AsyncClient) -> None:
        body = {"expires_after": {"anchor": "last_active_at", "days": 366}}
        response = await client.post("/v1/vector_stores", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "expires_after.days"

    async def test_chunking_strategy_needs_file_ids(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/vector_stores", json={"chunking_strategy": {"type": "auto"}}
        )
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "chunking_strategy"

    async def test_unknown_file_id_is_404_naming_it(self, sdk: AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError) as caught:
            await sdk.vector_stores.create(file_ids=["file-nope"])
        assert "file-nope" in str(caught.value)

    async def test_rejects_more_than_500_file_ids(self, client: httpx.AsyncClient) -> None:
        ids = [f"file-{i}" for i in range(501)]
        response = await client.post("/v1/vector_stores", json={"file_ids": ids})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "file_ids"


class TestRetrieveModifyDelete:
    async def test_round_trip(self, sdk: AsyncOpenAI) -> None:
        created = await sdk.vector_stores.create(name="a")
        fetched = await sdk.vector_stores.retrieve(created.id)
        assert fetched.id == created.id
        assert fetched.name == "a"

    async def test_unknown_id_is_404(self, sdk: AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.retrieve("vs_missing")

    async def test_modify_changes_only_given_fields(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create(name="a", metadata={"x": "1"})
        renamed = await sdk.vector_stores.update(store.id, name="b")
        assert renamed.name == "b"
        assert renamed.metadata == {"x": "1"}
        cleared = await sdk.vector_stores.update(
            store.id, metadata={"y": "2"}, expires_after={"anchor": "last_active_at", "days": 1}
        )
        assert cleared.metadata == {"y": "2"}
        assert cleared.expires_at is not None

    async def test_null_expires_after_removes_expiry(self, client: httpx.AsyncClient) -> None:
        body = {"expires_after": {"anchor": "last_active_at", "days": 3}}
        store = (await client.post("/v1/vector_stores", json=body)).json()
        updated = await client.post(
            f"/v1/vector_stores/{store['id']}", json={"expires_after": None}
        )
        assert updated.json()["expires_after"] is None
        assert updated.json()["expires_at"] is None

    async def test_delete_then_404(self, sdk: AsyncOpenAI) -> None:
        store = await sdk.vector_stores.create(name="gone")
        deleted = await sdk.vector_stores.delete(store.id)
        assert deleted.deleted is True
        assert deleted.id == store.id
        assert deleted.object == "vector_store.deleted"
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.retrieve(store.id)


class TestList:
    async def test_auto_pagination_visits_every_store_once(self, sdk: AsyncOpenAI) -> None:
        made = {(await sdk.vector_stores.create(name=f"s{i}")).id for i in range(25)}
        seen = [s.id async for s in sdk.vector_stores.list(limit=7)]
        assert len(seen) == 25
        assert set(seen) == made

    async def test_orders_newest_first_by_default(self, sdk: AsyncOpenAI) -> None:
        ids = [(await sdk.vector_stores.create(name=f"s{i}")).id for i in range(3)]
        page = await sdk.vector_stores.list()
        assert [s.id for s in page.data] == ids[::-1]
        asc = await sdk.vector_stores.list(order="asc")
        assert [s.id for s in asc.data] == ids

    async def test_page_cursors_and_has_more(self, client: httpx.AsyncClient) -> None:
        for i in range(3):
            await client.post("/v1/vector_stores", json={"name": f"s{i}"})
        first = (await client.get("/v1/vector_stores", params={"limit": 2})).json()
        assert first["has_more"] is True
        assert first["first_id"] == first["data"][0]["id"]
        assert first["last_id"] == first["data"][1]["id"]
        rest = await client.get("/v1/vector_stores", params={"limit": 2, "after": first["last_id"]})
        assert rest.json()["has_more"] is False
        assert len(rest.json()["data"]) == 1

    async def test_before_pages_backwards(self, client: httpx.AsyncClient) -> None:
        ids = [
            (await client.post("/v1/vector_stores", json={"name": f"s{i}"})).json()["id"]
            for i in range(3)
        ]
        page = await client.get("/v1/vector_stores", params={"before": ids[0]})
        assert [s["id"] for s in page.json()["data"]] == [ids[2], ids[1]]

    async def test_limit_is_bounded(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/vector_stores", params={"limit": 101})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "limit"

    async def test_unknown_cursor_is_400(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/vector_stores", params={"after": "vs_nope"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "after"


class TestBefore:
    """`before=X` is the page immediately preceding X, in the list's own order."""

    async def _ids(self, client: httpx.AsyncClient, n: int) -> list[str]:
        return [
            (await client.post("/v1/vector_stores", json={"name": f"s{i}"})).json()["id"]
            for i in range(n)
        ]

    @pytest.mark.parametrize("order", ["asc", "desc"])
    async def test_previous_page_is_the_items_just_before(
        self, client: httpx.AsyncClient, order: str
    ) -> None:
        created = await self._ids(client, 7)
        listed = created if order == "asc" else created[::-1]
        params: dict[str, str | int] = {"limit": 2, "order": order, "before": listed[5]}
        page = (await client.get("/v1/vector_stores", params=params)).json()
        assert [s["id"] for s in page["data"]] == listed[3:5]
        assert page["first_id"] == listed[3]
        assert page["last_id"] == listed[4]
        assert page["has_more"] is True

    async def test_walking_back_from_the_end_visits_every_item(
        self, client: httpx.AsyncClient
    ) -> None:
        created = (await self._ids(client, 5))[::-1]
        seen: list[str] = []
        cursor: str | None = None
        has_more = True
        while has_more:
            params: dict[str, str | int] = {"limit": 2, "order": "desc"}
            params["before"] = cursor or created[-1]
            if cursor is None:
                seen = [created[-1]]
            page = (await client.get("/v1/vector_stores", params=params)).json()
            seen = [s["id"] for s in page["data"]] + seen
            cursor, has_more = page["first_id"], page["has_more"]
        assert seen == created

    async def test_nothing_precedes_the_first_item(self, client: httpx.AsyncClient) -> None:
        created = await self._ids(client, 2)
        page = (await client.get("/v1/vector_stores", params={"before": created[-1]})).json()
        assert page == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
