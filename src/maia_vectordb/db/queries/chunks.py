"""Chunk rows: written with one binary COPY per batch of files, never row by row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import FileChunk
from maia_vectordb.db.queries.bulk import pair_in

COLUMNS = (
    "vector_store_id",
    "file_id",
    "chunk_index",
    "text",
    "token_count",
    "attributes",
    "embedding",
)


@dataclass(frozen=True)
class ChunkRow:
    index: int
    text: str
    token_count: int
    embedding: Sequence[float]  # a float32 `array` packs fastest (`db.halfvec`)


@dataclass(frozen=True)
class FileChunks:
    """One file's chunks as they land in one store, with the attributes they are filtered by."""

    vector_store_id: str
    file_id: str
    attributes: dict[str, Any] | None
    chunks: Sequence[ChunkRow]


async def replace_chunks(
    session: AsyncSession,
    *,
    vector_store_id: str,
    file_id: str,
    attributes: dict[str, Any] | None,
    chunks: Sequence[ChunkRow],
) -> None:
    await replace_many(session, [FileChunks(vector_store_id, file_id, attributes, chunks)])


async def replace_many(session: AsyncSession, files: Sequence[FileChunks]) -> None:
    """Delete-then-COPY in the caller's transaction, so a re-run after a crash is harmless.

    One DELETE and one COPY for every file together: a batch of small files costs
    two round trips, not two per file.
    """
    if not files:
        return
    keys = [(f.vector_store_id, f.file_id) for f in files]
    await session.execute(
        delete(FileChunk).where(pair_in(FileChunk.vector_store_id, FileChunk.file_id, keys))
    )
    records = [record for f in files for record in _records(f)]
    if not records:
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("file_chunks", records=records, columns=COLUMNS)


def _records(file: FileChunks) -> list[tuple[Any, ...]]:
    attrs = json.dumps(file.attributes) if file.attributes is not None else None
    return [
        (file.vector_store_id, file.file_id, c.index, c.text, c.token_count, attrs, c.embedding)
        for c in file.chunks
    ]
