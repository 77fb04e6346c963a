"""Bytes to embedded chunks: parse and chunk off the event loop, then embed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from maia_vectordb.config import Settings
from maia_vectordb.db.chunks import ChunkRow
from maia_vectordb.embeddings import Embedder
from maia_vectordb.ingest.chunking import Chunker, ChunkingConfig
from maia_vectordb.ingest.parsers import InvalidFile, ParseLimits, parse

BYTES_PER_HALF = 2
# The parsers watch the deadline themselves; this margin is for one stuck inside a library call.
TIMEOUT_GRACE_SECONDS = 5.0


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


def parse_limits(settings: Settings) -> ParseLimits:
    return ParseLimits(
        max_text_chars=settings.parse_max_text_chars,
        max_inflated_bytes=settings.parse_max_inflated_bytes,
        max_compression_ratio=settings.parse_max_compression_ratio,
        max_pdf_pages=settings.parse_max_pdf_pages,
        timeout_seconds=settings.parse_timeout_seconds,
    )


async def parse_within(filename: str, data: bytes, limits: ParseLimits) -> str:
    """Parse in a thread, never past the time limit (plus a grace for the parser to notice).

    A parser that overruns even that is left to finish in its thread: the file
    fails now, its lease is released, and no heartbeat keeps renewing it.
    """
    try:
        async with asyncio.timeout(limits.timeout_seconds + TIMEOUT_GRACE_SECONDS):
            return await asyncio.to_thread(parse, filename, data, limits)
    except TimeoutError as exc:
        raise InvalidFile(
            f"Parsing the file exceeded the time limit of {limits.timeout_seconds:g} s"
        ) from exc


async def ingest(
    *,
    filename: str,
    data: bytes,
    strategy: dict[str, Any],
    chunker: Chunker,
    embedder: Embedder,
    limits: ParseLimits,
) -> Ingested:
    """Raises the parsers' `UnsupportedFile`/`InvalidFile` and the embedder's errors."""
    text = await parse_within(filename, data, limits)
    pieces = await asyncio.to_thread(chunker.chunk, text, chunking_config(strategy))
    vectors = await embedder.embed([p.text for p in pieces])
    rows = [
        ChunkRow(index=p.index, text=p.text, token_count=p.token_count, embedding=v)
        for p, v in zip(pieces, vectors, strict=True)
    ]
    return Ingested(text=text, chunks=rows, dimensions=embedder.dimensions)
