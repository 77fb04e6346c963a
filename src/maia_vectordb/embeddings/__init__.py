"""Text → vectors: OpenAI(-compatible), the built-in ONNX model, lexical hashing; a query cache.

Names load on first use (PEP 562): `migrate` and `keys` reach `embeddings.spec` through
this package, and importing every provider here would load HTTP clients, tokenizers and
model runtimes into commands that never embed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from maia_vectordb.embeddings.registry import (
        EmbedderRegistry,
        ModelUnavailable,
        build_registry,
    )
    from maia_vectordb.embeddings.spec import ModelSpec

_HOMES = {
    "Embedder": "base",
    "EmbeddingError": "base",
    "PermanentEmbeddingError": "base",
    "TransientEmbeddingError": "base",
    "QueryEmbeddingCache": "cache",
    "HashEmbeddings": "hash",
    "LocalModelEmbeddings": "local",
    "ModelFilesUnavailable": "model_files",
    "OpenAIEmbeddings": "openai",
    "EmbedderRegistry": "registry",
    "ModelUnavailable": "registry",
    "build_registry": "registry",
    "ModelSpec": "spec",
}

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


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
