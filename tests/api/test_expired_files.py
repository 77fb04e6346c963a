"""An expired file leaves search, store listings and `file_counts` at expiry, not at purge."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def _completed_store(client: httpx.AsyncClient, names: list[str]) -> tuple[str, list[str]]:
    ids = []
    for name in names:
        made = await client.post(
            "/v1/files",
            files={"file": (name, f"The fox named {name} jumps over the dog.".encode())},
            data={"purpose": "assistants"},
        )
        ids.append(made.json()["id"])
    store = (await client.post("/v1/vector_stores", json={"file_ids": ids})).json()["id"]
    for _ in range(400):
        counts = (await client.get(f"/v1/vector_stores/{store}")).json()["file_counts"]
        if counts["completed"] == len(ids):
            return store, ids
        await asyncio.sleep(0.05)
    raise AssertionError("ingestion did not finish")


async def _expire(connection: AsyncConnection, file_id: str) -> None:
    """As the clock would: the purge has not run, the rows are all still there."""
    await connection.execute(
        text("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = :f"),
        {"f": file_id},
    )


class TestExpiredFileDisappears:
    async def test_from_counts_listings_and_search(
        self, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        store, (kept, gone) = await _completed_store(client, ["kept.txt", "gone.txt"])
        before = (await client.get(f"/v1/vector_stores/{store}")).json()
        await _expire(connection, gone)
        after = (await client.get(f"/v1/vector_stores/{store}")).json()
        assert after["file_counts"]["total"] == 1
        assert after["file_counts"]["completed"] == 1
        assert 0 < after["usage_bytes"] < before["usage_bytes"]
        listed = (await client.get(f"/v1/vector_stores/{store}/files")).json()
        assert [f["id"] for f in listed["data"]] == [kept]
        stores = (await client.get("/v1/vector_stores")).json()["data"]
        assert stores[0]["file_counts"]["total"] == 1
        for mode in ("vector", "keyword", "hybrid"):
            hits = await client.post(
                f"/v1/vector_stores/{store}/search",
                json={"query": "fox jumps dog", "search_mode": mode},
            )
            assert {h["file_id"] for h in hits.json()["data"]} == {kept}, mode

    async def test_attachment_reads_are_404(
        self, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        store, (gone,) = await _completed_store(client, ["gone.txt"])
        await _expire(connection, gone)
        base = f"/v1/vector_stores/{store}/files/{gone}"
        assert (await client.get(base)).status_code == 404
        assert (await client.get(f"{base}/content")).status_code == 404
        assert (await client.post(base, json={"attributes": {"a": 1}})).status_code == 404

    async def test_from_batch_counts_and_files(
        self, client: httpx.AsyncClient, connection: AsyncConnection
    ) -> None:
        store, ids = await _completed_store(client, ["a.txt", "b.txt"])
        url = f"/v1/vector_stores/{store}/file_batches"
        batch = (await client.post(url, json={"file_ids": ids})).json()
        await _expire(connection, ids[0])
        read = (await client.get(f"{url}/{batch['id']}")).json()
        assert read["file_counts"]["total"] == 1
        listed = (await client.get(f"{url}/{batch['id']}/files")).json()
        assert [f["id"] for f in listed["data"]] == [ids[1]]
