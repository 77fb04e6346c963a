"""Files to verdicts: parse and chunk each off the event loop, then embed many files together.

Chunks of every file in a batch that share a model go to the embedder in one
call, with the token counts the chunker already made, so small files share
requests instead of costing one each.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from maia_vectordb.config import IngestSettings
from maia_vectordb.db.queries.chunks import ChunkRow
from maia_vectordb.db.queries.jobs import ClaimedJob, JobTarget
from maia_vectordb.embeddings import Embedder, PermanentEmbeddingError, TransientEmbeddingError
from maia_vectordb.ingest.chunking import Chunk, Chunker, ChunkingConfig
from maia_vectordb.ingest.parsers import (
    InvalidFile,
    ParseLimits,
    UnsupportedFile,
    is_plain_text,
    parse,
)
from maia_vectordb.lifecycle import LastErrorCode
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.services.ingestion import Completed, Failed, Verdict, retry_or_fail

log = logging.getLogger(__name__)

# The parsers watch the deadline themselves; this margin is for one stuck inside a library call.
TIMEOUT_GRACE_SECONDS = 5.0
QUICK_BYTES = 256 * 1024


@dataclass(frozen=True)
class Parsed:
    job: ClaimedJob
    text: str
    pieces: list[Chunk]


def chunking_config(strategy: dict[str, Any]) -> ChunkingConfig:
    static = strategy["static"]
    return ChunkingConfig(
        max_tokens=int(static["max_chunk_size_tokens"]),
        overlap_tokens=int(static["chunk_overlap_tokens"]),
    )


def parse_limits(settings: IngestSettings) -> ParseLimits:
    return ParseLimits(
        max_text_chars=settings.max_text_chars,
        max_inflated_bytes=settings.max_inflated_bytes,
        max_compression_ratio=settings.max_compression_ratio,
        max_pdf_pages=settings.max_pdf_pages,
        timeout_seconds=settings.parse_timeout,
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


async def prepare(
    target: JobTarget, data: bytes, chunker: Chunker, settings: IngestSettings
) -> Parsed | Verdict:
    """One file parsed and chunked, or the verdict that ends it here."""
    job = target.job
    try:
        text = await parse_within(target.filename, data, parse_limits(settings))
        pieces = await asyncio.to_thread(
            chunker.chunk, text, chunking_config(target.chunking_strategy)
        )
    except Exception as exc:
        return _stopped(job, exc, settings)
    return Parsed(job, text, pieces)


def is_quick(target: JobTarget, data: bytes) -> bool:
    """Small plain text: decoding and tokenising it is quick and cannot get stuck, so many
    such files share one trip to a thread (two per file cost more than the work itself)."""
    return len(data) <= QUICK_BYTES and is_plain_text(target.filename)


async def prepare_quick(
    files: list[tuple[JobTarget, bytes]], chunker: Chunker, settings: IngestSettings
) -> list[Parsed | Verdict]:
    """Quick files (`is_quick`) parsed and chunked in one thread, in order; each still
    gets its own verdict. The parse budget's own deadline bounds each one."""
    limits = parse_limits(settings)

    def run() -> list[Parsed | Verdict]:
        return [_prepare_now(target, data, chunker, limits, settings) for target, data in files]

    return await asyncio.to_thread(run)


def _prepare_now(
    target: JobTarget, data: bytes, chunker: Chunker, limits: ParseLimits, settings: IngestSettings
) -> Parsed | Verdict:
    try:
        text = parse(target.filename, data, limits)
        pieces = chunker.chunk(text, chunking_config(target.chunking_strategy))
    except Exception as exc:
        return _stopped(target.job, exc, settings)
    return Parsed(target.job, text, pieces)


def _stopped(job: ClaimedJob, exc: Exception, settings: IngestSettings) -> Verdict:
    """The verdict for a file whose parsing or chunking raised `exc`; an outage (the
    disk, the database) is no fault of the file and fails the whole batch instead."""
    if isinstance(exc, OSError | SQLAlchemyError):
        raise exc
    if isinstance(exc, UnsupportedFile):
        return Failed(job, LastErrorCode.UNSUPPORTED_FILE, str(exc))
    if isinstance(exc, InvalidFile):
        return Failed(job, LastErrorCode.INVALID_FILE, str(exc))
    log.error("ingest.file.crashed", extra={"file_id": job.file_id, **describe_error(exc)})
    return retry_or_fail(job, "internal error while processing the file", settings)


async def embed_files(
    files: list[Parsed], embedder: Embedder, settings: IngestSettings
) -> list[Verdict]:
    """All files' chunks in one embedder call; should it fail for good, each file is
    embedded alone, so only the file the provider rejects fails."""
    try:
        return await _embed_together(files, embedder)
    except PermanentEmbeddingError as exc:
        if len(files) == 1:
            return [Failed(files[0].job, LastErrorCode.SERVER_ERROR, str(exc))]
    except TransientEmbeddingError as exc:
        return [retry_or_fail(f.job, str(exc), settings) for f in files]
    except (OSError, SQLAlchemyError):
        raise
    except Exception as exc:
        log.error("ingest.embed.crashed", extra=describe_error(exc))
        message = "internal error while processing the file"
        return [retry_or_fail(f.job, message, settings) for f in files]
    return [v for f in files for v in await embed_files([f], embedder, settings)]


async def _embed_together(files: list[Parsed], embedder: Embedder) -> list[Verdict]:
    pieces = [p for f in files for p in f.pieces]
    vectors = iter(
        await embedder.embed([p.text for p in pieces], token_counts=[p.token_count for p in pieces])
    )
    verdicts: list[Verdict] = []
    for f in files:
        rows = [
            ChunkRow(index=p.index, text=p.text, token_count=p.token_count, embedding=next(vectors))
            for p in f.pieces
        ]
        verdicts.append(Completed(f.job, f.text, rows, embedder.dimensions))
    return verdicts
