"""Concurrent calls on the same objects resolve to success or 404, never a 500.

Each race runs both requests at once through the app against the real database,
many times, and then checks that no row outlived its parent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROUNDS = 12
OK = {200, 404}

# Both requests of a race run at once: one connection cannot serve them.
pytestmark = pytest.mark.committed

Race = Callable[[httpx.AsyncClient, str, str], tuple[Awaitable[httpx.Response], ...]]


async def _file(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/v1/files",
        files={"file": ("r.txt", b"race condition text")},
        data={"purpose": "assistants"},
    )
    return str(made.json()["id"])


async def _store(client: httpx.AsyncClient) -> str:
    return str((await client.post("/v1/vector_stores", json={})).json()["id"])


async def _orphans(engine: AsyncEngine) -> int:
    """Attachments, members, chunks and jobs whose store or file is gone."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT (SELECT count(*) FROM vector_store_files v WHERE NOT EXISTS "
                "(SELECT 1 FROM vector_stores s WHERE s.id = v.vector_store_id) OR NOT EXISTS "
                "(SELECT 1 FROM files f WHERE f.id = v.file_id))"
                " + (SELECT count(*) FROM file_chunks c WHERE NOT EXISTS (SELECT 1 FROM "
                "vector_store_files v WHERE v.vector_store_id = c.vector_store_id "
                "AND v.file_id = c.file_id))"
            )
        )
    return int(found or 0)


async def _run(client: httpx.AsyncClient, engine: AsyncEngine, race: Race, attach: bool) -> None:
    statuses: list[int] = []
    for _ in range(ROUNDS):
        store, file_id = await _store(client), await _file(client)
        if attach:
            url = f"/v1/vector_stores/{store}/files"
            assert (await client.post(url, json={"file_id": file_id})).status_code == 200
        responses = await asyncio.gather(*race(client, store, file_id))
        statuses += [r.status_code for r in responses]
        assert {r.status_code for r in responses} <= OK, [r.text for r in responses]
    assert 200 in statuses
    assert await _orphans(engine) == 0


def _attach(client: httpx.AsyncClient, store: str, file_id: str) -> Awaitable[httpx.Response]:
    return client.post(f"/v1/vector_stores/{store}/files", json={"file_id": file_id})


def _batch(client: httpx.AsyncClient, store: str, file_id: str) -> Awaitable[httpx.Response]:
    return client.post(f"/v1/vector_stores/{store}/file_batches", json={"file_ids": [file_id]})


def _delete_store(client: httpx.AsyncClient, store: str) -> Awaitable[httpx.Response]:
    return client.delete(f"/v1/vector_stores/{store}")


def _delete_file(client: httpx.AsyncClient, file_id: str) -> Awaitable[httpx.Response]:
    return client.delete(f"/v1/files/{file_id}")


RACES: dict[str, tuple[Race, bool]] = {
    "attach-vs-store-delete": (lambda c, s, f: (_attach(c, s, f), _delete_store(c, s)), False),
    "batch-vs-store-delete": (lambda c, s, f: (_batch(c, s, f), _delete_store(c, s)), False),
    "attach-vs-file-delete": (lambda c, s, f: (_attach(c, s, f), _delete_file(c, f)), False),
    "batch-vs-file-delete": (lambda c, s, f: (_batch(c, s, f), _delete_file(c, f)), False),
    "create-store-with-file-vs-file-delete": (
        lambda c, s, f: (c.post("/v1/vector_stores", json={"file_ids": [f]}), _delete_file(c, f)),
        False,
    ),
    "attributes-update-vs-detach": (
        lambda c, s, f: (
            c.post(f"/v1/vector_stores/{s}/files/{f}", json={"attributes": {"n": 1}}),
            c.delete(f"/v1/vector_stores/{s}/files/{f}"),
        ),
        True,
    ),
    "attributes-update-vs-file-delete": (
        lambda c, s, f: (
            c.post(f"/v1/vector_stores/{s}/files/{f}", json={"attributes": {"n": 1}}),
            _delete_file(c, f),
        ),
        True,
    ),
    "detach-vs-store-delete": (
        lambda c, s, f: (c.delete(f"/v1/vector_stores/{s}/files/{f}"), _delete_store(c, s)),
        True,
    ),
}


@pytest.mark.parametrize("name", RACES)
async def test_race_is_success_or_404(
    client: httpx.AsyncClient, engine: AsyncEngine, name: str
) -> None:
    race, attach = RACES[name]
    await _run(client, engine, race, attach)


async def test_store_created_with_a_deleted_file_counts_nothing(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(ROUNDS):
        file_id = await _file(client)
        created, deleted = await asyncio.gather(
            client.post("/v1/vector_stores", json={"file_ids": [file_id]}),
            _delete_file(client, file_id),
        )
        assert deleted.status_code == 200
        if created.status_code == 200:
            store = (await client.get(f"/v1/vector_stores/{created.json()['id']}")).json()
            assert store["file_counts"]["total"] == 0
        else:
            assert created.status_code == 404
            assert created.json()["error"]["param"] == "file_ids"
