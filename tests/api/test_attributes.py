"""Attribute numbers round-trip exactly: an integer comes back an integer, a float a float.

A Go or TypeScript client decoding `"year": 2025` into an integer field breaks on
`2025.0`, so every route that returns attributes is checked on the raw JSON text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

ATTRIBUTES: dict[str, Any] = {
    "year": 2025,
    "big": 9007199254740993,
    "ratio": 0.25,
    "whole": 2.0,
    "draft": True,
    "lang": "en",
}


def _assert_exact(attributes: dict[str, Any] | None) -> None:
    assert attributes == ATTRIBUTES
    assert attributes is not None
    for key, value in ATTRIBUTES.items():
        assert type(attributes[key]) is type(value), key


async def _attached(client: httpx.AsyncClient) -> tuple[str, str, httpx.Response]:
    made = await client.post(
        "/v1/files",
        files={"file": ("fox.txt", b"The quick brown fox jumps over the lazy dog.")},
        data={"purpose": "assistants"},
    )
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    file_id = made.json()["id"]
    body = {"file_id": file_id, "attributes": ATTRIBUTES}
    return store, file_id, await client.post(f"/v1/vector_stores/{store}/files", json=body)


async def _completed(client: httpx.AsyncClient, store: str, file_id: str) -> dict[str, Any]:
    for _ in range(400):
        item: dict[str, Any] = (
            await client.get(f"/v1/vector_stores/{store}/files/{file_id}")
        ).json()
        if item["status"] != "in_progress":
            return item
        await asyncio.sleep(0.05)
    raise AssertionError("ingestion did not finish")


class TestRoundTrip:
    async def test_attach_retrieve_list_and_search(self, client: httpx.AsyncClient) -> None:
        store, file_id, attached = await _attached(client)
        _assert_exact(attached.json()["attributes"])
        item = await _completed(client, store, file_id)
        assert item["status"] == "completed"
        _assert_exact(item["attributes"])
        listed = (await client.get(f"/v1/vector_stores/{store}/files")).json()
        _assert_exact(listed["data"][0]["attributes"])
        hits = await client.post(f"/v1/vector_stores/{store}/search", json={"query": "fox"})
        _assert_exact(hits.json()["data"][0]["attributes"])

    async def test_update_then_search(self, client: httpx.AsyncClient) -> None:
        store, file_id, _ = await _attached(client)
        await _completed(client, store, file_id)
        url = f"/v1/vector_stores/{store}/files/{file_id}"
        updated = await client.post(url, json={"attributes": {**ATTRIBUTES, "year": 2026}})
        assert updated.json()["attributes"]["year"] == 2026
        assert type(updated.json()["attributes"]["year"]) is int
        updated = await client.post(url, json={"attributes": ATTRIBUTES})
        _assert_exact(updated.json()["attributes"])
        filters = {"type": "eq", "key": "year", "value": 2025}
        hits = await client.post(
            f"/v1/vector_stores/{store}/search", json={"query": "fox", "filters": filters}
        )
        _assert_exact(hits.json()["data"][0]["attributes"])

    async def test_batch_files_keep_integers(self, client: httpx.AsyncClient) -> None:
        made = await client.post(
            "/v1/files", files={"file": ("a.txt", b"alpha")}, data={"purpose": "assistants"}
        )
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        body = {"file_ids": [made.json()["id"]], "attributes": ATTRIBUTES}
        batch = (await client.post(f"/v1/vector_stores/{store}/file_batches", json=body)).json()
        url = f"/v1/vector_stores/{store}/file_batches/{batch['id']}/files"
        _assert_exact((await client.get(url)).json()["data"][0]["attributes"])

    async def test_integer_and_float_filters_match_the_same_number(
        self, client: httpx.AsyncClient
    ) -> None:
        store, file_id, _ = await _attached(client)
        await _completed(client, store, file_id)
        for value in (2025, 2025.0):
            filters = {"type": "gte", "key": "year", "value": value}
            hits = await client.post(
                f"/v1/vector_stores/{store}/search", json={"query": "fox", "filters": filters}
            )
            assert len(hits.json()["data"]) == 1


class TestEqualityFilters:
    """Equality filters are answered from the attachments' attributes (their GIN index)
    and the chunks' copy together: both must follow an update, and JSON numbers compare
    as numbers in both (2025 matches 2025.0), booleans never as numbers."""

    async def _found(self, client: httpx.AsyncClient, store: str, filters: Any) -> int:
        hits = await client.post(
            f"/v1/vector_stores/{store}/search", json={"query": "fox", "filters": filters}
        )
        assert hits.status_code == 200, hits.text
        return len(hits.json()["data"])

    async def test_an_update_moves_the_file_between_values(self, client: httpx.AsyncClient) -> None:
        store, file_id, _ = await _attached(client)
        await _completed(client, store, file_id)
        url = f"/v1/vector_stores/{store}/files/{file_id}"
        await client.post(url, json={"attributes": {**ATTRIBUTES, "lang": "fr"}})
        assert await self._found(client, store, {"type": "eq", "key": "lang", "value": "en"}) == 0
        assert await self._found(client, store, {"type": "eq", "key": "lang", "value": "fr"}) == 1

    async def test_values_compare_by_json_type(self, client: httpx.AsyncClient) -> None:
        store, file_id, _ = await _attached(client)
        await _completed(client, store, file_id)
        expected = [("year", 2025.0, 1), ("whole", 2, 1), ("draft", 1, 0), ("year", "2025", 0)]
        for key, value, found in expected:
            both = {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": key, "value": value},
                    {"type": "eq", "key": "lang", "value": "en"},
                ],
            }
            assert await self._found(client, store, both) == found, (key, value)
