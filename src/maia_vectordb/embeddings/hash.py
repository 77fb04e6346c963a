"""`EMBEDDING_PROVIDER=hash`: instant, for tests and benchmarks; it matches words, not meaning."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maia_vectordb.observability.metrics import Metrics

HASH_MODEL = "hash"
WORD = re.compile(r"\w+")
BIGRAM_WEIGHT = 0.5
# Hashing hundreds of chunks takes long enough to stall other requests on the event loop.
THREAD_THRESHOLD = 64


def _features(text: str) -> Counter[str]:
    words = WORD.findall(text.lower())
    features = Counter(f"w:{word}" for word in words)
    features.update(f"b:{left} {right}" for left, right in pairwise(words))
    return features


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    """A stable signed bucket; `hash()` is salted per process, so vectors would not persist."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % dimensions, 1.0 if digest >> 63 else -1.0


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(value * value for value in vector))
    if norm == 0.0:
        # Cosine distance on a zero vector is undefined in pgvector, so give a fixed direction.
        return [1.0 / math.sqrt(len(vector))] * len(vector)
    return [value / norm for value in vector]


def hash_embed(text: str, dimensions: int) -> list[float]:
    """Feature-hash unigrams and (lighter) bigrams with log-scaled counts, then unit-normalise."""
    vector = [0.0] * dimensions
    for feature, count in _features(text).items():
        index, sign = _bucket(feature, dimensions)
        weight = BIGRAM_WEIGHT if feature.startswith("b:") else 1.0
        vector[index] += sign * weight * (1.0 + math.log(count))
    return _normalised(vector)


def _embed_all(texts: Iterable[str], dimensions: int) -> list[list[float]]:
    return [hash_embed(text, dimensions) for text in texts]


class HashEmbeddings:
    """Lexical, not semantic: texts sharing words score high, paraphrases with new words do not.

    Deterministic across processes and machines, so stored vectors stay comparable with
    the query vectors of a later run.
    """

    provider: str = "hash"
    model: str = HASH_MODEL

    def __init__(self, dimensions: int, *, metrics: Metrics | None = None) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be at least 1")
        self.dimensions = dimensions
        self._metrics = metrics

    async def embed(
        self, texts: Sequence[str], *, token_counts: Sequence[int] | None = None
    ) -> list[list[float]]:
        """Counted like provider calls, so dashboards work the same offline."""
        started = time.perf_counter()
        vectors = await self._embed(texts)
        if self._metrics is not None:
            self._metrics.embeddings.record(
                outcome="ok", seconds=time.perf_counter() - started, inputs=len(texts)
            )
        return vectors

    async def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Small batches inline; large ones in a thread so the event loop keeps serving."""
        if len(texts) > THREAD_THRESHOLD:
            return await asyncio.to_thread(_embed_all, list(texts), self.dimensions)
        return _embed_all(texts, self.dimensions)

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy the `Embedder` protocol."""
