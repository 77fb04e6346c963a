"""Which embedding model a new store gets: the server's default, or one the client names.

llama-stack clients send `embedding_model`, `embedding_dimension` and `provider_id`
(through the SDK's `extra_body`). `embedding_model` matches a model's name, also
behind a provider prefix (`sentence-transformers/all-MiniLM-L6-v2`,
`openai/text-embedding-3-small`). `provider_id` narrows the choice when it names one
of our providers (`openai`, `local`, `hash`); any other value is llama-stack's own
vector-io provider name, which has nothing to choose here, and is accepted as is.
"""

from __future__ import annotations

from collections.abc import Sequence

from maia_vectordb.embeddings import ModelSpec
from maia_vectordb.embeddings.registry import describe_all
from maia_vectordb.errors import InvalidRequest

PROVIDERS = frozenset({"openai", "local", "hash"})


def _names(spec: ModelSpec, requested: str) -> bool:
    return requested == spec.model or requested.endswith("/" + spec.model)


def choose_model(
    offered: Sequence[ModelSpec],
    *,
    model: str | None,
    dimension: int | None,
    provider_id: str | None,
) -> ModelSpec:
    """The first offered model (the default comes first) that fits every given field."""
    candidates = list(offered)
    if provider_id in PROVIDERS:
        candidates = [s for s in candidates if s.provider == provider_id]
    if model is not None:
        candidates = [s for s in candidates if _names(s, model)]
    if dimension is not None:
        candidates = [s for s in candidates if s.dimensions == dimension]
    if not candidates:
        raise InvalidRequest(
            f"This server does not offer {_asked(model, dimension, provider_id)}; it offers "
            f"{describe_all(offered)}.",
            param="embedding_model" if model is not None else "embedding_dimension",
        )
    return candidates[0]


def _asked(model: str | None, dimension: int | None, provider_id: str | None) -> str:
    parts = [f"model {model!r}" if model is not None else "a model"]
    if dimension is not None:
        parts.append(f"with {dimension} dimensions")
    if provider_id in PROVIDERS:
        parts.append(f"from provider {provider_id!r}")
    return " ".join(parts)
