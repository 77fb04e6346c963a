"""Bytes to embedded chunks: parse and chunk off the event loop, then embed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from maia_vectordb.db.chunks import ChunkRow
from maia_vectordb.embeddings import Embedder
from maia_vectordb.ingest.chunking import Chunker, ChunkingConfig
from maia_vectordb.ingest.parsers import parse

BYTES_PER_HALF = 2


@dataclass(frozen=True)
class Ingested:
    text: str
    chunks: list[ChunkRow]
    dimensions: int

    def usage_bytes(self) -> int:
        """What the chunks occupy: their text plus their half-precision vectors."""
        text_bytes = sum(len(c.text.encode()) for c in self.chunks)
        return text_bytes + len(self.chunks) * self.dimensions * BYTES_PER_HALF


def chunking_config(strategy: dict[str, Any]) -> ChunkingConfig:
    static = strategy["static"]
    return ChunkingConfig(
        max_tokens=int(static["max_chunk_size_tokens"]),
        overlap_tokens=int(static["chunk_overlap_tokens"]),
    )


async def ingest(
    *,
    filename: str,
    data: bytes,
    strategy: dict[str, Any],
    chunker: Chunker,
    embedder: Embedder,
) -> Ingested:
    """Raises the parsers' `UnsupportedFile`/`InvalidFile` and the embedder's errors."""
    text = await asyncio.to_thread(parse, filename, data)
    pieces = await asyncio.to_thread(chunker.chunk, text, chunking_config(strategy))
    vectors = await embedder.embed([p.text for p in pieces])
    rows = [
        ChunkRow(index=p.index, text=p.text, token_count=p.token_count, embedding=v)
        for p, v in zip(pieces, vectors, strict=True)
    ]
    return Ingested(text=text, chunks=rows, dimensions=embedder.dimensions)
