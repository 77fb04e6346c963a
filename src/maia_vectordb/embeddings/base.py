"""The embedder contract the ingest worker and search depend on, and its two failure kinds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """Turns texts into vectors of a fixed width; a store records `provider`, `model` and
    `dimensions` so its files and queries are embedded alike."""

    provider: str
    model: str
    dimensions: int

    async def embed(
        self, texts: Sequence[str], *, token_counts: Sequence[int] | None = None
    ) -> Sequence[Sequence[float]]:
        """One vector per text, in input order. `token_counts` (cl100k, as the chunker
        counted them) spare an embedder that batches by tokens from counting again.

        A vector may be any sequence of floats (the OpenAI client keeps the float32 array it
        received, which the chunk COPY packs to halfvec without a Python float per value)."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once from the app's lifespan."""
        ...


class EmbeddingError(Exception):
    """A provider failure, with a message safe to store as a file's `last_error`."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class TransientEmbeddingError(EmbeddingError):
    """Rate limits, 5xx, timeouts: the client's retries are spent, so the job retries later."""


class PermanentEmbeddingError(EmbeddingError):
    """Bad key, model, input or configuration: retrying cannot help, so the file fails."""
