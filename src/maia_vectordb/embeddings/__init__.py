"""Text → vectors: OpenAI(-compatible), the built-in ONNX model, lexical hashing; a query cache."""

from __future__ import annotations

from maia_vectordb.embeddings.base import (
    Embedder,
    EmbeddingError,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.embeddings.cache import QueryEmbeddingCache
from maia_vectordb.embeddings.hash import HashEmbeddings
from maia_vectordb.embeddings.local import LocalModelEmbeddings
from maia_vectordb.embeddings.model_files import ModelFilesUnavailable
from maia_vectordb.embeddings.openai import OpenAIEmbeddings
from maia_vectordb.embeddings.registry import EmbedderRegistry, ModelUnavailable, build_registry
from maia_vectordb.embeddings.spec import ModelSpec

__all__ = [
    "Embedder",
    "EmbedderRegistry",
    "EmbeddingError",
    "HashEmbeddings",
    "LocalModelEmbeddings",
    "ModelFilesUnavailable",
    "ModelSpec",
    "ModelUnavailable",
    "OpenAIEmbeddings",
    "PermanentEmbeddingError",
    "QueryEmbeddingCache",
    "TransientEmbeddingError",
    "build_registry",
]
