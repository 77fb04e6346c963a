"""A one-part upload costs two database round trips: the pool's ping of the pooled
connection and the one statement that writes the row and its bytes, committed as it
runs (no BEGIN, no COMMIT). Counted on the wire, by a proxy in front of the app's pool,
after the first uploads have opened the pool's connections and prepared the statement
on each (once per pooled connection, not per upload)."""

from __future__ import annotations

import httpx
import pytest

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from tests.fakes.db_proxy import DatabaseProxy

# The app's own pool, reached through a proxy that counts; its uploads commit, and
# `engine` is what has the autouse cleanup empty the tables after the test.
pytestmark = [pytest.mark.committed, pytest.mark.usefixtures("engine")]


async def test_a_one_part_upload_is_two_round_trips(
    settings: Settings, proxy: DatabaseProxy
) -> None:
    """The fewest of several uploads' counts: the pool also serves housekeeping (its
    first pass runs as the app starts), whose statements only ever add to a count."""
    app = create_app(settings.replace(DATABASE_URL=proxy.url(), INGEST_WORKERS=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            counts = [await _counted_upload(client, proxy) for _ in range(6)]
            assert min(counts[2:]) == 2, f"round trips per upload: {counts}"


async def _counted_upload(client: httpx.AsyncClient, proxy: DatabaseProxy) -> int:
    before = proxy.round_trips
    made = await client.post(
        "/v1/files", files={"file": ("a.txt", b"hello\n")}, data={"purpose": "assistants"}
    )
    trips = proxy.round_trips - before
    assert made.status_code == 200, made.text
    stored = await client.get(f"/v1/files/{made.json()['id']}/content")
    assert stored.content == b"hello\n"
    return trips
