"""Search queries repeat; a small in-process LRU spares a provider round trip for each."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from maia_vectordb.embeddings.base import Embedder

DEFAULT_MAX_ENTRIES = 1024

Vector = tuple[float, ...]


class QueryEmbeddingCache:
    """Keyed by the exact query text; one per app, held on the app state, never global."""

    def __init__(self, embedder: Embedder, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative (0 disables caching)")
        self.embedder = embedder
        self.max_entries = max_entries
        # Tuples, so a caller mutating a returned list cannot corrupt the cache.
        self._entries: OrderedDict[str, Vector] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, query: object) -> bool:
        return query in self._entries

    async def embed_queries(self, queries: Sequence[str]) -> list[list[float]]:
        """Vectors in input order; all misses go to the provider together in one call."""
        known = self._hits(queries)
        misses = [query for query in dict.fromkeys(queries) if query not in known]
        if misses:
            vectors = await self.embedder.embed(misses)
            for query, vector in zip(misses, vectors, strict=True):
                known[query] = self._store(query, vector)
        return [list(known[query]) for query in queries]

    def _hits(self, queries: Sequence[str]) -> dict[str, Vector]:
        """Taken before the provider call, so evictions it causes cannot lose a hit."""
        hits: dict[str, Vector] = {}
        for query in queries:
            vector = self._entries.get(query)
            if vector is not None:
                self._entries.move_to_end(query)
                hits[query] = vector
        return hits

    def _store(self, query: str, vector: Sequence[float]) -> Vector:
        stored = self._entries[query] = tuple(vector)
        self._entries.move_to_end(query)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return stored
