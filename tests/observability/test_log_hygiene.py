"""What logs must never hold: API keys, file content, query text."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from maia_vectordb.logging_setup import build_handler

API_KEY = "sk-hygiene-key-5f3a9c1e"
CONTENT = b"zanzibarcontentmarker lives only inside the uploaded document"
QUERY = "quokkaquerymarker zanzibarcontentmarker"
SECRETS = (API_KEY, "zanzibarcontentmarker", "quokkaquerymarker")


@pytest.fixture
async def keyed_sdk(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncOpenAI]:
    app = create_app(settings.model_copy(update={"api_keys": SecretStr(API_KEY)}))
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
