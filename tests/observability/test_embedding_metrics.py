"""The OpenAI embedder's per-request metrics, against the fake OpenAI server over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from maia_vectordb.config import Settings
from maia_vectordb.embeddings import (
    OpenAIEmbeddings,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.observability.metrics import Metrics
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture
def metrics() -> Metrics:
    return Metrics.build()


@pytest.fixture
async def embedder(
    fake_openai: FakeOpenAIServer, metrics: Metrics
) -> AsyncIterator[OpenAIEmbeddings]:
    settings = Settings(
        OPENAI_API_KEY=SecretStr("sk-metrics-test"),
        EMBEDDING_BASE_URL=fake_openai.base_url,
        EMBEDDING_DIMENSIONS=8,
        EMBEDDING_MAX_RETRIES=0,
        _env_file=None,
    )
    embedder = OpenAIEmbeddings(
        settings.embeddings, count_tokens=lambda text: len(text.split()), metrics=metrics
    )
    yield embedder
    await embedder.aclose()


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


class TestOpenAIEmbeddingMetrics:
    async def test_each_batch_is_one_ok_request_with_its_inputs_and_tokens(
        self, embedder: OpenAIEmbeddings, metrics: Metrics, fake_openai: FakeOpenAIServer
    ) -> None:
        texts = [f"alpha beta {i}" for i in range(3000)]  # > 2048 inputs: two batches
        await embedder.embed(texts)
        assert len(fake_openai.requests) == 2
        assert _value(metrics, "maia_embedding_requests_total", outcome="ok") == 2
        assert _value(metrics, "maia_embedding_request_duration_seconds_count") == 2
        assert _value(metrics, "maia_embedding_inputs_total") == 3000
        assert _value(metrics, "maia_embedding_tokens_total") == 3 * 3000

    async def test_5xx_is_a_transient_error_and_embeds_nothing(
        self, embedder: OpenAIEmbeddings, metrics: Metrics, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(500)
        with pytest.raises(TransientEmbeddingError):
            await embedder.embed(["one"])
        assert _value(metrics, "maia_embedding_requests_total", outcome="transient_error") == 1
        assert _value(metrics, "maia_embedding_inputs_total") == 0
        assert _value(metrics, "maia_embedding_tokens_total") == 0

    async def test_bad_key_is_a_permanent_error(
        self, embedder: OpenAIEmbeddings, metrics: Metrics, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(401)
        with pytest.raises(PermanentEmbeddingError):
            await embedder.embed(["one"])
        assert _value(metrics, "maia_embedding_requests_total", outcome="permanent_error") == 1
        assert _value(metrics, "maia_embedding_requests_total", outcome="ok") == 0

    async def test_without_metrics_nothing_is_recorded_and_nothing_breaks(
        self, fake_openai: FakeOpenAIServer
    ) -> None:
        settings = Settings(
            EMBEDDING_BASE_URL=fake_openai.base_url,
            EMBEDDING_PROVIDER="openai",
            EMBEDDING_DIMENSIONS=8,
            _env_file=None,
        )
        embedder = OpenAIEmbeddings(settings.embeddings)
        try:
            assert len(await embedder.embed(["one", "two"])) == 2
        finally:
            await embedder.aclose()
