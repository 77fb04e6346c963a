"""The job claim is fair across projects: one project's backlog cannot hold every worker."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.db.queries import jobs
from maia_vectordb.services import keys


async def _queue(client: httpx.AsyncClient, key: str, files: int) -> list[str]:
    """`files` attachments queued for the key's project, oldest first."""
    auth = {"authorization": f"Bearer {key}"}
    store = (await client.post("/v1/vector_stores", json={}, headers=auth)).json()["id"]
    ids = []
    for i in range(files):
        made = await client.post(
            "/v1/files",
            files={"file": (f"{i}.txt", b"some words")},
            data={"purpose": "assistants"},
            headers=auth,
        )
        ids.append(made.json()["id"])
        await client.post(
            f"/v1/vector_stores/{store}/files", json={"file_id": ids[-1]}, headers=auth
        )
    return ids


async def test_the_project_with_fewest_running_jobs_goes_first(
    settings: Settings, engine: AsyncEngine
) -> None:
    sessionmaker = async_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        busy_key = await keys.create_key(session, project="busy")
        quiet_key = await keys.create_key(session, project="quiet")
    app = create_app(settings.replace(INGEST_WORKERS=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            busy = await _queue(client, busy_key, 3)
            quiet = await _queue(client, quiet_key, 1)
    claimed = []
    for _ in range(4):
        async with sessionmaker() as session, session.begin():
            job = await jobs.claim(session, lease_seconds=60)
            assert job is not None
            claimed.append(job.file_id)
    # The busy project's oldest job first, then the quiet project's although it is newer.
    assert claimed == [busy[0], quiet[0], busy[1], busy[2]]
