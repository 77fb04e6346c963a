"""Embedders built against the run's fake OpenAI server (`fake_openai`, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from maia_vectordb.config import EmbeddingSettings, Settings
from maia_vectordb.embeddings import OpenAIEmbeddings
from tests.fakes.openai_server import FakeOpenAIServer

API_KEY = "sk-test-0123456789abcdef"
# Small vectors keep thousands of inputs cheap to serialise.
TEST_DIMENSIONS = 8

MakeEmbedder = Callable[..., OpenAIEmbeddings]


@pytest.fixture
def make_settings(fake_openai: FakeOpenAIServer) -> Callable[..., EmbeddingSettings]:
    """Embedding settings aimed at the fake; keyword overrides use the environment variable
    names."""

    def make(**overrides: Any) -> EmbeddingSettings:
        values: dict[str, Any] = {
            "OPENAI_API_KEY": API_KEY,
            "EMBEDDING_BASE_URL": fake_openai.base_url,
            "EMBEDDING_DIMENSIONS": TEST_DIMENSIONS,
            "EMBEDDING_MAX_RETRIES": 2,
            "EMBEDDING_TIMEOUT": 5.0,
        }
        values.update(overrides)
        return Settings(**values, _env_file=None).embeddings

    return make


@pytest.fixture
async def make_embedder(
    make_settings: Callable[..., EmbeddingSettings],
) -> AsyncIterator[MakeEmbedder]:
    """Builds `OpenAIEmbeddings` and closes every one, so no client leaks a socket."""
    built: list[OpenAIEmbeddings] = []

    def make(
        *, count_tokens: Callable[[str], int] | None = None, **overrides: Any
    ) -> OpenAIEmbeddings:
        embedder = OpenAIEmbeddings(make_settings(**overrides), count_tokens=count_tokens)
        built.append(embedder)
        return embedder

    yield make
    for embedder in built:
        await embedder.aclose()


@pytest.fixture
def embedder(make_embedder: MakeEmbedder) -> OpenAIEmbeddings:
    return make_embedder()
