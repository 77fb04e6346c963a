"""Text → vectors: OpenAI(-compatible) embeddings, an offline lexical fallback, a query cache."""

from __future__ import annotations

from maia_vectordb.config import Settings
from maia_vectordb.embeddings.base import (
    Embedder,
    EmbeddingError,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.embeddings.cache import QueryEmbeddingCache
from maia_vectordb.embeddings.local import LocalHashEmbeddings
from maia_vectordb.embeddings.openai import OpenAIEmbeddings
from maia_vectordb.observability.metrics import Metrics

__all__ = [
    "Embedder",
    "EmbeddingError",
    "LocalHashEmbeddings",
    "OpenAIEmbeddings",
    "PermanentEmbeddingError",
    "QueryEmbeddingCache",
    "TransientEmbeddingError",
    "build_embedder",
]


def build_embedder(settings: Settings, *, metrics: Metrics | None = None) -> Embedder:
    """The configured provider; `local` when no key or server is set, so `serve` works offline."""
    if settings.resolved_provider == "openai":
        return OpenAIEmbeddings(settings, metrics=metrics)
    return LocalHashEmbeddings(settings.embedding_dimensions, metrics=metrics)
