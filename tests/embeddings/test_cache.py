"""QueryEmbeddingCache: repeated queries skip the provider; misses go in one call."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from maia_vectordb.embeddings import HashEmbeddings, QueryEmbeddingCache


class CountingEmbedder:
    """Records what reaches the provider; vectors come from the local hash embedder."""

    model = "counting"
    dimensions = 16

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self._inner = HashEmbeddings(self.dimensions)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return await self._inner.embed(texts)

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.fixture
def provider() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def cache(provider: CountingEmbedder) -> QueryEmbeddingCache:
    return QueryEmbeddingCache(provider, max_entries=3)


class TestHits:
    async def test_second_identical_query_makes_no_provider_call(
        self, cache: QueryEmbeddingCache, provider: CountingEmbedder
    ) -> None:
        first = await cache.embed_queries(["refund policy"])
        second = await cache.embed_queries(["refund policy"])
        assert first == second
        assert provider.calls == [["refund policy"]]

    async def test_mixed_hits_and_misses_make_one_call_with_only_the_misses(
        self, cache: QueryEmbeddingCache, provider: CountingEmbedder
    ) -> None:
        await cache.embed_queries(["a"])
        vectors = await cache.embed_queries(["b", "a", "c"])
        assert provider.calls == [["a"], ["b", "c"]]
        assert vectors == await provider.embed(["b", "a", "c"])

    async def test_duplicate_misses_are_embedded_once(
        self, cache: QueryEmbeddingCache, provider: CountingEmbedder
    ) -> None:
        vectors = await cache.embed_queries(["x", "x"])
        assert provider.calls == [["x"]]
        assert vectors[0] == vectors[1]

    async def test_keys_are_the_exact_text(
        self, cache: QueryEmbeddingCache, provider: CountingEmbedder
    ) -> None:
        await cache.embed_queries(["Refund", "refund"])
        assert provider.calls == [["Refund", "refund"]]

    async def test_mutating_a_result_does_not_corrupt_the_cache(
        self, cache: QueryEmbeddingCache
    ) -> None:
        [vector] = await cache.embed_queries(["q"])
        original = list(vector)
        vector[0] = 42.0
        assert await cache.embed_queries(["q"]) == [original]


class TestEviction:
    async def test_evicts_the_least_recently_used_at_the_bound(
        self, cache: QueryEmbeddingCache, provider: CountingEmbedder
    ) -> None:
        await cache.embed_queries(["a", "b", "c"])
        await cache.embed_queries(["a"])  # touch: "b" is now the oldest
        await cache.embed_queries(["d"])
        assert len(cache) == 3
        assert "b" not in cache
        assert all(query in cache for query in ["a", "c", "d"])

    async def test_hits_survive_evictions_caused_by_the_same_call(
        self, provider: CountingEmbedder
    ) -> None:
        cache = QueryEmbeddingCache(provider, max_entries=1)
        await cache.embed_queries(["a"])
        vectors = await cache.embed_queries(["a", "b", "c"])
        assert vectors == await provider.embed(["a", "b", "c"])
        assert len(cache) == 1

    def test_rejects_a_negative_bound(self, provider: CountingEmbedder) -> None:
        with pytest.raises(ValueError, match="max_entries"):
            QueryEmbeddingCache(provider, max_entries=-1)

    async def test_zero_bound_disables_caching(self, provider: CountingEmbedder) -> None:
        cache = QueryEmbeddingCache(provider, max_entries=0)
        first = await cache.embed_queries(["a"])
        assert await cache.embed_queries(["a"]) == first
        assert len(cache) == 0
        assert provider.calls == [["a"], ["a"]]
