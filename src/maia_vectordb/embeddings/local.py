"""`EMBEDDING_PROVIDER=local`: all-MiniLM-L6-v2 run in-process with onnxruntime, no torch.

Computed exactly as sentence-transformers does: WordPiece tokens truncated to 256,
the transformer's last hidden state averaged over the attention mask, then L2
normalised. Inference is CPU-bound, so it runs in a worker thread, one batch at a
time (FIFO), with onnxruntime's own threads bounded: a search query waits for at
most one batch of an ingesting file, and the event loop never waits at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from maia_vectordb.config import EmbeddingSettings
from maia_vectordb.embeddings.model_files import MODEL_NAME, ensure_files, given_directory

if TYPE_CHECKING:
    from maia_vectordb.embeddings.onnx_model import LoadedModel
    from maia_vectordb.observability.metrics import Metrics

LOCAL_DIMENSIONS = 384
# A query waits for at most one batch of an ingesting file: bound each batch's padded
# size (inputs * longest), which is what its compute time follows.
BATCH_TOKENS = 1024
BATCH_INPUTS = 64


def model_directory(settings: EmbeddingSettings) -> Path:
    """EMBEDDING_MODEL_PATH, else the data-dir cache (downloaded into on first use)."""
    if settings.model_path is not None:
        return given_directory(settings.model_path)
    return ensure_files(settings.model_cache_dir, settings.model_url)


def length_batches(
    token_ids: Sequence[Sequence[int]],
    *,
    max_tokens: int = BATCH_TOKENS,
    max_inputs: int = BATCH_INPUTS,
) -> list[list[int]]:
    """Input positions grouped by similar length (little padding), each group's padded size
    within `max_tokens`; a single input over it still gets a group of its own."""
    order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for position in order:
        width = len(token_ids[position])
        if current and ((len(current) + 1) * width > max_tokens or len(current) >= max_inputs):
            batches.append(current)
            current = []
        current.append(position)
    if current:
        batches.append(current)
    return batches


class LocalModelEmbeddings:
    """all-MiniLM-L6-v2 (384-d); the files are found or downloaded on the first `load()`."""

    provider: str = "local"
    model: str = MODEL_NAME
    dimensions: int = LOCAL_DIMENSIONS

    def __init__(
        self,
        settings: EmbeddingSettings,
        *,
        metrics: Metrics | None = None,
        locate: Callable[[EmbeddingSettings], Path] = model_directory,
    ) -> None:
        self._settings = settings
        self._locate = locate
        self._metrics = metrics
        self._loaded: LoadedModel | None = None
        self._loading = asyncio.Lock()
        self._inference = asyncio.Semaphore(1)

    async def load(self) -> LoadedModel:
        """Find (or download) and load the model once; raises `ModelFilesUnavailable`."""
        async with self._loading:
            if self._loaded is None:
                # Imported here: numpy + onnxruntime cost every command ~1 s at start.
                from maia_vectordb.embeddings.onnx_model import LoadedModel

                directory = await asyncio.to_thread(self._locate, self._settings)
                self._loaded = await asyncio.to_thread(
                    LoadedModel.load, directory, threads=self._settings.local_threads
                )
        return self._loaded

    async def embed(
        self, texts: Sequence[str], *, token_counts: Sequence[int] | None = None
    ) -> list[list[float]]:
        """Vectors in input order."""
        if not texts:
            return []
        started = time.perf_counter()
        model = await self.load()
        token_ids = await asyncio.to_thread(model.tokenize, texts)
        vectors: list[list[float]] = [[] for _ in texts]
        for positions in length_batches(token_ids):
            batch = [token_ids[i] for i in positions]
            async with self._inference:
                embedded = await asyncio.to_thread(model.embed_ids, batch)
            for position, vector in zip(positions, embedded.tolist(), strict=True):
                vectors[position] = vector
        if self._metrics is not None:
            seconds = time.perf_counter() - started
            self._metrics.embeddings.record(outcome="ok", seconds=seconds, inputs=len(texts))
        return vectors

    async def aclose(self) -> None:
        """The session holds no sockets or processes; dropping it frees its memory."""
        self._loaded = None
