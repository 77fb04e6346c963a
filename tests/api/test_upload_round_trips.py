"""A one-part upload costs two database round trips: the pool's ping of the pooled
connection and the one statement that writes the row and its bytes, committed as it
runs (no BEGIN, no COMMIT). Counted on the wire, by a proxy in front of the app's pool,
after a first upload has opened the connection and prepared the statement."""

from __future__ import annotations

import httpx
import pytest

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from tests.fakes.db_proxy import DatabaseProxy

# The app's own pool, reached through a proxy that counts.
pytestmark = pytest.mark.committed


async def test_a_one_part_upload_is_two_round_trips(
    settings: Settings, proxy: DatabaseProxy
) -> None:
    app = create_app(settings.replace(DATABASE_URL=proxy.url(), INGEST_WORKERS=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            upload = {"file": ("a.txt", b"hello\n")}
            first = await client.post("/v1/files", files=upload, data={"purpose": "assistants"})
            assert first.status_code == 200, first.text
            before = proxy.round_trips
            second = await client.post("/v1/files", files=upload, data={"purpose": "assistants"})
            trips = proxy.round_trips - before
            assert second.status_code == 200, second.text
            assert trips == 2, f"{trips} round trips"
            stored = await client.get(f"/v1/files/{second.json()['id']}/content")
            assert stored.content == b"hello\n"
