"""What logs must never hold: API keys, file content, query text."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncOpenAI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.api.deps import SessionDep
from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.logging_setup import build_handler
from maia_vectordb.observability.errors import scrub

API_KEY = "sk-hygiene-key-5f3a9c1e"
CONTENT = b"zanzibarcontentmarker lives only inside the uploaded document"
QUERY = "quokkaquerymarker zanzibarcontentmarker"
SECRETS = (API_KEY, "zanzibarcontentmarker", "quokkaquerymarker")


@pytest.fixture
async def keyed_sdk(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncOpenAI]:
    app = create_app(settings.replace(MAIA_API_KEYS=SecretStr(API_KEY)))
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        )
        client = AsyncOpenAI(base_url="http://localhost/v1", api_key=API_KEY, http_client=http)
        yield client
        await client.close()


async def test_no_key_content_or_query_reaches_the_logs_at_info(
    keyed_sdk: AsyncOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    formatted = io.StringIO()
    handlers = [build_handler("json", formatted), build_handler("text", formatted)]
    for handler in handlers:
        logging.getLogger().addHandler(handler)
    try:
        store = await keyed_sdk.vector_stores.create(name="hygiene")
        done = await keyed_sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("notes.txt", CONTENT), poll_interval_ms=50
        )
        page = await keyed_sdk.vector_stores.search(store.id, query=QUERY)
        with pytest.raises(openai.NotFoundError):
            await keyed_sdk.vector_stores.search("vs_absent", query=QUERY)
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
    assert done.status == "completed"
    assert page.data
    messages = {r.getMessage() for r in caplog.records}
    assert {"http.request", "ingest.file.completed"} <= messages
    everything = formatted.getvalue() + "".join(repr(vars(r)) for r in caplog.records)
    for secret in SECRETS:
        assert secret not in everything


DRIVER_SECRET = "plutoparametermarker"


async def test_a_driver_error_logs_neither_its_parameters_nor_its_sql(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL quotes the offending value in its message, SQLAlchemy appends the SQL."""

    @app.get("/v1/boom-driver")
    async def boom(session: SessionDep) -> None:
        await session.execute(text("SELECT CAST(:v AS integer) AS secret_column"), {"v": "1x"})
        await session.execute(text("SELECT 1 WHERE :v::jsonb IS NULL"), {"v": DRIVER_SECRET})

    caplog.set_level(logging.INFO)
    formatted = io.StringIO()
    handler = build_handler("json", formatted)
    logging.getLogger().addHandler(handler)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get("/v1/boom-driver")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    crashed = [r for r in caplog.records if r.getMessage() == "request.crashed"]
    assert crashed
    assert crashed[0].__dict__["error_type"]  # the driver's exception class is named
    everything = formatted.getvalue() + "".join(repr(vars(r)) for r in caplog.records)
    for leak in ("1x", DRIVER_SECRET, "secret_column", "SELECT"):
        assert leak not in everything


def test_scrub_drops_quoted_values_and_sql() -> None:
    message = (
        'duplicate key value violates unique constraint "uq"\n'
        "DETAIL:  Key (name)=(secret plan) already exists.\n[SQL: INSERT INTO x VALUES ($1)]"
    )
    scrubbed = scrub(message)
    assert scrubbed == "duplicate key value violates unique constraint ?"
    assert len(scrub("x" * 10_000)) <= 200
