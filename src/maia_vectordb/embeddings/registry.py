"""The embedding models this server offers, one embedder and query cache for each.

Each vector store records the model it was built with; the ingest worker and
search ask the registry for that model's embedder. What is offered:

- the default (`EMBEDDING_PROVIDER`, or `openai` with a key, else `local`);
- `openai` (EMBEDDING_MODEL at EMBEDDING_DIMENSIONS) whenever a key or
  EMBEDDING_BASE_URL is configured;
- `local` (all-MiniLM-L6-v2, 384-d) whenever its files are on this machine
  (EMBEDDING_MODEL_PATH, or already in the data-dir cache), and always when it
  is the default (then it is downloaded at start if missing);
- `hash` only when it is the default: it exists for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence

from maia_vectordb.config import EmbeddingSettings
from maia_vectordb.embeddings.base import Embedder, PermanentEmbeddingError
from maia_vectordb.embeddings.cache import QueryEmbeddingCache
from maia_vectordb.embeddings.hash import HashEmbeddings
from maia_vectordb.embeddings.local import LocalModelEmbeddings
from maia_vectordb.embeddings.offer import offered_providers
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.embeddings.store_models import StoreModels
from maia_vectordb.observability.metrics import Metrics


def spec_of(embedder: Embedder) -> ModelSpec:
    return ModelSpec(embedder.provider, embedder.model, embedder.dimensions)


class ModelUnavailable(PermanentEmbeddingError):
    """A store's model is not offered by this server (any more)."""


class EmbedderRegistry:
    """Held on the app state; the default comes first in `offered`."""

    def __init__(self, embedders: Sequence[Embedder], *, cache_size: int) -> None:
        if not embedders:
            raise ValueError("a registry needs at least its default embedder")
        self._embedders = {spec_of(e): e for e in embedders}
        self._caches = {
            spec: QueryEmbeddingCache(e, max_entries=cache_size)
            for spec, e in self._embedders.items()
        }
        self.default = spec_of(embedders[0])
        self.store_models = StoreModels()
        """Stores' models as searches found them: their queries are embedded early."""

    @property
    def offered(self) -> list[ModelSpec]:
        return list(self._embedders)

    @property
    def default_embedder(self) -> Embedder:
        return self._embedders[self.default]

    def get(self, spec: ModelSpec) -> Embedder:
        embedder = self._embedders.get(spec)
        if embedder is None:
            raise ModelUnavailable(
                f"this vector store was built with {spec.describe()}, which this server does "
                f"not offer; it offers {describe_all(self.offered)}"
            )
        return embedder

    def query_cache(self, spec: ModelSpec) -> QueryEmbeddingCache:
        self.get(spec)
        return self._caches[spec]

    async def aclose(self) -> None:
        for embedder in self._embedders.values():
            await embedder.aclose()


def describe_all(specs: Sequence[ModelSpec]) -> str:
    return ", ".join(spec.describe() for spec in specs)


def _build(provider: str, settings: EmbeddingSettings, metrics: Metrics | None) -> Embedder:
    if provider == "openai":
        # Its HTTP client and tokenizer cost imports: only servers that offer it load them.
        from maia_vectordb.embeddings.openai import OpenAIEmbeddings

        return OpenAIEmbeddings(settings, metrics=metrics)
    if provider == "local":
        return LocalModelEmbeddings(settings, metrics=metrics)
    return HashEmbeddings(settings.dimensions, metrics=metrics)


def build_registry(
    settings: EmbeddingSettings, *, cache_size: int, metrics: Metrics | None = None
) -> EmbedderRegistry:
    """Every offered model's embedder; `cache_size` (SEARCH_CACHE_SIZE) bounds each query cache."""
    embedders = [_build(p, settings, metrics) for p in offered_providers(settings)]
    return EmbedderRegistry(embedders, cache_size=cache_size)
