"""Keys and tenancy: each project sees only its own objects; others' ids are 404."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.db.engine import connection_sessionmaker
from maia_vectordb.runtime import Database
from maia_vectordb.services import keys
from tests.conftest import RequestHook

Call = Callable[[AsyncOpenAI], Any]
AsProject = Callable[[str | None], AbstractAsyncContextManager[AsyncOpenAI]]


@asynccontextmanager
async def _as(
    app: FastAPI, key: str | None, hooks: list[RequestHook]
) -> AsyncIterator[AsyncOpenAI]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://localhost",
        headers=headers,
        event_hooks={"request": hooks},
    )
    client = AsyncOpenAI(
        base_url="http://localhost/v1", api_key=key or "none", http_client=http, max_retries=0
    )
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def as_project(app: FastAPI, before_request: list[RequestHook]) -> AsProject:
    """An SDK client of the test's app that presents `key`, as `sdk` is one without."""
    return lambda key: _as(app, key, before_request)


@pytest.fixture
async def project_keys(connection: AsyncConnection) -> dict[str, str]:
    async with connection_sessionmaker(connection)() as session, session.begin():
        return {
            "alice": await keys.create_key(session, project="alice"),
            "bob": await keys.create_key(session, project="bob"),
        }


@pytest.fixture
async def alice_world(as_project: AsProject, project_keys: dict[str, str]) -> dict[str, str]:
    """Alice's store, file, attachment and batch, fully ingested."""
    async with as_project(project_keys["alice"]) as alice:
        store = await alice.vector_stores.create(name="alice-private")
        made = await alice.files.create(
            file=("secret.txt", b"alice secret plans"), purpose="assistants"
        )
        batch = await alice.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[made.id], poll_interval_ms=50
        )
        return {"store": store.id, "file": made.id, "batch": batch.id}


FOREIGN_CALLS: dict[str, Callable[[AsyncOpenAI, dict[str, str]], Any]] = {
    "files.retrieve": lambda c, w: c.files.retrieve(w["file"]),
    "files.content": lambda c, w: c.files.content(w["file"]),
    "files.delete": lambda c, w: c.files.delete(w["file"]),
    "vector_stores.retrieve": lambda c, w: c.vector_stores.retrieve(w["store"]),
    "vector_stores.update": lambda c, w: c.vector_stores.update(w["store"], name="mine"),
    "vector_stores.delete": lambda c, w: c.vector_stores.delete(w["store"]),
    "vector_stores.search": lambda c, w: c.vector_stores.search(w["store"], query="secret"),
    "files.create_in_store": lambda c, w: c.vector_stores.files.create(
        vector_store_id=w["store"], file_id=w["file"]
    ),
    "files.list_in_store": lambda c, w: c.vector_stores.files.list(vector_store_id=w["store"]),
    "files.retrieve_in_store": lambda c, w: c.vector_stores.files.retrieve(
        file_id=w["file"], vector_store_id=w["store"]
    ),
    "files.update_in_store": lambda c, w: c.vector_stores.files.update(
        file_id=w["file"], vector_store_id=w["store"], attributes={"x": 1}
    ),
    "files.delete_in_store": lambda c, w: c.vector_stores.files.delete(
        file_id=w["file"], vector_store_id=w["store"]
    ),
    "files.content_in_store": lambda c, w: c.vector_stores.files.content(
        file_id=w["file"], vector_store_id=w["store"]
    ),
    "batches.create": lambda c, w: c.vector_stores.file_batches.create(
        vector_store_id=w["store"], file_ids=[w["file"]]
    ),
    "batches.retrieve": lambda c, w: c.vector_stores.file_batches.retrieve(
        batch_id=w["batch"], vector_store_id=w["store"]
    ),
    "batches.cancel": lambda c, w: c.vector_stores.file_batches.cancel(
        batch_id=w["batch"], vector_store_id=w["store"]
    ),
    "batches.list_files": lambda c, w: c.vector_stores.file_batches.list_files(
        batch_id=w["batch"], vector_store_id=w["store"]
    ),
}


class TestIsolation:
    @pytest.mark.parametrize("name", sorted(FOREIGN_CALLS))
    async def test_other_projects_ids_are_404(
        self,
        as_project: AsProject,
        project_keys: dict[str, str],
        alice_world: dict[str, str],
        name: str,
    ) -> None:
        async with as_project(project_keys["bob"]) as bob:
            with pytest.raises(openai.NotFoundError):
                await FOREIGN_CALLS[name](bob, alice_world)
        async with as_project(project_keys["alice"]) as alice:
            assert (
                await alice.vector_stores.retrieve(alice_world["store"])
            ).name == "alice-private"
            assert (await alice.files.retrieve(alice_world["file"])).filename == "secret.txt"

    async def test_bob_cannot_attach_alices_file_to_his_store(
        self, as_project: AsProject, project_keys: dict[str, str], alice_world: dict[str, str]
    ) -> None:
        async with as_project(project_keys["bob"]) as bob:
            mine = await bob.vector_stores.create()
            with pytest.raises(openai.NotFoundError):
                await bob.vector_stores.files.create(
                    vector_store_id=mine.id, file_id=alice_world["file"]
                )
            with pytest.raises(openai.NotFoundError):
                await bob.vector_stores.create(file_ids=[alice_world["file"]])

    async def test_lists_show_only_own_objects(
        self, as_project: AsProject, project_keys: dict[str, str], alice_world: dict[str, str]
    ) -> None:
        async with as_project(project_keys["bob"]) as bob:
            own = await bob.vector_stores.create(name="bob-store")
            stores = [s.id async for s in bob.vector_stores.list()]
            files = [f.id async for f in bob.files.list()]
        assert stores == [own.id]
        assert files == []


class TestAuthentication:
    async def test_missing_key_is_401(
        self, client: httpx.AsyncClient, project_keys: dict[str, str]
    ) -> None:
        response = await client.get("/v1/vector_stores")
        assert response.status_code == 401
        assert "didn't provide an API key" in response.json()["error"]["message"]

    async def test_wrong_key_is_401(
        self, client: httpx.AsyncClient, project_keys: dict[str, str]
    ) -> None:
        response = await client.get(
            "/v1/vector_stores", headers={"Authorization": "Bearer sk-maia-wrong"}
        )
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key"
        assert "sk-maia-wrong" not in error["message"]

    async def test_revoked_key_is_401(
        self, as_project: AsProject, connection: AsyncConnection, project_keys: dict[str, str]
    ) -> None:
        async with connection_sessionmaker(connection)() as session, session.begin():
            await keys.revoke_key(session, key_or_prefix=project_keys["bob"])
        async with as_project(project_keys["bob"]) as bob:
            with pytest.raises(openai.AuthenticationError):
                await bob.vector_stores.list()

    async def test_health_needs_no_key(
        self, client: httpx.AsyncClient, project_keys: dict[str, str]
    ) -> None:
        assert (await client.get("/health/ready")).status_code == 200

    async def test_use_is_recorded(
        self, as_project: AsProject, connection: AsyncConnection, project_keys: dict[str, str]
    ) -> None:
        async with as_project(project_keys["alice"]) as alice:
            await alice.vector_stores.list()
        async with connection_sessionmaker(connection)() as session:
            listed = {k.project: k for k in await keys.list_keys(session)}
        assert listed["alice"].last_used_at is not None
        assert listed["bob"].last_used_at is None

    async def test_without_keys_the_server_is_open(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/vector_stores")).status_code == 200

    async def test_seeded_keys_from_settings(
        self, settings: Any, database: Database | None, before_request: list[RequestHook]
    ) -> None:
        from pydantic import SecretStr

        from maia_vectordb.app import create_app

        seeded = settings.replace(
            MAIA_API_KEYS=SecretStr("team:sk-seeded-team-0001, sk-seeded-default-2")
        )
        app = create_app(seeded, database=database)
        async with app.router.lifespan_context(app):
            async with _as(app, "sk-seeded-team-0001", before_request) as team:
                await team.vector_stores.create(name="t")
            async with _as(app, "sk-seeded-default-2", before_request) as default:
                assert [s async for s in default.vector_stores.list()] == []
