"""`/v1/files` as the OpenAI SDK sees it: bytes in, identical bytes out."""

from __future__ import annotations

import io
import os

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from openai.types import FileObject
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.config import Settings
from maia_vectordb.db.engine import connection_sessionmaker
from maia_vectordb.db.queries.file_parts import PART_BYTES
from maia_vectordb.runtime import Database


class TestUpload:
    async def test_returns_an_sdk_file_object(self, sdk: AsyncOpenAI) -> None:
        made = await sdk.files.create(file=("notes.txt", b"hello world"), purpose="assistants")
        assert made.id.startswith("file-")
        assert made.filename == "notes.txt"
        assert made.bytes == 11
        assert made.purpose == "assistants"
        assert made.object == "file"

    async def test_content_is_byte_identical(self, sdk: AsyncOpenAI) -> None:
        payload = os.urandom(3 * 1024 * 1024 + 17)
        made = await sdk.files.create(file=("blob.bin", payload), purpose="user_data")
        content = await sdk.files.content(made.id)
        assert content.content == payload

    @pytest.mark.parametrize(
        "size", [0, 1, PART_BYTES - 1, PART_BYTES, PART_BYTES + 1], ids=lambda n: f"{n}B"
    )
    async def test_sizes_around_one_part_round_trip(self, sdk: AsyncOpenAI, size: int) -> None:
        """One part is written with its row in one statement, more part by part: both
        keep the bytes and the size."""
        payload = os.urandom(size)
        made = await sdk.files.create(file=("blob.bin", payload), purpose="user_data")
        assert made.bytes == size
        assert (await sdk.files.retrieve(made.id)).bytes == size
        assert (await sdk.files.content(made.id)).content == payload

    async def test_expires_after_sets_expires_at(self, sdk: AsyncOpenAI) -> None:
        made = await sdk.files.create(
            file=("a.txt", b"x"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        assert made.expires_at == made.created_at + 3600

    async def test_rejects_unknown_purpose(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/files", files={"file": ("a.txt", b"x")}, data={"purpose": "fun"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "purpose"

    async def test_requires_a_file(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/files", data={"purpose": "assistants"})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "file"

    async def test_too_large_is_413_and_stores_nothing(
        self, settings: Settings, sdk: AsyncOpenAI, database: Database | None
    ) -> None:
        from maia_vectordb.app import create_app

        small = settings.replace(MAX_UPLOAD_BYTES=1000, INGEST_WORKERS=0)
        app: FastAPI = create_app(small, database=database)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                declared = await client.post(
                    "/v1/files",
                    files={"file": ("a.txt", b"x" * 5000)},
                    data={"purpose": "assistants"},
                )
                streamed = await client.post(
                    "/v1/files",
                    files={"file": ("a.txt", io.BytesIO(b"x" * 1500))},
                    data={"purpose": "assistants"},
                )
        assert declared.status_code == 413
        assert streamed.status_code == 413
        assert streamed.json()["error"]["param"] == "file"
        assert (await sdk.files.list()).data == []


class TestReadListDelete:
    async def test_list_filters_by_purpose(self, sdk: AsyncOpenAI) -> None:
        a = await sdk.files.create(file=("a.txt", b"a"), purpose="assistants")
        await sdk.files.create(file=("b.txt", b"b"), purpose="user_data")
        page = await sdk.files.list(purpose="assistants")
        assert [f.id for f in page.data] == [a.id]

    async def test_list_paginates(self, sdk: AsyncOpenAI) -> None:
        made = {
            (await sdk.files.create(file=(f"{i}.txt", b"x"), purpose="assistants")).id
            for i in range(5)
        }
        seen = [f.id async for f in sdk.files.list(limit=2)]
        assert sorted(seen) == sorted(made)

    async def test_retrieve_validates_as_sdk_type(self, client: httpx.AsyncClient) -> None:
        made = await client.post(
            "/v1/files", files={"file": ("a.md", b"# hi")}, data={"purpose": "assistants"}
        )
        body = (await client.get(f"/v1/files/{made.json()['id']}")).json()
        assert FileObject.model_validate(body).filename == "a.md"

    async def test_delete_then_404(self, sdk: AsyncOpenAI) -> None:
        made = await sdk.files.create(file=("a.txt", b"a"), purpose="assistants")
        deleted = await sdk.files.delete(made.id)
        assert deleted.deleted is True
        with pytest.raises(openai.NotFoundError):
            await sdk.files.retrieve(made.id)
        with pytest.raises(openai.NotFoundError):
            await sdk.files.content(made.id)


class TestExpiry:
    async def test_expired_files_vanish_and_are_purged(
        self, sdk: AsyncOpenAI, connection: AsyncConnection
    ) -> None:
        from maia_vectordb.services.files import purge_expired

        kept = await sdk.files.create(file=("keep.txt", b"k"), purpose="assistants")
        made = await sdk.files.create(
            file=("a.txt", b"x"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        await connection.execute(
            text("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = :f"),
            {"f": made.id},
        )
        with pytest.raises(openai.NotFoundError):
            await sdk.files.retrieve(made.id)
        assert [f.id for f in (await sdk.files.list()).data] == [kept.id]
        async with connection_sessionmaker(connection)() as session, session.begin():
            assert await purge_expired(session) == 1
        assert await connection.scalar(text("SELECT count(*) FROM files")) == 1
