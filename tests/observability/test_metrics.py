"""`GET /metrics`: what each part of the service records, with which labels."""

from __future__ import annotations

import httpx
import pytest
from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.config import Settings
from tests.observability.conftest import Scrape

STORE_ROUTE = "/v1/vector_stores/{vector_store_id}"
DOCUMENT = b"The harbour master logs every cargo ship that docks at the northern pier."


async def _ingested_store(sdk: AsyncOpenAI) -> str:
    store = await sdk.vector_stores.create(name="ops")
    done = await sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", DOCUMENT), poll_interval_ms=50
    )
    assert done.status == "completed"
    return store.id


class TestEndpoint:
    async def test_speaks_prometheus_text_format(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert "# TYPE maia_http_requests_total counter" in response.text

    async def test_is_not_in_the_openapi_document(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/metrics" not in paths

    async def test_needs_no_api_key_when_keys_exist(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        from pydantic import SecretStr

        from maia_vectordb.app import create_app

        app = create_app(settings.replace(MAIA_API_KEYS=SecretStr("sk-ops-metrics-0001")))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                assert (await client.get("/v1/vector_stores")).status_code == 401
                assert (await client.get("/metrics")).status_code == 200


class TestHttpMetrics:
    async def test_labels_requests_by_route_template_not_raw_path(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        for _ in range(2):
            assert (await client.get("/v1/vector_stores/vs_missing123")).status_code == 404
        scraped = await scrape()
        assert (
            scraped.value("maia_http_requests_total", method="GET", route=STORE_ROUTE, status="404")
            == 2
        )
        assert (
            scraped.value(
                "maia_http_request_duration_seconds_count", method="GET", route=STORE_ROUTE
            )
            == 2
        )
        assert "vs_missing123" not in scraped.text

    async def test_routes_with_prefixes_and_post_bodies(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        created = await client.post("/v1/vector_stores", json={"name": "x"})
        assert created.status_code == 200
        scraped = await scrape()
        assert (
            scraped.value(
                "maia_http_requests_total", method="POST", route="/v1/vector_stores", status="200"
            )
            == 1
        )

    async def test_unknown_paths_share_one_unmatched_route(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        for path in ("/nope/1", "/nope/2", "/v2/anything"):
            assert (await client.get(path)).status_code == 404
        scraped = await scrape()
        assert scraped.value("maia_http_requests_total", route="unmatched", status="404") == 3
        assert "/nope" not in scraped.text

    async def test_unknown_methods_share_one_label(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        await client.request("BREW", "/health")
        scraped = await scrape()
        assert scraped.value("maia_http_requests_total", method="OTHER", route="/health") == 1

    async def test_validation_errors_are_counted_with_their_status(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        await client.post("/v1/vector_stores", json={"name": 5})
        scraped = await scrape()
        assert (
            scraped.value(
                "maia_http_requests_total", method="POST", route="/v1/vector_stores", status="400"
            )
            == 1
        )


class TestIngestMetrics:
    async def test_a_completed_job_is_timed_and_its_chunks_counted(
        self, sdk: AsyncOpenAI, scrape: Scrape
    ) -> None:
        await _ingested_store(sdk)
        scraped = await scrape()
        assert scraped.value("maia_ingest_job_duration_seconds_count", outcome="completed") == 1
        assert scraped.value("maia_ingest_chunks_total") >= 1

    async def test_a_failed_job_is_labelled_failed(self, sdk: AsyncOpenAI, scrape: Scrape) -> None:
        store = await sdk.vector_stores.create()
        done = await sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=("a.pdf", b"not a pdf"), poll_interval_ms=50
        )
        assert done.status == "failed"
        scraped = await scrape()
        assert scraped.value("maia_ingest_job_duration_seconds_count", outcome="failed") == 1
        assert scraped.value("maia_ingest_chunks_total") == 0

    async def test_queue_depth_is_read_at_scrape_time(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        assert (await scrape()).value("maia_ingest_queue_depth") == 0

    async def test_keyword_backlog_is_read_at_scrape_time(
        self, client: httpx.AsyncClient, scrape: Scrape, engine: AsyncEngine
    ) -> None:
        assert (await scrape()).value("maia_keyword_pending_chunks") == 0
        async with engine.begin() as conn:
            # Rows of no store: the keyword indexer leaves them alone.
            await conn.execute(text("INSERT INTO bm25_pending VALUES (-1, 1, 5), (-1, 2, 5)"))
        assert (await scrape()).value("maia_keyword_pending_chunks") == 2


class TestEmbeddingMetrics:
    async def test_local_embeddings_are_counted_like_provider_calls(
        self, sdk: AsyncOpenAI, scrape: Scrape
    ) -> None:
        await _ingested_store(sdk)
        scraped = await scrape()
        assert scraped.value("maia_embedding_requests_total", outcome="ok") >= 1
        assert scraped.value("maia_embedding_request_duration_seconds_count") >= 1
        chunks = scraped.value("maia_ingest_chunks_total")
        assert scraped.value("maia_embedding_inputs_total") == chunks
        assert scraped.value("maia_embedding_tokens_total") == 0


class TestSearchMetrics:
    @pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
    async def test_searches_are_timed_by_mode(
        self, sdk: AsyncOpenAI, scrape: Scrape, mode: str
    ) -> None:
        store_id = await _ingested_store(sdk)
        page = await sdk.vector_stores.search(
            store_id, query="cargo ship", extra_body={"search_mode": mode}
        )
        scraped = await scrape()
        assert scraped.value("maia_search_duration_seconds_count", mode=mode) == 1
        assert scraped.value("maia_search_results_sum", mode=mode) == len(page.data) >= 1
        others = {"vector", "keyword", "hybrid"} - {mode}
        assert all(scraped.value("maia_search_duration_seconds_count", mode=o) == 0 for o in others)

    async def test_default_mode_is_recorded_as_hybrid(
        self, sdk: AsyncOpenAI, scrape: Scrape
    ) -> None:
        store_id = await _ingested_store(sdk)
        await sdk.vector_stores.search(store_id, query="pier")
        assert (await scrape()).value("maia_search_duration_seconds_count", mode="hybrid") == 1

    async def test_failed_searches_are_not_timed(
        self, client: httpx.AsyncClient, scrape: Scrape
    ) -> None:
        response = await client.post("/v1/vector_stores/vs_gone/search", json={"query": "x"})
        assert response.status_code == 404
        assert (await scrape()).value("maia_search_duration_seconds_count") == 0


class TestPoolMetrics:
    async def test_pool_gauges_come_from_the_engine(
        self, scrape: Scrape, settings: Settings
    ) -> None:
        scraped = await scrape()
        assert scraped.value("maia_db_pool_size") == settings.database.pool_size
        assert scraped.has("maia_db_pool_checked_out")
        assert scraped.value("maia_db_pool_checked_out") >= 0
        assert scraped.has("maia_db_pool_overflow")


class TestIsolation:
    async def test_each_app_has_its_own_registry(
        self, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine, scrape: Scrape
    ) -> None:
        from maia_vectordb.app import create_app

        await client.get("/health")
        other = create_app(settings)
        async with other.router.lifespan_context(other):
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as fresh:
                text = (await fresh.get("/metrics")).text
        assert 'route="/health"' not in text
        assert (await scrape()).value("maia_http_requests_total", route="/health") == 1
